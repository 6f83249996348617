"""The API keeps the promises of its own OpenAPI description: Schemathesis sends each operation
requests made from the description (valid and not), with an admin's token, and checks that no answer
is a 5xx and that every answer is one the description documents (its status, content type and body
schema), that an invalid request is refused and a valid one is not, and that the credentials are
enforced.

Bounded for CI: a few examples per operation, a fixed seed, no shrinking database; ``POST /train``
is left out (each example would start a training job: ``test_api.py`` covers it).
"""

from __future__ import annotations

from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from labsight.serve.app import create_app

API = "/api/v1"
SPACE = """\
parameters:
  - {name: x, type: continuous, bounds: [0, 100]}
objectives:
  - {name: signal, goal: maximize}
"""

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20_240_611,
        "checks": {
            # A request the description allows can still break a rule the description cannot
            # state: a file's format by its extension, the columns a model or a campaign reads, an
            # acquisition of the registry, a reason of spaces. The API answers those with 400 in
            # its error shape, which is right; a 422 (the request does not fit the API) or a 5xx
            # for such a request is still a failure.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "413"]
            },
            # GET /datasets/{ref} and POST /datasets/{name} (the names the contract
            # gives them) are one resource: a 405 there rightly allows GET and POST, where the
            # check reads them as two paths that each allow one method.
            "allow_header_conformance": {"enabled": False},
        },
    }
)
# The description only: building it reads no workspace, so a stand-in serves at collection time;
# the requests go to the lab's app (``live``).
DESCRIBED: FastAPI = create_app(workspace=cast(Any, object()))
schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", DESCRIBED, config=CONFIG).exclude(
    path=f"{API}/train"
)
BOUNDED = settings(
    max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(scope="module")
def live(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The lab's app, with a campaign for the campaign routes to find."""
    space = tmp_path_factory.mktemp("space") / "space.yaml"
    space.write_text(SPACE)
    lab.ws.new_campaign("toy", space, seed=0, reason="schema tests")
    return create_app(workspace=lab.ws)


@schema.parametrize()
@BOUNDED
def test_every_operation_keeps_to_the_description(case: Any, live: FastAPI, lab: Any) -> None:
    case.call_and_validate(app=live, headers=lab.auth("ada"))


@schema.include(path_regex=r"\{").parametrize()
@BOUNDED
def test_operations_on_things_that_exist_keep_to_the_description(
    case: Any, live: FastAPI, lab: Any
) -> None:
    """As above, with the path naming a model, dataset or campaign the lab has (random names
    mostly reach 404 and nothing past it)."""
    known = {
        "ref": lab.model if case.path.startswith(f"{API}/models/") else "chem",
        "name": "toy" if case.path.startswith(f"{API}/campaigns/") else "chem",
        "job_id": "0123456789abcdef",
    }
    case.path_parameters = {key: known[key] for key in case.path_parameters}
    case.call_and_validate(app=live, headers=lab.auth("ada"))

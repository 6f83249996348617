"""The API's main paths: who may do what, predict, datasets, models, jobs, docs."""

from __future__ import annotations

import time
from typing import Any

import httpx
import polars as pl
import pytest

import labsight


def test_health_needs_no_credentials_and_the_rest_does(api: Any) -> None:
    assert api.get("/api/v1/health").json()["status"] == "ok"
    refused = api.get("/api/v1/datasets")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    assert refused.headers["www-authenticate"] == "Bearer"


def test_predict_answers_as_the_python_api(api: Any, lab: Any) -> None:
    answer = api.post(
        f"/api/v1/models/{lab.model}/predict", headers=lab.auth("sam"), json={"rows": lab.rows}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == lab.model
    python = lab.ws.models.predict_rows(lab.model, lab.rows).frame
    assert [p["prediction"] for p in body["predictions"]] == python["prediction"].to_list()
    first = body["predictions"][0]
    assert first["lower"] < first["prediction"] < first["upper"]


def test_a_predict_token_predicts_and_may_not_write(api: Any, lab: Any) -> None:
    token = {"Authorization": f"Bearer {lab.scoped['predict']}"}
    assert (
        api.post(
            f"/api/v1/models/{lab.model}/predict", headers=token, json={"rows": lab.rows[:1]}
        ).status_code
        == 200
    )
    refused = api.post(
        f"/api/v1/models/{lab.model}/stage", headers=token, json={"stage": "validated"}
    )
    assert refused.status_code == 403
    assert "scope predict" in refused.json()["error"]["message"]


def test_the_acting_user_comes_from_the_token(api: Any, lab: Any) -> None:
    staged = api.post(
        f"/api/v1/models/{lab.model}/stage",
        headers=lab.auth("sam"),
        json={"stage": "validated", "reason": "checked on batch 7"},
    )
    assert staged.status_code == 200, staged.text
    entry = lab.ws.audit.entries(action="model.stage")[-1]
    assert entry.actor == "sam"
    assert entry.reason == "checked on batch 7"


def test_upload_makes_a_version_and_a_bad_name_changes_nothing(api: Any, lab: Any) -> None:
    csv = b"run,temperature [degC],yield [%]\n1,60,41.5\n2,70,48.0\n3,80,52.1\n"
    made = api.post(
        "/api/v1/datasets/runs", headers=lab.auth("sam"), files={"file": ("runs.csv", csv)}
    )
    assert made.status_code == 201, made.text
    units = {c["name"]: c["unit"] for c in made.json()["columns"]}
    source = lab.ws.dataset(made.json()["ref"]).record.source  # the lineage names the upload
    assert source is not None
    assert source["path"] == "runs.csv"
    assert units["temperature [degC]"] == "degC"
    before = len(lab.ws.audit.entries())
    for name in ("%2E%2E", "a%2F..%2Fb", "bad%20name"):
        bad = api.post(
            f"/api/v1/datasets/{name}", headers=lab.auth("sam"), files={"file": ("runs.csv", csv)}
        )
        assert bad.status_code in (400, 404), name
        assert bad.json()["error"]["code"] in ("bad_input", "not_found")
    assert len(lab.ws.audit.entries()) == before


def test_training_runs_as_a_job(api: Any, lab: Any) -> None:
    started = api.post(
        "/api/v1/train",
        headers=lab.auth("sam"),
        json={
            "dataset": "chem",
            "target": "yield",
            "budget": 30,
            "families": ["ridge"],
            "trials": 2,
        },
    )
    assert started.status_code == 202, started.text
    job = started.json()
    for _ in range(120):
        job = api.get(f"/api/v1/jobs/{job['id']}", headers=lab.auth("vic")).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    ref = job["result"]["ref"]
    assert api.get(f"/api/v1/models/{ref}", headers=lab.auth("vic")).json()["created_by"] == "sam"


def test_docs_are_served_from_the_package(api: Any) -> None:
    page = api.get("/api/v1/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert api.get("/api/v1/static-docs/swagger-ui-bundle.js").status_code == 200
    spec = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/models/{ref}/predict" in spec["paths"]


def test_a_real_server_process_predicts(server: Any, lab: Any) -> None:
    answer = httpx.post(
        f"{server.url}/api/v1/models/{lab.model}/predict",
        headers=lab.auth("sam"),
        json={"rows": lab.rows},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    python = lab.ws.models.predict_rows(lab.model, lab.rows).frame["prediction"].to_list()
    assert [p["prediction"] for p in answer.json()["predictions"]] == python


def test_csv_body_predicts_the_same_rows(api: Any, lab: Any) -> None:
    body = pl.DataFrame(lab.rows).write_csv().encode()
    answer = api.post(
        f"/api/v1/models/{lab.model}/predict",
        headers={**lab.auth("sam"), "Content-Type": "text/csv"},
        content=body,
    )
    assert answer.status_code == 200, answer.text
    python = lab.ws.models.predict_rows(lab.model, lab.rows).frame["prediction"].to_list()
    got = [p["prediction"] for p in answer.json()["predictions"]]
    assert got == python
    assert labsight.__version__


def test_small_requests_are_answered_on_the_event_loop_once_the_model_is_in_memory(
    api: Any, lab: Any, monkeypatch: Any
) -> None:
    """Where a request is worked on (the event loop or the thread pool) never changes the
    answer: a model not yet in memory is read in the pool, later small bodies are predicted on
    the loop, a large body and a CSV body go to the pool; every answer is the Python API's."""
    from labsight.serve.routes import models as route
    from labsight.workspace import models as registry

    pooled: list[str] = []
    hand_over = route.run_in_threadpool

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        pooled.append(func.__name__)
        return await hand_over(func, *args, **kwargs)

    monkeypatch.setattr(route, "run_in_threadpool", counted)
    monkeypatch.setattr(registry, "_LOADED", {})  # as in a fresh server process
    python = lab.ws.models.predict_rows(lab.model, lab.rows).frame["prediction"].to_list()
    monkeypatch.setattr(registry, "_LOADED", {})
    url, headers = f"/api/v1/models/{lab.model}/predict", lab.auth("sam")

    def predictions(**kwargs: Any) -> list[float]:
        answer = api.post(url, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
        assert answer.status_code == 200, answer.text
        return [p["prediction"] for p in answer.json()["predictions"]]

    assert predictions(json={"rows": lab.rows}) == python
    assert pooled == ["_answer"]  # read from its file in the pool
    assert predictions(json={"rows": lab.rows}) == python
    assert pooled == ["_answer"]  # now on the loop
    many = lab.rows * (route.INLINE_BYTES // 500)
    assert len(str(many)) > route.INLINE_BYTES
    assert predictions(json={"rows": many})[: len(python)] == python
    csv = pl.DataFrame(lab.rows).write_csv().encode()
    assert predictions(content=csv, headers={"Content-Type": "text/csv"}) == python
    assert pooled == ["_answer"] * 3


def test_a_model_not_in_memory_is_not_read_when_reading_is_not_wanted(
    lab: Any, monkeypatch: Any
) -> None:
    from labsight.workspace import models as registry

    monkeypatch.setattr(registry, "_LOADED", {})
    with pytest.raises(registry.NotInMemory):
        lab.ws.models.predict_rows(lab.model, lab.rows, load=False)
    assert registry._LOADED == {}
    lab.ws.models.loaded(lab.model)
    assert lab.ws.models.predict_rows(lab.model, lab.rows, load=False).frame.height == 3


def test_a_csv_body_of_more_rows_than_allowed_is_refused(api: Any, lab: Any) -> None:
    from labsight.serve.routes.models import MAX_ROWS

    column = next(iter(lab.rows[0]))
    body = (column + "\n" + "1\n" * (MAX_ROWS + 1)).encode()
    answer = api.post(
        f"/api/v1/models/{lab.model}/predict",
        headers={**lab.auth("sam"), "Content-Type": "text/csv"},
        content=body,
    )
    assert answer.status_code == 400, answer.text
    assert f"more than {MAX_ROWS} rows" in answer.json()["error"]["message"]


def test_two_authorization_headers_are_refused(api: Any, lab: Any) -> None:
    """The first header must not silently win over a second one a proxy or client added."""
    token = lab.tokens["sam"]
    answer = api.get(
        "/api/v1/models",
        headers=[("Authorization", f"Bearer {token}"), ("Authorization", "Basic eHg6eXk=")],
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "more than one Authorization header"
    assert api.get("/api/v1/models", headers=lab.auth("sam")).status_code == 200


def test_suggest_over_rest_is_the_campaigns_suggest_and_takes_replicates(
    api: Any, lab: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    space = tmp_path_factory.mktemp("space") / "space.yaml"
    space.write_text(
        "parameters:\n  - {name: x, type: continuous, bounds: [0.1, 10]}\n"
        "objectives:\n  - {name: signal, goal: maximize}\n"
    )
    lab.ws.new_campaign("rest-suggest", space, seed=0, reason="api test")
    url = "/api/v1/campaigns/rest-suggest/suggest"
    answer = api.post(url, headers=lab.auth("sam"), json={"batch": 2, "replicates": True})
    assert answer.status_code == 200, answer.text
    stored = lab.ws.campaign("rest-suggest").experiments()
    sent = [e["x"] for e in answer.json()["experiments"]]
    assert sent == stored["x"].to_list()[-2:]  # what came back is what the campaign stored
    assert lab.ws.campaign("rest-suggest").space.parameter("x").scale == "log"  # 100-fold
    wrong = api.post(url, headers=lab.auth("sam"), json={"batch": 2, "replicates": "often"})
    assert wrong.status_code == 422

"""Reliability and security of the API: every route but health and login needs credentials, each
role reaches only what it may, a bad token or password is refused (and audited, and locks the
account), bad input is a 4xx in the one error shape that changes nothing, the acting user comes from
the credentials, and no secret comes back."""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient

from labsight.config import MAX_EXPANDED_BYTES_ENV
from labsight.serve.app import create_app
from labsight.workspace import Workspace

API = "/api/v1"
CSV = b"run,temperature [degC],yield [%]\n1,60,41.5\n2,70,48.0\n3,80,52.1\n"
ERROR_KEYS = {"code", "message", "hint", "path", "line", "column", "expected", "got"}
MiB = 1024 * 1024

# The routes as the app describes them: the description does not read the workspace, so a stand-in
# serves to list them when the tests are collected (test_the_list_is_what_the_server_serves).
SPEC: dict[str, Any] = create_app(workspace=cast(Any, object())).openapi()
ROUTES = [(method.upper(), path) for path, ops in SPEC["paths"].items() for method in ops]
OPEN = {("GET", f"{API}/health"), ("POST", f"{API}/login")}
GUARDED = [route for route in ROUTES if route not in OPEN]
# what a viewer may not do: every change but a login or logout of their own
WRITES = [(m, p) for m, p in GUARDED if m != "GET" and p != f"{API}/logout"]
AUDIT_READS = [
    f"{API}/audit",
    f"{API}/audit/verify",
    f"{API}/audit/export?format=csv",
    f"{API}/audit/export?format=jsonl",
]


def route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


def fill(path: str, lab: Any) -> str:
    """``path`` with its parameters set to things the lab has (a job id that does not exist)."""
    ref = lab.model if path.startswith(f"{API}/models/") else "chem"
    name = "toy" if path.startswith(f"{API}/campaigns/") else "chem"
    return path.format(ref=ref, name=name, job_id="0123456789abcdef")


def send(client: TestClient, method: str, path: str, lab: Any, **kwargs: Any) -> httpx.Response:
    """``method path`` with a body that would be accepted from someone allowed to send it."""
    url = fill(path, lab)
    if method == "POST" and path == f"{API}/datasets/{{name}}":
        kwargs.setdefault("files", {"file": ("runs.csv", CSV)})
    elif method == "POST":
        bodies: dict[str, Any] = {
            f"{API}/login": {"user": "nobody", "password": "not-a-password"},
            f"{API}/models/{{ref}}/predict": {"rows": lab.rows},
            f"{API}/models/{{ref}}/stage": {"stage": "validated", "reason": "checked"},
            f"{API}/train": {"dataset": "chem", "target": "yield", "budget": 1, "trials": 1},
            f"{API}/campaigns/{{name}}/suggest": {"batch": 1},
            f"{API}/campaigns/{{name}}/results": {"rows": [{"x": 1.0, "signal": 2.0}]},
            f"{API}/signatures": {
                "record": lab.model,
                "meaning": "reviewed",
                "password": "viewer-password-1",
                "reason": "looked at it",
            },
        }
        if path in bodies:
            kwargs.setdefault("json", bodies[path])
    return client.request(method, url, **kwargs)


def error_of(answer: httpx.Response) -> dict[str, Any]:
    """The error of ``answer``, checked to be the one error shape with a one-line message."""
    body = answer.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert {"code", "message", "hint"} <= set(error) <= ERROR_KEYS, error
    assert isinstance(error["code"], str), error
    assert error["code"], error
    assert isinstance(error["message"], str), error
    assert error["message"].strip(), error
    assert "\n" not in error["message"], error
    return error


def refused(answer: httpx.Response, status: int, *codes: str) -> dict[str, Any]:
    assert answer.status_code == status, (answer.status_code, answer.text[:500])
    error = error_of(answer)
    assert error["code"] in codes, error
    return error


def state(ws: Workspace) -> tuple[Any, ...]:
    """What a refused request must leave as it was: the audit trail, the datasets and their
    versions, the model versions, and files left behind in the uploads folder."""
    uploads = ws.settings.home / "uploads"
    return (
        len(ws.audit.entries()),
        sorted((d.name, d.versions) for d in ws.datasets()),
        len(ws.models.list()),
        sorted(str(p) for p in uploads.rglob("*")) if uploads.exists() else [],
    )


@pytest.fixture
def browser(api: Any) -> Iterator[TestClient]:
    """A client of its own (its own cookies), over the lab's app."""
    with TestClient(api.app, raise_server_exceptions=False) as client:
        yield client


# -- who may call what -------------------------------------------------------------------------


def test_the_list_is_what_the_server_serves(api: Any) -> None:
    served = api.get(f"{API}/openapi.json")
    assert served.status_code == 200
    assert served.json()["paths"] == SPEC["paths"]
    assert len(ROUTES) > 20
    assert api.get(f"{API}/docs").status_code == 200


@pytest.mark.parametrize("route", GUARDED, ids=route_id)
def test_every_route_needs_credentials(api: Any, lab: Any, route: tuple[str, str]) -> None:
    before = state(lab.ws)
    answer = send(api, *route, lab)
    refused(answer, 401, "unauthenticated")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert state(lab.ws) == before


def test_the_description_names_the_credentials_of_exactly_the_guarded_routes() -> None:
    """The interactive docs offer the token and the cookie (Authorize) on every route that
    needs them, and on no open one."""
    schemes = SPEC["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token: labsight tokens create",
    }
    assert schemes["APIKeyCookie"]["in"] == "cookie"
    assert schemes["APIKeyCookie"]["name"] == "labsight_session"
    for method, path in ROUTES:
        security = SPEC["paths"][path][method.lower()].get("security")
        if (method, path) in OPEN:
            assert security is None, (method, path)
        else:
            assert security == [{"HTTPBearer": []}, {"APIKeyCookie": []}], (method, path)


def test_health_and_login_need_no_credentials(api: Any) -> None:
    assert api.get(f"{API}/health").status_code == 200
    answer = api.post(f"{API}/login", json={"user": "nobody", "password": "not-a-password"})
    error = refused(answer, 401, "unauthenticated")
    assert error["message"] == "unknown user or wrong password"


@pytest.mark.parametrize("route", WRITES, ids=route_id)
def test_a_viewer_may_not_write(api: Any, lab: Any, route: tuple[str, str]) -> None:
    before = state(lab.ws)
    answer = send(api, *route, lab, headers=lab.auth("vic"))
    error = refused(answer, 403, "forbidden")
    assert "'vic' (role viewer)" in error["message"]
    assert state(lab.ws) == before


@pytest.mark.parametrize("url", AUDIT_READS)
def test_a_reviewer_reads_the_audit_trail_and_a_scientist_may_not(
    api: Any, lab: Any, url: str
) -> None:
    assert api.get(url, headers=lab.auth("rita")).status_code == 200
    refused(api.get(url, headers=lab.auth("sam")), 403, "forbidden")
    refused(api.get(url, headers=lab.auth("vic")), 403, "forbidden")


def test_the_audit_export_is_the_trail(api: Any, lab: Any) -> None:
    csv = api.get(f"{API}/audit/export?format=csv", headers=lab.auth("rita"))
    assert csv.headers["content-type"].startswith("text/csv")
    lines = api.get(f"{API}/audit/export?format=jsonl", headers=lab.auth("rita")).text
    assert len(lines.strip().splitlines()) == len(lab.ws.audit.entries())


# -- tokens ------------------------------------------------------------------------------------


def _expired(lab: Any) -> str:
    return str(lab.ws.accounts.create_token("sam", "read", expires=timedelta(seconds=-1))[0])


def _revoked(lab: Any) -> str:
    secret, record = lab.ws.accounts.create_token("sam", "read", expires="1d")
    lab.ws.accounts.revoke_token(record.token_id, reason="lost laptop")
    return str(secret)


def _disabled(lab: Any) -> str:
    lab.ws.accounts.add_user("gone", "scientist", "gone-password-1")
    secret, _ = lab.ws.accounts.create_token("gone", "write", expires="1d")
    lab.ws.accounts.set_active("gone", False, reason="left the lab")
    return str(secret)


BAD_TOKENS: dict[str, tuple[Callable[[Any], str], str]] = {
    "unknown": (lambda lab: "lsk_00000000_" + "A" * 43, "the token is not valid"),
    "garbage": (lambda lab: "garbage", "the token is not valid"),
    "a token with its last letter changed": (
        lambda lab: lab.tokens["sam"][:-1] + ("A" if lab.tokens["sam"][-1] != "A" else "B"),
        "the token is not valid",
    ),
    "10 000 characters": (lambda lab: "lsk_" + "a" * 10_000, "the token is not valid"),
    "expired": (_expired, "expired"),
    "revoked": (_revoked, "was revoked"),
    "of a disabled user": (_disabled, "disabled"),
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_token_is_refused(api: Any, lab: Any, kind: str) -> None:
    make, says = BAD_TOKENS[kind]
    secret = make(lab)
    answer = api.get(f"{API}/datasets", headers={"Authorization": f"Bearer {secret}"})
    error = refused(answer, 401, "unauthenticated")
    assert says in error["message"]
    assert answer.headers["www-authenticate"] == "Bearer"
    assert secret not in answer.text


@pytest.mark.parametrize(
    "header", ["Basic c2FtOnNjaWVudGlzdC1wYXNzd29yZC0x", "Bearer", "Token abc", "bearer"]
)
def test_an_authorization_header_that_is_not_a_bearer_token_is_refused(
    api: Any, header: str
) -> None:
    answer = api.get(f"{API}/datasets", headers={"Authorization": header})
    refused(answer, 401, "unauthenticated")
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("route", WRITES, ids=route_id)
def test_a_read_token_may_not_predict_or_write(api: Any, lab: Any, route: tuple[str, str]) -> None:
    token = {"Authorization": f"Bearer {lab.scoped['read']}"}
    error = refused(send(api, *route, lab, headers=token), 403, "forbidden")
    assert "scope read" in error["message"]


# -- sessions and passwords --------------------------------------------------------------------


def test_a_session_writes_only_with_its_csrf_token(browser: TestClient, lab: Any) -> None:
    login = browser.post(f"{API}/login", json={"user": "sam", "password": "scientist-password-1"})
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    session = browser.cookies.get("labsight_session")
    assert csrf
    assert session
    assert session not in login.text
    assert browser.get(f"{API}/me").json()["via"] == "session"
    predict = f"{API}/models/{lab.model}/predict"
    error = refused(browser.post(predict, json={"rows": lab.rows}), 403, "forbidden")
    assert "X-CSRF-Token" in error["message"]
    wrong = browser.post(predict, json={"rows": lab.rows}, headers={"X-CSRF-Token": csrf + "x"})
    refused(wrong, 403, "forbidden")
    right = browser.post(predict, json={"rows": lab.rows}, headers={"X-CSRF-Token": csrf})
    assert right.status_code == 200, right.text
    refused(browser.post(f"{API}/logout"), 403, "forbidden")
    assert browser.post(f"{API}/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    replayed = browser.get(f"{API}/me", headers={"Cookie": f"labsight_session={session}"})
    refused(replayed, 401, "unauthenticated")


def test_a_wrong_password_is_refused_and_audited(browser: TestClient, lab: Any) -> None:
    lab.ws.accounts.add_user("wendy", "scientist", "wendy-password-1")
    answer = browser.post(f"{API}/login", json={"user": "wendy", "password": "guess-guess-1"})
    error = refused(answer, 401, "unauthenticated")
    assert error["message"] == "unknown user or wrong password"
    assert "labsight_session" not in browser.cookies
    entry = lab.ws.audit.entries(action="user.login_failed")[-1]
    assert (entry.actor, entry.object_id) == ("wendy", "wendy")
    assert "guess-guess-1" not in str(entry.to_dict())


def test_five_wrong_passwords_lock_the_account(browser: TestClient, lab: Any) -> None:
    lab.ws.accounts.add_user("lola", "scientist", "lola-password-1")
    for _ in range(5):
        wrong = browser.post(f"{API}/login", json={"user": "lola", "password": "guess-guess-1"})
        refused(wrong, 401, "unauthenticated")
    right = browser.post(f"{API}/login", json={"user": "lola", "password": "lola-password-1"})
    error = refused(right, 401, "unauthenticated")
    assert "locked" in error["message"]
    assert "labsight_session" not in browser.cookies
    assert lab.ws.audit.entries(action="user.login_refused")[-1].object_id == "lola"


# -- bad input: a 4xx in the one error shape, and nothing changed ------------------------------


def _feature(lab: Any) -> str:
    return str(lab.ws.models.load(lab.model).features.columns[0])


def _without_a_feature(lab: Any) -> dict[str, Any]:
    return {"rows": [{k: v for k, v in row.items() if k != _feature(lab)} for row in lab.rows]}


def _as_text(lab: Any) -> dict[str, Any]:
    return {"rows": [{**row, _feature(lab): "about 3"} for row in lab.rows]}


DEEP_ARRAYS = b'{"rows": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
DEEP_OBJECTS = b'{"a": ' * 10_000 + b"1" + b"}" * 10_000
JSON = {"Content-Type": "application/json"}
# name: (route, what to send, the status and the codes expected)
BAD_INPUT: dict[str, tuple[str, Callable[[Any], dict[str, Any]], int, tuple[str, ...]]] = {
    "malformed JSON": (
        "predict",
        lambda lab: {"content": b'{"rows": [', "headers": JSON},
        400,
        ("bad_input",),
    ),
    "rows as text": ("predict", lambda lab: {"json": {"rows": "x"}}, 400, ("bad_input",)),
    "a list in a cell": (
        "predict",
        lambda lab: {"json": {"rows": [{"a": [1, 2]}]}},
        400,
        ("bad_input",),
    ),
    "no rows": ("predict", lambda lab: {"json": {"rows": []}}, 400, ("bad_input",)),
    "an unknown column only": (
        "predict",
        lambda lab: {"json": {"rows": [{"bogus": 1}]}},
        400,
        ("bad_input",),
    ),
    "a feature column missing": (
        "predict",
        lambda lab: {"json": _without_a_feature(lab)},
        400,
        ("bad_input",),
    ),
    "text where the model reads numbers": (
        "predict",
        lambda lab: {"json": _as_text(lab)},
        400,
        ("bad_input",),
    ),
    "a body that is not UTF-8": (
        "predict",
        lambda lab: {"content": b'{"rows": [{"a": "\xff\xfe"}]}', "headers": JSON},
        400,
        ("bad_input",),
    ),
    "a CSV body that is not text": (
        "predict",
        lambda lab: {
            "content": b"\x89PNG\r\n\x1a\n\x00\x00",
            "headers": {"Content-Type": "text/csv"},
        },
        400,
        ("bad_input", "bad_file"),
    ),
    "a body of another type": (
        "predict",
        lambda lab: {"content": b"<rows/>", "headers": {"Content-Type": "application/xml"}},
        400,
        ("bad_input",),
    ),
    "arrays nested 10 000 deep": (
        "predict",
        lambda lab: {"content": DEEP_ARRAYS, "headers": JSON},
        400,
        ("bad_input",),
    ),
    "objects nested 10 000 deep": (
        "predict",
        lambda lab: {"content": DEEP_OBJECTS, "headers": JSON},
        400,
        ("bad_input",),
    ),
    "arrays nested 10 000 deep to a typed route": (
        "stage",
        lambda lab: {"content": DEEP_ARRAYS, "headers": JSON},
        400,
        ("bad_input", "bad_request", "http_error"),
    ),
    "a stage that does not exist": (
        "stage",
        lambda lab: {"json": {"stage": "shipped"}},
        422,
        ("bad_request",),
    ),
    "a number where text is expected": (
        "stage",
        lambda lab: {"json": {"stage": 3, "reason": ["a"]}},
        422,
        ("bad_request",),
    ),
    "a program": (
        "datasets/fresh",
        lambda lab: {"files": {"file": ("tool.exe", b"MZ\x90\x00\x03" + bytes(range(256)))}},
        400,
        ("bad_file",),
    ),
    "an image named .csv": (
        "datasets/fresh",
        lambda lab: {"files": {"file": ("runs.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))}},
        400,
        ("bad_file",),
    ),
    "an image named .csv.gz": (
        "datasets/fresh",
        lambda lab: {"files": {"file": ("runs.csv.gz", b"\x89PNG\r\n\x1a\n" + bytes(range(99)))}},
        400,
        ("bad_file",),
    ),
    "an empty file": (
        "datasets/fresh",
        lambda lab: {"files": {"file": ("runs.csv", b"")}},
        400,
        ("bad_file",),
    ),
    "no file": ("datasets/fresh", lambda lab: {"data": {"target": "yield"}}, 422, ("bad_request",)),
}
# a dataset name that climbs out of the folder: refused as a name, or matching no route
TRAVERSALS = [
    "..%2F..%2Fescaped",
    "%2E%2E%2F%2E%2E%2Fescaped",
    "%2E%2E",
    "..",
    "..%5C..%5Cescaped",
    "%252E%252E%252Fescaped",
    "chem%2F..%2F..%2Fescaped",
]


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_a_client_error_that_changes_nothing(api: Any, lab: Any, case: str) -> None:
    route, request, status, codes = BAD_INPUT[case]
    url = f"{API}/{route}" if route.startswith("datasets") else f"{API}/models/{lab.model}/{route}"
    sent = request(lab)
    headers = {**lab.auth("sam"), **sent.pop("headers", {})}
    before = state(lab.ws)
    refused(api.post(url, headers=headers, **sent), status, *codes)
    assert state(lab.ws) == before


@pytest.mark.parametrize("name", TRAVERSALS)
def test_a_dataset_name_that_climbs_out_is_refused(api: Any, lab: Any, name: str) -> None:
    before = state(lab.ws)
    answer = api.post(
        f"{API}/datasets/{name}", headers=lab.auth("sam"), files={"file": ("runs.csv", CSV)}
    )
    assert answer.status_code in (400, 404), answer.text
    error = error_of(answer)
    assert error["code"] in ("bad_input", "not_found")
    assert state(lab.ws) == before
    assert not list(lab.home.parent.rglob("escaped*"))


BAD_QUERIES = {
    "an offset past any integer": ("/datasets/chem/rows", {"offset": str(2**63)}, (400, 422)),
    "a negative offset": ("/datasets/chem/rows", {"offset": "-1"}, (422,)),
    "no rows asked": ("/datasets/chem/rows", {"limit": "0"}, (422,)),
    "a limit past the page size": ("/datasets/chem/rows", {"limit": "1000000"}, (422,)),
    "a date that is not one": ("/audit", {"since": "yesterday"}, (400,)),
    "an export format there is none of": ("/audit/export", {"format": "xml"}, (422,)),
    "a limit of entries past any integer": ("/audit", {"limit": str(2**64)}, (422,)),
}


@pytest.mark.parametrize("case", BAD_QUERIES)
def test_a_bad_query_is_a_client_error(api: Any, lab: Any, case: str) -> None:
    path, params, statuses = BAD_QUERIES[case]
    answer = api.get(f"{API}{path}", params=params, headers=lab.auth("ada"))
    assert answer.status_code in statuses, (answer.status_code, answer.text[:300])
    assert error_of(answer)["code"] in ("bad_input", "bad_request")


@pytest.fixture(scope="module")
def tiny(lab: Any) -> Iterator[TestClient]:
    """The lab's app taking bodies of at most 1000 bytes."""
    app = create_app(workspace=lab.ws, upload_bytes=1000, body_bytes=1000)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def multipart(data: bytes, filename: str = "runs.csv") -> tuple[bytes, str]:
    boundary = "labsight-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
        "\r\nContent-Type: text/csv\r\n\r\n"
    )
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def in_chunks(data: bytes, size: int = 256) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


BIG_CSV = b"run,value\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(500))


def test_an_upload_over_the_limit_is_413(tiny: TestClient, lab: Any) -> None:
    before = state(lab.ws)
    answer = tiny.post(
        f"{API}/datasets/big", headers=lab.auth("sam"), files={"file": ("big.csv", BIG_CSV)}
    )
    error = refused(answer, 413, "too_large")
    assert "1000 bytes" in error["message"]
    assert state(lab.ws) == before


def test_a_chunked_upload_over_the_limit_is_413(tiny: TestClient, lab: Any) -> None:
    body, content_type = multipart(BIG_CSV)
    request = tiny.build_request(
        "POST",
        f"{API}/datasets/big",
        headers={**lab.auth("sam"), "Content-Type": content_type},
        content=in_chunks(body),
    )
    assert "content-length" not in request.headers  # the body does not say how long it is
    assert request.headers["transfer-encoding"] == "chunked"
    before = state(lab.ws)
    refused(tiny.send(request), 413, "too_large")
    assert state(lab.ws) == before


def test_a_small_chunked_upload_is_taken(tiny: TestClient, lab: Any) -> None:
    body, content_type = multipart(CSV)
    answer = tiny.post(
        f"{API}/datasets/chunked",
        headers={**lab.auth("sam"), "Content-Type": content_type},
        content=in_chunks(body, 16),
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("chunked", [False, True], ids=["with its length", "chunked"])
def test_a_predict_body_over_the_limit_is_413(tiny: TestClient, lab: Any, chunked: bool) -> None:
    body = b'{"rows": [' + b",".join([b'{"a": 1}'] * 500) + b"]}"
    before = state(lab.ws)
    answer = tiny.post(
        f"{API}/models/{lab.model}/predict",
        headers={**lab.auth("sam"), **JSON},
        content=in_chunks(body) if chunked else body,
    )
    refused(answer, 413, "too_large")
    assert state(lab.ws) == before


@pytest.fixture(scope="module")
def limited_server(request: pytest.FixtureRequest, lab: Any) -> Iterator[Any]:
    """A real ``labsight serve`` process over the lab, taking uploads of at most 64 KiB (the
    conftest's ``start_server``, as pytest loaded it: a test module cannot import a conftest)."""
    here = Path(__file__).with_name("conftest.py").resolve()
    plugins = request.config.pluginmanager.get_plugins()
    conftest = next(p for p in plugins if Path(getattr(p, "__file__", "") or ".").resolve() == here)
    server = conftest.start_server(lab.home, env={"LABSIGHT_MAX_UPLOAD_BYTES": "64KiB"})
    yield server
    server.stop()


@pytest.mark.parametrize("chunked", [False, True], ids=["with its length", "chunked"])
def test_a_real_server_refuses_an_upload_over_its_limit(
    limited_server: Any, lab: Any, chunked: bool
) -> None:
    body, content_type = multipart(b"run,value\n" + b"1,2.5\n" * 50_000)
    before = state(lab.ws)
    answer = httpx.post(
        f"{limited_server.url}{API}/datasets/big",
        headers={**lab.auth("sam"), "Content-Type": content_type},
        content=in_chunks(body, 4096) if chunked else body,
        timeout=30,
    )
    error = refused(answer, 413, "too_large")
    assert "64 KiB" in error["message"]
    assert state(lab.ws) == before


def gzip_bomb(expanded: int) -> bytes:
    """A .csv.gz that expands to ``expanded`` bytes (a column of zeros)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as handle:
        handle.write(b"value\n")
        line = b"0\n" * (MiB // 2)
        for _ in range(expanded // MiB):
            handle.write(line)
    return buffer.getvalue()


def test_a_gzip_bomb_upload_is_refused(lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = gzip_bomb(64 * MiB)
    assert len(bomb) < MiB
    monkeypatch.setenv(MAX_EXPANDED_BYTES_ENV, "4MiB")
    ws = Workspace(lab.home, user="installer")  # the lab's store, read under the low limit
    try:
        with TestClient(create_app(workspace=ws), raise_server_exceptions=False) as client:
            before = state(lab.ws)
            answer = client.post(
                f"{API}/datasets/bomb",
                headers=lab.auth("sam"),
                files={"file": ("runs.csv.gz", bomb)},
            )
    finally:
        ws.close()
    error = refused(answer, 400, "bad_file")
    assert "decompresses to more than 4 MiB" in error["message"]
    assert error["path"] == "runs.csv.gz"  # the name uploaded, not the server's copy
    assert state(lab.ws) == before


# -- who acts, and what never comes back -------------------------------------------------------


def test_the_acting_user_comes_from_the_token_whatever_the_client_says(api: Any, lab: Any) -> None:
    claims = {"X-User": "ada", "X-Forwarded-User": "ada", "X-Remote-User": "ada"}
    staged = api.post(
        f"{API}/models/{lab.model}/stage",
        params={"user": "ada"},
        headers={**lab.auth("sam"), **claims},
        json={"stage": "validated", "reason": "spoof check", "user": "ada", "actor": "ada"},
    )
    assert staged.status_code == 200, staged.text
    entry = lab.ws.audit.entries(action="model.stage")[-1]
    assert (entry.actor, entry.reason) == ("sam", "spoof check")
    made = api.post(
        f"{API}/datasets/spoofed",
        params={"user": "ada"},
        headers={**lab.auth("sam"), **claims},
        data={"user": "ada", "reason": "spoof check"},
        files={"file": ("runs.csv", CSV)},
    )
    assert made.status_code == 201, made.text
    assert made.json()["created_by"] == "sam"
    assert lab.ws.audit.entries(action="dataset.ingest")[-1].actor == "sam"


def test_no_secret_comes_back(api: Any, browser: TestClient, lab: Any) -> None:
    secret, _ = lab.ws.accounts.create_token("sam", "predict", expires="1d", note="secret check")
    used = {"Authorization": f"Bearer {secret}"}
    assert api.get(f"{API}/me", headers=used).status_code == 200
    login = browser.post(f"{API}/login", json={"user": "sam", "password": "scientist-password-1"})
    assert login.status_code == 200, login.text
    signed = api.post(
        f"{API}/signatures",
        headers=lab.auth("sam"),
        json={
            "record": lab.model,
            "meaning": "authored",
            "password": "scientist-password-1",
            "reason": "my model",
        },
    )
    assert signed.status_code == 201, signed.text
    secrets = [secret, *lab.tokens.values(), *lab.scoped.values()]
    secrets += [s[len("lsk_12345678_") :] for s in secrets]  # the random part alone
    secrets += [browser.cookies["labsight_session"], "scientist-password-1"]
    answers = [
        api.get(f"{API}/audit/export?format=jsonl", headers=lab.auth("ada")),
        api.get(f"{API}/audit/export?format=csv", headers=lab.auth("ada")),
        api.get(f"{API}/audit?limit=10000", headers=lab.auth("ada")),
        api.get(f"{API}/me", headers=lab.auth("ada")),
        api.get(f"{API}/signatures", params={"record": lab.model}, headers=lab.auth("ada")),
        login,
        signed,
    ]
    assert all(a.status_code in (200, 201) for a in answers)
    assert '"token.create"' in answers[0].text  # the export holds the token's creation …
    for answer in answers:
        for text in secrets:
            assert text not in answer.text, (str(answer.url), text[:8])
    assert not re.search(r"lsk_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}", answers[0].text)

"""Load: eight clients against one real ``labsight serve`` for a fixed time, on SQLite (two worker
processes on one database file) and, at the same time, on PostgreSQL (one): half record campaign results, half upload
new versions of their own dataset. Every request is answered 2xx; afterwards every acknowledged
result is stored exactly once, every acknowledged upload is a version holding what was sent, no
request left anything unacknowledged behind, and ``audit verify`` passes.

``LABSIGHT_TEST_LOAD_SECONDS`` sets how long the clients run (default 30, as the issue asks).
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from labsight.workspace import Workspace

pytestmark = pytest.mark.slow

DURATION = float(os.environ.get("LABSIGHT_TEST_LOAD_SECONDS", "30"))
CLIENTS = 8  # half record results, half upload
ROWS_PER_RECORD = 3
CAMPAIGN = "load"
SPACE = """\
parameters:
  - {name: x, type: continuous, bounds: [0, 100]}
  - {name: y, type: continuous, bounds: [0, 1000000]}
objectives:
  - {name: signal, goal: maximize}
"""


@pytest.fixture(scope="module")
def serving(request: pytest.FixtureRequest) -> Any:
    """tests/serve/conftest.py as pytest loaded it (its ``start_server``): test modules cannot
    import a conftest."""
    here = Path(__file__).with_name("conftest.py").resolve()
    for plugin in request.config.pluginmanager.get_plugins():
        path = getattr(plugin, "__file__", None)
        if path and Path(path).resolve() == here:
            return plugin
    raise LookupError(f"{here} is not loaded")


@pytest.fixture
def stores(request: pytest.FixtureRequest) -> list[str | None]:
    """The databases loaded at once: SQLite in the home, and a fresh PostgreSQL schema where a
    server is configured (in CI it must be: the ``pg_url`` fixture fails there without one)."""
    found: list[str | None] = [None]
    with contextlib.suppress(pytest.skip.Exception):
        found.append(str(request.getfixturevalue("pg_url")))
    return found


class Tally:
    """What the clients sent and what the server acknowledged, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acknowledged: list[float] = []  # result markers the server said it stored
        self.reasons: list[str] = []  # and the reasons of those requests
        self.uploads: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self.failures: list[str] = []
        self.requests = collections.Counter[str]()

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)


def _recorder(url: str, token: str, client: int, stop: float, tally: Tally) -> None:
    """Record results until ``stop``: each row new conditions (a new experiment) and a signal
    that names the client and the row, so that a lost or doubled row is seen."""
    seq = 0
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as http:
        while time.monotonic() < stop:
            seq += 1
            markers = [float(client * 1_000_000 + seq * 10 + k) for k in range(ROWS_PER_RECORD)]
            rows = [
                {"x": float(client * 10 + 1), "y": float(seq * 10 + k), "signal": m}
                for k, m in enumerate(markers)
            ]
            reason = f"client {client} batch {seq}"
            with tally.lock:
                tally.requests["record"] += 1
            try:
                answer = http.post(
                    f"/api/v1/campaigns/{CAMPAIGN}/results", json={"rows": rows, "reason": reason}
                )
            except httpx.HTTPError as exc:
                tally.fail(f"record c{client}#{seq}: {type(exc).__name__}: {exc}")
                continue
            if answer.status_code != 200:
                tally.fail(f"record c{client}#{seq}: {answer.status_code} {answer.text[:300]}")
                continue
            body = answer.json()
            if body["results"] != ROWS_PER_RECORD or len(body["new_experiments"]) != len(rows):
                tally.fail(f"record c{client}#{seq}: answered {body}")
            with tally.lock:
                tally.acknowledged.extend(markers)
                tally.reasons.append(reason)


def _uploader(url: str, token: str, client: int, stop: float, tally: Tally) -> None:
    """Upload a small CSV of unique content as a new version of dataset ``load<client>``."""
    seq = 0
    name = f"load{client}"
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as http:
        while time.monotonic() < stop:
            seq += 1
            lines = ["client,seq,row,temperature [degC],yield [%]"]
            lines += [f"{client},{seq},{i},{20 + i},{(seq * 7 + i) % 100}.5" for i in range(20)]
            csv = ("\n".join(lines) + "\n").encode()
            with tally.lock:
                tally.requests["upload"] += 1
            try:
                answer = http.post(
                    f"/api/v1/datasets/{name}",
                    files={"file": (f"{name}-{seq}.csv", csv, "text/csv")},
                    data={"reason": f"client {client} upload {seq}"},
                )
            except httpx.HTTPError as exc:
                tally.fail(f"upload c{client}#{seq}: {type(exc).__name__}: {exc}")
                continue
            if answer.status_code != 201:
                tally.fail(f"upload c{client}#{seq}: {answer.status_code} {answer.text[:300]}")
                continue
            body = answer.json()
            with tally.lock:
                tally.uploads[name].append({"seq": seq, **body})


def _guarded(target: Any, tally: Tally, *args: Any) -> None:
    try:
        target(*args, tally)
    except BaseException as exc:  # a bug of the test's client: reported, never silent
        tally.fail(f"client thread crashed: {type(exc).__name__}: {exc}")


def _prepare(home: Path, store: str | None, space: Path) -> list[str]:
    ws = Workspace(home, db_url=store, user="installer")
    ws.accounts.add_user("sam", "scientist", "scientist-password-1", full_name="Sam")
    tokens = [ws.accounts.create_token("sam", "write", expires="1d")[0] for _ in range(CLIENTS)]
    ws.new_campaign(CAMPAIGN, space, seed=0, reason="load test")
    ws.close()
    return tokens


def _clients(url: str, tokens: list[str], stop: float, tally: Tally) -> list[threading.Thread]:
    return [
        threading.Thread(
            target=_guarded,
            args=(
                _recorder if client % 2 == 0 else _uploader,
                tally,
                url,
                tokens[client],
                client,
                stop,
            ),
            name=f"client-{client}",
        )
        for client in range(CLIENTS)
    ]


def _check(home: Path, store: str | None, tally: Tally, log: str) -> None:
    assert not tally.failures, (
        f"{len(tally.failures)} of {sum(tally.requests.values())} requests failed, e.g. "
        f"{tally.failures[:5]}\nserver log:\n{log}"
    )
    uploaders = [f"load{c}" for c in range(CLIENTS) if c % 2]
    assert tally.acknowledged, "no result was recorded"
    assert all(tally.uploads[name] for name in uploaders), "a client uploaded nothing"

    with Workspace(home, db_url=store, user="checker") as fresh:
        # every acknowledged result exactly once, and nothing unacknowledged
        stored = fresh.campaign(CAMPAIGN).results()
        counts = collections.Counter(stored["signal"].to_list())
        doubled = {m: n for m, n in counts.items() if n > 1}
        assert not doubled, f"results stored more than once: {list(doubled.items())[:10]}"
        lost = set(tally.acknowledged) - set(counts)
        assert not lost, f"{len(lost)} acknowledged results are not stored: {sorted(lost)[:10]}"
        assert sorted(counts) == sorted(tally.acknowledged)
        assert stored["experiment_id"].n_unique() == stored.height  # each row its experiment
        recorded = fresh.audit.entries(action="design.record", object_id=CAMPAIGN)
        assert sorted(str(e.reason) for e in recorded) == sorted(tally.reasons)
        assert {e.new_value for e in recorded} == {f"{ROWS_PER_RECORD} results"}

        # every acknowledged upload a version, numbered in turn, holding what was sent
        for name in uploaders:
            sent = tally.uploads[name]
            history = fresh.history(name)
            assert sorted(v.ref for v in history) == sorted(a["ref"] for a in sent)
            assert sorted(v.number for v in history) == list(range(1, len(sent) + 1))
            for answer in sent:
                frame = fresh.dataset(answer["ref"]).to_polars()
                assert frame.height == answer["rows"] == 20
                assert frame["seq"].unique().to_list() == [answer["seq"]]
            ingests = fresh.audit.entries(action="dataset.ingest", object_id=name)
            assert sorted(str(e.version) for e in ingests) == sorted(v.version for v in history)

        report = fresh.audit.verify()
        assert report.ok, report


def test_eight_clients_lose_nothing_and_double_nothing(
    serving: Any, stores: list[str | None], tmp_path: Path
) -> None:
    """Eight clients on each database at the same time (so the two runs share the machine's
    cores, as a busy lab's server would, and CI pays the 30 s once)."""
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    homes = [tmp_path / f"home-{i}" for i in range(len(stores))]
    tokens = [_prepare(home, store, space) for home, store in zip(homes, stores, strict=True)]
    servers = []
    tallies = [Tally() for _ in stores]
    try:
        for home, store in zip(homes, stores, strict=True):
            # several processes on one SQLite file is where a writer meets another's lock;
            # PostgreSQL takes the threads of one process (each with its own connection)
            extra = ("--workers", "2") if store is None else ()
            env = {"LABSIGHT_DB_URL": store} if store else None
            servers.append(serving.start_server(home, *extra, env=env))
        stop = time.monotonic() + DURATION
        threads = [
            thread
            for server, keys, tally in zip(servers, tokens, tallies, strict=True)
            for thread in _clients(server.url, keys, stop, tally)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DURATION + 120)
        assert not any(t.is_alive() for t in threads), (
            "a client hung (the server stopped answering)"
        )
    finally:
        for server in servers:
            server.stop()
    for home, store, tally, server in zip(homes, stores, tallies, servers, strict=True):
        _check(home, store, tally, server.log.read_text(errors="replace")[-3000:])
        print(
            f"{'postgres' if store else 'sqlite'}: {DURATION:g} s, {dict(tally.requests)} "
            f"requests, {len(tally.acknowledged)} results, "
            f"{sum(len(v) for v in tally.uploads.values())} versions"
        )

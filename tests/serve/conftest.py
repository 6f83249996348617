"""Fixtures of the server's tests: a workspace with one user of each role, their tokens, a dataset
and a model; the app in-process (``api``) and as a real ``labsight serve`` process on a free
loopback port (``server``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import labsight
from labsight.serve.app import create_app
from labsight.workspace import Workspace

PASSWORDS = {
    "ada": "admin-password-1",
    "sam": "scientist-password-1",
    "rita": "reviewer-password-1",
    "vic": "viewer-password-1",
}
ROLES = {"ada": "admin", "sam": "scientist", "rita": "reviewer", "vic": "viewer"}


@dataclass
class Lab:
    """A workspace set up for the server: ``tokens[user]`` are write-scope tokens (what the role
    allows), ``scoped[scope]`` tokens of the scientist with that scope; ``model`` a ridge model of
    the example's yield trained by the scientist, ``rows`` three held-out rows without the yield."""

    home: Path
    ws: Workspace
    tokens: dict[str, str] = field(default_factory=dict)
    scoped: dict[str, str] = field(default_factory=dict)
    model: str = ""
    rows: list[dict[str, object]] = field(default_factory=list)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def make_lab(home: Path, db_url: str | None = None) -> Lab:
    ws = Workspace(home, db_url=db_url, user="installer")
    lab = Lab(home, ws)
    for user, role in ROLES.items():
        ws.accounts.add_user(user, role, PASSWORDS[user], full_name=user.title())
        lab.tokens[user], _ = ws.accounts.create_token(user, "write", expires="1d")
    for scope in ("read", "predict", "write"):
        lab.scoped[scope], _ = ws.accounts.create_token("sam", scope, expires="1d")
    sam = ws.acting_as("sam")
    import polars as pl

    frame = pl.read_csv(labsight.example_path())
    train_csv = home / "train.csv"
    frame.head(frame.height - 3).write_csv(train_csv)
    ds = sam.ingest(train_csv, name="chem", on_issue="ignore")
    record, _ = sam.models.train(
        ds, "yield", budget=30, seed=0, families=["ridge"], max_trials=2, name="ridge"
    )
    lab.model = record.ref
    lab.rows = frame.tail(3).drop("yield").to_dicts()
    return lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One lab per test module (training takes seconds); tests add to it, never rely on counts
    another test changes."""
    made = make_lab(tmp_path_factory.mktemp("lab"))
    yield made
    made.ws.close()


@pytest.fixture(scope="module")
def api(lab: Lab) -> Iterator[TestClient]:
    """The app in this process, over the lab's workspace."""
    with TestClient(create_app(workspace=lab.ws), raise_server_exceptions=False) as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_server(home: Path, *extra: str, env: dict[str, str] | None = None) -> Server:
    """``labsight --home HOME serve --port P`` as its own process; returns once it answers."""
    port = free_port()
    log = home / f"serve-{port}.log"
    command = [
        sys.executable,
        "-c",
        "from labsight.cli import run; run()",
        "--home",
        str(home),
        "serve",
        "--port",
        str(port),
        *extra,
    ]
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"labsight serve stopped: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return Server(url, process, log)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"labsight serve did not answer in 60 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def server(lab: Lab) -> Iterator[Server]:
    """A real `labsight serve` process over the lab's workspace."""
    started = start_server(lab.home)
    yield started
    started.stop()

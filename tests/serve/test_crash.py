"""A ``labsight serve`` killed with SIGKILL during an upload leaves no half-written version.

A large CSV is uploaded and the server's process group killed at one moment of the upload:
while the body arrives, while the server reads its copy of the file, while the Parquet is being
written, just after the Parquet is in the artifact store (the version not committed yet, as a
rule), and once the version is committed (answered or not yet). Afterwards the dataset is absent or one complete version with every
row; ``audit verify`` passes; the artifact store holds only whole artifacts and temporaries that
the sweep removes; and a server started again on the same home serves, with no upload's copy
left in ``home/uploads``.

``LABSIGHT_TEST_CRASH_ROWS`` sets the size of the upload (default 1.5 million rows, ~40 MB).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from sqlalchemy import Engine, create_engine, text

from labsight.exceptions import NotFoundError
from labsight.workspace import Workspace

pytestmark = pytest.mark.slow

ROWS = int(os.environ.get("LABSIGHT_TEST_CRASH_ROWS", "1500000"))
CHUNK = 1 << 20
BOUNDARY = "labsight-crash-test-boundary"
PHASE_TIMEOUT = 180.0  # seconds to wait for a moment of the upload on a slow, shared machine


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


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROWS rows with units, a category and a run number whose sum checks that every row is in."""
    path = tmp_path_factory.mktemp("upload") / "big.csv"
    run = pl.int_range(0, ROWS, eager=True).alias("run")
    pl.DataFrame(
        {
            "run": run,
            "temperature [degC]": 20 + (run % 97) * 0.5,
            "time [min]": run % 60,
            "yield [%]": ((run * 7919) % 1000) / 10,
            "catalyst": pl.Series(["Pd-A", "Pd-B", "Pd-C", "Pd-D"] * (ROWS // 4 + 1))[:ROWS],
        }
    ).write_csv(path)
    return path


def _lab(home: Path, db_url: str | None) -> tuple[str, str]:
    """A workspace at ``home`` with one scientist; returns their write token and the database."""
    with Workspace(home, db_url=db_url, user="installer") as ws:
        ws.accounts.add_user("sam", "scientist", "scientist-password-1", full_name="Sam")
        token, _ = ws.accounts.create_token("sam", "write", expires="1d")
        return token, ws.settings.db_url


class Upload:
    """One multipart upload of ``path`` streamed from a thread, in chunks; ``pause_at`` bytes in,
    it stops sending until ``resume`` is set (so the server is surely mid-body)."""

    def __init__(self, url: str, token: str, path: Path, pause_at: int | None = None) -> None:
        self.path = path
        self.pause_at = pause_at
        self.paused = threading.Event()
        self.resume = threading.Event()
        self.sent = threading.Event()  # the whole body is written
        self.done = threading.Event()  # an answer or an error came back
        self.answer: httpx.Response | None = None
        self.error: BaseException | None = None
        head = (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.head, self.tail = head, tail
        length = len(head) + path.stat().st_size + len(tail)
        self.thread = threading.Thread(
            target=self._post,
            args=(
                f"{url}/api/v1/datasets/big",
                {
                    "Authorization": f"Bearer {token}",
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    "Content-Length": str(length),
                },
            ),
            daemon=True,
        )
        self.thread.start()

    def _body(self) -> Iterator[bytes]:
        yield self.head
        sent = 0
        with self.path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
                sent += len(chunk)
                if self.pause_at is not None and sent >= self.pause_at and not self.paused.is_set():
                    self.paused.set()
                    self.resume.wait(PHASE_TIMEOUT)
        yield self.tail
        self.sent.set()

    def _post(self, url: str, headers: dict[str, str]) -> None:
        try:
            self.answer = httpx.post(url, content=self._body(), headers=headers, timeout=600)
        except BaseException as exc:  # the server died under it: expected, looked at by the test
            self.error = exc
        finally:
            self.done.set()


def _files(folder: Path) -> list[Path]:
    """The files under ``folder``, now (a server may be removing them meanwhile)."""
    return sorted(Path(top, name) for top, _, names in os.walk(folder) for name in names)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed since it was listed
        return -1


def _wait(condition: Callable[[], bool], upload: Upload) -> bool:
    """Poll ``condition`` until it holds (True) or the upload is answered first (False)."""
    deadline = time.monotonic() + PHASE_TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return True
        if upload.done.is_set():
            return condition()
        time.sleep(0.002)
    raise AssertionError("the upload reached no recognisable moment in time")


def _versions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM dataset_versions")).scalar_one())


def _kill(server: Any) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(60)


PHASES = ("body", "reading", "parquet", "committed", "stored")


@pytest.mark.parametrize(
    ("phase", "database"),
    [
        *((phase, "sqlite") for phase in PHASES),
        *(
            pytest.param(phase, "postgres", marks=pytest.mark.postgres)
            for phase in ("committed", "stored")
        ),
    ],
)
def test_a_killed_upload_leaves_no_half_written_version(
    serving: Any,
    big_csv: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    phase: str,
    database: str,
) -> None:
    db_url = str(request.getfixturevalue("pg_url")) if database == "postgres" else None
    env = {"LABSIGHT_DB_URL": db_url} if db_url else None
    home = tmp_path / "home"
    token, database_url = _lab(home, db_url)
    uploads, artifacts = home / "uploads", home / "artifacts"
    before = set(_files(artifacts / "sha256"))
    size = big_csv.stat().st_size

    engine = create_engine(database_url)
    server = serving.start_server(home, env=env)
    upload: Upload | None = None
    try:
        if phase == "body":
            upload = Upload(server.url, token, big_csv, pause_at=size // 2)
            assert upload.paused.wait(PHASE_TIMEOUT), "the body was not sent"
            time.sleep(0.5)  # the server takes in what was sent; it cannot have the rest
            hit = not upload.done.is_set()
        else:
            upload = Upload(server.url, token, big_csv)
            moments: dict[str, Callable[[], bool]] = {
                # the server's copy is whole: it reads and checks the table
                "reading": lambda: any(_size(p) >= size for p in _files(uploads)),
                # the Parquet file is being written
                "parquet": lambda: any(p.suffix == ".part" for p in _files(artifacts / "tmp")),
                # the Parquet is in the store; the version is being committed, or just was
                "committed": lambda: set(_files(artifacts / "sha256")) != before,
                # the version is committed; the answer is on its way, or not yet
                "stored": lambda: _versions(engine) > 0,
            }
            hit = _wait(moments[phase], upload) and not upload.done.is_set()
        _kill(server)
    finally:
        engine.dispose()
        if upload is not None:
            upload.resume.set()
        server.stop()
    upload.thread.join(PHASE_TIMEOUT)
    answered = upload.answer is not None and upload.answer.status_code == 201
    left = _files(uploads)

    with Workspace(home, db_url=db_url, user="checker") as ws:
        try:
            versions = ws.history("big")
        except NotFoundError:
            versions = []
        assert len(versions) <= 1
        if answered:  # acknowledged before the kill: it must be there
            assert len(versions) == 1
        if versions:  # complete, or not at all
            version = ws.dataset("big")
            assert version.rows == ROWS
            frame = version.to_polars()
            assert frame.height == ROWS
            assert frame["run"].sum() == ROWS * (ROWS - 1) // 2
        ingests = ws.audit.entries(action="dataset.ingest", object_id="big")
        assert [e.version for e in ingests] == [v.version for v in versions]
        report = ws.audit.verify()
        assert report.ok, report
        print(
            f"{phase}/{database}: killed in that moment: {hit}, answered: {answered}, "
            f"versions: {len(versions)}, upload files left: {len(left)}, artifact temporaries: "
            f"{len(_files(artifacts / 'tmp'))}, new artifacts: "
            f"{len(set(_files(artifacts / 'sha256')) - before)}"
        )
        # the artifact store: whole artifacts, and temporaries its sweep will remove
        for path in _files(artifacts):
            relative = path.relative_to(artifacts)
            if relative.parts[0] == "tmp":
                assert path.name.endswith(".part"), relative
            else:
                assert relative.parts[0] == "sha256", relative
                assert ws.artifacts.check(path.name) is None, f"{relative} is not whole"

    # a server started again serves the same home, and leaves no upload's copy behind
    again = serving.start_server(home, env=env)
    try:
        small = b"run,temperature [degC],yield [%]\n1,60,41.5\n2,70,48.0\n"
        made = httpx.post(
            f"{again.url}/api/v1/datasets/after",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("after.csv", small, "text/csv")},
            timeout=120,
        )
        assert made.status_code == 201, made.text
        stale = [str(p.relative_to(home)) for p in _files(uploads)]
    finally:
        again.stop()
    assert not stale, (
        f"the killed upload's copy is still in {uploads} after a restart "
        f"({len(left)} file(s) left by the kill): {stale}"
    )

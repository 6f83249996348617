"""Shared fixtures: a fresh workspace per test, and a real PostgreSQL schema when one is available."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import labsight

# CI runs the same examples every time (a red build must be reproducible); locally Hypothesis keeps
# exploring new ones. No deadline: a slow shared machine is not a bug.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

PG_ENV = "LABSIGHT_TEST_PG_URL"

# The command line prints at its width for a pipe (140 columns) under test, in one process or in
# pytest-xdist's workers, which are handed the parent's terminal width as COLUMNS: a table or a
# long temporary path must not wrap differently from one run to the next.
os.environ.pop("COLUMNS", None)

# Under pytest-xdist every worker is a process of its own on a machine of few cores: torch and the
# BLAS libraries each starting a thread per core oversubscribe it (a BoTorch proposal of 3.6 s
# alone took 51 s beside a busy worker). One thread per worker: torch reads OMP_NUM_THREADS when
# it is first imported; numpy's BLAS, already loaded, is limited through threadpoolctl.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    from threadpoolctl import threadpool_limits

    _ONE_THREAD = threadpool_limits(limits=1)  # kept: the limit holds for the worker's life


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[labsight.Workspace]:
    """A workspace in a temporary folder (SQLite + local artifacts), acting as 'tester'."""
    workspace = labsight.Workspace(tmp_path / "home", user="tester")
    yield workspace
    workspace.close()


class CliRun:
    """The command line in-process through ``labsight.cli.main`` (where the one-line errors and
    exit codes are made), on a home of its own: ``code, out, err = run("ingest", path)``."""

    def __init__(self, capsys: pytest.CaptureFixture[str], home: Path, user: str) -> None:
        self.capsys = capsys
        self.home = home
        self.user = user

    def __call__(self, *args: str) -> tuple[int, str, str]:
        from labsight.cli import main

        code = main(["--home", str(self.home), "--user", self.user, *args])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> CliRun:
    """The CLI on ``tmp_path / "home"``, acting as 'cli-tester' (set ``run.user`` to change it)."""
    return CliRun(capsys, tmp_path / "home", "cli-tester")


@pytest.fixture
def yield_csv(tmp_path: Path) -> Path:
    """A small reaction table with units in the headers, a category and a missing cell."""
    path = tmp_path / "reactions.csv"
    path.write_text(
        "run,catalyst,temperature [degC],time [min],yield [%]\n"
        "1,Pd-A,60,30,41.5\n"
        "2,Pd-A,70,30,48.0\n"
        "3,Pd-B,60,60,55.2\n"
        "4,Pd-B,80,,61.9\n"
        "5,Pd-A,80,90,58.3\n"
        "6,Pd-B,70,90,63.4\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to a fresh schema on the real PostgreSQL server named by $LABSIGHT_TEST_PG_URL.

    Skips where no server is configured; in CI (CI=true) a missing server is an error.
    """
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} is not set in CI; .ci/run must point it at PostgreSQL")
        pytest.skip(
            f"PostgreSQL tests need a server: set {PG_ENV}="
            "postgresql+psycopg://postgres@127.0.0.1:5432/test (as .ci/run does)"
        )
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the server is configured but not answering
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL at {base} is not reachable ({exc}); start it or unset {PG_ENV}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def append_concurrently() -> Callable[[Any, int, int], list[BaseException]]:
    """Append audit entries from several threads at once; returns the errors they raised."""
    import threading

    from labsight.audit import AuditEvent, record

    def run(db: Any, writers: int = 4, each: int = 10) -> list[BaseException]:
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                for i in range(each):
                    with db.write() as session:
                        record(session, AuditEvent("test.append", "thing", f"{n}-{i}"), f"w{n}")
            except BaseException as exc:  # reported to the test
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors

    return run

"""Kill -9 at random moments of an ingest: afterwards the store and the audit chain verify and no
partial version is visible."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labsight

pytestmark = pytest.mark.slow

CHILD = """
import sys, labsight
ws = labsight.Workspace(sys.argv[1], user="crash")
for i in range(int(sys.argv[3])):
    ws.ingest(sys.argv[2], name=f"big{i}", on_issue="ignore")
print("done", flush=True)
"""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({f"x{j} [mg/L]": rng.normal(size=60_000).round(5) for j in range(10)})
    path = tmp_path_factory.mktemp("crash") / "big.csv"
    frame.write_csv(path)
    return path


def _spawn(home: Path, csv: Path, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(csv), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _check_consistent(home: Path) -> int:
    db = sqlite3.connect(home / "labsight.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with labsight.Workspace(home, user="checker") as ws:
        report = ws.audit.verify()
        assert report.ok, report.problem
        datasets = ws.datasets()
        ingests = [e for e in ws.audit.entries() if e.action == "dataset.ingest"]
        # Every visible dataset has exactly one audit entry, and its data load and verify.
        assert sorted(d.name for d in datasets) == sorted(e.object_id for e in ingests)
        for d in datasets:
            frame = ws.dataset(d.name).to_polars()
            assert frame.shape == (60_000, 10)
        return len(datasets)


def test_kill_9_during_ingest_leaves_a_consistent_workspace(tmp_path: Path, big_csv: Path) -> None:
    # How long do three ingests take uninterrupted (after start-up)?
    start = time.perf_counter()
    proc = _spawn(tmp_path / "timing", big_csv, 3)
    assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    total = time.perf_counter() - start
    rng = random.Random(42)
    seen = set()
    for trial in range(8):
        home = tmp_path / f"ws{trial}"
        proc = _spawn(home, big_csv, 3)
        time.sleep(rng.uniform(0.05, 1.0) * total)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if not (home / "labsight.db").exists():
            continue  # killed before the workspace existed: nothing to check
        seen.add(_check_consistent(home))
    assert seen, "no trial got as far as creating a workspace"

"""Each call that collects its warnings gets its own, however many run at once (a server answers
many requests together; ``warnings.catch_warnings`` swaps process-wide state and mixed them up)."""

from __future__ import annotations

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labsight
from labsight._notes import collecting, warn
from labsight.exceptions import LabsightWarning


def test_collections_in_threads_hold_their_own_warnings_only() -> None:
    barrier = threading.Barrier(4)

    def one(i: int) -> list[str]:
        with collecting() as notes:
            barrier.wait()
            for k in range(50):
                warn(f"thread {i} note {k}")
            barrier.wait()
        return notes

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(4)))
    for i, notes in enumerate(results):
        assert notes == [f"thread {i} note {k}" for k in range(50)]


def test_outside_a_collection_a_warning_is_a_python_warning() -> None:
    with pytest.warns(LabsightWarning, match="no unit"):
        warn("column 'T' has no unit")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with collecting() as notes:
            warn("collected, not raised")
    assert notes == ["collected, not raised"]


def test_concurrent_predictions_each_get_their_own_unit_warnings(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    t = rng.uniform(20, 80, 40)
    frame = pl.DataFrame({"temperature [degC]": t, "yield [%]": 0.5 * t + rng.normal(0, 1, 40)})
    frame.write_csv(tmp_path / "runs.csv")
    with labsight.Workspace(tmp_path / "home", user="tester") as ws:
        ws.ingest(tmp_path / "runs.csv", name="runs")
        record, _ = ws.models.train(
            "runs", "yield [%]", budget=20, families=["ridge"], max_trials=1
        )
        with_unit = [{"temperature [degC]": 50.0}]
        without = [{"temperature": 50.0}]

        def one(i: int) -> tuple[bool, list[str]]:
            rows = without if i % 2 else with_unit
            return bool(i % 2), ws.models.predict_rows(record.ref, rows).warnings

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(400)))
    for unitless, notes in results:
        if unitless:
            assert len([n for n in notes if "has no unit" in n]) == 1, notes
        else:
            assert not any("has no unit" in n for n in notes), notes

"""Ingest + quality report of a 1,000,000 × 20 numeric CSV, against pandas.read_csv and ydata-profiling.

Run through ``make bench`` (bench/run.py). ``python -m bench.ingest_quality JOB CSV`` runs one job in
this process and prints one JSON line: wall seconds and peak memory above the post-import baseline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from bench._harness import measure_job

ROWS, COLS = 1_000_000, 20
TABLE_BYTES = ROWS * COLS * 8  # the table as float64 in memory


def planted_path(csv: Path) -> Path:
    return csv.with_suffix(".planted.json")


def make_csv(path: Path, rows: int = ROWS, cols: int = COLS, seed: int = 7) -> Path:
    """A numeric table with ~1% missing cells and a few hundred gross outliers, written once.

    The rows of the planted outliers that survive the missing-cell mask are written beside it
    (``*.planted.json``), so the benchmark can say how many of them the report found.
    """
    if path.exists() and planted_path(path).exists():
        return path
    import polars as pl

    rng = np.random.default_rng(seed)
    data = {}
    planted: dict[str, list[int]] = {}
    for j in range(cols):
        values = rng.normal(50 + j, 5 + j % 4, rows)
        outliers = rng.choice(rows, 30, replace=False)
        values[outliers] += rng.choice([-1, 1], 30) * 60 * (5 + j % 4)
        col = pl.Series(f"x{j:02d} [mg/L]" if j % 5 == 0 else f"x{j:02d}", np.round(values, 4))
        data[col.name] = col
        planted[col.name] = sorted(int(r) for r in outliers)
    frame = pl.DataFrame(data)
    mask = {name: pl.Series(rng.random(rows) < 0.01) for name in frame.columns}
    frame = frame.with_columns(
        [pl.when(mask[c]).then(None).otherwise(pl.col(c)).alias(c) for c in frame.columns]
    )
    for name in frame.columns:
        gone = set(np.flatnonzero(mask[name].to_numpy()).tolist())
        planted[name] = [r for r in planted[name] if r not in gone]
    path.parent.mkdir(parents=True, exist_ok=True)
    planted_path(path).write_text(json.dumps(planted))
    tmp = path.with_suffix(".part")
    frame.write_csv(tmp)
    tmp.replace(path)
    return path


def _job_labsight(csv: Path) -> dict[str, int]:
    from labsight.data.ingest import read_table
    from labsight.data.quality import check_table

    table = read_table(csv, on_issue="ignore")
    report = check_table(table)
    return {"findings": len(report.findings)}


def outlier_recall(csv: Path) -> dict[str, int]:
    """How many planted outliers the report flags, and how many other cells it flags (not timed)."""
    from labsight.data.ingest import read_table
    from labsight.data.quality import check_table

    planted = json.loads(planted_path(csv).read_text())
    report = check_table(read_table(csv, on_issue="ignore"), checks=["outlier"])
    found = other = 0
    for f in report.findings:
        truth = set(planted.get(f.column or "", []))
        hits = sum(1 for r in f.rows if r in truth)
        found += hits
        other += len(f.rows) - hits
    return {"planted": sum(len(v) for v in planted.values()), "found": found, "other": other}


def _job_pandas(csv: Path) -> int:
    import pandas as pd

    return int(pd.read_csv(csv).shape[0])


def _job_ydata(csv: Path) -> int:
    import pandas as pd
    from ydata_profiling import ProfileReport

    df = pd.read_csv(csv)
    report = ProfileReport(df, minimal=True, progress_bar=False)
    desc = report.get_description()
    return len(getattr(desc, "alerts", []) or [])


JOBS = {"labsight": _job_labsight, "pandas": _job_pandas, "ydata": _job_ydata}
PRELOAD = {
    "labsight": ["labsight.data.ingest", "labsight.data.quality"],
    "pandas": ["pandas"],
    "ydata": ["pandas", "ydata_profiling"],
}


if __name__ == "__main__":
    measure_job(JOBS, PRELOAD, sys.argv[1], sys.argv[2])

"""The full EDA report of an N × 20 numeric table, against ydata-profiling (minimal and full).

Run through ``make bench`` (bench/run.py). ``python -m bench.explore JOB CSV`` runs one job in this
process and prints one JSON line: wall seconds and peak memory above the post-import baseline.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench._harness import measure_job
from bench.ingest_quality import make_csv


def table_csv(folder: Path, rows: int) -> Path:
    """The benchmark table with ``rows`` rows (the 1M-row generator, cut to size), written once."""
    return make_csv(folder / f"numeric_{rows // 1000}k_x20.csv", rows=rows)


def _job_labsight(csv: Path) -> int:
    from labsight.explore import explore

    report = explore(csv)
    with tempfile.TemporaryDirectory() as folder:
        report.to_html(Path(folder) / "report.html")
    return len(report.specs)


def _ydata(csv: Path, minimal: bool) -> int:
    import pandas as pd
    from ydata_profiling import ProfileReport

    df = pd.read_csv(csv)
    report = ProfileReport(df, minimal=minimal, progress_bar=False)
    with tempfile.TemporaryDirectory() as folder:
        report.to_file(Path(folder) / "report.html")
    return int(df.shape[0])


JOBS = {
    "labsight": _job_labsight,
    "ydata_minimal": lambda csv: _ydata(csv, True),
    "ydata_full": lambda csv: _ydata(csv, False),
}
PRELOAD = {
    # Everything the report imports on first use, as ydata-profiling does at import: the
    # baseline is then the same "all code loaded" point for both.
    "labsight": [
        "labsight.explore._analyse",
        "labsight.explore._html",
        "labsight.explore._plotly",
        "labsight.data.ingest",
        "sklearn.cluster",
        "sklearn.manifold",
        "sklearn.metrics",
        "scipy.stats",
        "jinja2",
        "plotly.io",
        "plotly.offline",
    ],
    "ydata_minimal": ["pandas", "ydata_profiling"],
    "ydata_full": ["pandas", "ydata_profiling"],
}


if __name__ == "__main__":
    measure_job(JOBS, PRELOAD, sys.argv[1], sys.argv[2])

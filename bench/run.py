"""`make bench`: run every benchmark and write its table into BENCHMARKS.md.

Usage: python bench/run.py [--runs N] [--only NAME]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import explore, ingest_quality
from bench._harness import ROOT, machine, median_of, run_job, stamp, write_section


def bench_ingest_quality(runs: int) -> None:
    csv = ingest_quality.make_csv(ROOT / "bench" / "out" / "numeric_1m_x20.csv")
    recall = ingest_quality.outlier_recall(csv)
    size_mib = csv.stat().st_size / 1024**2
    table_mib = ingest_quality.TABLE_BYTES / 1024**2
    results = {}
    for job, label in (
        ("labsight", "labsight: ingest + full quality report"),
        ("pandas", "pandas.read_csv alone"),
        ("ydata", "ydata-profiling, minimal mode (read + profile)"),
    ):
        measured = []
        for i in range(runs):
            print(f"  {job} run {i + 1}/{runs} …", flush=True)
            measured.append(run_job("bench.ingest_quality", job, [str(csv)]))
        results[job] = (label, measured)
    ours = median_of(results["labsight"][1], "wall_s")
    lines = [
        "## Ingest + quality report, 1,000,000 × 20 numeric CSV",
        "",
        f"File: {size_mib:.0f} MiB CSV, ~1% missing cells, {recall['planted']} planted outliers "
        "(60 σ off, in every column); as float64 the "
        f"table is {table_mib:.0f} MiB in memory. Median of {runs} runs, each in a fresh process; "
        "peak memory is the peak resident size above the process's size after imports.",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| what | wall time (s) | × labsight time | peak memory above baseline (MiB) | × table size |",
        "|---|---:|---:|---:|---:|",
    ]
    for _job, (label, measured) in results.items():
        wall = median_of(measured, "wall_s")
        mem = median_of(measured, "peak_above_baseline_mib")
        lines.append(
            f"| {label} | {wall:.2f} | {wall / ours:.2f} | {mem:.0f} | {mem / table_mib:.2f} |"
        )
    lines += [
        "",
        f"Outliers: the report flags {recall['found']} of the {recall['planted']} planted outliers "
        f"and {recall['other']} other cells (a clean Gaussian column of this size should give none).",
        "",
        "Goal (issue #2): labsight under 10 s and under 3× the table's in-memory size.",
    ]
    write_section("ingest_quality", "\n".join(lines))
    print("\n".join(lines))


def bench_explore(runs: int, sizes: tuple[int, ...] = (200_000, 1_000_000)) -> None:
    folder = ROOT / "bench" / "out"
    lines = [
        "## Exploratory report, N × 20 numeric columns",
        "",
        "labsight: `explore()` (read, quality report, analysis, HTML file); ydata-profiling: "
        "`ProfileReport(...).to_file()` after `pandas.read_csv`, minimal and full mode. Median of "
        f"{runs} runs per cell, each in a fresh process; peak memory above the post-import baseline.",
        "",
        f"Machine: {machine()}. Measured {stamp()}.",
        "",
        "| rows | what | wall time (s) | × labsight time | peak memory above baseline (MiB) |",
        "|---:|---|---:|---:|---:|",
    ]
    for rows in sizes:
        csv = explore.table_csv(folder, rows)
        medians = {}
        for job in ("labsight", "ydata_minimal", "ydata_full"):
            measured = []
            for i in range(runs):
                print(f"  {rows} rows, {job} run {i + 1}/{runs} …", flush=True)
                measured.append(run_job("bench.explore", job, [str(csv)]))
            medians[job] = (
                median_of(measured, "wall_s"),
                median_of(measured, "peak_above_baseline_mib"),
            )
        ours = medians["labsight"][0]
        for job, label in (
            ("labsight", "labsight full report"),
            ("ydata_minimal", "ydata-profiling minimal"),
            ("ydata_full", "ydata-profiling full"),
        ):
            wall, mem = medians[job]
            lines.append(f"| {rows:,} | {label} | {wall:.1f} | {wall / ours:.1f} | {mem:.0f} |")
    lines += [
        "",
        "Goal (issue #3): the full report at least 20× faster than ydata-profiling's full report and "
        "faster than its minimal mode, at under a quarter of its peak memory.",
    ]
    write_section("explore", "\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=None)
    parser.add_argument(
        "--sizes", default="200000,1000000", help="row counts for the explore benchmark"
    )
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.sizes.split(","))
    benches = {
        "ingest_quality": bench_ingest_quality,
        "explore": lambda runs: bench_explore(runs, sizes),
    }
    for name, fn in benches.items():
        if args.only in (None, name):
            print(f"== {name}")
            fn(args.runs)


if __name__ == "__main__":
    main()

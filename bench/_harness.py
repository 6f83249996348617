"""Benchmark plumbing: run a measured job in a fresh process, take medians, write BENCHMARKS.md.

Each measurement runs in its own Python process so that peak memory (``ru_maxrss``) belongs to that
job alone; the job reports its wall time and its peak resident memory above the process's baseline
after imports.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"


def machine() -> str:
    """One line describing the machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def run_job(
    module: str,
    job: str,
    args: Sequence[str],
    *,
    python: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``python -m module job args…`` (this interpreter, or a peer venv's ``python``) and
    parse the JSON line it prints last."""
    cmd = [str(python or sys.executable), "-m", module, job, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section ``name`` of BENCHMARKS.md, leaving the others as they are."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    text = (
        BENCHMARKS.read_text()
        if BENCHMARKS.exists()
        else (
            "# Benchmarks\n\nWritten by `make bench` (bench/run.py); do not edit by hand. Each number is the "
            "median of several runs, each in a fresh process; ratios compare with the peer measured in the "
            "same run on the same machine.\n"
        )
    )
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _m: block, text)
        if pattern.search(text)
        else f"{text.rstrip()}\n\n{block}\n"
    )
    tmp = BENCHMARKS.with_suffix(".md.part")
    tmp.write_text(text)
    tmp.replace(BENCHMARKS)


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure_job(
    jobs: Mapping[str, Callable[[Path], object]],
    preload: Mapping[str, Sequence[str]],
    job: str,
    csv: str,
) -> None:
    """Run one job in this (fresh) process and print one JSON line: wall seconds, peak memory
    above the size after the job's imports, and what the job returned."""
    warnings.simplefilter("ignore")
    for module in preload[job]:
        importlib.import_module(module)
    gc.collect()
    base_kib = _rss_kib()
    start = time.perf_counter()
    result = jobs[job](Path(csv))
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "wall_s": wall,
                "peak_above_baseline_mib": max(peak_kib - base_kib, 0) / 1024,
                "peak_rss_mib": peak_kib / 1024,
                "result": result,
            }
        )
    )

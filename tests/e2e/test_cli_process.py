"""The installed `labsight` command in a real process: exit codes and a one-line error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _labsight() -> list[str]:
    exe = Path(sys.executable).parent / "labsight"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("labsight")
    if found is None:
        pytest.skip("the labsight script is not installed; run `make install`")
    return [found]


def test_ingest_then_quality_in_real_processes(tmp_path: Path, yield_csv: Path) -> None:
    env_home = ["--home", str(tmp_path / "home")]
    done = subprocess.run(
        [*_labsight(), *env_home, "ingest", str(yield_csv), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dataset"] == "reactions"
    done = subprocess.run(
        [*_labsight(), *env_home, "quality", "reactions", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 6


def test_a_broken_file_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "ragged.csv"
    broken.write_text("a,b,c\n1,2,3\n4,5\n")
    done = subprocess.run(
        [*_labsight(), "--home", str(tmp_path / "home"), "ingest", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "ragged.csv line 3" in lines[0]
    assert "Traceback" not in done.stderr

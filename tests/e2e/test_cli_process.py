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


def test_train_shows_a_live_leaderboard_in_a_terminal(tmp_path: Path) -> None:
    """stderr is a real pseudo-terminal, as for a person at the keyboard."""
    import os
    import pty

    import numpy as np

    rng = np.random.default_rng(0)
    t = rng.uniform(20, 100, 80)
    lines = ["T [degC],yield [%]", *(f"{a:.2f},{0.5 * a + rng.normal(0, 2):.2f}" for a in t)]
    data = tmp_path / "runs.csv"
    data.write_text("\n".join(lines) + "\n")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [
            *_labsight(),
            *("--home", str(tmp_path / "home"), "train", str(data), "--target", "yield [%]"),
            *("--budget", "5", "--families", "ridge,knn,decision_tree"),
        ],
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    stdout, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    screen = seen.decode("utf-8", "replace")
    assert "Leaderboard so far" in screen
    assert "/5 s" in screen  # time spent out of the budget
    assert "trials" in screen
    assert "registered" in stdout.decode()  # the final table goes to stdout, the live view away

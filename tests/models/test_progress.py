"""Training reports every network's epochs as they end (what ``labsight train`` shows live)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from labsight.data.table import Table
from labsight.models.train import train


def test_each_epoch_of_a_network_is_reported_with_its_losses(quick: None) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    frame = pl.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": x @ [1.0, -2.0, 0.5]})
    heard: list[tuple[Any, ...]] = []

    def on_epoch(*event: Any) -> None:
        heard.append(event)

    train(
        Table.from_frame(frame), "y", families=["mlp"], budget=30, max_trials=1, on_epoch=on_epoch
    )
    assert heard
    assert {e[0] for e in heard} == {"MLP"}
    firsts = [i for i, e in enumerate(heard) if e[1] == 1]
    assert firsts[0] == 0  # every network starts at epoch 1 …
    for start, end in zip(firsts, [*firsts[1:], len(heard)], strict=True):
        run = heard[start:end]
        assert [e[1] for e in run] == list(range(1, len(run) + 1))  # … and counts up by one
        best = [e[4] for e in run if e[4] is not None]
        assert all(b2 <= b1 for b1, b2 in itertools.pairwise(best))  # the best only falls
        assert all(np.isfinite(e[3]) and e[1] <= e[2] for e in run)
    # a watcher that fails does not stop the training
    train(
        Table.from_frame(frame),
        "y",
        families=["mlp"],
        budget=30,
        max_trials=1,
        on_epoch=lambda *_: 1 / 0,
    )


def test_an_interrupted_training_registers_nothing(ws: Any, tmp_path: Any) -> None:
    """Ctrl-C in the middle of a network's epochs (a KeyboardInterrupt from the epoch callback,
    where the display runs): no model version, no model file, the dataset as it was."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    path = tmp_path / "t.csv"
    pl.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": x[:, 0] - x[:, 1]}).write_csv(path)
    ws.ingest(path, name="t")
    store = ws._ctx.artifacts
    before = sorted(p.name for p in Path(store.root).rglob("*") if p.is_file())
    entries = len(ws.audit.entries())

    def interrupt(network: str, epoch: int, *_: Any) -> None:
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ws.models.train("t", "y", families=["mlp"], budget=30, on_epoch=interrupt)
    assert ws.models.list() == []
    after = sorted(p.name for p in Path(store.root).rglob("*") if p.is_file())
    assert after == before
    assert len(ws.audit.entries()) == entries


def test_ctrl_c_in_the_cli_says_so_and_registers_nothing(tmp_path: Path) -> None:
    """A real SIGINT to the ``labsight`` process in the middle of a training: exit code 130, one
    line on stderr, no model."""
    import os
    import signal
    import subprocess
    import sys
    import time

    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 3))
    path = tmp_path / "t.csv"
    pl.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": x[:, 0] * x[:, 1]}).write_csv(path)
    env = {**os.environ, "LABSIGHT_HOME": str(tmp_path / "home")}
    script = "import sys; from labsight.cli import run; sys.argv[0] = 'labsight'; run()"
    cli = [sys.executable, "-c", script]
    subprocess.run(
        [*cli, "ingest", str(path), "--name", "t"], env=env, check=True, capture_output=True
    )
    training = subprocess.Popen(
        [*cli, "train", "t", "--target", "y", "--budget", "120"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(6)
    training.send_signal(signal.SIGINT)
    _, err = training.communicate(timeout=60)
    assert training.returncode == 130
    assert err.strip() == "interrupted; nothing was changed"
    listed = subprocess.run([*cli, "models", "--json"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0
    assert "t-y" not in listed.stdout

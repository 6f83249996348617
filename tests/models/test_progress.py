"""Training reports every network's epochs as they end (what ``labsight train`` shows live)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import polars as pl

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

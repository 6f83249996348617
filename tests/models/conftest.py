"""Fixtures of the model tests: trainings made quick where a test judges something other than how
steady a score is or how long a network trains."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """One repeat of the folds, one or two importance repeats: for tests that judge a model on
    unseen data, its file or its graph (the repeats steady the scores, which they do not read)."""
    from labsight.models import _finish, _folds

    monkeypatch.setattr(_folds, "_repeats", lambda n: 1)
    monkeypatch.setattr(_finish, "_REPEATS", (1, 2))
    monkeypatch.setattr(_finish, "_BOOTSTRAP", (10, 10))


@pytest.fixture
def few_epochs(monkeypatch: pytest.MonkeyPatch, quick: None) -> None:
    """``quick``, and the PyTorch networks trained for at most 5 epochs: for tests of what a
    network's file or graph holds, not of what it learns."""
    from labsight.models import _mlp

    train_network = _mlp.train_network

    def capped(*args: Any, **kwargs: Any) -> Any:
        kwargs["max_epochs"] = min(int(kwargs["max_epochs"]), 5)
        return train_network(*args, **kwargs)

    monkeypatch.setattr(_mlp, "train_network", capped)

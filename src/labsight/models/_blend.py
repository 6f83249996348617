"""The blend of the search's best models: scikit-learn's voting ensembles, saved without copies.

A fitted ``VotingRegressor`` holds each member three times over (``estimators``, ``estimators_``
and ``named_estimators_``), and skops writes every reference out in full: a blend of a 400-tree
forest, a boosted model and a Gaussian process, with the five fold models behind its intervals,
made a 370 MB model file that took 18 s to write. These subclasses save the fitted members once
and put the other two references back when loaded. (After loading, ``estimators`` holds the
fitted members rather than the unfitted templates the blend was built from; ``clone`` makes
unfitted copies of either.)
"""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.utils import Bunch

__all__ = ["BlendClassifier", "BlendRegressor"]


class _SavedOnce:
    """``__getstate__`` / ``__setstate__`` that keep a fitted blend's members once."""

    estimators: list[tuple[str, Any]]

    def __getstate__(self) -> dict[str, Any]:
        parent: Any = super()
        state: dict[str, Any] = dict(parent.__getstate__())
        if "estimators_" in state:
            state.pop("named_estimators_", None)
            state["estimators"] = [name for name, _ in self.estimators]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        names = state.get("estimators")
        if "estimators_" in state and all(isinstance(n, str) for n in names or ()):
            fitted = list(state["estimators_"])
            if len(fitted) != len(names or ()):
                raise ValueError("a blend's member names and fitted members disagree")
            state["estimators"] = list(zip(names or (), fitted, strict=True))
            state["named_estimators_"] = Bunch(**dict(state["estimators"]))
        parent: Any = super()
        parent.__setstate__(state)


class BlendRegressor(_SavedOnce, VotingRegressor):  # type: ignore[misc]
    """A weighted mean of regressors' predictions, saved with each member once."""


class BlendClassifier(_SavedOnce, VotingClassifier):  # type: ignore[misc]
    """A weighted mean of classifiers' probabilities (soft vote), saved with each member once."""

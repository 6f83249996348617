"""Saving and loading models without pickle: skops for scikit-learn objects, with the trusted types
decided here (modules we trust), never read from the file.

A saved model is one skops file holding the fitted estimator, the fold models behind its conformal
intervals and their state; everything else (leaderboard, scores, units) is the JSON summary kept
in the registry. Loading checks that every type the file asks for lives in a trusted module and
refuses the file otherwise. (The artifact store checks the file's hash before this runs.)
"""

from __future__ import annotations

from typing import Any

import polars as pl
from skops import io as skio

from labsight.exceptions import ArtifactIntegrityError
from labsight.models._features import FeatureSet
from labsight.models.train import TrainedModel

__all__ = ["TRUSTED_MODULES", "dumps", "loads"]

TRUSTED_MODULES = (
    "sklearn.",
    "lightgbm.",
    "numpy.",
    "scipy.",
    "labsight.models._mlp.",
    "builtins.",
    "collections.",
)
"""Types from these modules may be loaded from a model file; anything else is refused."""


def dumps(model: TrainedModel) -> bytes:
    """The model's fitted parts as skops bytes."""
    state = {
        "estimator": model.estimator,
        "fold_models": list(model.fold_models),
        "intervals": model.intervals.to_state() if model.intervals is not None else None,
    }
    return bytes(skio.dumps(state))


def loads(data: bytes, summary: dict[str, Any]) -> TrainedModel:
    """The model saved by :func:`dumps`, with its registry ``summary``.

    Raises
    ------
    ArtifactIntegrityError
        When the file asks for a type outside :data:`TRUSTED_MODULES`.
    """
    asked = list(skio.get_untrusted_types(data=data))
    unknown = [t for t in asked if not t.startswith(TRUSTED_MODULES)]
    if unknown:
        raise ArtifactIntegrityError(
            f"the model file asks for types labsight does not trust: {', '.join(unknown[:5])}",
            hint="Only models trained by labsight can be loaded; retrain the model",
        )
    state = skio.loads(data, trusted=asked)  # every one of them is in a trusted module
    features = FeatureSet(
        tuple(summary["numeric"]),
        tuple(summary["categorical"]),
        dict(summary["units"]),
        tuple(summary.get("encoded", ())),
    )
    intervals = None
    if state["intervals"] is not None:
        from labsight.models._conformal import CVPlus

        intervals = CVPlus.from_state(state["intervals"], state["fold_models"])
    interval = summary.get("interval") or {}
    return TrainedModel(
        estimator=state["estimator"],
        task=summary["task"],
        metric=summary["metric"],
        target=summary["target"],
        target_unit=summary.get("target_unit"),
        features=features,
        classes=summary.get("classes"),
        cv=summary["cv"],
        leaderboard=summary["leaderboard"],
        best=summary["best"],
        params=summary["params"],
        seed=summary["seed"],
        budget=summary["budget"],
        trials=summary["trials"],
        seconds=summary["seconds"],
        level=interval.get("level", 0.9),
        interval_method=interval.get("method"),
        coverage=interval.get("coverage"),
        intervals=intervals,
        fold_models=list(state["fold_models"]),
        importance=pl.DataFrame(summary["importance"]) if summary.get("importance") else None,
        coefficients=pl.DataFrame(summary["coefficients"]) if summary.get("coefficients") else None,
        partial_dependence={
            name: (list(curve["grid"]), list(curve["average"]))
            for name, curve in (summary.get("partial_dependence") or {}).items()
        },
        rows=summary.get("rows", 0),
    )

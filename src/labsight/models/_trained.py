"""A trained model as labsight keeps it: the fitted estimator, its fold models and intervals, and
everything said about it (task, metric, cross-validated scores, leaderboard, baseline, importance,
the columns it reads with their units and training domain). Made by
:func:`labsight.models.train.train`, saved by :mod:`labsight.models._persist`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from labsight.data.forecast import ForecastSpec
from labsight.data.sequences import SequenceSpec
from labsight.models._features import FeatureSet
from labsight.models._task import Task

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["TrainedModel"]


@dataclass
class TrainedModel:
    """A fitted model and everything known about it (what ``model show`` prints).

    ``estimator`` predicts from :func:`~labsight.models._features.model_frame` of the features;
    ``intervals`` (regression) holds the conformal state; ``coverage`` is the cross-validated
    coverage of the intervals at ``level``.
    """

    estimator: Any
    task: Task
    metric: str
    target: str
    target_unit: str | None
    features: FeatureSet
    classes: list[Any] | None
    cv: dict[str, Any]
    leaderboard: list[dict[str, Any]]
    best: str
    params: dict[str, Any]
    seed: int
    budget: float
    trials: int
    seconds: float
    level: float
    interval_method: str | None = None
    coverage: float | None = None
    intervals: Any = None  # CVPlus, for regression with conformal intervals
    fold_models: list[Any] = field(default_factory=list, repr=False)
    importance: pl.DataFrame | None = None
    coefficients: pl.DataFrame | None = None
    partial_dependence: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    rows: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # family -> why it could not be fitted
    domain: dict[str, Any] | None = None  # training ranges, for extrapolation (models._domain)
    # The trivial baseline on the same folds (models._baseline.Baseline.to_dict), and whether the
    # model beats it by more than one standard error; None when it cannot be scored.
    baseline: dict[str, Any] | None = None
    better_than_baseline: bool | None = None
    # A table with a spectrum: the training rows' mean spectrum, channel by channel (in the order
    # of ``features.spectrum``), which the band importance is drawn over.
    spectrum_mean: list[float] | None = None
    # An image model: occlusion maps of a few held-out images (:mod:`labsight.models._saliency`)
    saliency: list[dict[str, Any]] = field(default_factory=list)
    # A sequence task: how the long table of readings becomes one row per run, replayed on new
    # runs before every prediction (:mod:`labsight.data.sequences`).
    sequence: SequenceSpec | None = None
    # A forecast: how runs become (window, step) rows, replayed on new runs before predicting
    # (:mod:`labsight.data.forecast`).
    forecast: ForecastSpec | None = None
    left_out: dict[str, str] = field(default_factory=dict)  # column -> why it is not an input
    siblings: list[str] = field(default_factory=list)  # inputs that look like other outcomes
    # What the budget cut short, in words ("importance repeats 3 -> 1"); empty when nothing was.
    cut_short: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The JSON view of the model (without the fitted objects)."""
        return {
            "task": self.task,
            "metric": self.metric,
            "target": self.target,
            "target_unit": self.target_unit,
            "features": list(self.features.columns),
            "numeric": list(self.features.numeric),
            "categorical": list(self.features.categorical),
            "encoded": list(self.features.encoded),
            "molecules": list(self.features.molecules),
            "spectrum": list(self.features.spectrum),
            "image": self.features.image,
            "sequence": self.sequence.to_dict() if self.sequence is not None else None,
            "forecast": self.forecast.to_dict() if self.forecast is not None else None,
            "left_out": [{"column": c, "reason": why} for c, why in self.left_out.items()],
            "siblings": list(self.siblings),
            "units": self.features.units,
            "classes": self.classes,
            "cv": self.cv,
            "baseline": self.baseline,
            "better_than_baseline": self.better_than_baseline,
            "leaderboard": self.leaderboard,
            "best": self.best,
            "params": self.params,
            "seed": self.seed,
            "budget": self.budget,
            "trials": self.trials,
            "seconds": self.seconds,
            "cut_short": list(self.cut_short),
            "interval": {
                "level": self.level,
                "method": self.interval_method,
                "coverage": self.coverage,
            }
            if self.task == "regression"
            else None,
            "importance": self.importance.to_dicts() if self.importance is not None else [],
            "importance_measured": self._measured(),
            "spectrum_mean": self.spectrum_mean,
            "saliency": self.saliency,
            "coefficients": self.coefficients.to_dicts() if self.coefficients is not None else None,
            "partial_dependence": {
                name: {"grid": grid, "average": average}
                for name, (grid, average) in self.partial_dependence.items()
            },
            "rows": self.rows,
            "skipped": [{"family": f, "reason": why} for f, why in self.skipped.items()],
            "domain": self.domain,
        }

    def _measured(self) -> str | None:
        """What the importance table covers, in words."""
        if self.importance is None:
            return None
        inputs = self.features.inputs
        if self.features.sequence:
            sensors = len(self.features.sequence)
            return f"{sensors} sensors (each with its readings over time), {self.importance.height - sensors} other features"
        if not self.features.spectrum:
            return f"{self.importance.height} of {len(inputs)} features"
        known = set(inputs)
        bands = sum(1 for f in self.importance["feature"] if f not in known)
        others = len(inputs) - len(self.features.spectrum)
        more = (
            f", and {self.importance.height - bands} of {others} other features" if others else ""
        )
        return f"the spectrum's {len(self.features.spectrum)} channels in {bands} bands{more}"

    def figures(self) -> dict[str, go.Figure]:
        """The explanations as Plotly figures (they render inline in Jupyter): ``importance``,
        ``partial_dependence`` (the top numeric features), ``spectrum`` (a table with a spectrum: each
        band's importance drawn over the training rows' mean spectrum) and, for linear models,
        ``coefficients`` with their bootstrap intervals in the features' units; for an image model,
        ``saliency``: held-out images with their occlusion maps over them."""
        from labsight.models._explain import (
            coefficients_figure,
            importance_figure,
            partial_dependence_figure,
            spectrum_figure,
        )

        out: dict[str, go.Figure] = {}
        if self.importance is not None and self.importance.height:
            out["importance"] = importance_figure(self.importance)
            if self.features.spectrum and self.spectrum_mean:
                out["spectrum"] = spectrum_figure(
                    self.features.spectrum, self.spectrum_mean, self.importance
                )
        if self.partial_dependence:
            out["partial_dependence"] = partial_dependence_figure(
                self.partial_dependence, self.features.units
            )
        if self.coefficients is not None and self.coefficients.height:
            out["coefficients"] = coefficients_figure(self.coefficients)
        if self.saliency:
            from labsight.models._explain import saliency_figure

            out["saliency"] = saliency_figure(self.saliency)
        return out

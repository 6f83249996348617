"""Classical analysis of designed experiments: main effects, interactions, a response surface.

For the first objective of a campaign (or any table with the space's columns):

* **Main effects**: the mean result at each level of each parameter (a continuous parameter is cut
  at its midpoint into low / high), with its standard error and the number of results ``n``, and
  the effect (highest mean − lowest) with its standard error.
* **Interactions**: for each pair of parameters, the mean at each combination of their levels (the
  data of an interaction plot) with its standard error and ``n``, and for two-level factors the
  interaction effect ``(ȳ₊₊ − ȳ₊₋ − ȳ₋₊ + ȳ₋₋) / 2`` with its standard error.

A standard error is the sample standard deviation over √n; a mean of a single result has none
(``se`` is ``None``, and the command line says ``n = 1``), and neither has an effect built on one.
* **Response surface**: a quadratic model in the numeric parameters coded to [−1, 1] on their
  scale (a log-scaled one by its logarithm) (linear,
  two-factor and square terms; a choice enters as effect-coded columns), fitted by least squares
  with standard errors of the coefficients, R² and adjusted R², and the optimum of the fitted
  surface inside the bounds (each combination of choices, a bounded L-BFGS from a grid of starts).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import minimize

from labsight.design.space import Parameter, Space
from labsight.exceptions import InputError

__all__ = ["Analysis", "analyse"]

_LEVELS = 5  # a numeric parameter with at most this many values keeps them as levels


@dataclass
class Analysis:
    """The classical analysis of one objective (``to_dict`` is ``labsight design analyze --json``)."""

    objective: str
    rows: int
    main_effects: list[dict[str, Any]] = field(default_factory=list)
    interactions: list[dict[str, Any]] = field(default_factory=list)
    surface: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "rows": self.rows,
            "main_effects": self.main_effects,
            "interactions": self.interactions,
            "surface": self.surface,
        }

    def figures(self) -> dict[str, Any]:
        """Main-effects and interaction plots (Plotly)."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        out: dict[str, Any] = {}
        if self.main_effects:
            fig = make_subplots(
                rows=1,
                cols=len(self.main_effects),
                shared_yaxes=True,
                subplot_titles=[m["parameter"] for m in self.main_effects],
            )
            for k, m in enumerate(self.main_effects, start=1):
                fig.add_trace(
                    go.Scatter(
                        x=[str(lv["level"]) for lv in m["levels"]],
                        y=[lv["mean"] for lv in m["levels"]],
                        error_y={"type": "data", "array": [lv["se"] or 0 for lv in m["levels"]]},
                        mode="lines+markers",
                        showlegend=False,
                    ),
                    row=1,
                    col=k,
                )
            fig.update_layout(title=f"Main effects on {self.objective}", yaxis_title=self.objective)
            out["main_effects"] = fig
        for inter in self.interactions[:6]:
            fig = go.Figure()
            a, b = inter["parameters"]
            for level_b in dict.fromkeys(c[b] for c in inter["cells"]):
                cells = [c for c in inter["cells"] if c[b] == level_b]
                fig.add_trace(
                    go.Scatter(
                        x=[str(c[a]) for c in cells],
                        y=[c["mean"] for c in cells],
                        mode="lines+markers",
                        name=f"{b} = {level_b}",
                    )
                )
            fig.update_layout(
                title=f"Interaction of {a} and {b}", xaxis_title=a, yaxis_title=self.objective
            )
            out[f"interaction {a} × {b}"] = fig
        return out


def _level(p: Parameter, values: pl.Series) -> list[Any]:
    """Each row's level of ``p``: its value, or low/high for a continuous parameter with many."""
    if not p.numeric:
        return [str(v) for v in values.to_list()]
    numbers = values.cast(pl.Float64).to_numpy()
    if len(np.unique(numbers)) <= _LEVELS:
        return [float(v) for v in numbers]
    middle = (p.low + p.high) / 2
    return ["low" if v < middle else "high" for v in numbers]


def _order(p: Parameter, levels: list[Any]) -> list[Any]:
    seen = list(dict.fromkeys(levels))
    if p.numeric and all(isinstance(v, float) for v in seen):
        return sorted(seen)
    if set(seen) <= {"low", "high"}:
        return [v for v in ("low", "high") if v in seen]
    return [v for v in p.values if v in seen] if not p.numeric else seen


def _standard_error(values: np.ndarray) -> float | None:
    """sd / √n, or None for a single value (one run says nothing about its own noise)."""
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None


def _combined_se(ses: list[float | None], scale: float = 1.0) -> float | None:
    """The standard error of a sum of independent means (times ``scale``); None if one has none."""
    if any(se is None for se in ses):
        return None
    return scale * float(np.sqrt(sum(se**2 for se in ses if se is not None)))


def _main_effects(space: Space, frame: pl.DataFrame, y: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for p in space.parameters:
        levels = _level(p, frame[p.name])
        rows = []
        for level in _order(p, levels):
            mask = np.array([v == level for v in levels])
            values = y[mask]
            rows.append(
                {
                    "level": level,
                    "mean": float(values.mean()),
                    "se": _standard_error(values),
                    "n": int(mask.sum()),
                }
            )
        means = [r["mean"] for r in rows]
        high = max(rows, key=lambda r: r["mean"])
        low = min(rows, key=lambda r: r["mean"])
        out.append(
            {
                "parameter": p.name,
                "levels": rows,
                "effect": float(max(means) - min(means)) if len(means) > 1 else 0.0,
                "effect_se": _combined_se([high["se"], low["se"]]) if len(rows) > 1 else None,
            }
        )
    return sorted(out, key=lambda m: -m["effect"])


def _interactions(space: Space, frame: pl.DataFrame, y: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for a, b in itertools.combinations(space.parameters, 2):
        la, lb = _level(a, frame[a.name]), _level(b, frame[b.name])
        cells = []
        for va in _order(a, la):
            for vb in _order(b, lb):
                mask = np.array([x == va and z == vb for x, z in zip(la, lb, strict=True)])
                if mask.any():
                    cells.append(
                        {
                            a.name: va,
                            b.name: vb,
                            "mean": float(y[mask].mean()),
                            "se": _standard_error(y[mask]),
                            "n": int(mask.sum()),
                        }
                    )
        entry: dict[str, Any] = {"parameters": [a.name, b.name], "cells": cells}
        oa, ob = _order(a, la), _order(b, lb)
        if len(oa) == 2 and len(ob) == 2 and len(cells) == 4:
            m = {(c[a.name], c[b.name]): c["mean"] for c in cells}
            entry["effect"] = (
                m[oa[1], ob[1]] - m[oa[1], ob[0]] - m[oa[0], ob[1]] + m[oa[0], ob[0]]
            ) / 2
            entry["effect_se"] = _combined_se([c["se"] for c in cells], scale=0.5)
        out.append(entry)
    return sorted(out, key=lambda e: -abs(e.get("effect", 0.0)))


def _design_matrix(
    space: Space, frame: pl.DataFrame, squares: set[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Intercept, coded numbers, their squares and pairwise products, effect-coded choices; a
    square only for numbers run at more than two values (``squares`` fixes that choice)."""
    numeric = [p for p in space.parameters if p.numeric]
    coded = {p.name: p.to_unit(frame[p.name].cast(pl.Float64).to_numpy()) * 2 - 1 for p in numeric}
    columns = [np.ones(frame.height)]
    names = ["intercept"]
    for p in numeric:
        columns.append(coded[p.name])
        names.append(p.name)
    for p in space.parameters:
        if not p.numeric:
            text = frame[p.name].cast(pl.String).to_numpy()
            for level in p.values[:-1]:
                columns.append((text == level).astype(float) - (text == p.values[-1]).astype(float))
                names.append(f"{p.name} = {level}")
    for p, q in itertools.combinations(numeric, 2):
        columns.append(coded[p.name] * coded[q.name])
        names.append(f"{p.name} × {q.name}")
    for p in numeric:
        square = len(np.unique(coded[p.name])) > 2 if squares is None else p.name in squares
        if square:
            columns.append(coded[p.name] ** 2)
            names.append(f"{p.name}²")
    return np.column_stack(columns), names


def _surface(space: Space, frame: pl.DataFrame, y: np.ndarray) -> dict[str, Any] | None:
    x, names = _design_matrix(space, frame)
    n, k = x.shape
    if n <= k:
        return {
            "fitted": False,
            "reason": f"a quadratic surface has {k} terms and needs more than {k} results; there are {n}",
        }
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ beta
    dof = n - k
    sigma2 = float(residual @ residual) / dof
    covariance = sigma2 * np.linalg.pinv(x.T @ x)
    se = np.sqrt(np.clip(np.diag(covariance), 0, None))
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1 - float(residual @ residual) / ss if ss > 0 else float("nan")
    adjusted = 1 - (1 - r2) * (n - 1) / dof if ss > 0 else float("nan")
    optimum = _optimum(space, beta, names)
    if optimum.get("found"):
        # A quadratic fitted on a few runs promises more than it saw: say when it does.
        sd = float(np.sqrt(sigma2))
        objective = space.objectives[0]
        gain = objective.signed(optimum["predicted"] - objective.best_of(y))
        optimum["beyond_data"] = bool(gain > max(2 * sd, 0.1 * float(np.ptp(y))))
    return {
        "fitted": True,
        "r2": r2,
        "adjusted_r2": adjusted,
        "rows": n,
        "coefficients": [
            {"term": t, "coefficient": float(b), "se": float(s)}
            for t, b, s in zip(names, beta, se, strict=True)
        ],
        "optimum": optimum,
    }


def _optimum(space: Space, beta: np.ndarray, names: list[str]) -> dict[str, Any]:
    objective = space.objectives[0]
    # Continuous parameters move freely inside their bounds; set-points and choices take their
    # allowed values, every combination of them tried.
    numeric = [p for p in space.parameters if p.kind == "continuous"]
    choices = [p for p in space.parameters if p.kind != "continuous"]
    squares = {n.removesuffix("²") for n in names if n.endswith("²")}
    best: tuple[float, dict[str, Any]] | None = None
    for combo in itertools.product(*[p.values for p in choices]) if choices else [()]:
        fixed = {p.name: v for p, v in zip(choices, combo, strict=True)}

        def predict(u: np.ndarray, fixed: dict[str, Any] = fixed) -> float:
            row = {p.name: p.from_unit((u[j] + 1) / 2) for j, p in enumerate(numeric)}
            x, _ = _design_matrix(
                space, pl.DataFrame([{**row, **fixed}]).select(space.names), squares
            )
            return float(x[0] @ beta)

        starts = (
            list(itertools.product(*[(-1.0, 0.0, 1.0)] * len(numeric)))[:81] if numeric else [()]
        )
        for start in starts:
            u0 = np.asarray(start, dtype=float)
            if numeric:
                result = minimize(
                    lambda u: -objective.signed(predict(u)),
                    u0,
                    bounds=[(-1, 1)] * len(numeric),
                    method="L-BFGS-B",
                )
                u, value = result.x, objective.signed(-result.fun)
            else:
                u, value = u0, predict(u0)
            point = {
                p.name: float(p.from_unit((u[j] + 1) / 2)) for j, p in enumerate(numeric)
            } | fixed
            if (
                space.constraints
                and not space.satisfied(pl.DataFrame([point]).select(space.names))[0]
            ):
                continue
            if best is None or objective.signed(value) > objective.signed(best[0]):
                best = (value, point)
    if best is None:
        return {"found": False}
    return {"found": True, "conditions": best[1], "predicted": best[0]}


def analyse(space: Space, results: pl.DataFrame, objective: str | None = None) -> Analysis:
    """The classical analysis of ``objective`` (default: the first) from the results.

    Raises
    ------
    InputError
        For an unknown objective, or fewer than three results.
    """
    chosen = space.focused(objective or None).objectives[0]
    name = chosen.name
    frame = results.filter(pl.col(name).is_not_null() & pl.col(name).is_not_nan())
    if frame.height < 3:
        raise InputError(
            f"a classical analysis needs at least three results of {name!r}; there are {frame.height}",
            hint="Record more results first (labsight design record)",
        )
    y = frame[name].cast(pl.Float64).to_numpy()
    ordered = Space(space.parameters, (chosen,), space.constraints)
    return Analysis(
        objective=name,
        rows=frame.height,
        main_effects=_main_effects(space, frame, y),
        interactions=_interactions(space, frame, y),
        surface=_surface(ordered, frame, y),
    )

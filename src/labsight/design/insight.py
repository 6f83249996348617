"""What a campaign knows: best so far with its uncertainty, progress, how good the surrogate is, which
parameters matter, what the next experiment can still gain, and the figures that show it.

* **Best so far**: the best measured result (one objective; replicates averaged) with the
  surrogate's mean ± sd at its conditions; for several objectives, the Pareto front.
* **Model fit**: leave-one-out predictions of each objective's GP with its fitted hyperparameters
  (closed form, Rasmussen & Williams §5.4.2): R² and how often the 90 % interval held the result.
* **Importance**: how much the predicted objective moves when one parameter sweeps its range (or
  levels) with the others at the best conditions, as shares that sum to one.
* **Expected improvement left**: the largest expected improvement over the best result among the
  candidates, and its probability of improvement (one objective).
* **Untried combinations**: how many combinations of the categorical levels have no result yet.
  The landscape greys such cells out and marks them *untried*: there the surrogate's mean is a
  guess from other combinations, so the hover gives it with its sd and the cell shows no colour.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl
import torch

from labsight.design.encoding import Encoder
from labsight.design.planner import (
    candidate_pool,
    fit,
    results_before_model,
    signed_objectives,
)
from labsight.design.space import Space
from labsight.design.surrogate import DTYPE, Surrogate

__all__ = ["Status", "campaign_figures", "campaign_status", "pareto_mask"]

_Z90 = NormalDist().inv_cdf(0.95)
_SWEEP = 21
_TICK = 14  # characters of a level's name an axis shows (SMILES run to a hundred)


@dataclass
class Status:
    """The numbers of ``labsight design status`` (``to_dict`` is its ``--json``)."""

    experiments: int
    results: int
    pending: int
    best: list[dict[str, Any]] = field(default_factory=list)
    progress: list[dict[str, Any]] = field(default_factory=list)
    fit: dict[str, dict[str, float]] = field(default_factory=dict)
    importance: list[dict[str, Any]] = field(default_factory=list)
    expected: dict[str, Any] | None = None
    combinations: dict[str, Any] | None = None
    # The surrogate in use: its kernel, its warp of the results (None, or the method and each
    # objective's λ), how the kernel was chosen, each compared kernel's leave-one-out log
    # predictive density
    model: dict[str, Any] | None = None
    # Results the initial design still wants before suggestions come from the model
    initial_left: int = 0
    surrogate: Surrogate | None = field(default=None, repr=False)
    encoder: Encoder | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiments": self.experiments,
            "results": self.results,
            "pending": self.pending,
            "best": self.best,
            "progress": self.progress,
            "fit": self.fit,
            "importance": self.importance,
            "expected": self.expected,
            "combinations": self.combinations,
            "model": self.model,
            "initial_left": self.initial_left,
        }


def _ticks(values: list[Any]) -> dict[str, Any]:
    """The axis settings that show a sweep's values: levels longer than :data:`_TICK` characters
    get a shortened tick text (the full name is in the hover)."""
    if not values or not isinstance(values[0], str):
        return {}
    if max(len(v) for v in values) <= _TICK:
        return {"type": "category"}
    short = [v if len(v) <= _TICK else v[: _TICK - 1] + "…" for v in values]
    return {"type": "category", "tickmode": "array", "tickvals": values, "ticktext": short}


def pareto_mask(y: np.ndarray) -> np.ndarray:
    """Rows of ``y`` (signed: more is better) that no other row dominates."""
    n = len(y)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if keep[i]:
            dominated = np.all(y >= y[i], axis=1) & np.any(y > y[i], axis=1)
            if dominated.any():
                keep[i] = False
    return keep


def _conditions(space: Space, row: dict[str, Any]) -> dict[str, Any]:
    return {n: row[n] for n in space.names}


def _best(
    space: Space, results: pl.DataFrame, surrogate: Surrogate | None, encoder: Encoder
) -> list[dict[str, Any]]:
    y = signed_objectives(space, results)
    complete = np.isfinite(y).all(axis=1)
    if not complete.any():
        return []
    # Replicates: one entry per experiment, its mean.
    frame = results.filter(pl.Series(complete))
    grouped = frame.group_by("experiment_id", maintain_order=True).agg(
        [pl.col(n).first() for n in space.names]
        + [pl.col(o.name).mean() for o in space.objectives]
        + [pl.len().alias("replicates")]
    )
    gy = signed_objectives(space, grouped)
    keep = (
        np.array([int(np.argmax(gy[:, 0]))])
        if len(space.objectives) == 1
        else np.flatnonzero(pareto_mask(gy))
    )
    out = []
    for i in keep:
        row = grouped.row(int(i), named=True)
        entry: dict[str, Any] = {
            "experiment_id": row["experiment_id"],
            "conditions": _conditions(space, row),
            "values": {o.name: row[o.name] for o in space.objectives},
            "replicates": row["replicates"],
        }
        if surrogate is not None:
            mean, sd = surrogate.posterior(encoder.encode(grouped[int(i) : int(i) + 1]))
            entry["predicted"] = {
                o.name: {"mean": float(o.signed(mean[0, j])), "sd": float(sd[0, j])}
                for j, o in enumerate(space.objectives)
            }
        out.append(entry)
    if len(space.objectives) > 1:
        first = space.objectives[0]
        out.sort(key=lambda e: -first.signed(e["values"][first.name]))
    return out


def _progress(space: Space, results: pl.DataFrame) -> list[dict[str, Any]]:
    y = signed_objectives(space, results)
    out = []
    best = -math.inf
    for i in range(results.height):
        if len(space.objectives) == 1:
            if math.isfinite(y[i, 0]):
                best = max(best, y[i, 0])
            o = space.objectives[0]
            value = results[o.name][i]
            out.append(
                {
                    "result": i + 1,
                    "experiment_id": results["experiment_id"][i],
                    "value": value,
                    "best_so_far": o.signed(best) if math.isfinite(best) else None,
                }
            )
        else:
            done = y[: i + 1]
            done = done[np.isfinite(done).all(axis=1)]
            out.append(
                {
                    "result": i + 1,
                    "experiment_id": results["experiment_id"][i],
                    "pareto_size": int(pareto_mask(done).sum()) if len(done) else 0,
                }
            )
    return out


def _loo(surrogate: Surrogate, space: Space) -> dict[str, dict[str, float]]:
    """Leave-one-out R² and 90 % coverage of each objective's GP, hyperparameters held."""
    out: dict[str, dict[str, float]] = {}
    loo, inside = surrogate.leave_one_out(), surrogate.loo_covered(_Z90)
    for o, entry, within in zip(space.objectives, loo, inside, strict=True):
        if entry is None or within is None:
            continue
        truth, guess, _ = entry
        ss = float(np.sum((truth - truth.mean()) ** 2))
        r2 = 1.0 - float(np.sum((truth - guess) ** 2)) / ss if ss > 0 else float("nan")
        covered = float(np.mean(within))
        out[o.name] = {"loo_r2": r2, "loo_coverage_90": covered, "rows": len(truth)}
    return out


_LEVELS = ("categorical", "molecule")
_LEADERS = 32  # candidates whose expected improvement is read on a warped objective's scale
_COMBINATIONS = 2000  # combinations of levels whose uncertainty the status reads, tried or not


def _tried(space: Space, results: pl.DataFrame) -> set[tuple[str, ...]]:
    """The combinations of categorical levels that have at least one result."""
    names = [p.name for p in space.parameters if p.kind in _LEVELS]
    if not names or not results.height:
        return set()
    done = np.isfinite(signed_objectives(space, results)).any(axis=1)
    rows = results.filter(pl.Series(done)).select(names).iter_rows()
    return {tuple(str(v) for v in row) for row in rows}


def _combinations(space: Space, results: pl.DataFrame) -> dict[str, Any] | None:
    """How many combinations of the categorical levels (every level of one, for a single
    categorical parameter) have no result yet; ``None`` without categorical parameters."""
    factors = [p for p in space.parameters if p.kind in _LEVELS]
    if not factors:
        return None
    total = math.prod(len(p.values) for p in factors)
    tried = len(_tried(space, results))
    return {
        "factors": [p.name for p in factors],
        "total": total,
        "tried": tried,
        "untried": total - tried,
    }


def _sweep_values(space: Space, name: str) -> list[Any]:
    p = space.parameter(name)
    if p.kind == "continuous":
        return list(p.from_unit(np.linspace(0.0, 1.0, _SWEEP)))
    return list(p.values)


def _importance(
    space: Space, best: dict[str, Any], surrogate: Surrogate, encoder: Encoder
) -> list[dict[str, Any]]:
    spans = []
    for p in space.parameters:
        values = _sweep_values(space, p.name)
        frame = pl.DataFrame([{**best, p.name: v} for v in values]).select(space.names)
        if space.constraints:
            frame = space.allowed(frame)
        if frame.height < 2:
            spans.append(0.0)
            continue
        mean, _ = surrogate.posterior(encoder.encode(frame))
        spans.append(float(np.ptp(mean[:, 0])))
    total = sum(spans) or 1.0
    rows = [
        {"parameter": p.name, "importance": s / total, "span": s}
        for p, s in zip(space.parameters, spans, strict=True)
    ]
    return sorted(rows, key=lambda r: -r["importance"])


def _expected(
    space: Space, observed: pl.DataFrame, surrogate: Surrogate, encoder: Encoder, seed: int
) -> dict[str, Any]:
    from botorch.acquisition.analytic import LogExpectedImprovement, ProbabilityOfImprovement

    y = signed_objectives(space, observed)
    best_f = float(np.nanmax(y[:, 0]))
    pool = candidate_pool(space, observed, seed, y)
    best = observed.row(int(np.nanargmax(y[:, 0])), named=True)
    untried = _combination_points(space, observed, {n: best[n] for n in space.names}).get(False)
    if untried is not None and untried.height:  # every untried combination is a candidate too
        pool = pl.concat([pool, untried], how="vertical_relaxed")
    x = torch.as_tensor(encoder.encode(pool), dtype=DTYPE).unsqueeze(1)
    # The GP models the warped results: the point is the one with the most expected improvement
    # there (the same point where there is no warp), its improvement read on the objective's scale.
    warp = surrogate.warps[0]
    modelled = float(warp.forward(np.array([best_f]))[0])
    with torch.no_grad():
        log_ei = LogExpectedImprovement(surrogate.model, best_f=modelled)(x)
        if warp.identity:
            i, improvement = int(torch.argmax(log_ei)), float(torch.exp(log_ei.max()))
        else:  # the leaders there, their improvement read on the objective's scale
            leaders = torch.topk(log_ei, min(_LEADERS, len(log_ei))).indices.tolist()
            mean, sd = surrogate.model_moments(x[leaders].squeeze(1).numpy())
            gains = [
                warp.expected_excess(float(m), float(s), best_f)
                for m, s in zip(mean[:, 0], sd[:, 0], strict=True)
            ]
            i, improvement = leaders[int(np.argmax(gains))], float(max(gains))
        pi = ProbabilityOfImprovement(surrogate.model, best_f=modelled)(x[i : i + 1])
    o = space.objectives[0]
    return {
        "improvement": improvement,
        "probability": float(pi[0]),
        "unit": o.unit,
        "at": _conditions(space, pool.row(i, named=True)),
        "best": o.signed(best_f),
    }


def campaign_status(
    space: Space, results: pl.DataFrame, experiments: int, pending: int, seed: int
) -> Status:
    """The status of a campaign from its results (one row per result, with ``experiment_id``)."""
    status = Status(experiments, results.height, pending)
    status.progress = _progress(space, results)
    y = signed_objectives(space, results)
    status.initial_left = results_before_model(space, y)
    encoder = Encoder(space)
    surrogate = None
    if results.height and np.all(np.isfinite(y).sum(axis=0) >= 2):
        surrogate, encoder = fit(
            space, results.select([*space.names, *space.objective_names]), seed
        )
        status.fit = _loo(surrogate, space)
        status.model = {
            "kernel": surrogate.kernel,
            "warp": surrogate.warp_state(),
            "chosen_by": surrogate.chosen_by,
            "compared": surrogate.compared,
        }
    status.surrogate, status.encoder = surrogate, encoder
    status.best = _best(space, results, surrogate, encoder)
    status.combinations = _combinations(space, results)
    if surrogate is not None and status.best:
        status.importance = _importance(space, status.best[0]["conditions"], surrogate, encoder)
        if len(space.objectives) == 1:
            status.expected = _expected(
                space,
                results.select([*space.names, *space.objective_names]),
                surrogate,
                encoder,
                seed,
            )
    if surrogate is not None and status.best and status.combinations:
        status.combinations |= _untried_uncertainty(
            space, results, status.best[0]["conditions"], surrogate, encoder
        )
    return status


def _combination_points(
    space: Space, results: pl.DataFrame, best: dict[str, Any]
) -> dict[bool, pl.DataFrame]:
    """The best result's conditions with the levels of each combination of the choices put in,
    for combinations tried (``True``) and never tried (``False``), at most :data:`_COMBINATIONS`
    of each, in order; only points the constraints allow."""
    factors = [p for p in space.parameters if p.kind in _LEVELS]
    tried = _tried(space, results)
    rows: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for combo in itertools.product(*[p.values for p in factors]):
        done = tuple(str(v) for v in combo) in tried
        if len(rows[done]) < _COMBINATIONS:
            rows[done].append({**best, **{p.name: v for p, v in zip(factors, combo, strict=True)}})
    return {
        done: space.allowed(pl.DataFrame(points).select(space.names))
        for done, points in rows.items()
        if points
    }


def _untried_uncertainty(
    space: Space,
    results: pl.DataFrame,
    best: dict[str, Any],
    surrogate: Surrogate,
    encoder: Encoder,
) -> dict[str, Any]:
    """How sure the surrogate is about combinations of levels never tried, against those tried:
    the median posterior sd of the first objective at the best result's other conditions."""
    sds: dict[bool, float | None] = {True: None, False: None}
    spread: dict[bool, float | None] = {True: None, False: None}
    for done, frame in _combination_points(space, results, best).items():
        if frame.height:
            modelled = surrogate.model_moments(encoder.encode(frame))
            _, sd = surrogate.on_objective_scale(*modelled)
            sds[done] = float(np.median(sd[:, 0]))
            spread[done] = float(np.median(modelled[1][:, 0]))
    untried, tried = spread[False], spread[True]
    return {
        "sd_untried": sds[False],
        "sd_tried": sds[True],
        # judged on the model's scale: with a warp the sd on the objective's scale also grows
        # with the prediction, and a poor untried combination would look sure
        "unsure": untried is not None and (tried is None or untried > tried),
        "objective": space.objectives[0].name,
        "unit": space.objectives[0].unit,
    }


def campaign_figures(space: Space, results: pl.DataFrame, status: Status) -> dict[str, Any]:
    """Plotly figures: ``progress``, ``importance``, ``landscape`` (the top two parameters) and,
    for several objectives, ``pareto``."""
    import plotly.graph_objects as go

    figures: dict[str, Any] = {}
    if len(space.objectives) == 1 and status.progress:
        label = space.objectives[0].label()
        n = [r["result"] for r in status.progress]
        fig = go.Figure()
        fig.add_trace(
            go.Scatter(
                x=n,
                y=[r["value"] for r in status.progress],
                mode="markers",
                name="result",
                text=[r["experiment_id"] for r in status.progress],
            )
        )
        fig.add_trace(
            go.Scatter(
                x=n,
                y=[r["best_so_far"] for r in status.progress],
                mode="lines",
                name="best so far",
                line={"shape": "hv"},
            )
        )
        fig.update_layout(
            title=f"Progress: best {label} so far", xaxis_title="result", yaxis_title=label
        )
        figures["progress"] = fig
    if status.importance:
        fig = go.Figure(
            go.Bar(
                x=[r["importance"] for r in status.importance],
                y=[r["parameter"] for r in status.importance],
                orientation="h",
            )
        )
        fig.update_layout(
            title="Which parameters matter (share of the predicted change)",
            yaxis={"autorange": "reversed"},
            xaxis_title="share",
        )
        figures["importance"] = fig
    if (
        status.surrogate is not None
        and status.encoder is not None
        and status.best
        and len(status.importance) >= 2
    ):
        figures["landscape"] = _landscape(space, status, results)
    if len(space.objectives) >= 2:
        y = signed_objectives(space, results)
        complete = np.isfinite(y).all(axis=1)
        a, b = space.objectives[0], space.objectives[1]
        front = np.zeros(results.height, dtype=bool)
        if complete.any():
            front[np.flatnonzero(complete)[pareto_mask(y[complete])]] = True
        fig = go.Figure()
        fig.add_trace(
            go.Scatter(
                x=results[a.name].to_list(),
                y=results[b.name].to_list(),
                mode="markers",
                name="results",
                text=results["experiment_id"].to_list(),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=results.filter(pl.Series(front))[a.name].to_list(),
                y=results.filter(pl.Series(front))[b.name].to_list(),
                mode="markers",
                marker={"size": 12, "symbol": "star"},
                name="Pareto front",
            )
        )
        fig.update_layout(
            title="Pareto front",
            xaxis_title=f"{a.label()} ({a.goal})",
            yaxis_title=f"{b.label()} ({b.goal})",
        )
        figures["pareto"] = fig
    return figures


def _landscape(space: Space, status: Status, results: pl.DataFrame) -> Any:
    """The predicted objective over the top two parameters, the others at the best conditions.

    A cell whose combination of categorical levels has no result is not coloured as if it were
    known: it is grey and marked *untried*, its mean and sd in the hover only. Every cell's hover
    gives the surrogate's sd."""
    import plotly.graph_objects as go

    assert status.surrogate is not None
    assert status.encoder is not None
    first, second = status.importance[0]["parameter"], status.importance[1]["parameter"]
    best = status.best[0]["conditions"]
    xs, ys = _sweep_values(space, first), _sweep_values(space, second)
    frame = pl.DataFrame([{**best, first: a, second: b} for b in ys for a in xs]).select(
        space.names
    )
    shape = (len(ys), len(xs))
    mean, sd = status.surrogate.posterior(status.encoder.encode(frame))
    o = space.objectives[0]
    z = o.signed(mean[:, 0]).reshape(shape)
    s = np.asarray(sd[:, 0], dtype=np.float64).reshape(shape)
    allowed = (
        space.satisfied(frame).reshape(shape) if space.constraints else np.ones(shape, dtype=bool)
    )
    levels = [p.name for p in space.parameters if p.kind in _LEVELS]
    tried = _tried(space, results)
    untried = np.zeros(shape, dtype=bool)
    if levels:
        combos = frame.select(levels).iter_rows()
        untried = np.array([tuple(map(str, c)) not in tried for c in combos]).reshape(shape)
    x = [str(v) if isinstance(v, str) else v for v in xs]
    y = [str(v) if isinstance(v, str) else v for v in ys]
    label = o.label()

    def grid(keep: np.ndarray, values: np.ndarray) -> list[list[float | None]]:
        return [
            [float(v) if k and np.isfinite(v) else None for v, k in zip(r, kr, strict=True)]
            for r, kr in zip(values, keep, strict=True)
        ]

    where = f"{first}: %{{x}}<br>{second}: %{{y}}<br>"
    known = allowed & ~untried
    fig = go.Figure(
        go.Heatmap(
            x=x,
            y=y,
            z=grid(known, z),
            customdata=grid(known, s),
            colorbar={"title": {"text": label, "side": "right"}},
            name="predicted",
            hovertemplate=where + f"{label}: %{{z:.4g}} ± %{{customdata:.2g}} (sd)<extra></extra>",
        )
    )
    gaps = allowed & untried
    n_untried = int(gaps.sum())
    if n_untried:
        # One label per untried stretch: on a continuous axis, in its middle cell only.
        across = isinstance(xs[0], str) or np.arange(len(xs)) == len(xs) // 2
        down = isinstance(ys[0], str) or np.arange(len(ys)) == len(ys) // 2
        marked = gaps & np.outer(np.broadcast_to(down, len(ys)), np.broadcast_to(across, len(xs)))
        text = [
            [f"untried<br>± {v:.2g}" if m else "" for v, m in zip(r, mr, strict=True)]
            for r, mr in zip(s, marked, strict=True)
        ]
        fig.add_trace(
            go.Heatmap(
                x=x,
                y=y,
                z=[[0.0 if g else None for g in r] for r in gaps],
                customdata=[
                    [[float(zz), float(ss)] for zz, ss in zip(zr, sr, strict=True)]
                    for zr, sr in zip(z, s, strict=True)
                ],
                text=text,
                texttemplate="%{text}",
                textfont={"color": "#5f6b73"},
                colorscale=[[0, "#e3e7ea"], [1, "#e3e7ea"]],
                showscale=False,
                name="untried",
                hovertemplate=where + "untried: no result with these levels yet<br>"
                f"{label}: %{{customdata[0]:.3g}} ± %{{customdata[1]:.2g}} (sd), a guess"
                "<extra></extra>",
            )
        )
    title = f"Predicted {o.name} over {first} and {second} (the others at the best conditions)"
    if n_untried:
        title += (
            "<br><sup>grey, marked untried: no result with these levels yet, "
            "so no colour for the guess (mean ± sd in the hover)</sup>"
        )
    fig.update_layout(
        title=title,
        height=max(420, 28 * len(ys) + 260),
        xaxis={"title": space.parameter(first).label(), "automargin": True, **_ticks(x)},
        yaxis={"title": space.parameter(second).label(), "automargin": True, **_ticks(y)},
    )
    return fig

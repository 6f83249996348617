"""What drives a fitted model: permutation importance, linear coefficients, partial dependence.

Everything here works on a fitted pipeline ``Pipeline([("prep", ColumnTransformer), ("model",
estimator)])`` (see :func:`labsight.models._families.make_pipeline`) and on a pandas frame with the
ORIGINAL feature columns, so explanations speak of the columns a scientist knows, in their units:

* :func:`permutation_importance_table`: how much the score drops when one original column is
  shuffled (a category counts as one feature however many one-hot columns it has).
* :func:`linear_coefficients`: for linear models, the change in the prediction per original unit of
  each number and per level of each category, with a bootstrap confidence interval.
* :func:`partial_dependence_curves`: the average prediction as one number varies over its range.

The plotly figures for these tables are built here too (plotly is imported inside the functions, so
importing this module stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import clone, is_classifier

from labsight.models._features import FeatureSet

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "coefficients_figure",
    "importance_figure",
    "linear_coefficients",
    "partial_dependence_curves",
    "partial_dependence_figure",
    "partial_dependence_sample",
    "permutation_importance_table",
    "spectrum_figure",
]

_PD_MAX_ROWS = 2_000


def _final(model: Any) -> Any:
    steps = getattr(model, "named_steps", None)
    if steps is not None and "model" in steps:
        return steps["model"]
    return model


def permutation_importance_table(
    model: Any,
    X: pd.DataFrame,
    y: Any,
    *,
    scoring: str,
    n_repeats: int = 10,
    seed: int = 0,
    columns: list[str] | None = None,
    groups: dict[str, list[str]] | None = None,
) -> pl.DataFrame:
    """Permutation importance of each original column (or of ``columns``, or of each of
    ``groups``), most important first.

    Each column of ``X`` is shuffled ``n_repeats`` times and the drop in ``scoring`` (a scikit-learn
    scorer name, higher is better: ``"r2"``, ``"neg_root_mean_squared_error"``, ``"roc_auc"``) is
    averaged. Shuffling the original column means a one-hot encoded category counts as one feature.
    ``columns`` limits the work to some columns (wide tables: one prediction per column and repeat).
    ``groups`` (name → columns) shuffles each group's columns together, by one permutation of the
    rows: a band of a spectrum, whose channels mean nothing one at a time.

    Callers should pass held-out data when they have it (a test split, or each fold's held-out
    rows): on the training rows, importance also rewards what the model memorized.

    Returns
    -------
    polars.DataFrame
        Columns ``feature``, ``importance`` (mean drop in score), ``std`` (over the repeats) and
        ``unit`` (the scorer, in which the drop is measured), sorted by importance descending.
    """
    from sklearn.metrics import get_scorer

    scorer = get_scorer(scoring)
    target = np.asarray(y)
    if groups is None:
        groups = {str(c): [c] for c in (columns if columns is not None else X.columns)}
    names = list(groups)
    baseline = float(scorer(model, X, target))
    rng = np.random.default_rng(seed)
    means, stds = [], []
    for name in names:
        members = groups[name]
        original = X[members].to_numpy()
        # A fresh copy per group: assigning columns splits a frame's blocks, and a frame of a
        # thousand channels split thirty times makes every later column selection slow.
        shuffled = X.copy()
        drops = []
        for _ in range(n_repeats):
            shuffled[members] = original[rng.permutation(len(original))]
            drops.append(baseline - float(scorer(model, shuffled, target)))
        means.append(float(np.mean(drops)))
        stds.append(float(np.std(drops)))
    table = pl.DataFrame(
        {"feature": names, "importance": means, "std": stds, "unit": [scoring] * len(names)},
        schema={
            "feature": pl.String,
            "importance": pl.Float64,
            "std": pl.Float64,
            "unit": pl.String,
        },
    )
    return table.sort("importance", descending=True, maintain_order=True)


def _unit_label(unit: str | None, log_odds: bool) -> str:
    prefix = "log-odds " if log_odds else ""
    return f"{prefix}per {unit}" if unit else (f"{prefix}per unit" if log_odds else "")


def _terms(model: Any, features: FeatureSet) -> dict[str, tuple[float, str]] | None:
    """Term → (coefficient in original units, unit), read from one fitted pipeline.

    None when the final estimator is not linear (no ``coef_``) or has several rows of coefficients
    (multiclass). Columns are mapped through the ColumnTransformer's ``output_indices_`` and each
    block's ``get_feature_names_out()``, so the missing-indicator columns (after the numbers in the
    "num" block) and the one-hot levels land on the right terms.
    """
    est = _final(model)
    coef = getattr(est, "coef_", None)
    prep = getattr(model, "named_steps", {}).get("prep")
    if coef is None or prep is None:
        return None
    coef = np.asarray(coef, dtype=np.float64)
    if coef.ndim == 2:
        if coef.shape[0] != 1:
            return None
        coef = coef[0]
    log_odds = is_classifier(est)
    out: dict[str, tuple[float, str]] = {}
    names_out = [str(n) for n in prep.get_feature_names_out()]
    if coef.size != len(names_out):
        return None
    indices: dict[str, slice] = prep.output_indices_
    if "num" in prep.named_transformers_ and features.numbers:  # numbers, then descriptors
        num = prep.named_transformers_["num"]
        block = indices["num"]
        block_names = [str(n) for n in num.get_feature_names_out(list(features.numbers))]
        scaler = num.named_steps.get("scale")
        scale = (
            np.asarray(scaler.scale_, dtype=np.float64)
            if scaler is not None
            else np.ones(len(block_names))
        )
        numeric = set(features.numbers)
        for j, name in enumerate(block_names):
            value = float(coef[block.start + j] / scale[j])
            if name in numeric:
                out[name] = (value, _unit_label(features.units.get(name), log_odds))
            else:  # a missing-indicator column: the effect of the value being missing (imputed)
                source = name.removeprefix("missingindicator_")
                out[f"{source} missing"] = (
                    value,
                    "log-odds if missing" if log_odds else "if missing",
                )
    if "cat" in prep.named_transformers_ and features.onehot:
        onehot = prep.named_transformers_["cat"]
        block = indices["cat"]
        j = block.start
        for name, levels in zip(features.onehot, onehot.categories_, strict=True):
            for level in levels:
                out[f"{name} = {level}"] = (
                    float(coef[j]),
                    "log-odds per level" if log_odds else "per level",
                )
                j += 1
    if "enc" in prep.named_transformers_ and features.encoded:
        enc = prep.named_transformers_["enc"]
        block = indices["enc"]
        scaler = enc.named_steps.get("scale")
        unit = "log-odds per unit of its encoding" if log_odds else "per unit of its target mean"
        for j, name in enumerate(features.encoded):
            spread = float(scaler.scale_[j]) if scaler is not None else 1.0
            out[f"{name} (target-encoded)"] = (float(coef[block.start + j] / spread), unit)
    return out


def linear_coefficients(
    model: Any,
    X: pd.DataFrame,
    y: Any,
    features: FeatureSet,
    *,
    level: float = 0.95,
    seed: int = 0,
    n_boot: int = 200,
) -> pl.DataFrame | None:
    """Coefficients of a linear pipeline in the original units, with bootstrap intervals.

    For pipelines whose final estimator has ``coef_`` (LinearRegression, Ridge, Lasso, ElasticNet,
    binary LogisticRegression). A number's coefficient is the change in the prediction per original
    unit (the standardized coefficient divided by the scaler's ``scale_``); a missing-indicator term
    (``"x missing"``) is the shift when the value is missing (and imputed with the median); a
    category gets one term per one-hot level (``"catalyst = Pd-A"``). With one-hot levels and an
    intercept only differences between levels of one category are identified, so read those terms
    relative to each other. For logistic regression the coefficients are in log-odds of the positive
    class.

    The interval is the bootstrap percentile interval at ``level``: ``clone(model)`` is refitted on
    ``n_boot`` resamples of the rows (drawn with ``seed``); a term absent from a refit (a missing
    indicator when a resample has no gap) is left out of that draw.

    Parameters
    ----------
    model
        The fitted pipeline; its coefficients are the point estimates.
    X, y
        The rows it was fitted on (original columns).
    features
        The feature set, for the units.

    Returns
    -------
    polars.DataFrame or None
        Columns ``term, coefficient, lower, upper, unit`` (``unit`` like ``"per degC"``, ``"per
        level"``, or ``""`` when the column has no unit); None for non-linear or multiclass models.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    point = _terms(model, features)
    if point is None:
        return None
    y_arr = np.asarray(y)
    n = len(X)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {term: [] for term in point}
    for _ in range(n_boot):
        rows = rng.integers(0, n, size=n)
        y_b = y_arr[rows]
        if is_classifier(_final(model)) and np.unique(y_b).size < 2:
            continue
        refit = clone(model).fit(X.iloc[rows], y_b)
        terms = _terms(refit, features)
        if terms is None:
            continue
        for term, (value, _) in terms.items():
            if term in draws:
                draws[term].append(value)
    tail = (1.0 - level) / 2.0 * 100.0
    lower, upper = [], []
    for term in point:
        values = np.asarray(draws[term], dtype=np.float64)
        if values.size:
            lo, hi = np.percentile(values, [tail, 100.0 - tail])
            lower.append(float(lo))
            upper.append(float(hi))
        else:
            lower.append(float("nan"))
            upper.append(float("nan"))
    return pl.DataFrame(
        {
            "term": list(point),
            "coefficient": [v for v, _ in point.values()],
            "lower": lower,
            "upper": upper,
            "unit": [u for _, u in point.values()],
        },
        schema={
            "term": pl.String,
            "coefficient": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
            "unit": pl.String,
        },
    )


def _grid(values: np.ndarray, size: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("the column has no values")
    unique = np.unique(finite)
    if unique.size <= size:
        return unique
    lo, hi = np.percentile(finite, [5.0, 95.0])
    if lo == hi:
        return unique[:size]
    return np.linspace(lo, hi, size)


def partial_dependence_sample(X: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`partial_dependence_curves` averages over: all of ``X`` up to 2,000 rows,
    else 2,000 of them drawn with a fixed seed (a copy either way). One curve predicts this
    sample once per grid value, so timing one prediction on it prices a curve."""
    if len(X) > _PD_MAX_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(len(X), _PD_MAX_ROWS, replace=False))
        return X.iloc[rows].copy()
    return X.copy()


def partial_dependence_curves(
    model: Any,
    X: pd.DataFrame,
    features: list[str],
    *,
    grid: int = 20,
) -> dict[str, tuple[list[float], list[float]]]:
    """The average prediction as each numeric feature varies, the others kept as observed.

    Computed with :func:`sklearn.inspection.partial_dependence` (``kind="average"``) on at most
    2,000 rows of ``X`` (sampled with a fixed seed). The grid has ``grid`` evenly spaced values
    between the 5th and 95th percentiles of the feature (its distinct values when it has at most
    ``grid`` of them; missing cells are ignored). For a binary classifier the curve is the
    probability of the positive class (``classes_[1]``); for a multiclass one, the probability of
    the first class (``classes_[0]``).

    Returns
    -------
    dict
        Feature → (grid values, average prediction).

    Raises
    ------
    ValueError
        When a feature is not a numeric column of ``X``.
    """
    from sklearn.inspection import partial_dependence

    sample = partial_dependence_sample(X)
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for name in features:
        if name not in sample.columns or not pd.api.types.is_numeric_dtype(sample[name]):
            raise ValueError(f"partial dependence needs a numeric column of X, got {name!r}")
        sample[name] = sample[name].astype(np.float64)
        values = _grid(sample[name].to_numpy(), grid)
        result = partial_dependence(
            model,
            sample,
            [name],
            kind="average",
            custom_values={name: values},
        )
        average = np.asarray(result["average"], dtype=np.float64)
        curve = average[0] if average.ndim > 1 else average
        grid_values = np.asarray(result["grid_values"][0], dtype=np.float64)
        curves[name] = ([float(v) for v in grid_values], [float(v) for v in curve])
    return curves


def describe_curve(grid: list[float], average: list[float]) -> str:
    """A partial-dependence curve in words: ``rises``, ``falls``, ``peaks at 61.3``,
    ``dips at 2.5`` or ``flat`` (a change under 1 % of the curve's scale).

    Examples
    --------
    >>> describe_curve([0, 1, 2, 3], [1.0, 2.0, 2.5, 4.0])
    'rises'
    >>> describe_curve([0, 1, 2, 3], [1.0, 3.0, 2.5, 0.5])
    'peaks at 1'
    """
    y = np.asarray(average, dtype=np.float64)
    x = np.asarray(grid, dtype=np.float64)
    if y.size < 2:
        return "flat"
    span = float(y.max() - y.min())
    if span <= 0.01 * max(float(np.abs(y).max()), 1e-12):
        return "flat"
    steps = np.diff(y)
    slack = 0.05 * span  # wiggles of tree models are not turns
    if np.all(steps >= -slack):
        return "rises"
    if np.all(steps <= slack):
        return "falls"
    top, bottom = int(np.argmax(y)), int(np.argmin(y))
    if 0 < top < y.size - 1 and (bottom in (0, y.size - 1)):
        return f"peaks at {x[top]:.4g}"
    if 0 < bottom < y.size - 1:
        return f"dips at {x[bottom]:.4g}"
    return f"peaks at {x[top]:.4g}"


def importance_figure(table: pl.DataFrame) -> go.Figure:
    """Horizontal bars of permutation importance (most important on top), error bars = std."""
    import plotly.graph_objects as go

    metric = str(table["unit"][0]) if table.height else "score"
    fig = go.Figure(
        go.Bar(
            x=table["importance"].to_list(),
            y=table["feature"].to_list(),
            orientation="h",
            error_x={"type": "data", "array": table["std"].to_list(), "visible": True},
            name="importance",
        )
    )
    fig.update_layout(
        title="Permutation importance",
        xaxis_title=f"drop in {metric} when the column is shuffled",
        yaxis={"autorange": "reversed", "title": "feature"},
        showlegend=False,
    )
    return fig


def coefficients_figure(table: pl.DataFrame) -> go.Figure:
    """Coefficients as points with their confidence-interval whiskers, and a line at zero."""
    import plotly.graph_objects as go

    coef = table["coefficient"].to_numpy()
    # No whisker where the bootstrap gave no interval (NaN is not valid JSON for plotly).
    plus = np.nan_to_num(table["upper"].to_numpy() - coef, nan=0.0)
    minus = np.nan_to_num(coef - table["lower"].to_numpy(), nan=0.0)
    labels = [
        f"{term} ({unit})" if unit else str(term)
        for term, unit in zip(table["term"].to_list(), table["unit"].to_list(), strict=True)
    ]
    fig = go.Figure(
        go.Scatter(
            x=coef.tolist(),
            y=labels,
            mode="markers",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": np.clip(plus, 0.0, None).tolist(),
                "arrayminus": np.clip(minus, 0.0, None).tolist(),
            },
            name="coefficient",
        )
    )
    fig.add_vline(x=0.0, line_dash="dash", line_color="grey")
    fig.update_layout(
        title="Coefficients (original units) with confidence intervals",
        xaxis_title="coefficient",
        yaxis={"autorange": "reversed"},
        showlegend=False,
    )
    return fig


def partial_dependence_figure(
    curves: dict[str, tuple[list[float], list[float]]],
    units: dict[str, str | None],
) -> go.Figure:
    """One subplot per feature: the average prediction against the feature, axes with units."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = list(curves)
    fig = make_subplots(rows=max(len(names), 1), cols=1, vertical_spacing=0.12)
    for i, name in enumerate(names, start=1):
        xs, ys = curves[name]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name), row=i, col=1)
        unit = units.get(name)
        label = f"{name} [{unit}]" if unit and f"[{unit}]" not in name else name
        fig.update_xaxes(title_text=label, row=i, col=1)
        fig.update_yaxes(title_text="average prediction", row=i, col=1)
    fig.update_layout(
        title="Partial dependence", showlegend=False, height=max(300, 260 * len(names))
    )
    return fig


def spectrum_figure(
    spectrum: tuple[str, ...] | list[str], mean: list[float], table: pl.DataFrame
) -> go.Figure:
    """Which parts of a spectrum a model reads: the importance of each band (bars as wide as the
    band, with their spread over the repeats) drawn over the training rows' mean spectrum."""
    import plotly.graph_objects as go

    from labsight.data.spectra import bands, channel_position

    axis = [channel_position(c) for c in spectrum]
    position = dict(zip(spectrum, axis, strict=True))
    measured = {str(r["feature"]): r for r in table.iter_rows(named=True)}
    centres, widths, heights, spreads, names = [], [], [], [], []
    for name, members in bands(spectrum).items():
        if name not in measured:
            continue
        first, last = position[members[0]], position[members[-1]]
        if first is None or last is None:  # pragma: no cover - spectral columns have positions
            continue
        centres.append((first + last) / 2)
        widths.append(abs(last - first) or 1.0)
        heights.append(measured[name]["importance"])
        spreads.append(measured[name]["std"])
        names.append(name)
    metric = str(table["unit"][0]) if table.height else "score"
    # The importance axis starts at zero (or below, for a band whose shuffling helped), so a bar's
    # height reads as its importance.
    low = min([0.0, *(h - sd for h, sd in zip(heights, spreads, strict=True))])
    high = max([1e-12, *(h + sd for h, sd in zip(heights, spreads, strict=True))])
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=centres,
            y=heights,
            width=widths,
            error_y={"type": "data", "array": spreads, "visible": True},
            name=f"importance (drop in {metric})",
            customdata=names,
            hovertemplate="band %{customdata}<br>importance %{y:.3g}<extra></extra>",
            marker={"color": "rgba(214, 39, 40, 0.45)"},
            yaxis="y2",
        )
    )
    fig.add_trace(
        go.Scatter(x=axis, y=mean, mode="lines", name="mean spectrum", line={"color": "#1f77b4"})
    )
    fig.update_layout(
        title="Which bands of the spectrum the model reads (held-out permutation importance)",
        xaxis_title="channel (as named by the columns)",
        yaxis={"title": "mean spectrum"},
        yaxis2={
            "title": f"drop in {metric} when the band is shuffled",
            "overlaying": "y",
            "side": "right",
            "range": [low - 0.05 * (high - low), high + 0.05 * (high - low)],
            "showgrid": False,
        },
        legend={"orientation": "h", "y": -0.2},
        bargap=0,
    )
    return fig


def saliency_figure(maps: list[dict[str, Any]]) -> go.Figure:
    """Held-out images (grey thumbnails) with their occlusion maps over them: where covering the
    image moved the model's prediction most."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n = len(maps)
    cols = min(n, 3)
    rows = -(-n // cols)
    titles = [
        f"{m['file'][-28:]}<br>actual {_short(m['actual'])}, predicted {_short(m['prediction'])}"
        for m in maps
    ]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles)
    top = max([1e-12, *(max(max(r) for r in m["map"]) for m in maps)])
    for k, m in enumerate(maps):
        row, col = k // cols + 1, k % cols + 1
        thumb = np.asarray(m["thumbnail"], dtype=np.float64)
        grid = np.asarray(m["map"], dtype=np.float64)
        size, cells = thumb.shape[0], grid.shape[0]
        fig.add_trace(
            go.Heatmap(z=thumb, colorscale="gray", showscale=False, hoverinfo="skip"),
            row=row,
            col=col,
        )
        centres = (np.arange(cells) + 0.5) * size / cells - 0.5
        fig.add_trace(
            go.Heatmap(
                z=np.clip(grid, 0, None),
                x=centres,
                y=centres,
                zmin=0,
                zmax=top,
                colorscale=[[0, "rgba(214,39,40,0)"], [1, "rgba(214,39,40,0.75)"]],
                showscale=k == 0,
                colorbar={"title": "occlusion<br>effect"},
                hovertemplate="covering this cell moves the prediction by %{z:.3g}<extra></extra>",
            ),
            row=row,
            col=col,
        )
        fig.update_yaxes(autorange="reversed", showticklabels=False, row=row, col=col)
        fig.update_xaxes(
            showticklabels=False, row=row, col=col, scaleanchor=f"y{k + 1 if k else ''}"
        )
    fig.update_layout(
        title="Where the model looks: held-out images, red where covering a cell moves the prediction",
        height=330 * rows,
        width=320 * cols + 120,
        template="plotly_white",
    )
    return fig


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)[:20]

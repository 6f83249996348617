"""How columns go together: Pearson and Spearman between numbers, Cramér's V between categories and
the correlation ratio η between a category and a number, all on all rows.

Correlations use pairwise-complete rows (a row missing one column still counts for the others),
computed for all pairs at once with a few matrix products instead of a loop over pairs. Spearman is
Pearson on ranks; a column is ranked once, on its own non-missing values. The matrices cover at most
40 numeric columns (the target always, then those with the largest variance); captions say when.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from labsight.data.stats import average_ranks, numeric_values, pairwise_correlation
from labsight.data.table import Table
from labsight.explore._summary import label
from labsight.explore.spec import FigureSpec

__all__ = [
    "MAX_MATRIX_COLUMNS",
    "Associations",
    "analyse_associations",
    "correlation_ratios",
    "cramers_v",
    "rank_columns",
]

MAX_MATRIX_COLUMNS = 40
_MAX_CATEGORIES = 20
_MIN_STRONG = 0.3
_MAX_PAIRS = 20


def rank_columns(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Average ranks of each column (missing and NaN stay missing, as NaN).

    Columns are ranked by numpy (several times faster than polars' ``rank`` here) and kept as float32,
    half the memory of float64 and exact while ranks stay below 2**23 (half-ranks of ties
    included); taller tables keep float64.
    """
    dtype = np.float32 if frame.height < 2**23 else np.float64
    return pl.DataFrame({c: average_ranks(numeric_values(frame[c]), dtype) for c in columns})


def cramers_v(frame: pl.DataFrame, a: str, b: str) -> float:
    """Bias-corrected Cramér's V between two categorical columns (rows missing either are left out).

    Examples
    --------
    >>> df = pl.DataFrame({"a": ["x", "y"] * 20, "b": ["p", "q"] * 20})
    >>> round(cramers_v(df, "a", "b"), 2)
    1.0
    """
    counts = (
        frame.select(pl.col(a).cast(pl.String).alias("a"), pl.col(b).cast(pl.String).alias("b"))
        .drop_nulls()
        .group_by("a", "b")
        .len()
        .select(
            (pl.col("a").rank("dense") - 1).cast(pl.Int64),
            (pl.col("b").rank("dense") - 1).cast(pl.Int64),
            pl.col("len").cast(pl.Float64),
        )
    )
    if counts.height == 0:
        return float("nan")
    ai, bi = counts["a"].to_numpy(), counts["b"].to_numpy()
    table = np.zeros((int(ai.max()) + 1, int(bi.max()) + 1))
    table[ai, bi] = counts["len"].to_numpy()
    n = table.sum()
    r, k = table.shape
    if n < 2 or r < 2 or k < 2:
        return float("nan")
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    rc = r - (r - 1) ** 2 / (n - 1)
    kc = k - (k - 1) ** 2 / (n - 1)
    denom = min(kc - 1, rc - 1)
    return float(np.sqrt(phi2 / denom)) if denom > 0 else float("nan")


def correlation_ratios(
    frame: pl.DataFrame, categorical: list[str], numeric: list[str]
) -> pl.DataFrame:
    """The correlation ratio η of each numeric column over the levels of each categorical column.

    η² is the share of a number's variance that lies between the levels' means (0: the levels do not
    differ, 1: the level fixes the value). One ``group_by`` per categorical column covers every
    numeric column; missing levels form their own group.

    Returns
    -------
    polars.DataFrame
        Long form: ``category, column, eta``.
    """
    rows: list[tuple[str, str, float]] = []
    nums = list(numeric)
    if not nums or frame.height < 2:
        return pl.DataFrame(
            rows,
            schema={"category": pl.String, "column": pl.String, "eta": pl.Float64},
            orient="row",
        )
    x = [pl.col(c).cast(pl.Float64).fill_nan(None) for c in nums]
    totals = frame.select(
        *[e.mean().alias(f"m{i}") for i, e in enumerate(x)],
        *[(e.var() * (e.count() - 1)).alias(f"ss{i}") for i, e in enumerate(x)],
    ).row(0)
    means = np.array([np.nan if v is None else v for v in totals[: len(nums)]], dtype=np.float64)
    ss_total = np.array([np.nan if v is None else v for v in totals[len(nums) :]], dtype=np.float64)
    for cat in categorical:
        g = frame.group_by(pl.col(cat).cast(pl.String).alias("__level")).agg(
            *[e.count().alias(f"n{i}") for i, e in enumerate(x)],
            *[e.mean().alias(f"m{i}") for i, e in enumerate(x)],
        )
        counts = g.select(f"n{i}" for i in range(len(nums))).to_numpy().astype(np.float64)
        level_means = g.select(f"m{i}" for i in range(len(nums))).to_numpy().astype(np.float64)
        level_means = np.where(counts > 0, level_means, means)
        between = np.nansum(counts * (level_means - means) ** 2, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            eta = np.sqrt(np.clip(between / ss_total, 0.0, 1.0))
        rows += [(cat, c, float(e)) for c, e in zip(nums, eta, strict=True) if c != cat]
    return pl.DataFrame(
        rows, schema={"category": pl.String, "column": pl.String, "eta": pl.Float64}, orient="row"
    )


@dataclass
class Associations:
    """What :func:`analyse_associations` found: figures, tables, and the matrices for reuse."""

    figures: list[FigureSpec] = field(default_factory=list)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    strongest_pairs: pl.DataFrame | None = None
    matrix_columns: list[str] = field(default_factory=list)
    pearson: np.ndarray | None = None
    spearman: np.ndarray | None = None
    eta: pl.DataFrame | None = None

    def lookup(self, measure: str, a: str, b: str) -> float | None:
        """The Pearson or Spearman value of two matrix columns, None when not computed."""
        matrix = self.pearson if measure == "pearson" else self.spearman
        if matrix is None or a not in self.matrix_columns or b not in self.matrix_columns:
            return None
        value = matrix[self.matrix_columns.index(a), self.matrix_columns.index(b)]
        return None if np.isnan(value) else float(value)


def _wide(names: list[str], rows: list[str], z: np.ndarray) -> pl.DataFrame:
    data: dict[str, list[object]] = {"column": list(rows)}
    for j, name in enumerate(names):
        data[name] = [None if np.isnan(v) else float(v) for v in z[:, j]]
    return pl.DataFrame(data, schema={"column": pl.String, **dict.fromkeys(names, pl.Float64)})


def _heatmap(
    name: str,
    title: str,
    caption: str,
    x: list[str],
    y: list[str],
    z: np.ndarray,
    zmin: float,
    note: str | None = None,
    *,
    color_label: str,
) -> FigureSpec:
    zz = [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in z]
    text = [["" if v is None else f"{v:.2f}" for v in row] for row in zz]
    return FigureSpec(
        name=name,
        kind="heatmap",
        section="correlations",
        title=title,
        caption=caption,
        data={
            "x": x,
            "y": y,
            "z": zz,
            "zmin": zmin,
            "zmax": 1,
            "text": text,
            "color_label": color_label,
        },
        note=note,
    )


def _numeric_sentence(a: str, b: str, measure: str, value: float) -> str:
    word = "Spearman" if measure == "spearman" else "Pearson"
    if value >= 0:
        return f"{a} and {b} rise together ({word} {value:.2f})"
    return f"{b} falls as {a} rises ({word} {value:.2f})"


def _strongest(matrix: np.ndarray, names: list[str]) -> tuple[int, int, float] | None:
    if len(names) < 2:
        return None
    z = np.abs(np.where(np.isnan(matrix), 0.0, matrix))
    np.fill_diagonal(z, -1.0)
    i, j = np.unravel_index(int(np.argmax(z)), z.shape)
    if z[i, j] <= 0:
        return None
    return int(i), int(j), float(matrix[i, j])


def analyse_associations(
    table: Table,
    numeric: list[str],
    categorical: list[str],
    variance: dict[str, float],
    target: str | None = None,
    family: frozenset[str] = frozenset(),
) -> Associations:
    """Correlation matrices, Cramér's V, η and the strongest pairs, with one heatmap per measure.

    Parameters
    ----------
    table
        The table; all rows count.
    numeric, categorical
        The numeric and categorical columns to relate.
    variance
        Each numeric column's variance, to choose the matrix columns when there are more than 40.
    target
        Kept in the matrices whatever its variance.
    family
        Columns that go together by construction (spectral channels): pairs inside it are not
        listed among the strongest pairs, where they would crowd out everything else.

    Returns
    -------
    Associations
        Heatmaps (``heatmap-pearson``, ``heatmap-spearman``, ``heatmap-cramers-v``, ``heatmap-eta``),
        the matrices as wide frames (first column ``column``), and ``strongest_pairs`` with columns
        ``a, b, measure, value, sentence``, strongest first.
    """
    frame = table.frame
    out = Associations()
    pairs: list[tuple[str, str, str, float, str]] = []
    chosen = list(numeric)
    note = None
    if len(chosen) > MAX_MATRIX_COLUMNS:
        keep = sorted(
            (c for c in chosen if c != target),
            key=lambda c: -(variance.get(c) or 0.0) if np.isfinite(variance.get(c) or 0.0) else 0.0,
        )
        first = [target] if target in chosen else []
        kept = set(first + keep[: MAX_MATRIX_COLUMNS - len(first)])
        note = (
            f"showing the {MAX_MATRIX_COLUMNS} of {len(chosen)} numeric columns with the largest "
            "variance"
        )
        chosen = [c for c in chosen if c in kept]
    labels = [label(table, c) for c in chosen]
    out.matrix_columns = chosen
    if len(chosen) >= 2 and frame.height >= 3:
        # In blocks of rows: the full-table copies this used to make cost 600 MiB on 1M x 20.
        out.pearson = pairwise_correlation(frame.select(chosen))[0]
        out.spearman = pairwise_correlation(rank_columns(frame, chosen))[0]
        for measure, matrix in (("pearson", out.pearson), ("spearman", out.spearman)):
            out.tables[measure] = _wide(chosen, chosen, matrix)
            word = measure.capitalize()
            best = _strongest(matrix, chosen)
            caption = f"{word} correlation between {len(chosen)} numeric columns"
            if best is not None:
                i, j, v = best
                caption += f"; strongest: {labels[i]} and {labels[j]} ({word} {v:.2f})"
            if note:
                caption += f"; {note}"
            out.figures.append(
                _heatmap(
                    f"heatmap-{measure}",
                    f"{word} correlation",
                    caption,
                    labels,
                    labels,
                    matrix,
                    -1.0,
                    note,
                    color_label="Pearson r" if measure == "pearson" else "Spearman ρ",
                )
            )
        iu = np.triu_indices(len(chosen), k=1)
        for i, j in zip(*iu, strict=True):
            v = out.spearman[i, j]
            if chosen[i] in family and chosen[j] in family:
                continue
            if np.isfinite(v) and abs(v) >= _MIN_STRONG:
                pairs.append(
                    (
                        chosen[i],
                        chosen[j],
                        "spearman",
                        float(v),
                        _numeric_sentence(labels[i], labels[j], "spearman", float(v)),
                    )
                )
    cats = categorical[:_MAX_CATEGORIES]
    if len(cats) >= 2 and frame.height >= 3:
        k = len(cats)
        v_matrix = np.eye(k)
        for i in range(k):
            for j in range(i + 1, k):
                v_matrix[i, j] = v_matrix[j, i] = cramers_v(frame, cats[i], cats[j])
                v = v_matrix[i, j]
                if np.isfinite(v) and v >= _MIN_STRONG:
                    pairs.append(
                        (
                            cats[i],
                            cats[j],
                            "cramers_v",
                            float(v),
                            f"{cats[i]} and {cats[j]} go together (Cramér's V {v:.2f})",
                        )
                    )
        out.tables["cramers_v"] = _wide(cats, cats, v_matrix)
        best = _strongest(v_matrix, cats)
        caption = f"Cramér's V (bias-corrected) between {k} categorical columns"
        if best is not None:
            caption += f"; strongest: {cats[best[0]]} and {cats[best[1]]} ({best[2]:.2f})"
        out.figures.append(
            _heatmap(
                "heatmap-cramers-v",
                "Cramér's V",
                caption,
                cats,
                cats,
                v_matrix,
                0.0,
                color_label="Cramér's V",
            )
        )
    if cats and numeric and frame.height >= 3:
        eta = correlation_ratios(frame, cats, numeric)
        out.eta = eta
        shown = [c for c in chosen if c not in cats]
        if shown and eta.height:
            lookup = {(r[0], r[1]): r[2] for r in eta.iter_rows()}
            z = np.array(
                [[lookup.get((cat, c), np.nan) for c in shown] for cat in cats], dtype=np.float64
            )
            out.tables["eta"] = _wide([label(table, c) for c in shown], cats, z)
            best_row = eta.filter(pl.col("eta").is_not_nan()).sort("eta", descending=True).head(1)
            caption = "Correlation ratio η: how much of each number's variance lies between the levels of each category"
            if best_row.height:
                cat, col, e = best_row.row(0)
                caption += f"; strongest: {label(table, col)} by {cat} (η {e:.2f})"
            out.figures.append(
                _heatmap(
                    "heatmap-eta",
                    "Correlation ratio η",
                    caption,
                    [label(table, c) for c in shown],
                    cats,
                    z,
                    0.0,
                    note,
                    color_label="η",
                )
            )
        for cat, col, e in eta.iter_rows():
            if e is not None and np.isfinite(e) and e >= _MIN_STRONG:
                pairs.append(
                    (
                        cat,
                        col,
                        "eta",
                        float(e),
                        f"{label(table, col)} differs between levels of {cat} (η {e:.2f})",
                    )
                )
    pairs.sort(key=lambda p: -abs(p[3]))
    out.strongest_pairs = pl.DataFrame(
        pairs[:_MAX_PAIRS],
        schema={
            "a": pl.String,
            "b": pl.String,
            "measure": pl.String,
            "value": pl.Float64,
            "sentence": pl.String,
        },
        orient="row",
    )
    return out

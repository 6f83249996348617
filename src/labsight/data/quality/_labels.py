"""Label inconsistency: spellings of one category that differ only by case, spaces or symbol forms."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from labsight.data.findings import Finding
from labsight.data.quality._context import CheckContext

__all__ = ["case_matters", "check_labels", "label_groups", "label_key"]

_DASHES = "[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d]"
_SINGLE_QUOTES = "[\u2018\u2019\u201a\u201b\u2032\u00b4`]"
_DOUBLE_QUOTES = "[\u201c\u201d\u201e\u201f\u2033]"


_CASE_NAMES = re.compile(r"smiles|inchi|formula|sequence|seq\b|cas\b", re.IGNORECASE)
# SMILES: ring-closure pairs (c1...c1), bonds = # @, bracket atoms; no spaces.
_SMILES = r"^\S*(?:[=#@\[\]]|[A-Za-z%][1-9]\S*[A-Za-z)\]][1-9])\S*$"


def case_matters(name: str, series: pl.Series) -> bool:
    """Whether upper and lower case mean different things in this column.

    True for SMILES, InChI, formulas and sequences (``c1ccccc1`` is benzene, ``C1CCCCC1``
    cyclohexane; ``Co`` is cobalt, ``CO`` carbon monoxide): by the column's name, or when most of its
    distinct values look like SMILES.

    Examples
    --------
    >>> import polars as pl
    >>> case_matters("solvent", pl.Series(["THF", "thf", "Toluene"]))
    False
    >>> case_matters("mol", pl.Series(["c1ccccc1", "C1CCCCC1", "CC(=O)O", "CCO"]))
    True
    """
    if _CASE_NAMES.search(name):
        return True
    values = series.cast(pl.String).drop_nulls().unique().head(2000)
    if values.len() == 0:
        return False
    return bool(values.str.contains(_SMILES).mean() >= 0.5)  # type: ignore[operator]


def label_key(expr: pl.Expr, *, fold_case: bool = True) -> pl.Expr:
    """The comparison key of a label: NFKC form, lower case, one dash and quote form, no spaces.

    ``fold_case=False`` keeps case (for columns where :func:`case_matters`).

    Examples
    --------
    >>> import polars as pl
    >>> s = pl.Series(["Pd(OAc)2", " pd(oac)2 ", "Pd(OAc)₂", "night–shift"])
    >>> pl.select(label_key(pl.lit(s))).to_series().to_list()
    ['pd(oac)2', 'pd(oac)2', 'pd(oac)2', 'night-shift']
    """
    key = expr.cast(pl.String).str.normalize("NFKC")
    if fold_case:
        key = key.str.to_lowercase()
    return (
        key.str.replace_all(_DASHES, "-")
        .str.replace_all(_SINGLE_QUOTES, "'")
        .str.replace_all(_DOUBLE_QUOTES, '"')
        .str.replace_all(r"\s+", "")
    )


def label_groups(series: pl.Series, *, fold_case: bool = True) -> dict[str, dict[str, int]]:
    """Spelling variants of each label that has more than one: ``{canonical: {variant: count}}``.

    The canonical spelling is the most frequent variant (the first seen on a tie); it is listed first.
    """
    counts = (
        pl.DataFrame({"v": series.cast(pl.String)})
        .drop_nulls()
        .group_by("v", maintain_order=True)
        .agg(pl.len().alias("n"))
        .with_columns(label_key(pl.col("v"), fold_case=fold_case).alias("k"))
    )
    variants = counts.filter(pl.len().over("k") > 1)
    groups: dict[str, dict[str, int]] = {}
    for _, part in variants.group_by("k", maintain_order=True):
        ordered = sorted(
            zip(part["v"].to_list(), part["n"].to_list(), strict=True),
            key=lambda vn: -vn[1],  # stable: first seen wins a tie
        )
        groups[ordered[0][0]] = dict(ordered)
    return groups


def check_labels(ctx: CheckContext) -> list[Finding]:
    """``label_inconsistency``: per text column, groups of spellings of the same label."""
    findings = []
    for name in ctx.text():
        if ctx.n_unique[name] < 2:
            continue
        groups = label_groups(ctx.frame[name], fold_case=not case_matters(name, ctx.frame[name]))
        if not groups:
            continue
        minority = [v for g in groups.values() for v in list(g)[1:]]
        rows = np.flatnonzero(ctx.frame[name].cast(pl.String).is_in(minority).fill_null(False))
        listed = "; ".join(
            ", ".join(f"{v!r} ({n})" for v, n in g.items()) for g in list(groups.values())[:5]
        )
        more = f"; and {len(groups) - 5} more groups" if len(groups) > 5 else ""
        findings.append(
            Finding(
                check="label_inconsistency",
                column=name,
                rows=rows.tolist(),
                severity="warning",
                message=(
                    f"{name!r} spells {len(groups)} label(s) in several ways: {listed}{more}; "
                    f"less common spellings on {ctx.describe_rows(rows.tolist())}"
                ),
                suggestion=(
                    "Use one spelling per label: `labsight clean --labels normalize` maps each "
                    "variant to its most frequent spelling"
                ),
                details={"groups": groups},
            )
        )
    return findings

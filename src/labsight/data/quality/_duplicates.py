"""Duplicates: rows that repeat earlier rows, and columns that repeat other columns."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from labsight.data.findings import Finding
from labsight.data.quality._context import CheckContext, is_text, numeric_values
from labsight.data.stats import pairwise_correlation

__all__ = ["check_duplicate_rows", "check_near_duplicate_columns"]

_R_LIMIT = 0.9999
_SCREEN_LIMIT = 0.999  # looser on a sample, so no pair above _R_LIMIT on all rows is screened out
SCREEN_ROWS = 20_000
"""Correlation screens run on a fixed-seed sample of this many rows; candidates are confirmed on all."""
_MAX_TEXT_COLUMNS = 40


def check_duplicate_rows(ctx: CheckContext) -> list[Finding]:
    """``duplicate``: rows equal to an earlier row in every column but the id column(s).

    Rows that are empty in every such column are not counted (they are blank lines, and the
    ``missing`` check already reports them).
    """
    ids = ctx.table.by_role("id")
    cols = [c for c in ctx.frame.columns if c not in ids]
    if ctx.n < 2 or not cols:
        return []
    data = ctx.frame.select(cols)
    # Hash first (fast on millions of rows), then confirm candidates value by value.
    hashes = data.hash_rows(seed=0)
    # Entirely empty rows are blank lines, not copies of a run.
    empty = data.select(pl.all_horizontal(pl.all().is_null())).to_series()
    candidates = np.flatnonzero((hashes.is_duplicated() & ~empty).to_numpy())
    if candidates.size == 0:
        return []
    first = (
        pl.DataFrame({"h": hashes.gather(candidates), "i": candidates})
        .select(pl.col("i").min().over("h"))
        .to_series()
        .to_numpy()
    )
    keep = first != candidates
    later, earlier = candidates[keep], first[keep]
    if later.size == 0:
        return []
    a, b = data[later.tolist()], data[earlier.tolist()]
    same = np.ones(later.size, dtype=bool)
    for c in cols:
        same &= a[c].eq_missing(b[c]).fill_null(False).to_numpy()
    later, earlier = later[same], earlier[same]
    if later.size == 0:
        return []
    ignored = f" (ignoring id column(s) {', '.join(map(repr, ids))})" if ids else ""
    pairs = [[int(x), int(y)] for x, y in zip(later[:100], earlier[:100], strict=True)]
    return [
        Finding(
            check="duplicate",
            column=None,
            rows=later.tolist(),
            severity="warning",
            message=(
                f"{later.size} row(s) repeat an earlier row exactly{ignored}: "
                f"row {later[0]} repeats row {earlier[0]}"
                + (f"; {ctx.describe_rows(later.tolist())} are copies" if later.size > 1 else "")
            ),
            suggestion=(
                "Delete the copies if they were entered twice; if they are real replicates, add a "
                "replicate column (role group) and average them with `labsight clean --replicates mean`"
            ),
            details={"pairs": pairs, "ignored_columns": ids},
        )
    ]


def _numeric_duplicates(ctx: CheckContext) -> list[Finding]:
    names = [
        c
        for c in ctx.numeric(exclude_roles=("id", "target"))
        if ctx.n_unique[c] > 1 and ctx.null_count[c] < ctx.n - 2
    ]
    if len(names) < 2:
        return []
    # Screen on a sample (only the sampled rows are copied out of the frame), confirm on all rows.
    frame = ctx.frame.select(names)
    sampled = ctx.n > SCREEN_ROWS
    if sampled:
        picks = np.sort(np.random.default_rng(0).choice(ctx.n, SCREEN_ROWS, replace=False))
        frame = frame[picks]
    r, count = pairwise_correlation(frame)
    del frame
    screen = _SCREEN_LIMIT if sampled else _R_LIMIT
    findings = []
    seen: set[int] = set()
    for j in range(len(names)):
        for i in range(j):
            if i in seen or count[i, j] < 3 or not abs(r[i, j]) > screen:
                continue
            xi, xj = numeric_values(ctx.frame[names[i]]), numeric_values(ctx.frame[names[j]])
            both = np.isfinite(xi) & np.isfinite(xj)
            xi, xj = xi[both], xj[both]
            if sampled:
                full = float(np.corrcoef(xi, xj)[0, 1])
                if not abs(full) > _R_LIMIT:
                    continue
                r[i, j] = full
            slope, intercept = np.polyfit(xi, xj, 1)
            identical = bool(np.array_equal(xi, xj))
            seen.add(j)
            relation = (
                "is identical to"
                if identical
                else f"is a linear copy of (≈ {slope:.6g} × {names[i]!r} + {intercept:.6g})"
            )
            findings.append(
                Finding(
                    check="near_duplicate_column",
                    column=names[j],
                    rows=[],
                    severity="warning",
                    message=f"{names[j]!r} {relation} {names[i]!r} (r = {r[i, j]:.6f})",
                    suggestion=(
                        f"Keep one of the two (drop {names[j]!r}): two copies of one quantity "
                        "double its weight and split its importance in models"
                    ),
                    details={
                        "other": names[i],
                        "r": float(r[i, j]),
                        "slope": float(slope),
                        "intercept": float(intercept),
                        "identical": identical,
                    },
                )
            )
            break
    return findings


def _text_duplicates(ctx: CheckContext) -> list[Finding]:
    names = [
        c.name
        for c in ctx.table.columns
        if c.role not in ("id", "target")
        and (is_text(ctx.table.schema[c.name]) or c.role == "condition")
        and 2 <= ctx.n_unique[c.name] < ctx.n - ctx.null_count[c.name]
    ][:_MAX_TEXT_COLUMNS]
    if len(names) < 2:
        return []
    pairs = list(itertools.combinations(range(len(names)), 2))
    joint = ctx.frame.select(
        pl.struct(names[i], names[j]).n_unique().alias(f"{i}:{j}") for i, j in pairs
    ).row(0)
    distinct = ctx.frame.select(pl.col(c).n_unique() for c in names).row(0)
    findings = []
    seen: set[int] = set()
    for (i, j), both in zip(pairs, joint, strict=True):
        if j in seen or i in seen or not distinct[i] == distinct[j] == both:
            continue
        seen.add(j)
        findings.append(
            Finding(
                check="near_duplicate_column",
                column=names[j],
                rows=[],
                severity="warning",
                message=(
                    f"{names[j]!r} carries the same information as {names[i]!r}: each of their "
                    f"{distinct[i]} values maps one-to-one onto the other's"
                ),
                suggestion=f"Keep one of the two (drop {names[j]!r}) so models see it once",
                details={"other": names[i], "levels": int(distinct[i])},
            )
        )
    return findings


def check_near_duplicate_columns(ctx: CheckContext) -> list[Finding]:
    """``near_duplicate_column``: numeric columns with ``|r| > 0.9999``, text columns that map 1:1."""
    if ctx.n < 3:
        return []
    return _collapse_chains(_numeric_duplicates(ctx)) + _text_duplicates(ctx)


_CHAIN = 10


def _collapse_chains(findings: list[Finding]) -> list[Finding]:
    """Many near-copies at once are the shape of the data (neighbouring channels of a spectrum,
    a sensor array), not a mistake each: say it once, as information."""
    if len(findings) <= _CHAIN:
        return findings
    examples = "; ".join(f"{f.column!r} ≈ {f.details['other']!r}" for f in findings[:3])
    return [
        Finding(
            check="near_duplicate_column",
            column=None,
            rows=[],
            severity="info",
            message=(
                f"{len(findings)} numeric columns are near-linear copies (|r| > {_R_LIMIT}) of "
                f"another column, e.g. {examples}: typical of spectra or sensor arrays"
            ),
            suggestion=(
                "Nothing to fix if neighbouring channels are expected to move together; models "
                "should use a method that copes with collinear inputs (PLS, PCA, ridge)"
            ),
            details={"pairs": [[f.column, f.details["other"]] for f in findings]},
        )
    ]

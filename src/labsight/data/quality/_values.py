"""Checks on what values a column holds: constant columns, physical limits, target leaks, imbalance."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl

from labsight.data.findings import Finding
from labsight.data.quality._context import CheckContext, is_text, numeric_values
from labsight.data.quality._duplicates import SCREEN_ROWS
from labsight.data.stats import pairwise_correlation

__all__ = [
    "check_class_imbalance",
    "check_constant",
    "check_physical_limits",
    "check_target_leak",
    "physical_range",
]

_SHARE_NAMES = re.compile(r"yield|conversion|selectivity|purity|recovery|\bee\b", re.IGNORECASE)
_FRACTION_UNITS = {None, "", "1", "dimensionless", "fraction"}
_PERCENT_UNITS = {"%", "percent", "pct"}
# Dimensions whose magnitudes cannot be negative: amounts, masses, volumes, concentrations, durations.
_NON_NEGATIVE = (
    {"[mass]": 1},
    {"[length]": 3},
    {"[substance]": 1},
    {"[substance]": 1, "[length]": -3},
    {"[mass]": 1, "[length]": -3},
    {"[substance]": 1, "[mass]": -1},
    {"[time]": 1},
)
# Used only while labsight.data.units is not importable: the commonest lab spellings.
_FALLBACK_NON_NEGATIVE = {
    *("g", "mg", "kg", "ug", "µg", "mL", "L", "uL", "µL", "ml", "l", "mol", "mmol", "umol"),
    *("M", "mM", "mol / L", "mol/L", "mmol / L", "g / L", "mg / mL", "s", "min", "h", "hour"),
}
_FALLBACK_ZERO = {"K": 0.0, "kelvin": 0.0, "degC": -273.15, "°C": -273.15, "degF": -459.67}


def physical_range(
    name: str, unit: str | None, values: np.ndarray
) -> tuple[float, float, str] | None:
    """The range a column's unit (or name) allows: ``(low, high, what)``, or None when unbounded.

    Temperatures are returned in their own unit (absolute zero converted), shares as 0..100 for
    ``%`` and 0..1 for a unitless share column (yield, conversion, selectivity, purity ... by
    name) whose values are clearly fractions (at least 80 % of them within 0..1).
    """
    if unit in _PERCENT_UNITS:
        return (0.0, 100.0, "a percentage column")
    if unit in _FRACTION_UNITS:
        if not _SHARE_NAMES.search(name):
            return None
        finite = values[np.isfinite(values)]
        if finite.size and np.mean((finite >= 0) & (finite <= 1)) >= 0.8:
            return (0.0, 1.0, "a fraction column")
        return (0.0, 100.0, "a percentage column")
    assert unit is not None
    if "delta" in unit or unit.startswith("Δ"):
        return None  # temperature differences may be negative
    try:
        from labsight.data.units import convert, ureg
    except ImportError:
        if unit in _FALLBACK_ZERO:
            return (_FALLBACK_ZERO[unit], np.inf, "a temperature (below absolute zero)")
        if unit in _FALLBACK_NON_NEGATIVE:
            return (0.0, np.inf, "a quantity that cannot be negative")
        return None
    try:
        dim = dict(ureg.parse_units(unit).dimensionality)
    except Exception:  # an unknown unit is ingest's problem, not this check's
        return None
    if dim == {"[temperature]": 1}:
        try:
            zero = float(convert(np.array([0.0]), "K", unit)[0])
        except Exception:
            return None
        return (zero, np.inf, "a temperature (below absolute zero)")
    if dim in _NON_NEGATIVE:
        return (0.0, np.inf, "a quantity that cannot be negative")
    return None


def check_physical_limits(ctx: CheckContext) -> list[Finding]:
    """``physical_limit``: values a column's unit cannot hold (negative masses, yields over 100 %)."""
    findings = []
    numeric = set(ctx.numeric(exclude_roles=("id",)))
    for info in ctx.table.columns:
        if info.name not in numeric:
            continue
        x = numeric_values(ctx.frame[info.name])
        limits = physical_range(info.name, info.unit, x)
        if limits is None:
            continue
        low, high, what = limits
        tol = 1e-9 * max(1.0, abs(low), abs(high) if np.isfinite(high) else 0.0)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero((x < low - tol) | (x > high + tol))
        if bad.size == 0:
            continue
        unit = f" {info.unit}" if info.unit else ""
        allowed = f"{low:g} to {high:g}{unit}" if np.isfinite(high) else f"at least {low:g}{unit}"
        examples = ", ".join(f"row {r} = {x[r]:.4g}" for r in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        findings.append(
            Finding(
                check="physical_limit",
                column=info.name,
                rows=bad.tolist(),
                severity="error",
                message=(
                    f"{bad.size} {'value' if bad.size == 1 else 'values'} of {info.name!r} "
                    f"{'is' if bad.size == 1 else 'are'} impossible for {what} "
                    f"(allowed {allowed}): {examples}{more}"
                ),
                suggestion=(
                    "Correct these entries (often a typing, sign or unit slip) or remove the rows; "
                    "they are not outliers to clip but values that cannot be"
                ),
                details={"low": low, "high": high if np.isfinite(high) else None, "kind": what},
            )
        )
    return findings


_IMAGE_METADATA = frozenset({"width", "height", "channels"})


def check_constant(ctx: CheckContext) -> list[Finding]:
    """``constant``: a column with one distinct non-null value in more than one row (an image
    table's own metadata — every image 512 pixels wide — is not a finding)."""
    findings = []
    images = any(c.dtype == "image" for c in ctx.table.columns)
    for name in ctx.frame.columns:
        filled = ctx.n - ctx.null_count[name]
        if ctx.n_unique[name] != 1 or filled < 2:
            continue
        if images and name in _IMAGE_METADATA and ctx.table.column(name).role == "id":
            continue
        value = ctx.frame[name].drop_nulls()[0]
        findings.append(
            Finding(
                check="constant",
                column=name,
                rows=[],
                severity="warning",
                message=f"{name!r} holds one value ({value!r}) in all {filled} non-empty rows",
                suggestion=(
                    f"Drop {name!r}: a column that never changes cannot explain differences "
                    "between runs (check the export did not fill it down)"
                ),
                details={
                    "value": value if isinstance(value, int | float | str | bool) else str(value)
                },
            )
        )
    return findings


def _categorical_target(ctx: CheckContext, name: str) -> bool:
    dtype = ctx.table.schema[name]
    if is_text(dtype) or dtype == pl.Boolean:
        return True
    return dtype.is_integer() and ctx.n_unique[name] == 2


def check_class_imbalance(ctx: CheckContext) -> list[Finding]:
    """``class_imbalance``: a categorical target whose rarest class is < 10 % (< 2 %: error)."""
    findings = []
    for name in ctx.table.by_role("target"):
        if ctx.n_unique[name] < 2 or not _categorical_target(ctx, name):
            continue
        counts = (
            ctx.frame.select(pl.col(name).drop_nulls().value_counts(sort=True))
            .unnest(name)
            .rename({"count": "__count__"})
        )
        total = int(counts["__count__"].sum())
        rare_value = counts[name][-1]
        rare_count = int(counts["__count__"][-1])
        share = rare_count / total
        if share >= 0.10:
            continue
        rows = np.flatnonzero(ctx.frame[name].eq_missing(rare_value).fill_null(False).to_numpy())
        listing = ", ".join(
            f"{v!r}: {c}" for v, c in zip(counts[name].to_list(), counts["__count__"], strict=True)
        )
        findings.append(
            Finding(
                check="class_imbalance",
                column=name,
                rows=rows.tolist(),
                severity="error" if share < 0.02 else "warning",
                message=(
                    f"target {name!r} is imbalanced: its rarest class {rare_value!r} has "
                    f"{rare_count} of {total} rows ({share:.1%}); counts {listing}"
                ),
                suggestion=(
                    "Run more experiments of the rare class if you can; when modelling use class "
                    "weights and stratified cross-validation, and judge by balanced accuracy or F1"
                ),
                details={
                    "counts": dict(
                        zip(
                            map(str, counts[name].to_list()),
                            counts["__count__"].to_list(),
                            strict=True,
                        )
                    ),
                    "rarest_share": share,
                },
            )
        )
    return findings


def _leak_finding(name: str, target: str, message: str, details: dict[str, Any]) -> Finding:
    return Finding(
        check="target_leak",
        column=name,
        rows=[],
        severity="warning",
        message=message,
        suggestion=(
            f"If {name!r} is only known after the run (or computed from {target!r}), drop it "
            "from the features: it would leak the answer into the model"
        ),
        details={"target": target, **details},
    )


def check_target_leak(ctx: CheckContext) -> list[Finding]:
    """``target_leak``: a feature with ``|Spearman| > 0.98`` to a numeric target, or a many-level
    categorical that determines the target exactly."""
    findings: list[Finding] = []
    inputs = [c.name for c in ctx.table.columns if c.role in ("feature", "condition")]
    for target in ctx.table.by_role("target"):
        if ctx.n < 5 or ctx.n_unique[target] < 2:
            continue
        numeric_inputs = [c for c in inputs if c in ctx.numeric() and ctx.n_unique[c] > 1]
        if ctx.table.schema[target].is_numeric() and numeric_inputs:
            # Spearman on a fixed-seed sample of large tables: its error there is ~1e-3 at most.
            frame = ctx.frame
            if ctx.n > SCREEN_ROWS:
                frame = frame.sample(SCREEN_ROWS, seed=0)
            ranks = frame.select(
                pl.col(c).cast(pl.Float64).fill_nan(None).rank("average")
                for c in [target, *numeric_inputs]
            )
            r, count = pairwise_correlation(ranks)
            for j, name in enumerate(numeric_inputs, start=1):
                if count[0, j] >= 5 and abs(r[0, j]) > 0.98:
                    findings.append(
                        _leak_finding(
                            name,
                            target,
                            f"{name!r} ranks almost exactly like the target {target!r} "
                            f"(Spearman ρ = {r[0, j]:.3f}): it may be measured after the run or "
                            "computed from the target",
                            {"spearman": float(r[0, j])},
                        )
                    )
        for name in inputs:
            levels = ctx.n_unique[name]
            filled = ctx.n - ctx.null_count[name]
            if name in numeric_inputs or levels < 10 or filled < 2 * levels:
                continue
            spread = (
                ctx.frame.select(name, target)
                .drop_nulls()
                .group_by(name)
                .agg(pl.col(target).n_unique().alias("k"))["k"]
                .max()
            )
            if isinstance(spread, int) and spread <= 1:
                findings.append(
                    _leak_finding(
                        name,
                        target,
                        f"each of the {levels} values of {name!r} fixes the target {target!r} "
                        "exactly: the column may encode the outcome",
                        {"levels": levels},
                    )
                )
    return findings

"""The cleaning steps fitted on the data's statistics: ``outliers`` (flagged, removed or clipped at
robust bounds), ``impute`` (missing values filled) and ``replicates`` (replicate rows averaged, with
their spread and count).

Part of :mod:`labsight.data.clean._steps`, which joins their :data:`FIT` and :data:`APPLY` with
those of ``_steps_values``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from labsight.data.clean._plan import CleaningStep
from labsight.data.clean._steps_common import (
    DERIVED_ROLE,
    N_REPLICATES,
    OUTLIER_SUFFIX,
    SD_SUFFIX,
    ApplyFunction,
    Change,
    FitFunction,
    _change,
    _code_mask,
    _finite,
    _renamed,
    free_name,
    outlier_flags,
    registrar,
)
from labsight.data.quality._context import is_numeric, numeric_values
from labsight.data.quality._outliers import measured_columns, robust_bounds
from labsight.data.quality._replicates import replicate_index_columns, replicate_keys
from labsight.data.quality._sentinels import table_sentinels
from labsight.data.table import ColumnInfo, Table

__all__ = ["APPLY", "FIT"]

FIT: dict[str, FitFunction] = {}
APPLY: dict[str, ApplyFunction] = {}
_fit, _apply = registrar(FIT, APPLY)


# --- outliers --------------------------------------------------------------------------------------


def _outlier_columns(table: Table) -> list[str]:
    numeric = [
        c.name
        for c in table.columns
        if c.role not in ("id", "time", "group") and is_numeric(table.schema[c.name])
    ]
    return measured_columns(table, numeric)  # the same columns the quality check tests


@_fit("outliers")
def fit_outliers(table: Table, method: str) -> CleaningStep:
    """Robust bounds per numeric column: the same :func:`robust_bounds` the quality report uses.

    Infinite bounds (no limit on that side) are stored as null. As in the report, codes for a
    missing value (``sentinel``; gone already when a ``sentinels`` step ran first) are left out
    of the bounds; they are kept in ``params["sentinels"]`` so that no replay flags, drops or
    clips them.
    """
    names = _outlier_columns(table)
    codes = table_sentinels(table)
    bounds: dict[str, dict[str, float | None]] = {}
    skipped: dict[str, list[float]] = {}
    for name in names:
        x = numeric_values(table.frame[name])
        if name in codes:
            x[codes[name].mask] = np.nan
        b = robust_bounds(x, tests=len(names))
        if b is not None:
            bounds[name] = {"lower": _finite(b.lower), "upper": _finite(b.upper)}
            if name in codes:
                skipped[name] = list(codes[name].values)
    params: dict[str, Any] = {"bounds": bounds}
    if skipped:
        params["sentinels"] = skipped
    return CleaningStep("outliers", method, list(bounds), params)


def _bounds_of(step: CleaningStep, name: str) -> tuple[float, float]:
    b = step.params.get("bounds", {}).get(name, {})
    lower = b.get("lower")
    upper = b.get("upper")
    return (
        -math.inf if lower is None else float(lower),
        math.inf if upper is None else float(upper),
    )


@_apply("outliers")
def apply_outliers(table: Table, step: CleaningStep) -> tuple[Table, list[Change]]:
    frame, columns, changes = table.frame, list(table.columns), []
    masks: dict[str, np.ndarray] = {}
    codes: dict[str, np.ndarray] = {}
    for name in step.columns or []:
        lower, upper = _bounds_of(step, name)
        x = numeric_values(frame[name])
        codes[name] = _code_mask(x, step.params.get("sentinels", {}).get(name, []))
        with np.errstate(invalid="ignore"):
            masks[name] = ((x < lower) | (x > upper)) & ~codes[name]
    if step.method == "flag":
        # A flag column only where this table has outliers: fifty all-False columns would bury
        # the few that matter. The log names every column checked, flagged or not.
        for name, mask in masks.items():
            if not mask.any():
                changes.append(_change(step, name, np.flatnonzero(mask)))
                continue
            same = [
                f
                for f in outlier_flags(table, name)
                if np.array_equal(table.frame[f].fill_null(False).to_numpy(), mask)
            ]
            if same:  # an earlier clean flagged exactly these rows: flagging again changes nothing
                changes.append(
                    _change(step, name, np.array([], dtype=np.int64), flag_column=same[0])
                )
                continue
            wanted = f"{name}{OUTLIER_SUFFIX}"
            flag = free_name(frame.columns, wanted)
            frame = frame.with_columns(pl.Series(flag, mask, dtype=pl.Boolean))
            columns.append(ColumnInfo(flag, "bool", None, DERIVED_ROLE))
            changes.append(
                _change(
                    step, name, np.flatnonzero(mask), flag_column=flag, **_renamed(wanted, flag)
                )
            )
        frame = frame.select([c.name for c in columns])
        return Table(frame, columns, table.findings, table.source, table.row_lines), changes
    if step.method == "drop":
        drop = np.zeros(frame.height, dtype=bool)
        for name, mask in masks.items():
            drop |= mask
            changes.append(_change(step, name, np.flatnonzero(mask)))
        keep = np.flatnonzero(~drop)
        lines = None if table.row_lines is None else [table.row_lines[i] for i in keep]
        frame = frame.filter(pl.Series(~drop))
        changes.append(_change(step, None, np.flatnonzero(drop), note="rows removed"))
        return Table(frame, columns, [], table.source, lines), changes
    for name, mask in masks.items():  # winsorize
        lower, upper = _bounds_of(step, name)
        col = pl.col(name)
        if table.schema[name].is_integer():
            # Clip integers to the nearest integers inside the bounds, keeping the dtype.
            lo = None if math.isinf(lower) else math.ceil(lower)
            hi = None if math.isinf(upper) else math.floor(upper)
            clipped = col.clip(lo, hi)
        else:
            lo_f = None if math.isinf(lower) else lower
            hi_f = None if math.isinf(upper) else upper
            col = col.cast(pl.Float64)
            clipped = col.clip(lo_f, hi_f)
        if codes[name].any():  # a code is not a measurement to clip
            clipped = pl.when(pl.Series(codes[name])).then(col).otherwise(clipped)
        frame = frame.with_columns(clipped.alias(name))
        changes.append(_change(step, name, np.flatnonzero(mask), lower=lower, upper=upper))
    return Table(frame, columns, table.findings, table.source, table.row_lines), changes


# --- impute ----------------------------------------------------------------------------------------


def _impute_columns(table: Table) -> list[str]:
    """Numeric input columns: role feature or condition (targets, ids, times are never imputed)."""
    return [
        c.name
        for c in table.columns
        if c.role in ("feature", "condition")
        and is_numeric(table.schema[c.name])
        and not c.name.endswith(OUTLIER_SUFFIX)
    ]


@_fit("impute")
def fit_impute(table: Table, method: str) -> CleaningStep:
    """Mean/median: one value per numeric input column, fitted now, replayed as is.

    Values flagged by an earlier ``outliers flag`` step (any of its flags of the column) are left
    out of the fit. kNN and iterative
    imputation cannot be stored as a few numbers: they are refit on every table they are applied
    to (``params["refit"] = True``).
    """
    names = _impute_columns(table)
    if method in ("knn", "iterative"):
        params: dict[str, Any] = {"refit": True}
        params.update(
            {"n_neighbors": 5} if method == "knn" else {"max_iter": 10, "random_state": 0}
        )
        return CleaningStep("impute", method, names, params)
    values: dict[str, float] = {}
    for name in names:
        x = numeric_values(table.frame[name])
        flagged = np.zeros(x.size, dtype=bool)
        for flag in outlier_flags(table, name):
            flagged |= table.frame[flag].fill_null(False).to_numpy().astype(bool)
        x = x[~flagged]
        x = x[np.isfinite(x)]
        if x.size:
            values[name] = float(np.mean(x) if method == "mean" else np.median(x))
    return CleaningStep("impute", method, list(values), {"values": values})


@_apply("impute")
def apply_impute(table: Table, step: CleaningStep) -> tuple[Table, list[Change]]:
    frame, columns, changes = table.frame, list(table.columns), []
    names = list(step.columns or [])
    if step.method in ("knn", "iterative"):
        filled = _refit_impute(frame, names, step)
    else:
        values = step.params.get("values", {})
        filled = {n: pl.lit(float(values[n])) for n in names if n in values}
    for name, fill in filled.items():
        missing = frame[name].cast(pl.Float64).fill_nan(None).is_null()
        rows = np.flatnonzero(missing.to_numpy())
        if rows.size == 0:
            continue
        col = pl.col(name).cast(pl.Float64).fill_nan(None)
        frame = frame.with_columns(col.fill_null(fill).alias(name))
        columns = [replace(c, dtype="float") if c.name == name else c for c in columns]
        changes.append(_change(step, name, rows))
    return Table(frame, columns, table.findings, table.source, table.row_lines), changes


def _refit_impute(frame: pl.DataFrame, names: list[str], step: CleaningStep) -> dict[str, Any]:
    """Fit sklearn's KNNImputer / IterativeImputer on this table and return the filled columns."""
    usable = [
        n for n in names if frame[n].cast(pl.Float64).fill_nan(None).null_count() < frame.height
    ]
    if not usable or frame.height == 0:
        return {}
    data = np.column_stack([numeric_values(frame[n]) for n in usable])
    if not np.isnan(data).any():
        return {}
    if step.method == "knn":
        from sklearn.impute import KNNImputer

        k = int(step.params.get("n_neighbors", 5))
        result = KNNImputer(n_neighbors=max(1, min(k, frame.height - 1))).fit_transform(data)
    else:
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer

        imputer = IterativeImputer(
            max_iter=int(step.params.get("max_iter", 10)),
            random_state=int(step.params.get("random_state", 0)),
        )
        result = imputer.fit_transform(data)
    return {n: pl.Series(n, result[:, i]) for i, n in enumerate(usable)}


# --- replicates ------------------------------------------------------------------------------------


@_fit("replicates")
def fit_replicates(table: Table, method: str) -> CleaningStep:
    """Average replicate rows: group by the group column(s), else by every feature and condition,
    as the ``replicate_noise`` check groups them (a replicate-number column is no part of the key).

    Numeric measured columns are aggregated by ``method``; the targets' (or, without targets, every
    measured column's) spread is kept as ``<col>__sd`` and the group size as ``n_replicates``.
    Other columns keep their first value; id columns and replicate numbers
    (``params["index"]``) are dropped.
    """
    by = replicate_keys(table)
    index = replicate_index_columns(table)
    measured = [
        c.name
        for c in table.columns
        if c.name not in by
        and c.name not in index
        and c.role not in ("id", "time", "group")
        and is_numeric(table.schema[c.name])
    ]
    targets = [m for m in measured if table.column(m).role == "target"]
    params: dict[str, Any] = {"by": by, "measured": measured, "spread": targets or measured}
    if index:
        params["index"] = index
    return CleaningStep("replicates", method, by, params)


@_apply("replicates")
def apply_replicates(table: Table, step: CleaningStep) -> tuple[Table, list[Change]]:
    by: list[str] = list(step.params.get("by", step.columns or []))
    measured: list[str] = [m for m in step.params.get("measured", []) if m in table.frame.columns]
    spread: list[str] = [s for s in step.params.get("spread", []) if s in measured]
    if not by:
        return table, []
    if table.frame.select(pl.struct(by).is_duplicated().any()).item() is not True:
        # No two rows share their conditions: nothing to average; the table stays as it is.
        return table, [_change(step, None, np.array([], dtype=np.int64), note="no replicates")]
    agg = [
        (pl.col(m).mean() if step.method == "mean" else pl.col(m).median()).alias(m)
        for m in measured
    ]
    # Outlier flags of an earlier step survive: a group is flagged when any of its rows was.
    flags = outlier_flags(table)
    index = set(step.params.get("index", []))
    keep = [
        c.name
        for c in table.columns
        if c.name not in by
        and c.name not in measured
        and c.name not in index
        and (c.role != "id" or c.name in flags)
    ]
    # The spread and count columns take free names: never one of the columns kept.
    taken = {*by, *measured, *keep}
    sd_of: dict[str, str] = {}
    for s in spread:
        sd_of[s] = free_name(taken, f"{s}{SD_SUFFIX}")
        taken.add(sd_of[s])
    count = free_name(taken, N_REPLICATES)
    agg += [pl.col(k).any().alias(k) if k in flags else pl.col(k).first().alias(k) for k in keep]
    agg += [pl.col(s).std().alias(sd_of[s]) for s in spread]
    agg.append(pl.len().cast(pl.Int64).alias(count))
    frame = table.frame.group_by(by, maintain_order=True).agg(agg)
    infos = {c.name: c for c in table.columns}
    columns: list[ColumnInfo] = []
    for c in table.columns:
        if c.name in by or c.name in keep:
            columns.append(c)
        elif c.name in measured:
            columns.append(replace(c, dtype="float"))
    columns += [ColumnInfo(sd_of[s], "float", infos[s].unit, DERIVED_ROLE) for s in spread]
    columns.append(ColumnInfo(count, "int", None, DERIVED_ROLE))
    frame = frame.select([c.name for c in columns])
    sizes = frame[count].to_numpy()
    wanted = {f"{s}{SD_SUFFIX}": sd_of[s] for s in spread} | {N_REPLICATES: count}
    renamed = {w: got for w, got in wanted.items() if w != got}  # taken names, kept as they were
    merged = np.flatnonzero(sizes > 1)
    changes = [
        _change(
            step,
            None,
            merged,
            note=f"{table.height} rows -> {frame.height} rows ({merged.size} replicate groups)",
            by=by,
            **({"renamed": renamed} if renamed else {}),
        )
    ]
    return Table(frame, columns, [], table.source, None), changes

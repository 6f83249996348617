"""One fit function and one apply function per step kind, registered by the step's ``op`` name.

A fit function looks at a table and returns the fitted :class:`CleaningStep` (or None when there
is nothing to do); an apply function replays a step on any table with the same columns and returns
the new table and a log of what changed. Everything is vectorised with polars / numpy.

A derived column never replaces a column the table has: when ``y__outlier`` (or ``y__sd``,
``n_replicates``) is taken, by the user's own column or by an earlier clean, the new one is called
``y__outlier_2`` (then ``_3`` …) and the change log says so. Refusing would force a rename of data
the scientist chose to keep; overwriting would silently lose it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from labsight.data.clean._plan import CleaningStep
from labsight.data.quality._context import is_numeric, is_text, numeric_values
from labsight.data.quality._labels import case_matters, label_groups, label_key
from labsight.data.quality._outliers import measured_columns, robust_bounds
from labsight.data.quality._replicates import replicate_index_columns, replicate_keys
from labsight.data.quality._sentinels import table_sentinels
from labsight.data.table import ColumnInfo, Role, Table
from labsight.exceptions import InputError

__all__ = [
    "APPLY",
    "FIT",
    "N_REPLICATES",
    "OUTLIER_SUFFIX",
    "SD_SUFFIX",
    "free_name",
    "outlier_flags",
]

OUTLIER_SUFFIX = "__outlier"
"""``<col>__outlier``: the boolean column ``--outliers flag`` adds (role ``id``, never a feature)."""
SD_SUFFIX = "__sd"
"""``<col>__sd``: the replicate standard deviation ``--replicates`` keeps (role ``id``)."""
N_REPLICATES = "n_replicates"
"""The number of rows averaged into each row by ``--replicates`` (role ``id``)."""
DERIVED_ROLE: Role = "id"
"""Role of derived columns: the one role that no check and no model treats as an input."""

_MAX_LABELS = 1000  # text columns with more distinct values are free text, not categories

Change = dict[str, Any]
FitFunction = Callable[[Table, str], CleaningStep | None]
ApplyFunction = Callable[[Table, CleaningStep], tuple[Table, list[Change]]]
FIT: dict[str, FitFunction] = {}
APPLY: dict[str, ApplyFunction] = {}


def _fit(op: str) -> Callable[[FitFunction], FitFunction]:
    def register(fn: FitFunction) -> FitFunction:
        FIT[op] = fn
        return fn

    return register


def _apply(op: str) -> Callable[[ApplyFunction], ApplyFunction]:
    def register(fn: ApplyFunction) -> ApplyFunction:
        APPLY[op] = fn
        return fn

    return register


def _change(step: CleaningStep, column: str | None, rows: np.ndarray, **extra: Any) -> Change:
    """One log entry; ``rows`` lists at most the first 1,000 rows, ``count`` is the total."""
    return {
        "op": step.op,
        "method": step.method,
        "column": column,
        "count": int(rows.size),
        "rows": rows[:1000].tolist(),
        **extra,
    }


def free_name(taken: Iterable[str], wanted: str) -> str:
    """``wanted``, or else the first of ``wanted_2``, ``wanted_3`` … that is not ``taken``.

    Examples
    --------
    >>> free_name(["y", "y__outlier"], "y__outlier")
    'y__outlier_2'
    """
    names = set(taken)
    if wanted not in names:
        return wanted
    n = 2
    while f"{wanted}_{n}" in names:
        n += 1
    return f"{wanted}_{n}"


def _renamed(wanted: str, got: str) -> dict[str, str]:
    """The log's note when a derived column could not take its usual name."""
    return {} if got == wanted else {"note": f"{wanted!r} exists and was kept"}


_FLAG = re.compile(rf"^(?P<of>.+){re.escape(OUTLIER_SUFFIX)}(?:_\d+)?$")


def outlier_flags(table: Table, name: str | None = None) -> list[str]:
    """The outlier flags an ``outliers flag`` step added (of column ``name``, or of any): derived
    boolean columns named ``<col>__outlier`` or ``<col>__outlier_N``. A user's own column of that
    name is data, not a flag."""
    return [
        c.name
        for c in table.columns
        if c.role == DERIVED_ROLE
        and c.dtype == "bool"
        and (m := _FLAG.match(c.name)) is not None
        and (name is None or m.group("of") == name)
    ]


def _set_info(table: Table, name: str, **changes: Any) -> list[ColumnInfo]:
    return [replace(c, **changes) if c.name == name else c for c in table.columns]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# --- sentinels -------------------------------------------------------------------------------------


@_fit("sentinels")
def fit_sentinels(table: Table, method: str) -> CleaningStep:
    """The codes for a missing value of each numeric column (0, -999 … far apart from the column's
    other values: the ``sentinel`` quality check's rule), kept in ``params["values"]``.

    The codes are replayed as they are on a new batch, where they may be most of a column (a batch
    in which a sensor was off) and would not be found by the rule on that batch alone.
    """
    codes = {name: list(found.values) for name, found in table_sentinels(table).items()}
    return CleaningStep("sentinels", method, list(codes), {"values": codes})


def _code_mask(values: np.ndarray, codes: Iterable[float]) -> np.ndarray:
    """True where a numeric column's values hold one of ``codes`` exactly."""
    return np.isin(values, np.asarray(list(codes), dtype=np.float64))


@_apply("sentinels")
def apply_sentinels(table: Table, step: CleaningStep) -> tuple[Table, list[Change]]:
    frame, changes = table.frame, []
    values: dict[str, list[float]] = step.params.get("values", {})
    for name in step.columns or []:
        codes = values.get(name, [])
        if not codes or not is_numeric(frame.schema[name]):
            continue  # a column a new batch holds as text has no numeric codes to clear
        hit = _code_mask(numeric_values(frame[name]), codes)
        rows = np.flatnonzero(hit)
        if rows.size == 0:
            continue
        cleared = pl.when(pl.Series(hit)).then(None).otherwise(pl.col(name)).alias(name)
        frame = frame.with_columns(cleared)
        changes.append(_change(step, name, rows, values=codes))
    return Table(frame, table.columns, table.findings, table.source, table.row_lines), changes


# --- labels ----------------------------------------------------------------------------------------


def _label_columns(table: Table) -> list[str]:
    return [
        c.name
        for c in table.columns
        if c.role != "id"
        and is_text(table.schema[c.name])
        and table.frame[c.name].n_unique() <= _MAX_LABELS
    ]


@_fit("labels")
def fit_labels(table: Table, method: str) -> CleaningStep:
    """Map every spelling variant to its label's most frequent spelling (per text column).

    ``params["mapping"]`` holds the variants seen; ``params["labels"]`` the canonical spellings, so
    a new batch's unseen variants of a known label (same case/space/symbol-insensitive key) are
    mapped too.
    """
    mapping: dict[str, dict[str, str]] = {}
    labels: dict[str, list[str]] = {}
    case_kept: list[str] = []
    columns = _label_columns(table)
    for name in columns:
        series = table.frame[name].cast(pl.String)
        if case_matters(name, series):
            case_kept.append(name)
        groups = label_groups(series, fold_case=name not in case_kept)
        col_map = {v: canon for canon, g in groups.items() for v in g if v != canon}
        if col_map:
            mapping[name] = col_map
        canonical = set(series.drop_nulls().unique().to_list()) - set(col_map)
        labels[name] = sorted(canonical)
    params: dict[str, object] = {"mapping": mapping, "labels": labels}
    if case_kept:
        params["case_sensitive"] = case_kept  # SMILES, formulas: case is meaning, never folded
    return CleaningStep("labels", method, columns, params)


@_apply("labels")
def apply_labels(table: Table, step: CleaningStep) -> tuple[Table, list[Change]]:
    frame = table.frame
    changes = []
    mapping: dict[str, dict[str, str]] = step.params.get("mapping", {})
    labels: dict[str, list[str]] = step.params.get("labels", {})
    case_kept = set(step.params.get("case_sensitive", []))
    for name in step.columns or []:
        fold = name not in case_kept
        series = frame[name].cast(pl.String)
        known = dict(mapping.get(name, {}))
        canon = list(labels.get(name, [])) + list(set(known.values()))
        if canon:
            keys = pl.select(
                label_key(pl.lit(pl.Series(canon, dtype=pl.String)), fold_case=fold)
            ).to_series()
            by_key = dict(zip(keys.to_list(), canon, strict=True))
            uniques = series.drop_nulls().unique()
            ukeys = pl.select(label_key(pl.lit(uniques), fold_case=fold)).to_series().to_list()
            for value, key in zip(uniques.to_list(), ukeys, strict=True):
                target = known.get(value, by_key.get(key, value))
                if target != value:
                    known[value] = target
        if not known:
            continue
        hit = series.is_in(list(known)).fill_null(False)
        rows = np.flatnonzero(hit.to_numpy())
        frame = frame.with_columns(series.replace(known).alias(name))
        changes.append(_change(step, name, rows, mapping=known))
    return replace(table, frame=frame), changes


# --- units -----------------------------------------------------------------------------------------


@_fit("units")
def fit_units(table: Table, method: str) -> CleaningStep:
    """Convert each numeric column with a unit to the lab-canonical unit of its dimension."""
    from labsight.data.units import preferred_unit, rename_unit_in_header

    conversions: dict[str, dict[str, str]] = {}
    for c in table.columns:
        if c.unit is None or not is_numeric(table.schema[c.name]):
            continue
        target = preferred_unit(c.unit)
        if target != c.unit:
            new_name = rename_unit_in_header(c.name, target)
            conversions[c.name] = {"from": c.unit, "to": target, "name": new_name}
    return CleaningStep("units", method, list(conversions), {"conversions": conversions})


@_apply("units")
def apply_units(table: Table, step: CleaningStep) -> tuple[Table, list[Change]]:
    from labsight.data.units import convert

    conversions: dict[str, dict[str, str]] = step.params.get("conversions", {})
    frame, columns, changes = table.frame, list(table.columns), []
    for name in step.columns or []:
        conv = conversions.get(name)
        if conv is None:
            continue
        info = next(c for c in columns if c.name == name)
        source = info.unit or conv["from"]  # a new batch may be in another compatible unit
        new_name = conv.get("name", name)
        if new_name != name and new_name in frame.columns:
            raise InputError(
                f"cannot rename {name!r} to {new_name!r}: the table already has that column",
                column=name,
                hint="Rename one of the columns before cleaning",
            )
        values = convert(numeric_values(frame[name]), source, conv["to"])
        converted = pl.Series(new_name, values, dtype=pl.Float64).fill_nan(None)
        frame = frame.with_columns(converted.alias(name)).rename({name: new_name})
        columns = [
            replace(c, name=new_name, unit=conv["to"], dtype="float") if c.name == name else c
            for c in columns
        ]
        rows = np.flatnonzero(frame[new_name].is_not_null().to_numpy())
        said = (  # never read a column of unknown unit as the plan's unit without saying so
            {"assumed": f"the column has no unit: read as {source}, the unit the plan was made for"}
            if info.unit is None
            else {}
        )
        changes.append(
            _change(
                step, name, rows, from_unit=source, to_unit=conv["to"], new_name=new_name, **said
            )
        )
    return Table(frame, columns, [], table.source, table.row_lines), changes


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

"""The cleaning steps that fix how values are written: ``sentinels`` (codes for a missing value made
missing), ``labels`` (spellings of one category merged) and ``units`` (a column converted to one
unit).

Part of :mod:`labsight.data.clean._steps`, which joins their :data:`FIT` and :data:`APPLY` with
those of ``_steps_stats``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl

from labsight.data.clean._plan import CleaningStep
from labsight.data.clean._steps_common import (
    ApplyFunction,
    Change,
    FitFunction,
    _change,
    _code_mask,
    registrar,
)
from labsight.data.quality._context import is_numeric, is_text, numeric_values
from labsight.data.quality._labels import case_matters, label_groups, label_key
from labsight.data.quality._sentinels import table_sentinels
from labsight.data.table import Table
from labsight.exceptions import InputError

__all__ = ["APPLY", "FIT"]

FIT: dict[str, FitFunction] = {}
APPLY: dict[str, ApplyFunction] = {}
_fit, _apply = registrar(FIT, APPLY)
_MAX_LABELS = 1000  # text columns with more distinct values are free text, not categories


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

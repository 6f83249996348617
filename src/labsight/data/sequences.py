"""Runs in a long table: one row per reading, runs told apart by the ``group`` column and ordered by
the ``time`` column (``labsight ingest sensors.csv --group run --time t``). A run with one label (or
value) is a *sequence task*: :func:`sequence_spec` recognises it, and :func:`runs_table` turns the
long table into one row per run that every model family can read:

* each sensor (a numeric ``feature`` or ``condition`` column) resampled onto ``length`` evenly
  spaced points from the run's first reading to its last (linear interpolation, missing readings
  skipped), as columns ``sensor@000`` … — runs of different lengths and sampling rates line up;
* per sensor, ``sensor:mean``, ``:sd``, ``:min``, ``:max``, ``:first``, ``:last`` and ``:slope``
  (per unit of time), which the tabular families read well;
* ``run:duration`` and ``run:readings``.

The run's label is its target value, which must be the same on every reading of the run (a target
that changes within runs is a per-reading task and is left to the ordinary path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from labsight.data.table import ColumnInfo, Table, is_number
from labsight.exceptions import InputError

__all__ = [
    "MAX_LENGTH",
    "SequenceSpec",
    "at_readings",
    "resample",
    "run_rows",
    "runs_spec",
    "runs_table",
    "sequence_cells",
    "sequence_spec",
    "summary_columns",
    "unfold_cells",
]

MAX_LENGTH = 256
"""Most points a run is resampled onto (the median run's readings, at least 8)."""
_MIN_LENGTH = 8
_STATS = ("mean", "sd", "min", "max", "first", "last", "slope")


@dataclass(frozen=True)
class SequenceSpec:
    """How a long table becomes one row per run: the columns, and the points per run."""

    group: str
    time: str
    sensors: tuple[str, ...]
    length: int
    # Runs stored one per row, each sensor's readings a list in one cell (``[20.1, 20.4, …]``):
    # those columns, unfolded into the long layout before anything else (:func:`unfold_cells`)
    cells: tuple[str, ...] = ()

    def grid(self, sensor: str) -> list[str]:
        """The columns of ``sensor``'s resampled values, in time order."""
        return [f"{sensor}@{k:03d}" for k in range(self.length)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "time": self.time,
            "sensors": list(self.sensors),
            "length": self.length,
            "cells": list(self.cells),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SequenceSpec:
        return cls(
            str(data["group"]),
            str(data["time"]),
            tuple(data["sensors"]),
            int(data["length"]),
            tuple(data.get("cells", ())),
        )


def summary_columns(sensor: str) -> list[str]:
    """The columns of ``sensor``'s summary statistics in a runs table."""
    return [f"{sensor}:{k}" for k in _STATS]


def _role_column(table: Table, role: str) -> str | None:
    found = [c.name for c in table.columns if c.role == role]
    return found[0] if len(found) == 1 else None


def runs_spec(table: Table, exclude: list[str] | None = None) -> SequenceSpec | None:
    """How ``table`` splits into runs, or None when it does not: one column with role ``group``
    and one with role ``time``, numeric sensors (role ``feature`` or ``condition``, not in
    ``exclude``), and runs of more than one reading on average."""
    group, time = _role_column(table, "group"), _role_column(table, "time")
    if group is None or time is None:
        return None
    frame = table.frame
    runs = frame[group].n_unique()
    if runs < 2 or frame.height < 2 * runs:
        return None
    skip = set(exclude or ()) | {group, time}
    sensors = tuple(
        c.name
        for c in table.columns
        if c.name not in skip
        and c.role in ("feature", "condition")
        and is_number(table.schema[c.name])
    )
    if not sensors:
        return None
    per_run = frame.group_by(group).len()["len"].to_numpy()
    length = int(np.clip(np.median(per_run), _MIN_LENGTH, MAX_LENGTH))
    return SequenceSpec(group, time, sensors, length)


def sequence_spec(
    table: Table, target: str, exclude: list[str] | None = None
) -> SequenceSpec | None:
    """The sequence task of ``table`` for ``target``, or None when it is not one: the table splits
    into runs (:func:`runs_spec`) and the target is the same on every reading of a run."""
    spec = runs_spec(table, [*(exclude or ()), target])
    if spec is None or target in (spec.group, spec.time):
        return None
    constant = table.frame.group_by(spec.group).agg(
        pl.col(target).drop_nulls().n_unique().alias("n")
    )
    if constant["n"].max() != 1:
        return None
    return spec


def _seconds(series: pl.Series) -> np.ndarray:
    """A time column as float numbers (temporal types in seconds)."""
    if series.dtype.is_temporal():
        return series.cast(pl.Datetime("us")).dt.epoch("us").to_numpy().astype(np.float64) / 1e6
    if not is_number(series.dtype):
        raise InputError(
            f"the time column {series.name!r} holds text",
            column=series.name,
            expected="numbers or timestamps",
            got=str(series.dtype),
        )
    return series.cast(pl.Float64).to_numpy()


def require_columns(frame: pl.DataFrame, names: tuple[str, ...], what: str) -> None:
    """Refuse new runs without one of ``names``, the ``what`` columns a model was trained on."""
    for name in names:
        if name not in frame.columns:
            raise InputError(
                f"the runs need column {name!r}, which the table does not have",
                expected=f"the {what} columns the model was trained on: "
                + ", ".join(repr(c) for c in names),
                got=", ".join(repr(c) for c in frame.columns[:8]),
            )


def run_numbers(ids: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """The runs in order of first appearance, and each row's run by its position in that order."""
    order = ids.unique(maintain_order=True)
    index = {v: i for i, v in enumerate(order.to_list())}
    return order, np.array([index[v] for v in ids.to_list()], dtype=np.int64)


def resample(t: np.ndarray, v: np.ndarray, grid: np.ndarray) -> np.ndarray:
    ok = np.isfinite(t) & np.isfinite(v)
    if ok.sum() == 0:
        return np.full(len(grid), np.nan)
    if ok.sum() == 1:
        return np.full(len(grid), float(v[ok][0]))
    return np.asarray(np.interp(grid, t[ok], v[ok]), dtype=np.float64)


def run_rows(
    table: Table, spec: SequenceSpec
) -> tuple[pl.Series, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """The runs in order of first appearance, and per run: its rows in time order, their times,
    and the ``spec.length`` evenly spaced points from its first reading to its last."""
    frame = table.frame
    require_columns(frame, (spec.group, spec.time, *spec.sensors), "run, time and sensor")
    times = _seconds(frame[spec.time])
    order, run_of = run_numbers(frame[spec.group])
    runs = []
    for r in range(len(order)):
        rows = np.flatnonzero(run_of == r)
        sort = np.argsort(times[rows], kind="stable")
        rows = rows[sort]
        t = times[rows]
        finite = t[np.isfinite(t)]
        start, stop = (finite[0], finite[-1]) if len(finite) else (0.0, 0.0)
        runs.append((rows, t, np.linspace(start, stop, spec.length)))
    return order, runs


def at_readings(
    table: Table, spec: SequenceSpec, values: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Values on each run's points (``values[sensor]``: runs × ``spec.length``, the runs in the
    order :func:`runs_table` gives them) read back at each reading's time: one value per row of
    ``table``, linear between points (NaN where a reading has no time)."""
    _, runs = run_rows(table, spec)
    out = {s: np.full(table.height, np.nan) for s in values}
    for r, (rows, t, grid) in enumerate(runs):
        for s, grid_values in values.items():
            if np.ptp(grid) > 0:
                out[s][rows] = np.interp(t, grid, grid_values[r])
            else:  # one reading (or all at one time): the run's mean point
                out[s][rows] = float(np.mean(grid_values[r]))
            out[s][rows[~np.isfinite(t)]] = np.nan
    return out


def runs_table(table: Table, spec: SequenceSpec, target: str | None = None) -> Table:
    """One row per run of ``table`` (in order of first appearance): the run's id (role ``group``),
    its target when given, its duration and reading count, each sensor's summary and its values
    resampled onto ``spec.length`` points.

    Raises
    ------
    InputError
        When a column of ``spec`` is missing, or the time column is text.
    """
    frame = table.frame
    order, runs = run_rows(table, spec)
    values = {s: frame[s].cast(pl.Float64).to_numpy() for s in spec.sensors}
    n, length = len(order), spec.length
    grid_values = {s: np.full((n, length), np.nan) for s in spec.sensors}
    stats = {(s, k): np.full(n, np.nan) for s in spec.sensors for k in _STATS}
    duration, readings = np.zeros(n), np.zeros(n)
    for r, (rows, t, grid) in enumerate(runs):
        duration[r], readings[r] = grid[-1] - grid[0], len(rows)
        for s in spec.sensors:
            v = values[s][rows]
            grid_values[s][r] = resample(t, v, grid)
            seen = v[np.isfinite(v)]
            if len(seen):
                stats[(s, "mean")][r], stats[(s, "sd")][r] = seen.mean(), seen.std()
                stats[(s, "min")][r], stats[(s, "max")][r] = seen.min(), seen.max()
                stats[(s, "first")][r], stats[(s, "last")][r] = seen[0], seen[-1]
                ok = np.isfinite(v) & np.isfinite(t)
                if ok.sum() >= 2 and np.ptp(t[ok]) > 0:
                    stats[(s, "slope")][r] = np.polyfit(t[ok], v[ok], 1)[0]
    units = {c.name: c.unit for c in table.columns}
    columns: dict[str, Any] = {spec.group: order}
    # the run's id keeps the role group: folds keep each run whole, and say so
    infos = [ColumnInfo(spec.group, table.column(spec.group).dtype, None, "group")]
    if target is not None:
        first = frame.group_by(spec.group, maintain_order=True).agg(
            pl.col(target).drop_nulls().first()
        )
        columns[target] = first[target]
        infos.append(ColumnInfo(target, table.column(target).dtype, units.get(target), "target"))
    columns["run:duration"], columns["run:readings"] = duration, readings
    infos += [
        ColumnInfo("run:duration", "float", None, "feature"),
        ColumnInfo("run:readings", "float", None, "feature"),
    ]
    for s in spec.sensors:
        for stat, name in zip(_STATS, summary_columns(s), strict=True):
            columns[name] = stats[(s, stat)]
            unit = units.get(s) if stat != "slope" else None
            infos.append(ColumnInfo(name, "float", unit, "feature"))
    for s in spec.sensors:
        for k, name in enumerate(spec.grid(s)):
            columns[name] = grid_values[s][:, k]
            infos.append(ColumnInfo(name, "float", units.get(s), "feature"))
    return Table(pl.DataFrame(columns), infos)


_CELL_SAMPLE = 50
STEP = "step"
"""The time column of runs unfolded from cells: the reading's position in its list."""


def _numbers_in(text: str) -> list[float] | None:
    """``"[1, 2.5, null]"`` as numbers (None for a missing reading), or None if it is not a list
    of numbers."""
    import json

    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return None
    try:
        values = json.loads(text.replace("NaN", "null").replace("nan", "null"))
    except ValueError:
        return None
    if not isinstance(values, list) or not all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
    ):
        return None
    return [np.nan if v is None else float(v) for v in values]


def sequence_cells(table: Table, exclude: list[str] | None = None) -> list[str]:
    """The text columns whose cells are lists of numbers (a run's readings in one cell): nine in
    ten of their first 50 values at least, so that one broken cell makes an error naming its line
    (:func:`unfold_cells`), not a sensor silently left out."""
    found = []
    for c in table.columns:
        if c.name in (exclude or ()) or table.schema[c.name] != pl.String:
            continue
        sample = table.frame[c.name].drop_nulls().head(_CELL_SAMPLE).to_list()
        lists = sum(_numbers_in(v) is not None for v in sample)
        if sample and lists >= max(1, 0.9 * len(sample)):
            found.append(c.name)
    return found


def unfold_cells(table: Table, cells: tuple[str, ...] | list[str], group: str) -> Table:
    """Runs stored one per row (each of ``cells`` a list of readings) as the long layout: one row
    per reading, the run's id in ``group`` (the table's column of that name, or the row's number
    from 1), the reading's position in :data:`STEP`, every other column repeated on each reading.

    Raises
    ------
    InputError
        When a cell is not a list of numbers, or a row's lists differ in length (named).
    """
    frame = table.frame
    require_columns(frame, tuple(cells), "readings")
    lists = {name: frame[name].to_list() for name in cells}
    lengths = []
    parsed: dict[str, list[list[float]]] = {name: [] for name in cells}
    where = table.source.path if table.source is not None else None
    for row in range(frame.height):
        found: dict[str, list[float]] = {}
        for name in cells:
            text = lists[name][row]
            if text is None:  # an empty cell: this sensor's readings are missing in this run
                continue
            values = _numbers_in(text)
            if values is None:
                raise InputError(
                    f"the cell is not a list of numbers: {str(text)[:40]!r}",
                    path=where,
                    line=table.line_of(row),
                    column=name,
                    expected="readings as a list, e.g. [20.1, 20.4, 20.9] (null for a missing one)",
                )
            found[name] = values
        sizes = {len(v) for v in found.values()}
        if len(sizes) > 1:
            raise InputError(
                f"the lists of row {row + 1} have different lengths ("
                + ", ".join(f"{n!r}: {len(v)}" for n, v in found.items())
                + ")",
                path=where,
                line=table.line_of(row),
                expected="as many readings in each list of a run",
            )
        if not found or not sizes or sizes == {0}:
            raise InputError(
                f"row {row + 1} holds no readings",
                path=where,
                line=table.line_of(row),
                column=cells[0],
                expected="a list of readings in at least one of "
                + ", ".join(repr(c) for c in cells),
            )
        length = sizes.pop()
        for name in cells:
            parsed[name].append(found.get(name, [np.nan] * length))
        lengths.append(length)
    repeat = np.repeat(np.arange(frame.height), lengths)
    others = [c for c in frame.columns if c not in cells]
    long = frame.select(others)[repeat.tolist()] if others else pl.DataFrame()
    if group not in frame.columns:
        long = long.with_columns(pl.Series(group, (repeat + 1).tolist()))
    long = long.with_columns(
        pl.Series(STEP, [float(k) for n in lengths for k in range(n)], dtype=pl.Float64),
        *(
            pl.Series(name, [v for values in parsed[name] for v in values], dtype=pl.Float64)
            for name in cells
        ),
    )
    from labsight.data.units import split_header

    infos = {c.name: c for c in table.columns}
    columns = []
    for name in long.columns:
        if name == group:
            columns.append(
                ColumnInfo(group, infos[group].dtype if group in infos else "int", None, "group")
            )
        elif name == STEP:
            columns.append(ColumnInfo(STEP, "float", None, "time"))
        elif name in cells:
            columns.append(ColumnInfo(name, "float", split_header(name)[1], "feature"))
        else:
            columns.append(infos[name])
    return Table(long, columns)

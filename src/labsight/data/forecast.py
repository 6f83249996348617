"""Forecasting a signal of runs: from a run's readings so far, its next ``horizon`` readings.

``labsight train runs --target temperature --forecast 30`` on a long table of runs (a ``group`` and
a ``time`` column, :mod:`labsight.data.sequences`). Each run is cut into windows: at every
``stride``-th reading, the ``history`` readings up to it are the inputs, and the target's value
``h`` readings later (``h`` = 1 … ``horizon``) is the output. Every (window, ``h``) pair becomes one
row of an ordinary table, so every family, the folds, the conformal intervals and the registry
serve forecasting unchanged (the "direct" strategy with the step as an input):

* ``step`` — ``h``, how many readings ahead;
* ``<target>@-000`` … — the target's last ``history`` readings, the newest first;
* ``<sensor>@-000`` — every other sensor's newest reading;
* ``<target>:slope`` — the target's trend over the history (per reading).

The run column keeps the role ``group``, so a run's windows never straddle folds: a forecast is
scored on runs the model never saw. Readings are taken as evenly spaced (the median spacing of
the training runs turns a step into time in the forecast's ``time`` column); a run with fewer
readings than ``history`` cannot be forecast, and is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from labsight.data.sequences import _seconds, require_columns, run_numbers, runs_spec
from labsight.data.table import ColumnInfo, Table
from labsight.exceptions import InputError

__all__ = ["ForecastSpec", "forecast_rows", "forecast_spec", "forecast_windows"]

MAX_ROWS = 20_000
"""The most (window, step) rows training builds: the stride between windows grows to stay under it."""


@dataclass(frozen=True)
class ForecastSpec:
    """How runs become forecasting rows."""

    group: str
    time: str
    target: str
    sensors: tuple[str, ...]  # the other sensors, read at the window's last reading
    history: int
    horizon: int
    spacing: float  # the median time between readings of the training runs

    def lags(self) -> list[str]:
        return [f"{self.target}@-{k:03d}" for k in range(self.history)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "time": self.time,
            "target": self.target,
            "sensors": list(self.sensors),
            "history": self.history,
            "horizon": self.horizon,
            "spacing": self.spacing,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForecastSpec:
        return cls(
            str(data["group"]),
            str(data["time"]),
            str(data["target"]),
            tuple(data["sensors"]),
            int(data["history"]),
            int(data["horizon"]),
            float(data["spacing"]),
        )


def forecast_spec(
    table: Table, target: str, horizon: int, exclude: list[str] | None = None
) -> ForecastSpec:
    """The forecasting set-up of ``table``: its runs, the other sensors, the history read.

    Raises
    ------
    InputError
        When the table has no runs (a group and a time column), the target is not a number, the
        horizon is not positive, or the runs are too short for ``horizon`` and a history.
    """
    if horizon < 1:
        raise InputError(
            f"--forecast {horizon} is not a number of readings ahead", expected="an integer >= 1"
        )
    spec = runs_spec(table, [*(exclude or ()), target])
    if spec is None:
        raise InputError(
            "forecasting reads runs of readings, and the table has none",
            expected="a column with role group (the run) and one with role time",
            hint="Ingest with --group RUN --time TIME",
        )
    if not table.frame[target].dtype.is_numeric():
        raise InputError(
            f"the target {target!r} is not a number, so it cannot be forecast",
            column=target,
            expected="a numeric signal (a temperature, a pressure …)",
        )
    lengths = table.frame.group_by(spec.group).len()["len"].to_numpy()
    shortest_useful = int(np.median(lengths))
    history = int(min(max(2 * horizon, 8), 64, shortest_useful - horizon))
    if history < 2:
        raise InputError(
            f"the runs are too short to learn a forecast {horizon} readings ahead: the median "
            f"run has {shortest_useful} readings",
            expected=f"runs of at least {horizon + 2} readings",
            hint="Forecast fewer readings ahead",
        )
    readings = pl.DataFrame(
        {"run": table.frame[spec.group], "t": _seconds(table.frame[spec.time])}
    ).sort(["run", "t"])
    gaps = readings.select(pl.col("t").diff().over("run"))["t"].drop_nulls().to_numpy()
    gaps = gaps[np.isfinite(gaps) & (gaps > 0)]
    spacing = float(np.median(gaps)) if gaps.size else 1.0
    sensors = tuple(s for s in spec.sensors if s != target)
    return ForecastSpec(spec.group, spec.time, target, sensors, history, horizon, spacing)


def _runs(table: Table, spec: ForecastSpec) -> list[tuple[Any, np.ndarray, dict[str, np.ndarray]]]:
    """Each run (in order of first appearance): its id, its times, its signals in time order."""
    frame = table.frame
    names = (spec.group, spec.time, spec.target, *spec.sensors)
    require_columns(frame, names, "run, time, target and sensor")
    times = _seconds(frame[spec.time])
    ids, run_of = run_numbers(frame[spec.group])
    order = ids.to_list()
    signals = {s: frame[s].cast(pl.Float64).to_numpy() for s in (spec.target, *spec.sensors)}
    out = []
    for r, run in enumerate(order):
        rows = np.flatnonzero(run_of == r)
        rows = rows[np.argsort(times[rows], kind="stable")]
        out.append((run, times[rows], {s: v[rows] for s, v in signals.items()}))
    return out


def _features(spec: ForecastSpec, values: dict[str, np.ndarray], end: int) -> list[float]:
    """The inputs of a window whose newest reading is ``end``."""
    past = values[spec.target][end - spec.history + 1 : end + 1][::-1]
    ok = np.isfinite(past)
    slope = (
        float(-np.polyfit(np.arange(len(past))[ok], past[ok], 1)[0]) if ok.sum() >= 2 else np.nan
    )
    return [*past.tolist(), *(float(values[s][end]) for s in spec.sensors), slope]


def _columns(table: Table, spec: ForecastSpec) -> list[ColumnInfo]:
    unit = table.column(spec.target).unit
    infos = [ColumnInfo(name, "float", unit, "feature") for name in spec.lags()]
    infos += [
        ColumnInfo(f"{s}@-000", "float", table.column(s).unit, "feature") for s in spec.sensors
    ]
    infos.append(ColumnInfo(f"{spec.target}:slope", "float", None, "feature"))
    return infos


def forecast_windows(table: Table, spec: ForecastSpec) -> Table:
    """The training rows: every ``stride``-th window of every run, once per step ahead, with the
    target's value that many readings later (role target) and the run (role group)."""
    runs = _runs(table, spec)
    ends = [
        (run, values, end)
        for run, _, values in runs
        for end in range(spec.history - 1, len(values[spec.target]) - 1)
    ]
    stride = max(1, int(np.ceil(len(ends) * spec.horizon / MAX_ROWS)))
    ends = ends[::stride]
    ids, steps, rows, targets = [], [], [], []
    for run, values, end in ends:
        inputs = _features(spec, values, end)
        signal = values[spec.target]
        for h in range(1, spec.horizon + 1):
            if end + h >= len(signal) or not np.isfinite(signal[end + h]):
                continue
            ids.append(run)
            steps.append(h)
            rows.append(inputs)
            targets.append(float(signal[end + h]))
    if len(set(ids)) < 2:
        raise InputError(
            f"fewer than 2 runs have {spec.history + 1} readings or more, too few to learn and "
            "score a forecast",
            hint="Forecast fewer readings ahead, or add runs",
        )
    infos = _columns(table, spec)
    matrix = np.asarray(rows, dtype=np.float64)
    columns: dict[str, Any] = {spec.group: ids, "step": steps}
    columns |= {info.name: matrix[:, j] for j, info in enumerate(infos)}
    columns[spec.target] = targets
    group = table.column(spec.group)
    return Table(
        pl.DataFrame(columns),
        [
            ColumnInfo(spec.group, group.dtype, None, "group"),
            ColumnInfo("step", "int", None, "feature"),
            *infos,
            ColumnInfo(spec.target, "float", table.column(spec.target).unit, "target"),
        ],
    )


def forecast_rows(table: Table, spec: ForecastSpec) -> tuple[Table, pl.DataFrame]:
    """What to predict for new runs: each run's latest window, once per step ahead; and for each
    row, the run, the step and the time it lands on.

    Raises
    ------
    InputError
        When a run has fewer readings than the history the model reads (named).
    """
    ids, steps, times, rows = [], [], [], []
    for run, run_times, values in _runs(table, spec):
        if len(values[spec.target]) < spec.history:
            raise InputError(
                f"run {run!r} has {len(values[spec.target])} readings; the model reads the last "
                f"{spec.history} to forecast",
                column=spec.group,
                hint="Forecast runs once they have that many readings",
            )
        inputs = _features(spec, values, len(values[spec.target]) - 1)
        last = float(run_times[-1]) if len(run_times) else 0.0
        for h in range(1, spec.horizon + 1):
            ids.append(run)
            steps.append(h)
            times.append(last + h * spec.spacing)
            rows.append(inputs)
    infos = _columns(table, spec)
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(infos))
    columns: dict[str, Any] = {"step": steps} | {
        info.name: matrix[:, j] for j, info in enumerate(infos)
    }
    windows = Table(pl.DataFrame(columns), [ColumnInfo("step", "int", None, "feature"), *infos])
    at = pl.Series(spec.time, times, dtype=pl.Float64)
    if table.frame[spec.time].dtype.is_temporal():  # back to timestamps
        at = pl.from_epoch((at * 1e6).round().cast(pl.Int64), time_unit="us").alias(spec.time)
    where = pl.DataFrame({spec.group: ids, "step": steps}).with_columns(at)
    return windows, where

"""Reading a campaign's results: a file or a frame matched row by row to the campaign's
experiments (by ``experiment_id``, else by conditions), its values checked against the space, and
every bad row refused with its file, line and column before anything is stored. Used by
:meth:`labsight.workspace.campaigns.Campaign.record`."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from labsight.data.table import Table
from labsight.design.template import match_columns, read_level
from labsight.exceptions import InputError

if TYPE_CHECKING:
    from labsight.design.space import Space
    from labsight.store.entities import ExperimentRecord, ResultRecord

__all__ = ["EXPERIMENT_ID", "ResultRows", "as_table"]

EXPERIMENT_ID = "experiment_id"  # the column that names an experiment in suggestions and results


def as_table(
    results: pl.DataFrame | Table | str | os.PathLike[str],
) -> tuple[Table, Path | None, str | None]:
    if isinstance(results, Table):
        return (
            results,
            Path(results.source.path) if results.source and results.source.path else None,
            None,
        )
    if isinstance(results, pl.DataFrame):
        return Table.from_frame(results), None, None
    from labsight.data.ingest import read_table
    from labsight.store.artifacts import sha256_file

    path = Path(results)
    return read_table(path, on_issue="ignore"), path, sha256_file(path)


@dataclass
class ResultRow:
    conditions: dict[str, Any]
    values: dict[str, float | None]
    source: str | None
    experiment_id: str | None
    new: bool = False
    replicate: bool = False
    same_as: int | None = None


class ResultRows:
    """Reads the rows of a results table against a campaign, raising at the first bad one."""

    def __init__(
        self,
        name: str,
        space: Space,
        stored: tuple[list[ExperimentRecord], list[ResultRecord]],
        table: Table,
        path: Path | None,
    ) -> None:
        self.name = name
        self.space = space
        self.stored = stored
        self.table = table
        self.path = path
        self.columns = match_columns(self.space, table, path)

    def fail(
        self, message: str, row: int | None, column: str | None = None, **fields: Any
    ) -> InputError:
        line = self.table.line_of(row) if row is not None else None
        return InputError(message, path=self.path, line=line, column=column, **fields)

    def rows(self) -> list[ResultRow]:
        from labsight.design.planner import _key

        experiments, results = self.stored
        by_id = {e.experiment_id: e for e in experiments}
        done = {r.experiment_id for r in results}
        frame = self.table.frame
        objectives = {o.name: c for o, c in self.columns["objectives"].items()}
        values = self._values(objectives)
        params = self.columns["parameters"]
        has_id = EXPERIMENT_ID in frame.columns
        conditions = self._conditions(params) if len(params) == len(self.space.parameters) else None
        known_keys: dict[tuple[Any, ...], list[str]] = {}
        for e in experiments:
            key = _key(self.space, pl.DataFrame([e.conditions]).select(self.space.names))[0]
            known_keys.setdefault(key, []).append(e.experiment_id)
        new_keys: dict[tuple[Any, ...], int] = {}
        out: list[ResultRow] = []
        for i in range(frame.height):
            row_values = {name: values[name][i] for name in self.space.objective_names}
            if all(v is None for v in row_values.values()):
                continue  # not run yet
            source = (
                f"{self.path.name if self.path else 'frame'} line {self.table.line_of(i) or i + 1}"
            )
            given = (
                str(frame[EXPERIMENT_ID][i]).strip()
                if has_id and frame[EXPERIMENT_ID][i] is not None
                else ""
            )
            point = conditions[i] if conditions is not None else None
            if given:
                if given not in by_id:
                    raise self.fail(
                        f"no experiment {given!r} in campaign {self.name!r}",
                        i,
                        EXPERIMENT_ID,
                        hint="Check the id, or leave it empty to record the row by its conditions",
                    )
                if point is not None:
                    self._agree(point, by_id[given].conditions, given, i)
                out.append(
                    ResultRow(
                        by_id[given].conditions, row_values, source, given, replicate=given in done
                    )
                )
                done.add(given)
                continue
            if point is None:
                missing = [p.name for p in self.space.parameters if p.name not in params]
                raise self.fail(
                    "the row has neither an experiment id nor all the conditions",
                    i,
                    missing[0] if missing else EXPERIMENT_ID,
                    expected=f"an '{EXPERIMENT_ID}' column, or columns "
                    + ", ".join(self.space.names),
                )
            key = _key(self.space, pl.DataFrame([point]).select(self.space.names))[0]
            ids = known_keys.get(key, [])
            waiting = [e for e in ids if e not in done]
            if waiting or ids:
                chosen = (waiting or ids)[0]
                out.append(
                    ResultRow(
                        by_id[chosen].conditions, row_values, source, chosen, replicate=not waiting
                    )
                )
                done.add(chosen)
                continue
            self._inside(point, i)
            if key in new_keys:
                out.append(
                    ResultRow(
                        point, row_values, source, None, replicate=True, same_as=new_keys[key]
                    )
                )
                continue
            new_keys[key] = len(out)
            out.append(ResultRow(point, row_values, source, None, new=True))
        return out

    def _values(self, objectives: dict[str, str]) -> dict[str, list[float | None]]:
        from labsight.data.units import convert

        if not objectives:
            raise self.fail(
                "the results have no objective column",
                None,
                expected="columns " + ", ".join(repr(n) for n in self.space.objective_names),
                got=", ".join(self.table.frame.columns),
            )
        for finding in self.table.findings:
            if (
                finding.check == "invalid_value"
                and finding.column in objectives.values()
                and finding.rows
            ):
                value = (finding.details.get("values") or ["?"])[0]
                lines = finding.details.get("lines") or [self.table.line_of(finding.rows[0])]
                raise InputError(
                    f"{value!r} is not a number",
                    path=self.path,
                    line=lines[0],
                    column=finding.column,
                    expected="a number, or an empty cell for a result not measured",
                )
        out: dict[str, list[float | None]] = {}
        for o in self.space.objectives:
            column = objectives.get(o.name)
            if column is None:
                out[o.name] = [None] * self.table.frame.height
                continue
            series = self.table.frame[column]
            if not series.dtype.is_numeric() and series.dtype != pl.Null:
                numbers = series.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
                bad = (numbers.is_null() & series.is_not_null()).arg_true()
                if bad.len():
                    raise self.fail(
                        f"{series[int(bad[0])]!r} is not a number",
                        int(bad[0]),
                        column,
                        expected="a number, or an empty cell for a result not measured",
                    )
                series = numbers
            measured = np.asarray(series.cast(pl.Float64).to_numpy(), dtype=np.float64)
            have = self.table.column(column).unit
            if o.unit and have and have != o.unit:
                measured = convert(measured, have, o.unit)
            out[o.name] = [float(v) if math.isfinite(v) else None for v in measured]
        return out

    def _conditions(self, params: dict[str, str]) -> list[dict[str, Any]]:
        from labsight.data.units import convert

        frame = self.table.frame
        columns: dict[str, list[Any]] = {}
        for p in self.space.parameters:
            column = params[p.name]
            series = frame[column]
            if p.numeric:
                numbers = series.cast(pl.Float64, strict=False)
                bad = (numbers.is_null() & series.is_not_null()).arg_true()
                if bad.len():
                    raise self.fail(
                        f"{series[int(bad[0])]!r} is not a number",
                        int(bad[0]),
                        column,
                        expected=f"a number for {p.name!r}",
                    )
                values = numbers.to_numpy()
                have = self.table.column(column).unit
                if p.unit and have and have != p.unit:
                    values = convert(np.asarray(values, dtype=np.float64), have, p.unit)
                columns[p.name] = [
                    None if v is None or not math.isfinite(v) else float(v) for v in values
                ]
            else:
                columns[p.name] = [
                    None if v is None else read_level(p, v) for v in series.to_list()
                ]
        return [{n: columns[n][i] for n in self.space.names} for i in range(frame.height)]

    def _agree(
        self, point: dict[str, Any], suggested: dict[str, Any], given: str, row: int
    ) -> None:
        for p in self.space.parameters:
            a, b = point[p.name], suggested[p.name]
            if a is None:
                continue
            same = (
                math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
                if p.numeric
                else str(a) == str(b)
            )
            if not same:
                raise self.fail(
                    f"experiment {given} was suggested with {p.name} = {b!r}, the row says {a!r}",
                    row,
                    self.columns["parameters"][p.name],
                    hint="Fix the row, or leave experiment_id empty to record these conditions as a new experiment",
                )

    def _inside(self, point: dict[str, Any], row: int) -> None:
        if any(v is None for v in point.values()):
            name = next(k for k, v in point.items() if v is None)
            raise self.fail(f"the conditions lack {name!r}", row, self.columns["parameters"][name])
        frame = pl.DataFrame([point]).select(self.space.names)
        bad = self.space.outside(frame)
        if bad is not None:
            _, column, why = bad
            raise self.fail(
                f"the conditions match no suggestion and lie outside the space: {why}",
                row,
                self.columns["parameters"][column],
                hint="Fix the row, or widen the space (a new campaign)",
            )
        if not self.space.satisfied(frame)[0]:
            broken = next(
                c.text for c in self.space.constraints if not c.holds(self.space.columns(frame))[0]
            )
            raise self.fail(
                f"the conditions match no suggestion and break the constraint {broken!r}",
                row,
            )

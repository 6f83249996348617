"""The results template: the file ``labsight design suggest --out`` writes for the lab to fill in,
and how ``labsight design record`` reads it back. Both directions of the one file format live here.

Writing (:func:`template_frame`, :func:`template_csv`, :func:`write_template`): one row per
experiment with ``experiment_id``, the conditions under headers with their units
(:meth:`~labsight.design.space.Parameter.label`: ``temperature [degC]``), one empty column per
objective (``yield [%]``), then what the surrogate expects (``predicted_<objective>`` and its
``_sd``). Each text cell and header goes through :func:`spreadsheet_frame`: one that would start a
formula in a spreadsheet (``=x``, ``-OMe``, ``@H``) gets a leading ``'``; numbers (``-20.0``
included) stay numbers.

Reading back (:func:`match_columns`, :func:`read_level`): a header is matched to its parameter or
objective as written, without the ``'``, or without its unit (units converted where they differ);
a level is read as it stands, else without the ``'`` (a spreadsheet that saved the file as CSV
drops it: ``=x`` is the level too). The rows themselves are matched to experiments by
:meth:`labsight.workspace.campaigns.Campaign.record`.

Imports polars and nothing heavy: reading a campaign's results loads neither torch nor BoTorch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from labsight._display import from_spreadsheet_cell, spreadsheet_frame
from labsight.exceptions import InputError

if TYPE_CHECKING:
    from labsight.data.table import Table
    from labsight.design.space import Parameter, Space

__all__ = [
    "match_columns",
    "read_level",
    "spreadsheet_frame",
    "template_csv",
    "template_frame",
    "write_template",
]

EXPERIMENT_ID = "experiment_id"


# -- writing -------------------------------------------------------------------------------------


def template_frame(space: Space, experiments: pl.DataFrame) -> pl.DataFrame:
    """The template's columns for ``experiments`` (a frame of
    :meth:`~labsight.workspace.campaigns.Campaign.suggest` or ``experiments()``): id, conditions
    (headers with units), empty objective columns, then what the surrogate expects. Not yet
    escaped for a spreadsheet (:func:`template_csv` does that)."""
    columns = [pl.col(EXPERIMENT_ID)]
    columns += [pl.col(p.name).alias(p.label()) for p in space.parameters]
    columns += [pl.lit(None, dtype=pl.Float64).alias(o.label()) for o in space.objectives]
    for o in space.objectives:
        columns += [pl.col(f"predicted_{o.name}"), pl.col(f"predicted_{o.name}_sd")]
    return experiments.select(columns)


def template_csv(space: Space, experiments: pl.DataFrame) -> str:
    """The template for ``experiments`` as CSV text, safe to open in a spreadsheet."""
    return spreadsheet_frame(template_frame(space, experiments)).write_csv()


def write_template(space: Space, experiments: pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the template for ``experiments`` to ``path`` (CSV, atomically: a reader never sees
    half a file); returns the path."""
    from labsight._atomic import atomic_write_text

    target = Path(path)
    atomic_write_text(target, template_csv(space, experiments))
    return target


# -- reading back --------------------------------------------------------------------------------


def read_level(parameter: Parameter, value: Any) -> str:
    """A categorical or molecule cell as the level it names: the cell as it stands when that is a
    level, else without the ``'`` that :func:`~labsight._display.spreadsheet_cell` puts before a
    formula-like level (``'=x`` is ``=x``); a cell that names no level is returned stripped, for
    the error that follows to quote."""
    raw = str(value)
    for text in (raw.strip(), raw):
        if text in parameter.values:
            return text
        plain = from_spreadsheet_cell(text)
        if plain in parameter.values:
            return plain
    return raw.strip()


def match_columns(space: Space, table: Table, path: Path | None) -> dict[str, dict[Any, str]]:
    """Columns of ``table`` for each parameter and objective: ``{"parameters": {name: column},
    "objectives": {Objective: column}}``. A column is the exact name, else the name without its
    unit (``temperature [degC]`` for ``temperature``), each header read as it stands and as it was
    before the template escaped it (``'=x [degC]`` for ``=x``).

    Raises
    ------
    InputError
        For a column whose unit is of another dimension than its parameter's or objective's.
    """
    from labsight.data.units import is_compatible, match_column

    names = table.frame.columns
    # each header as it stands, and as written before a spreadsheet saw it ('=x [degC]: =x [degC])
    plain = {header: header for header in names}
    for header in names:
        plain.setdefault(from_spreadsheet_cell(header), header)

    def find(name: str, unit: str | None, what: str) -> str | None:
        column = match_column(name, plain)
        if column is None:
            return None
        have = table.column(column).unit
        if unit and have and have != unit and not is_compatible(have, unit):
            raise InputError(
                f"{what} {name!r} is in {unit}, the column is in {have}",
                path=path,
                column=column,
                expected=f"a unit of the same dimension as {unit}",
            )
        return column

    parameters = {p.name: c for p in space.parameters if (c := find(p.name, p.unit, "parameter"))}
    objectives = {o: c for o in space.objectives if (c := find(o.name, o.unit, "objective"))}
    return {"parameters": parameters, "objectives": objectives}

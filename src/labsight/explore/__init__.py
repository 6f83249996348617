"""Explore: an offline exploratory (EDA) report of a lab table.

Lives here: :func:`explore` (read → check → analyse → :class:`ExploreReport`); ``spec`` (the
:class:`FigureSpec` contract between analysis and drawing); ``_analyse`` (statistics, correlations,
embeddings and the figure specs, computed with polars on all rows); two renderers of the same specs,
``_plotly`` (HTML report, Jupyter) and ``_matplotlib`` (PNG files); ``_html`` with
``templates/report.html.j2`` (one self-contained HTML file, plotly.js embedded once, nothing loaded
from the network); ``report`` (:class:`ExploreReport`).

Imports from labsight only ``labsight.data`` (and the leaf helpers ``labsight.exceptions`` and
``labsight._atomic``), plus polars, numpy and the plotting libraries (Plotly, matplotlib, Jinja2),
which are imported only when something is drawn. Nothing in ``labsight.data`` imports this package.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from labsight.explore.report import ExploreReport
from labsight.explore.spec import KINDS, FigureSpec, ReportTables

if TYPE_CHECKING:
    from labsight.data.table import Table

__all__ = ["KINDS", "ExploreReport", "FigureSpec", "ReportTables", "explore"]


def explore(
    source: Table | str | os.PathLike[str],
    *,
    target: str | None = None,
    color: str | None = None,
    max_points: int = 5000,
    seed: int = 0,
    title: str | None = None,
    **read_options: Any,
) -> ExploreReport:
    """An exploratory report of a table or a file.

    Parameters
    ----------
    source
        A :class:`~labsight.data.table.Table`, or a file read with
        :func:`~labsight.data.ingest.read_table` (bad cells become missing and are reported).
    target
        The column to explain: relations and correlations are drawn against it.
    color
        A column to colour scatter plots by (a condition such as catalyst or operator).
    max_points
        At most this many rows are drawn in a scatter plot (a random sample; statistics use all
        rows, and each sampled figure says so).
    seed
        Seed of that sample, so a report can be made again identically.
    title
        The report's heading (default: the file name, or ``"table"``).
    **read_options
        Passed to ``read_table`` for a file: ``sheet``, ``na_values``, ``delimiter``, ``encoding`` …

    Returns
    -------
    ExploreReport
        ``.to_html(path)``, ``.to_png(folder)``, ``.summary``, ``.correlations``, ``.figures``;
        shown inline in Jupyter.

    Raises
    ------
    InputError
        When ``target`` or ``color`` is not a column, or ``max_points`` is below 1.
    DataFormatError
        When the file cannot be read as a table.

    Examples
    --------
    >>> import polars as pl
    >>> from labsight.data.table import Table
    >>> table = Table.from_frame(pl.DataFrame({"T [degC]": [20.0, 25.0, 30.0], "y": [1.0, 2.0, 2.5]}))
    >>> report = explore(table, target="y")  # doctest: +SKIP
    >>> report.to_html("report.html")  # doctest: +SKIP
    PosixPath('report.html')
    """
    from labsight.data.table import Table
    from labsight.exceptions import InputError

    if isinstance(source, Table):
        table = source
        if read_options:
            raise InputError(
                f"read options {sorted(read_options)} apply to files, not to a Table",
                hint="Drop them, or pass the file's path instead",
            )
        name = title or "table"
    else:
        from pathlib import Path

        from labsight.data.ingest import read_table

        table = read_table(source, on_issue="ignore", **read_options)
        name = title or Path(source).name
    for option, column in (("target", target), ("color", color)):
        if column is not None and column not in table.frame.columns:
            from difflib import get_close_matches

            close = get_close_matches(column, table.frame.columns, n=1)
            raise InputError(
                f"{option} column {column!r} is not in the table",
                expected="one of " + ", ".join(repr(c) for c in table.frame.columns[:30]),
                got=repr(column),
                hint=f"Did you mean {close[0]!r}?" if close else None,
            )
    if max_points < 1:
        raise InputError(
            "max_points must be at least 1", expected="a positive number", got=str(max_points)
        )
    if target is not None:
        table = table.with_roles({target: "target"})
    from labsight.explore._analyse import analyse

    analysis = analyse(table, target=target, color=color, max_points=max_points, seed=seed)
    return ExploreReport(analysis, title=title or name)

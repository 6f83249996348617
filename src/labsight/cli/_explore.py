"""The explore command: an offline EDA report (one HTML file, optional PNGs) of a file or dataset."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from labsight.cli._app import app, emit_json, out, steps, workspace
from labsight.cli._datasets import _sheet
from labsight.cli._render import cell

__all__ = ["explore"]


def _default_name(source: str, is_file: bool) -> str:
    """``yield.csv.gz`` → ``yield``; ``reactions@v2`` → ``reactions-v2``: a file-name-safe stem."""
    from labsight.workspace import FILE_SUFFIXES

    if is_file:
        name = Path(source).name
        while Path(name).suffix.lower() in FILE_SUFFIXES:
            name = Path(name).stem
    else:
        name = source.replace("@", "-")
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "report"


@app.command(
    epilog="Examples:\n\n"
    "  labsight explore reactions.csv\n\n"
    "  labsight explore reactions --target 'yield [%]' --color catalyst\n\n"
    "  labsight explore reactions@v2 --out yield-eda.html --png figures/\n\n"
    "  labsight explore export.xlsx --sheet 'Reaction data' --max-points 2000 --json"
)
def explore(
    source: Annotated[str, typer.Argument(help="A file, or a dataset NAME or NAME@VERSION.")],
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The HTML file to write (default: <name>-report.html here).",
            show_default=False,
        ),
    ] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Also write one PNG per figure into this folder.")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="The column to explain (relations, correlations)."),
    ] = None,
    color: Annotated[
        str | None, typer.Option("--color", help="A column to colour scatter plots by.")
    ] = None,
    max_points: Annotated[
        int,
        typer.Option(
            "--max-points", min=1, help="At most this many rows drawn per scatter plot (sampled)."
        ),
    ] = 5000,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Excel sheet name or 0-based index (files only).")
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """An exploratory report: distributions in their units, relations to the target, correlations,
    where values are missing, structure (PCA), spectra and time series, and the quality findings,
    in one self-contained HTML file that opens offline."""
    from labsight.explore import explore as make_report

    path = Path(source)
    from labsight.workspace import is_file_source

    is_file = is_file_source(source)
    with steps(f"explore {source}", enabled=not json) as step:
        if is_file:
            step("reading, checking and analysing")
            sheet_option: dict[str, Any] = {"sheet": _sheet(sheet)} if sheet is not None else {}
            report = make_report(
                path, target=target, color=color, max_points=max_points, **sheet_option
            )
        else:
            ds = workspace().dataset(source)
            step("checking and analysing")
            report = make_report(
                ds.table(), target=target, color=color, max_points=max_points, title=ds.ref
            )
        step("writing the HTML report")
        html = report.to_html(
            out_path or Path.cwd() / f"{_default_name(source, is_file)}-report.html"
        )
        pngs: list[Path] = []
        if png is not None:
            step("drawing PNG figures")
            pngs = report.to_png(png)
    if json:
        emit_json(
            {
                "html": str(html),
                "png": [str(p) for p in pngs],
                "figures": [s.name for s in report.specs],
                "rows": report.rows,
            }
        )
        return
    out.print(
        f"[bold green]wrote[/] {cell(str(html))} ({len(report.specs)} figures, {report.rows} rows, "
        f"{len(report.findings)} findings)"
    )
    if pngs:
        out.print(f"wrote {len(pngs)} PNG files to {cell(str(png))}:")
        for p in pngs:
            out.print(f"  {cell(str(p))}")

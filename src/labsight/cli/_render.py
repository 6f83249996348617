"""Rich renderings shared by the commands: columns, findings, versions, leaderboards; and the
console and CSV writer that keep user text from driving a terminal or a spreadsheet.

Text from users and files (names, reasons, headers, cells) goes into a table through :func:`cell`
(control characters shown as escapes, rich markup escaped); whatever slips past is caught by
:class:`SafeConsole`, the class of both consoles, which escapes control characters in all text it
prints. CSV files written for people go through :func:`csv_for_people`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.segment import Segment
from rich.table import Table as RichTable
from rich.text import Text

from labsight._display import spreadsheet_frame, visible

if TYPE_CHECKING:  # polars is imported when a frame is rendered, not for `labsight --help`
    import polars as pl

__all__ = [
    "SafeConsole",
    "cell",
    "changes_table",
    "columns_table",
    "csv_for_people",
    "findings_table",
    "fmt",
    "frame_table",
    "leaderboard_table",
    "rows_preview",
    "severity_summary",
    "signatures_table",
    "spreadsheet_frame",
    "utc_time",
]


class SafeConsole(Console):
    """A rich console that prints no control character it was not asked to.

    Rich drops a few control characters from text (BEL, backspace, CR) but lets ESC and the rest
    through, so a column header or a name holding ``ESC [2J`` would clear the screen. Here every
    piece of text is passed through :func:`~labsight._display.visible` (newlines kept: they lay
    the output out) just before it is written; rich's own styles and cursor moves are not text and
    pass as they are.
    """

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment
            if segment.control
            else Segment(visible(segment.text, keep_newlines=True), segment.style)
            for segment in buffer
        )


def cell(value: Any) -> str:
    """Text from a user or a file, ready for a table cell or a line: one line, control characters
    shown as escapes, rich markup escaped (``[Na+]`` prints as it is)."""
    return escape(visible(fmt(value)))


def csv_for_people(frame: pl.DataFrame) -> str:
    """``frame`` as CSV to open in a spreadsheet: a text cell or column name that would start a
    formula (``=``, ``+``, ``-``, ``@``, tab, CR) gets a leading ``'`` (OWASP's advice on CSV
    injection) and non-numeric fields are quoted. Numeric columns, and text that is a plain number
    such as ``-1.5``, are left as they are."""
    return spreadsheet_frame(frame).write_csv(quote_style="non_numeric")


_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def rows_preview(rows: Sequence[int], limit: int = 6) -> str:
    """``3: 0, 4, 9`` — how many rows and the first few (0-based)."""
    if not rows:
        return "-"
    head = ", ".join(str(r) for r in rows[:limit])
    more = f", … (+{len(rows) - limit})" if len(rows) > limit else ""
    return f"{len(rows)}: {head}{more}"


def severity_summary(findings: Sequence[Any]) -> str:
    counts = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        counts[f.severity] += 1
    parts = [f"{n} {name}{'s' if n != 1 else ''}" for name, n in counts.items() if n]
    return ", ".join(parts) if parts else "no findings"


def findings_table(findings: Sequence[Any], title: str | None = None) -> RichTable:
    """Findings worst first; each finding's suggestion sits under its message."""
    table = RichTable(title=title, show_lines=True, expand=False)
    table.add_column("severity", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("column", overflow="fold", max_width=28)
    table.add_column("rows (0-based)", overflow="fold", max_width=22)
    table.add_column("finding → what to do", overflow="fold", ratio=1)
    for f in findings:
        style = _STYLE.get(f.severity, "")
        text = cell(f.message)
        if f.suggestion:
            text += f"\n[dim]→ {cell(f.suggestion)}[/dim]"
        table.add_row(
            f"[{style}]{f.severity}[/{style}]",
            f.check,
            cell(f.column or "-"),
            rows_preview(f.rows),
            text,
        )
    return table


def columns_table(columns: Sequence[Any], title: str | None = None) -> RichTable:
    table = RichTable(title=title)
    table.add_column("column", overflow="fold")
    table.add_column("unit")
    table.add_column("dtype")
    table.add_column("role")
    for c in columns:
        table.add_row(cell(c.name), cell(c.unit or "-"), c.dtype, c.role)
    return table


def changes_table(changes: Sequence[dict[str, Any]]) -> RichTable:
    """What a cleaning plan changed: one row per step and column that changed something, and one
    row per step for the columns it checked and left as they were."""
    table = RichTable(title="changes")
    for name in ("step", "column", "rows changed (0-based)", "note"):
        table.add_column(name, overflow="fold")
    untouched: dict[str, list[str]] = {}
    for change in changes:
        step = f"{change.get('op', '')} {change.get('method', '')}".strip()
        if not change.get("count"):
            untouched.setdefault(step, []).append(str(change.get("column") or "-"))
            continue
        notes = ", ".join(
            f"{k}={v}"
            for k, v in change.items()
            if k not in ("op", "method", "column", "count", "rows")
        )
        rows = rows_preview(change.get("rows", []))
        if change.get("count", 0) > len(change.get("rows", [])):
            rows = f"{change['count']} (first {len(change['rows'])} listed)"
        table.add_row(step, cell(change.get("column") or "-"), rows, cell(notes))
    for step, names in untouched.items():
        table.add_row(step, f"{len(names)} other columns", "none", "checked, nothing to change")
    return table


def text_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> RichTable:
    """A table of plain text: headers and cells are escaped, so ``temperature [degC]`` and a
    SMILES such as ``[Na+].[Cl-]`` print as they are instead of being read as rich markup."""
    table = RichTable(title=cell(title), title_justify="left")
    for column in header:
        table.add_column(cell(column))
    for row in rows:
        table.add_row(*(cell(value) for value in row))
    return table


_STATUS_STYLE = {"valid": "green", "orphaned": "yellow", "broken": "bold red"}


def utc_time(stamp: str) -> str:
    """A stored UTC time (``2025-03-14T09:26:53+00:00``) as people read it:
    ``2025-03-14 09:26:53 UTC``."""
    return f"{stamp.replace('T', ' ').removesuffix('+00:00')} UTC"


def signatures_table(signatures: Sequence[Any], title: str = "Signatures") -> RichTable:
    """A record's electronic signatures (:class:`~labsight.store.entities.SignatureRecord`):
    meaning, signer, printed name, UTC time, reason and whether each still holds."""
    table = RichTable(title=cell(title), title_justify="left")
    for column in ("meaning", "signer", "printed name", "time", "reason", "status", "id"):
        table.add_column(column)
    for s in signatures:
        style = _STATUS_STYLE.get(s.status, "")
        table.add_row(
            cell(s.meaning),
            cell(s.signer),
            cell(s.printed_name),
            cell(utc_time(s.signed)),
            cell(s.reason),
            f"[{style}]{cell(s.status)}[/]" if style else cell(s.status),
            cell(s.signature_id),
        )
    return table


ROWS_SHOWN = 50
"""Rows a frame table shows before it says how many are left out and how to see them."""


def frame_table(
    frame: pl.DataFrame,
    title: str | None = None,
    *,
    limit: int | None = ROWS_SHOWN,
    units: Mapping[str, str | None] | None = None,
    more: str = "--limit N or --all shows more",
) -> RichTable:
    """A polars frame as a table for people: every column, the first ``limit`` rows (all of them
    when ``limit`` is None) with a caption such as ``rows 1–50 of 312; --limit N or --all shows
    more`` when some are left out, numbers to 4 significant digits (:func:`fmt`) and aligned
    right, missing values as ``-``. A column named in ``units`` gets its unit in the header
    (``temperature [degC]``) unless the name already carries it; headers and text are escaped
    like every :func:`cell`."""
    shown = frame if limit is None or frame.height <= limit else frame.head(limit)
    table = RichTable(title=cell(title) if title else None, title_justify="left")
    for name, dtype in frame.schema.items():
        unit = (units or {}).get(name)
        header = f"{name} [{unit}]" if unit and f"[{unit}]" not in name else name
        table.add_column(cell(header), justify="right" if dtype.is_numeric() else "left")
    for row in shown.iter_rows():
        table.add_row(*("-" if value is None else cell(value) for value in row))
    if shown.height < frame.height:
        # one line even under a narrow table: the way to see the rest must not wrap away
        table.caption = Text(
            f"rows 1–{shown.height} of {frame.height}; {visible(more)}",
            no_wrap=True,
            overflow="ignore",
            justify="left",
        )
    return table


def fmt(value: Any) -> str:
    """A number as people read it (4 significant digits); anything else as text."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def leaderboard_table(
    rows: Sequence[dict[str, Any]], metric: str, title: str = "Leaderboard"
) -> RichTable:
    """Leaderboard rows (``family, mean, std, fit_seconds, trial``), best first."""
    table = RichTable(title=title, title_justify="left")
    for column in ("#", "family", f"CV {metric}", "± sd", "fit (s)", "trial"):
        table.add_column(column, justify="left" if column == "family" else "right")
    for i, row in enumerate(rows, 1):
        table.add_row(
            str(i),
            cell(row["family"]),
            fmt(row["mean"]),
            fmt(row["std"]),
            f"{row['fit_seconds']:.3f}",
            str(row["trial"]) if row["trial"] >= 0 else "-",
        )
    return table

"""Rich renderings shared by the commands: columns, findings, versions, leaderboards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table as RichTable

__all__ = [
    "changes_table",
    "columns_table",
    "findings_table",
    "fmt",
    "leaderboard_table",
    "rows_preview",
    "severity_summary",
]

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
        text = escape(f.message)
        if f.suggestion:
            text += f"\n[dim]→ {escape(f.suggestion)}[/dim]"
        table.add_row(
            f"[{style}]{f.severity}[/{style}]",
            f.check,
            escape(f.column or "-"),
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
        table.add_row(escape(c.name), escape(c.unit or "-"), c.dtype, c.role)
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
        table.add_row(step, escape(str(change.get("column") or "-")), rows, escape(notes))
    for step, names in untouched.items():
        table.add_row(step, f"{len(names)} other columns", "none", "checked, nothing to change")
    return table


def text_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> RichTable:
    """A table of plain text: headers and cells are escaped, so ``temperature [degC]`` and a
    SMILES such as ``[Na+].[Cl-]`` print as they are instead of being read as rich markup."""
    table = RichTable(title=escape(title), title_justify="left")
    for column in header:
        table.add_column(escape(column))
    for row in rows:
        table.add_row(*(escape(fmt(cell)) for cell in row))
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
            row["family"],
            fmt(row["mean"]),
            fmt(row["std"]),
            f"{row['fit_seconds']:.3f}",
            str(row["trial"]) if row["trial"] >= 0 else "-",
        )
    return table

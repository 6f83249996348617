"""The quality report: every finding about one table, worst first, with a stable dict form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labsight.data.findings import SEVERITIES, Finding
from labsight.data.table import ColumnInfo

__all__ = ["QualityReport"]


@dataclass
class QualityReport:
    """What is wrong with a table.

    Parameters
    ----------
    rows
        Number of data rows checked.
    columns
        The table's column metadata.
    findings
        Findings from ingest and from the checks, sorted worst first (:meth:`Finding.sort_key`).

    Examples
    --------
    >>> from labsight.data.findings import Finding
    >>> f = Finding("constant", "x", [], "warning", "'x' holds one value", "drop it")
    >>> report = QualityReport(rows=3, columns=[], findings=[f])
    >>> report.ok, report.to_dict()["summary"]
    (True, {'error': 0, 'warning': 1, 'info': 0})
    """

    rows: int
    columns: list[ColumnInfo]
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no finding has severity ``error``."""
        return not any(f.severity == "error" for f in self.findings)

    def by_check(self, name: str) -> list[Finding]:
        """The findings of one check (``"missing"``, ``"outlier"`` ...), in report order."""
        return [f for f in self.findings if f.check == name]

    def summary(self) -> dict[str, int]:
        """Number of findings per severity, every severity present (zero when none)."""
        counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            counts[f.severity] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data.

        The keys ``rows``, ``columns`` (``name``, ``unit``, ``dtype``, ``role``) and ``findings``
        (``check``, ``column``, ``rows``, ``severity``, ``message``, ``suggestion``) are a contract
        that scripts rely on; ``details`` per finding and ``summary`` are additions.
        """
        return {
            "rows": self.rows,
            "columns": [
                {"name": c.name, "unit": c.unit, "dtype": c.dtype, "role": c.role}
                for c in self.columns
            ],
            "findings": [
                {
                    "check": f.check,
                    "column": f.column,
                    "rows": [int(r) for r in f.rows],
                    "severity": f.severity,
                    "message": f.message,
                    "suggestion": f.suggestion,
                    "details": f.details,
                }
                for f in self.findings
            ],
            "summary": self.summary(),
        }

    def _repr_html_(self) -> str:
        """The report in a notebook: the counts, then the findings worst first (up to 50)."""
        from labsight._display import html_card, html_table

        counts = ", ".join(
            f"{n} {severity}{'s' if n != 1 and severity != 'info' else ''}"
            for severity, n in self.summary().items()
        )
        rows = [
            [f.severity, f.check, f.column, len(f.rows), f.message, f.suggestion]
            for f in self.findings[:50]
        ]
        lines = [counts if self.findings else "no findings"]
        if len(self.findings) > 50:
            lines.append(f"the first 50 of {len(self.findings)} findings (all in .findings):")
        header = ["severity", "check", "column", "rows", "finding", "what to do"]
        return html_card(
            f"Quality report: {self.rows} rows × {len(self.columns)} columns",
            lines,
            [html_table(header, rows)] if rows else [],
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QualityReport:
        """Rebuild a report from :meth:`to_dict` output (``summary`` is recomputed, not read)."""
        return cls(
            rows=int(data["rows"]),
            columns=[ColumnInfo.from_dict(c) for c in data.get("columns", [])],
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
        )

"""A finding: one thing wrong with the data, with the rows it concerns and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["ON_ISSUE", "SEVERITIES", "Finding", "OnIssue", "Severity"]

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

OnIssue = Literal["raise", "warn", "ignore"]
"""What reading a file does with the problems it finds (unreadable cells, mixed units …): refuse
the file, warn and keep the findings, or keep the findings quietly. The one definition: ingest,
the workspace and every face use it."""
ON_ISSUE: tuple[OnIssue, ...] = ("raise", "warn", "ignore")


@dataclass(frozen=True)
class Finding:
    """One quality finding.

    ``check`` is a stable name (``missing``, ``outlier``, ``invalid_value`` ...) that programs rely on.
    ``rows`` are 0-based data-row indices. ``details`` carries check-specific numbers (thresholds,
    counts, the offending raw values) for programs and for the cleaning step.
    """

    check: str
    column: str | None
    rows: list[int]
    severity: Severity
    message: str
    suggestion: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            check=data["check"],
            column=data.get("column"),
            rows=[int(r) for r in data.get("rows", [])],
            severity=data["severity"],
            message=data["message"],
            suggestion=data.get("suggestion", ""),
            details=dict(data.get("details", {})),
        )

    def sort_key(self) -> tuple[int, int, str]:
        """Worst first: by severity, then by how many rows it touches."""
        return (SEVERITIES.index(self.severity), -len(self.rows), self.check)

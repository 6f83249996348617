"""The audit log of a workspace as its users see it: entries, verification, export (``ws.audit``).
Entries are appended only inside the operations that change something, never from here."""

from __future__ import annotations

import dataclasses

from labsight import audit
from labsight.store.entities import AuditEntry
from labsight.workspace._context import Context

__all__ = ["AuditLog"]


class AuditLog:
    """The workspace's audit trail: list, verify, export. Appends happen only inside operations."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def entries(
        self,
        *,
        limit: int | None = None,
        action: str | None = None,
        object_id: str | None = None,
    ) -> list[AuditEntry]:
        """Entries, oldest first (the newest ``limit`` when given)."""
        with self._ctx.db.read() as session:
            return audit.entries(session, limit=limit, action=action, object_id=object_id)

    def verify(self, *, quick: bool = False, anchor: str | None = None) -> audit.ChainReport:
        """Recompute the hash chain (naming the first entry altered, removed or reordered), check
        that every row holding state (datasets, versions, models, campaigns, experiments, results)
        matches the audit entry that created or last changed it, field by field, and that every
        artifact a row refers to is on disk with its hash (``quick`` skips the artifacts).

        ``anchor`` is a head kept outside the database (``SEQ:HASH``, as the report's ``anchor``
        gives it): the chain must still hold that entry with that hash, so a chain rebuilt whole by
        someone who controls the database is found too.
        """
        kept = audit.parse_anchor(anchor) if anchor is not None else None  # bad input first
        with self._ctx.db.read() as session:
            report = audit.verify_chain(session)
            if kept is not None and report.ok:
                problem = audit.check_anchor(session, kept)
                if problem is not None:
                    report = dataclasses.replace(
                        report, ok=False, first_bad=kept[0], problem=problem
                    )
            problems = tuple(audit.verify_records(session, None if quick else self._ctx.artifacts))
        if not problems:
            return report
        return dataclasses.replace(report, ok=False, record_problems=problems)

    def export(self, fmt: str = "jsonl") -> str:
        """All entries as ``csv`` or ``jsonl`` text."""
        return audit.render_export(self.entries(), fmt)

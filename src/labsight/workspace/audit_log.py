"""The audit log of a workspace as its users see it: entries, verification, signed checkpoints,
export (``ws.audit``). Entries are appended only inside the operations that change something (a
checkpoint records itself), never from here."""

from __future__ import annotations

import dataclasses
import os
from datetime import datetime
from pathlib import Path

from labsight import audit
from labsight.audit.checkpoint import ROLLED_BACK
from labsight.exceptions import InputError
from labsight.store.entities import AuditEntry
from labsight.workspace._context import Context

__all__ = ["AuditLog"]


class AuditLog:
    """The workspace's audit trail: list, verify, checkpoint, export. Appends happen only inside
    operations."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def entries(
        self,
        *,
        limit: int | None = None,
        action: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditEntry]:
        """Entries, oldest first (the newest ``limit`` when given), of one ``action``,
        ``object_id`` and ``actor`` when given, written from ``since`` up to ``until`` (UTC)."""
        with self._ctx.db.read() as session:
            return audit.entries(
                session,
                limit=limit,
                action=action,
                object_id=object_id,
                actor=actor,
                since=since,
                until=until,
            )

    def verify(
        self,
        *,
        quick: bool = False,
        anchor: str | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        key: str | os.PathLike[str] | None = None,
    ) -> audit.ChainReport:
        """Recompute the hash chain (naming the first entry altered, removed or reordered), check
        that every row holding state (datasets, versions, models, campaigns, experiments, results)
        matches the audit entry that created or last changed it, field by field, and that every
        artifact a row refers to is on disk with its hash (``quick`` skips the artifacts).

        ``anchor`` is a head kept outside the database (``SEQ:HASH``, as the report's ``anchor``
        gives it): the chain must still hold that entry with that hash, so a chain rebuilt whole by
        someone who controls the database is found too.

        ``checkpoint`` is a file :meth:`checkpoint` wrote: its signature must hold, its key must be
        the workspace's (``key``, by default ``<home>/keys/audit-checkpoint.pem`` when that file
        exists), and the database must still hold the entry it signed with that hash, so a database
        rolled back or rewritten since is found. An unreadable file or key is an
        :class:`~labsight.exceptions.InputError` before anything is checked.
        """
        kept = audit.parse_anchor(anchor) if anchor is not None else None  # bad input first
        if key is not None and checkpoint is None:
            raise InputError(
                "a signing key is only used to check a checkpoint",
                hint="Pass --checkpoint FILE with --key, or leave --key out",
            )
        signed = audit.read_checkpoint(checkpoint) if checkpoint is not None else None
        public_key = self._public_key(key) if signed is not None else None
        with self._ctx.db.read() as session:
            report = audit.verify_chain(session)
            if kept is not None and report.ok:
                problem = audit.check_anchor(session, kept)
                if problem is not None:
                    report = dataclasses.replace(
                        report, ok=False, first_bad=kept[0], problem=problem
                    )
            if signed is not None and report.ok:
                problem = audit.check_checkpoint(session, signed, public_key, chain_verified=True)
                if problem is not None:
                    # a file that fails its signature or key names no entry of the database
                    bad = signed.seq if problem.startswith(ROLLED_BACK) else None
                    report = dataclasses.replace(report, ok=False, first_bad=bad, problem=problem)
            problems = tuple(audit.verify_records(session, None if quick else self._ctx.artifacts))
        if not problems:
            return report
        return dataclasses.replace(report, ok=False, record_problems=problems)

    def checkpoint(
        self, out: str | os.PathLike[str], *, key: str | os.PathLike[str] | None = None
    ) -> audit.Checkpoint:
        """Sign the chain's head with the workspace's Ed25519 key into the file ``out``, and
        record it (``audit.checkpoint``, the entry after the head it signs).

        Keep ``out`` where the database's administrators cannot write; a later
        ``verify(checkpoint=out)`` fails if the database was rolled back or rewritten since.
        ``key`` is the private key file (default ``<home>/keys/audit-checkpoint.pem``, made with
        mode 0600 on the first checkpoint); it never goes into the database. A chain that does not
        verify is not signed (:class:`~labsight.exceptions.AuditChainError`).

        Examples
        --------
        >>> import tempfile, labsight
        >>> home = tempfile.mkdtemp()
        >>> with labsight.Workspace(home, user="qa") as ws:
        ...     made = ws.audit.checkpoint(f"{home}/head.checkpoint")
        ...     ws.audit.verify(checkpoint=f"{home}/head.checkpoint").ok
        True
        """
        key_path = self._key_path(key)
        with self._ctx.db.write() as session:
            return audit.write_checkpoint(
                session, key_path, out, database=self._ctx.db.safe_url, actor=self._ctx.user
            )

    def _key_path(self, key: str | os.PathLike[str] | None) -> Path:
        return Path(key) if key is not None else audit.default_key_path(self._ctx.settings.home)

    def _public_key(self, key: str | os.PathLike[str] | None) -> str | None:
        """The workspace's public key (hex): from ``key`` (which must be readable), else from the
        default key file when there is one (None when there is none to compare with)."""
        path = self._key_path(key)
        if key is None and not path.exists():
            return None
        return audit.load_public_key(path)

    def export(self, fmt: str = "jsonl") -> str:
        """All entries as ``csv`` or ``jsonl`` text."""
        return audit.render_export(self.entries(), fmt)

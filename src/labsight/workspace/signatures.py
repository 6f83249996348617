"""Electronic signatures on records (``ws.signatures``, ``labsight sign``), after 21 CFR Part 11:
the signer gives their password again, and the signature records the signer, their printed name,
its meaning (``authored``, ``reviewed``, ``approved``), the UTC time, the reason and the sha256 of
the exact version of the record signed, sealed so that it cannot be moved to another record.

Who may sign what: ``authored`` only the record's author; ``reviewed`` and ``approved`` a reviewer
or an admin, and never the record's author. A refused signature (a wrong password, a role that may
not) is an audit entry, and a wrong password counts towards the account's lock-out.

Signable records: model versions (``yield@v3``, ``yield@production``, a model id) and dataset
versions (``reactions@v2``); prefix ``model:`` or ``dataset:`` where a name is both.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labsight import audit
from labsight.audit import events
from labsight.audit.signing import record_digest, signature_seal, status
from labsight.exceptions import ForbiddenError, InputError, LabsightError, NotFoundError
from labsight.store import datasets as dataset_repo
from labsight.store import models as model_repo
from labsight.store._rows import SignatureRow, UserRow
from labsight.store.entities import SignatureRecord
from labsight.workspace._context import Context
from labsight.workspace.accounts import PERMISSIONS, Accounts

__all__ = ["MEANINGS", "Signatures"]

MEANINGS = ("authored", "reviewed", "approved")


def _resolve(session: Session, ref: str) -> tuple[str, str, str, Any, str]:
    """``(record_type, key, label, row, author)`` of the record ``ref`` names."""
    kind, _, rest = ref.partition(":") if ref.startswith(("model:", "dataset:")) else ("", "", ref)
    found: list[tuple[str, str, str, Any, str]] = []
    if kind in ("", "model"):
        try:
            model = model_repo.model_row(session, rest)
            found.append(
                (
                    "model",
                    model.model_id,
                    f"model {model.name}@v{model.number}",
                    model,
                    model.created_by,
                )
            )
        except (NotFoundError, InputError):
            pass
    if kind in ("", "dataset") and "@" in rest:
        try:
            record = dataset_repo.resolve_version(session, rest)
            version = dataset_repo.version_row(session, record)
            found.append(
                (
                    "dataset_version",
                    f"{record.dataset}@{record.version}",
                    f"dataset {record.dataset}@v{record.number}",
                    version,
                    record.created_by,
                )
            )
        except (NotFoundError, InputError):
            pass
    if not found:
        raise NotFoundError(
            f"no model or dataset version {ref[:80]!r}",
            hint="Name a model version (yield@v3) or a dataset version (reactions@v2)",
        )
    if len(found) > 1:
        raise InputError(
            f"{ref!r} names both a model and a dataset version",
            hint=f"Say which: model:{rest} or dataset:{rest}",
        )
    return found[0]


class Signatures:
    """``ws.signatures``: sign a record, list a record's signatures with their status."""

    def __init__(self, ctx: Context, accounts: Accounts) -> None:
        self._ctx = ctx
        self._accounts = accounts

    def sign(self, record: str, meaning: str, password: str, *, reason: str) -> SignatureRecord:
        """Sign ``record`` as the acting user, whose ``password`` is asked again.

        Raises
        ------
        AuthenticationError
            For a wrong password or a locked account (audited; counts towards the lock-out).
        ForbiddenError
            When the signer may not sign with this meaning (audited as ``record.sign_refused``).
        """
        if meaning not in MEANINGS:
            raise InputError(
                f"unknown meaning {meaning[:40]!r}", expected=", ".join(MEANINGS), got=repr(meaning)
            )
        if not reason or not reason.strip():
            raise InputError("a signature needs a reason", hint="Pass --reason 'why you sign'")
        with self._ctx.db.read() as session:
            _resolve(session, record)  # a record that does not exist is bad input, not a refusal
        signer = self._ctx.user
        user = self._accounts.check_password(signer, password, via="signature")
        refusal: LabsightError | None = None
        with self._ctx.db.write() as session:
            record_type, key, label, row, author = _resolve(session, record)
            why = self._refused(user.role, meaning, signer, author)
            if why is not None:
                audit.record(session, events.signature_refused(label, meaning, why), signer)
                refusal = ForbiddenError(f"{signer!r} may not sign {label} as {meaning}: {why}")
            else:
                user_row = session.scalar(select(UserRow).where(UserRow.name == signer))
                assert user_row is not None  # check_password found it
                fields: dict[str, Any] = {
                    "signature_id": secrets.token_hex(8),
                    "record_type": record_type,
                    "record_key": key,
                    "record_label": label,
                    "record_sha256": record_digest(session, record_type, row),
                    "user_id": user_row.id,
                    "signer": signer,
                    "printed_name": user_row.full_name,
                    "meaning": meaning,
                    "reason": reason.strip(),
                    "signed": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                signature = SignatureRow(**fields, seal=signature_seal(fields))
                session.add(signature)
                audit.record(
                    session,
                    events.signed(
                        record_type,
                        label,
                        signature_id=fields["signature_id"],
                        meaning=meaning,
                        reason=fields["reason"],
                        record_sha256=fields["record_sha256"],
                    ),
                    signer,
                )
                signed = signature.to_entity()
        if refusal is not None:
            raise refusal
        return SignatureRecord(**{**signed.to_dict(), "status": "valid"})

    @staticmethod
    def _refused(role: str, meaning: str, signer: str, author: str) -> str | None:
        allowed = PERMISSIONS.get(role, frozenset())
        if meaning == "authored":
            if signer != author:
                return f"only its author ({author!r}) signs a record as authored"
            return None if "write" in allowed else f"role {role} does not author records"
        if "review" not in allowed:
            return f"role {role} may not sign as {meaning} (a reviewer or an admin may)"
        if signer == author:
            return f"the author of a record may not sign it as {meaning}"
        return None

    def of(self, record: str) -> list[SignatureRecord]:
        """The signatures on ``record`` (every version of a model or dataset version named),
        oldest first, each with its status now (``valid``, ``orphaned``, ``broken``)."""
        with self._ctx.db.read() as session:
            record_type, key, *_ = _resolve(session, record)
            return signatures_of(session, record_type, key)

    def all(self) -> list[SignatureRecord]:
        with self._ctx.db.read() as session:
            rows = session.scalars(select(SignatureRow).order_by(SignatureRow.id))
            return [_checked(session, row) for row in rows]


def _checked(session: Session, row: SignatureRow) -> SignatureRecord:
    return SignatureRecord(**{**row.to_entity().to_dict(), "status": status(session, row)})


def signatures_of(session: Session, record_type: str, key: str) -> list[SignatureRecord]:
    """The signatures on one record, in the caller's session, each with its status."""
    rows = session.scalars(
        select(SignatureRow)
        .where(SignatureRow.record_type == record_type, SignatureRow.record_key == key)
        .order_by(SignatureRow.id)
    )
    return [_checked(session, row) for row in rows]

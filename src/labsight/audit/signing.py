"""Electronic signatures, as the audit trail checks them.

A signature names one version of a record by the sha256 of that version's content
(:func:`record_digest`: the digests of the row's fields, as the audit seals compute them, less the
fields a record may change without becoming another version — a model's stage). Its ``seal`` is the
sha256 of every field of the signature and the record's identity, so a signature copied to another
record, or edited, no longer matches its seal (``broken``); a record changed after it was signed no
longer matches the signature's ``record_sha256`` (``orphaned``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labsight.audit.seals import KINDS, field_digests
from labsight.store._rows import DatasetRow, ModelRow, SignatureRow, VersionRow

__all__ = ["MUTABLE_FIELDS", "check_signatures", "record_digest", "signature_seal", "status"]

MUTABLE_FIELDS: dict[str, frozenset[str]] = {"model": frozenset({"stage"})}
"""Fields a signed record may change without becoming another version of it."""

_SEALED_FIELDS = (
    "signature_id",
    "record_type",
    "record_key",
    "record_label",
    "record_sha256",
    "user_id",
    "signer",
    "printed_name",
    "meaning",
    "reason",
    "signed",
)


def _sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_digest(session: Session, kind: str, row: Any) -> str:
    """The sha256 of the version of a record (``model`` or ``dataset_version`` row) signed."""
    digests = field_digests(session, KINDS[kind], row)
    for name in MUTABLE_FIELDS.get(kind, frozenset()):
        digests.pop(name, None)
    return _sha256(digests)


def signature_seal(fields: dict[str, Any]) -> str:
    """The seal of a signature over its fields (see ``_SEALED_FIELDS``)."""
    return _sha256({name: fields[name] for name in _SEALED_FIELDS})


def _record_row(session: Session, record_type: str, key: str) -> Any:
    if record_type == "model":
        return session.scalar(select(ModelRow).where(ModelRow.model_id == key))
    if record_type == "dataset_version":
        name, _, version = key.partition("@")
        return session.scalar(
            select(VersionRow)
            .join(DatasetRow, DatasetRow.id == VersionRow.dataset_id)
            .where(DatasetRow.name == name, VersionRow.version == version)
        )
    return None


def status(session: Session, row: SignatureRow) -> str:
    """``valid``, ``orphaned`` (the record changed or is gone) or ``broken`` (the signature no
    longer matches its seal: edited, or moved to another record)."""
    fields = {name: getattr(row, name) for name in _SEALED_FIELDS}
    if signature_seal(fields) != row.seal:
        return "broken"
    record = _record_row(session, row.record_type, row.record_key)
    if record is None or record_digest(session, row.record_type, record) != row.record_sha256:
        return "orphaned"
    return "valid"


def check_signatures(session: Session) -> list[str]:
    """Every signature that is not valid, in words (``audit verify`` lists them)."""
    problems = []
    for row in session.scalars(select(SignatureRow).order_by(SignatureRow.id)):
        state = status(session, row)
        what = f"{row.meaning} signature {row.signature_id} by {row.signer!r} on {row.record_label}"
        if state == "broken":
            problems.append(
                f"{what} does not match its seal: it was edited or moved to another record"
            )
        elif state == "orphaned":
            problems.append(
                f"{what} is orphaned: the record changed (or is gone) since it was signed"
            )
    return problems

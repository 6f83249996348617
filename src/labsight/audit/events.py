"""Audit events: what happened, as typed records handed to the one writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AuditEvent",
    "account_changed",
    "campaign_created",
    "checkpoint_written",
    "dataset_deleted",
    "dataset_stored",
    "experiments_suggested",
    "logged_in",
    "login_failed",
    "login_refused",
    "model_exported",
    "model_staged",
    "model_trained",
    "results_recorded",
    "rows_sealed",
    "setting_changed",
    "signature_refused",
    "signed",
    "token_changed",
]


@dataclass(frozen=True)
class AuditEvent:
    """A state change to record.

    ``action`` is a stable dotted name (``dataset.ingest``, ``dataset.clean``, ``dataset.delete``;
    later ``model.train``, ``model.release``, ``design.record``). ``inputs`` and ``outputs`` are the
    content hashes of what went in and what came out; ``old_value``/``new_value`` describe the change
    in words or ids (``old → new``).
    """

    action: str
    object_type: str
    object_id: str
    version: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    reason: str | None = None
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


# -- the events labsight records, one constructor each: the action's name, the kind of object and
# -- which fields it fills are decided here once, not at each place that records one.


def dataset_stored(
    operation: str,
    dataset: str,
    version: str,
    *,
    previous: str | None,
    reason: str | None,
    inputs: list[str],
    content: str,
    details: dict[str, Any],
) -> AuditEvent:
    """A new version of ``dataset`` (``dataset.ingest``, ``.clean``, ``.cluster`` …)."""
    return AuditEvent(
        action=f"dataset.{operation}",
        object_type="dataset",
        object_id=dataset,
        version=version,
        old_value=previous,
        new_value=version,
        reason=reason,
        inputs=inputs,
        outputs=[content],
        details=details,
    )


def dataset_deleted(dataset: str, version: str, content: str, reason: str | None) -> AuditEvent:
    """``dataset.delete``: the dataset is tombstoned; its history stays."""
    return AuditEvent(
        action="dataset.delete",
        object_type="dataset",
        object_id=dataset,
        version=version,
        old_value="active",
        new_value="deleted",
        reason=reason,
        inputs=[content],
    )


def model_trained(
    name: str,
    model_id: str,
    *,
    data: str,
    file: str,
    details: dict[str, Any],
    reason: str | None = None,
) -> AuditEvent:
    """``model.train``: a new draft version of model ``name``, from the dataset content ``data``,
    saved as ``file``."""
    return AuditEvent(
        action="model.train",
        object_type="model",
        object_id=name,
        version=model_id,
        new_value="draft",
        reason=reason,
        inputs=[data],
        outputs=[file],
        details=details,
    )


def model_staged(
    name: str,
    model_id: str,
    *,
    old: str,
    new: str,
    reason: str | None,
    file: str,
    details: dict[str, Any],
) -> AuditEvent:
    """``model.stage``: a version moved from stage ``old`` to ``new``."""
    return AuditEvent(
        action="model.stage",
        object_type="model",
        object_id=name,
        version=model_id,
        old_value=old,
        new_value=new,
        reason=reason,
        inputs=[file],
        details=details,
    )


def model_exported(
    name: str,
    model_id: str,
    *,
    file: str,
    exported: str,
    path: str,
    details: dict[str, Any],
    reason: str | None = None,
) -> AuditEvent:
    """``model.export``: a version written out (ONNX) as ``exported`` to ``path``."""
    return AuditEvent(
        action="model.export",
        object_type="model",
        object_id=name,
        version=model_id,
        inputs=[file],
        outputs=[exported],
        new_value=path,
        reason=reason,
        details=details,
    )


def rows_sealed(revision: str, rows: int, chain_ok_before: bool) -> AuditEvent:
    """``audit.seal``: the rows of a workspace made before rows were sealed, bound to the trail."""
    return AuditEvent(
        action="audit.seal",
        object_type="audit",
        object_id="workspace",
        old_value=f"schema {revision}",
        new_value="rows sealed",
        reason="workspace upgraded: existing rows bound to the audit trail",
        details={"rows": rows, "chain_ok_before": chain_ok_before},
    )


def campaign_created(
    name: str, space: str, *, reason: str | None, details: dict[str, Any]
) -> AuditEvent:
    """``design.new``: a campaign over the space whose content hash is ``space``."""
    return AuditEvent(
        action="design.new",
        object_type="campaign",
        object_id=name,
        version=space[:16],
        new_value="created",
        reason=reason,
        outputs=[space],
        details=details,
    )


def experiments_suggested(
    name: str,
    first: str | None,
    last: str | None,
    *,
    conditions: str,
    reason: str | None,
    details: dict[str, Any],
) -> AuditEvent:
    """``design.suggest``: experiments ``first``–``last`` proposed; ``conditions`` hashes them."""
    return AuditEvent(
        action="design.suggest",
        object_type="campaign",
        object_id=name,
        new_value=f"{first}–{last}" if first is not None else None,
        reason=reason,
        outputs=[conditions],
        details=details,
    )


def results_recorded(
    name: str, count: int, *, source: str | None, reason: str | None, details: dict[str, Any]
) -> AuditEvent:
    """``design.record``: ``count`` results stored, from the file whose content hash is
    ``source`` (when they came from a file)."""
    return AuditEvent(
        action="design.record",
        object_type="campaign",
        object_id=name,
        new_value=f"{count} results",
        reason=reason,
        inputs=[source] if source else [],
        details=details,
    )


# -- accounts, signatures and settings (the server and regulated mode) ----------------------------


def account_changed(
    operation: str,
    user: str,
    *,
    old: str | None = None,
    new: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """``user.add``, ``user.role``, ``user.disable``, ``user.enable``, ``user.password``,
    ``user.unlock``: a change to an account (never its password or hash in the entry)."""
    return AuditEvent(
        action=f"user.{operation}",
        object_type="user",
        object_id=user,
        old_value=old,
        new_value=new,
        reason=reason,
        details=details or {},
    )


def token_changed(
    operation: str, user: str, token_id: str, *, reason: str | None, details: dict[str, Any]
) -> AuditEvent:
    """``token.create`` or ``token.revoke``: the token's id and scope, never its secret."""
    return AuditEvent(
        action=f"token.{operation}",
        object_type="user",
        object_id=user,
        version=token_id,
        reason=reason,
        details=details,
    )


def logged_in(user: str, via: str) -> AuditEvent:
    """``user.login``: a password accepted at a login (``via`` login or cli)."""
    return AuditEvent(action="user.login", object_type="user", object_id=user, details={"via": via})


def login_failed(user: str, via: str, why: str) -> AuditEvent:
    """``user.login_failed``: a password refused (or an account locked or disabled) at a login
    or a signature; counted for the lock-out."""
    return AuditEvent(
        action="user.login_failed",
        object_type="user",
        object_id=user,
        details={"via": via, "why": why},
    )


def login_refused(user: str, via: str, why: str) -> AuditEvent:
    """``user.login_refused``: a login of a locked or disabled account (not counted towards the
    lock-out: waiting it out must end it)."""
    return AuditEvent(
        action="user.login_refused",
        object_type="user",
        object_id=user,
        details={"via": via, "why": why},
    )


def signed(
    record_type: str,
    record: str,
    *,
    signature_id: str,
    meaning: str,
    reason: str,
    record_sha256: str,
) -> AuditEvent:
    """``record.sign``: an electronic signature on one version of a record."""
    return AuditEvent(
        action="record.sign",
        object_type=record_type,
        object_id=record,
        version=signature_id,
        new_value=meaning,
        reason=reason,
        inputs=[record_sha256],
    )


def signature_refused(record: str, meaning: str, why: str) -> AuditEvent:
    """``record.sign_refused``: a signature that was not made (wrong password, role, author)."""
    return AuditEvent(
        action="record.sign_refused",
        object_type="record",
        object_id=record,
        new_value=meaning,
        details={"why": why},
    )


def setting_changed(key: str, old: str | None, new: str, reason: str | None) -> AuditEvent:
    """``config.set``: a workspace setting (regulated mode …) changed."""
    return AuditEvent(
        action="config.set",
        object_type="setting",
        object_id=key,
        old_value=old,
        new_value=new,
        reason=reason,
    )


def checkpoint_written(seq: int, head: str, public_key: str, path: str) -> AuditEvent:
    """``audit.checkpoint``: the chain's head signed with Ed25519 into a file outside the database."""
    return AuditEvent(
        action="audit.checkpoint",
        object_type="audit",
        object_id="chain",
        version=str(seq),
        new_value=head,
        details={"public_key": public_key, "path": path},
    )

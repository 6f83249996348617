"""Audit events: what happened, as typed records handed to the one writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AuditEvent"]


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

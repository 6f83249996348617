"""Audit: the tamper-evident record of every state change.

``events`` defines what is recorded, ``_writer.record`` is the only function that appends to the log
(inside the caller's store transaction), ``chain`` computes and verifies the hash chain, ``export``
renders entries for QA, ``records`` checks the dataset tables against the entries. Imports ``labsight.store``; imported by the workspace and the faces above it.
"""

from labsight.audit._writer import record
from labsight.audit.chain import GENESIS, ChainReport, entry_hash, verify_chain
from labsight.audit.events import AuditEvent
from labsight.audit.export import EXPORT_FORMATS, render_export
from labsight.audit.records import verify_records

__all__ = [
    "EXPORT_FORMATS",
    "GENESIS",
    "AuditEvent",
    "ChainReport",
    "entry_hash",
    "record",
    "render_export",
    "verify_chain",
    "verify_records",
]

"""Audit: the tamper-evident record of every state change.

``events`` defines what is recorded, ``_writer.record`` is the only function that appends to the log
(inside the caller's store transaction), ``chain`` reads the entries and computes and verifies the
hash chain, ``checkpoint`` signs the chain's head (Ed25519) into a file outside the database and
checks the database against such a file later, ``seals`` binds every row that holds state to the
entry that created or changed it (noted automatically in each write transaction), ``records`` checks
every sealed row and referenced artifact against the entries, ``export`` renders entries for QA.
Imports ``labsight.store`` (and ``cryptography``, only when a checkpoint is made or checked);
imported by the workspace and the faces above it.
"""

from labsight.audit._writer import record
from labsight.audit.chain import (
    GENESIS,
    ChainReport,
    check_anchor,
    entries,
    entry_hash,
    parse_anchor,
    verify_chain,
)
from labsight.audit.checkpoint import (
    Checkpoint,
    check_checkpoint,
    default_key_path,
    load_public_key,
    read_checkpoint,
    verify_checkpoint,
    write_checkpoint,
)
from labsight.audit.events import AuditEvent
from labsight.audit.export import EXPORT_FORMATS, render_export
from labsight.audit.records import verify_records
from labsight.audit.seals import check_sealed, seal_all

__all__ = [
    "EXPORT_FORMATS",
    "GENESIS",
    "AuditEvent",
    "ChainReport",
    "Checkpoint",
    "check_anchor",
    "check_checkpoint",
    "check_sealed",
    "default_key_path",
    "entries",
    "entry_hash",
    "load_public_key",
    "parse_anchor",
    "read_checkpoint",
    "record",
    "render_export",
    "seal_all",
    "verify_chain",
    "verify_checkpoint",
    "verify_records",
    "write_checkpoint",
]

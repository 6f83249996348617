"""labsight: a workbench that turns laboratory data into insight and into the next experiment.

The public API is :class:`Workspace` (the store, the artifacts and the settings) and what it returns
(:class:`DatasetVersion`, :class:`Dataset`, :class:`~labsight.data.quality.QualityReport`), the error
tree in :mod:`labsight.exceptions`, and :func:`read_table` / :func:`quality` for files that are not
(yet) in a workspace.

Examples
--------
>>> import labsight
>>> report = labsight.quality(labsight.example_path())
>>> report.rows
176
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from labsight._lazy import lazy_exports
from labsight.examples import example_path
from labsight.exceptions import (
    ArtifactIntegrityError,
    AuditChainError,
    ConflictError,
    DataFormatError,
    ExportError,
    InputError,
    LabsightError,
    LabsightWarning,
    NotFoundError,
    StoreError,
    UnitError,
)

if TYPE_CHECKING:
    from labsight.data.findings import Finding
    from labsight.data.quality import QualityReport
    from labsight.data.table import ColumnInfo, Role, Table
    from labsight.store.entities import AuditEntry, Dataset, VersionRecord
    from labsight.workspace import AuditLog, DatasetVersion, Workspace

__version__ = "0.1.0"

__all__ = [
    "ArtifactIntegrityError",
    "AuditChainError",
    "AuditEntry",
    "AuditLog",
    "ColumnInfo",
    "ConflictError",
    "DataFormatError",
    "Dataset",
    "DatasetVersion",
    "ExportError",
    "Finding",
    "InputError",
    "LabsightError",
    "LabsightWarning",
    "NotFoundError",
    "StoreError",
    "Table",
    "UnitError",
    "VersionRecord",
    "Workspace",
    "__version__",
    "example_path",
    "quality",
    "read_table",
]

# Imported on first use, so that `import labsight` (and the command line's `--help`) does not pay
# for the database layer, polars and numpy before a command needs them.
_LAZY = {
    "AuditEntry": "labsight.store.entities",
    "AuditLog": "labsight.workspace",
    "ColumnInfo": "labsight.data.table",
    "Dataset": "labsight.store.entities",
    "DatasetVersion": "labsight.workspace",
    "Finding": "labsight.data.findings",
    "Table": "labsight.data.table",
    "VersionRecord": "labsight.store.entities",
    "Workspace": "labsight.workspace",
}


__getattr__, __dir__ = lazy_exports("labsight", _LAZY, globals())


def read_table(path: str | os.PathLike[str], **options: object) -> Table:
    """Read a lab file into a :class:`Table` (see :func:`labsight.data.ingest.read_table`)."""
    from labsight.data.ingest import read_table as _read

    return _read(path, **options)  # type: ignore[arg-type]


def quality(
    path: str | os.PathLike[str],
    *,
    roles: Mapping[str, Role] | None = None,
    checks: Sequence[str] | None = None,
    multivariate: bool = False,
    **read_options: object,
) -> QualityReport:
    """The quality report of a file, without ingesting it anywhere."""
    from labsight.data.ingest import read_table as _read
    from labsight.data.quality import check_table

    table = _read(path, roles=roles, on_issue="ignore", **read_options)  # type: ignore[arg-type]
    return check_table(table, checks=checks, multivariate=multivariate)

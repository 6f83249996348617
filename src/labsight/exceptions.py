"""The one exception tree of labsight.

Every error labsight raises on purpose derives from :class:`LabsightError`. Each concrete error also
inherits the builtin a caller would naturally catch (``ValueError``, ``KeyError``, ``OSError``), keeps
structured fields (``path``, ``line``, ``column``, ``expected``, ``got``, ``hint``) and builds its text
in ``__str__``: the CLI prints it as one line, the REST layer turns :meth:`LabsightError.to_dict` into
its one JSON error shape. That text is one line with control characters shown as escapes
(``\\x1b``, ``\\n``, see :func:`labsight._display.visible`), whatever the message quotes.

Two families matter to the command line: :class:`InputError` (the user gave something wrong; exit
code 2) and everything else (an operation failed; exit code 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labsight._display import visible

__all__ = [
    "ArtifactIntegrityError",
    "AuditChainError",
    "AuthenticationError",
    "ConflictError",
    "DataFormatError",
    "ExportError",
    "ForbiddenError",
    "InputError",
    "LabsightError",
    "LabsightWarning",
    "NotFoundError",
    "StoreError",
    "UnitError",
]


class LabsightWarning(UserWarning):
    """Warnings labsight emits about data (``on_issue="warn"``)."""


class LabsightError(Exception):
    """Root of all labsight errors.

    Parameters
    ----------
    message
        What went wrong, in words.
    path, line, column
        Where, when the problem is in a file (``line`` is 1-based, as an editor shows it).
    expected, got
        What was expected and what was found.
    hint
        How to fix it.
    """

    exit_code = 1
    code = "operation_failed"

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        expected: str | None = None,
        got: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.expected = expected
        self.got = got
        self.hint = hint

    def location(self) -> str:
        """``yield.csv line 14, column 'c'``, as far as it is known ("" when nothing is)."""
        where = " ".join(
            part
            for part in (
                self.path,
                f"line {self.line}" if self.line is not None else None,
            )
            if part
        )
        if self.column is not None:
            where = f"{where}, column {self.column!r}" if where else f"column {self.column!r}"
        return where

    def __str__(self) -> str:
        text = self.message
        where = self.location()
        if where:
            text = f"{where}: {text}"
        if self.expected is not None:
            text += f"; expected {self.expected}"
        if self.got is not None:
            text += f", got {self.got}"
        if self.hint:
            text += f". {self.hint}"
        # Names, cells and paths in a message came from users and files: one line, no control
        # character reaching a terminal or a log.
        return visible(text)

    def to_dict(self) -> dict[str, Any]:
        """The error as the one JSON shape shared by the CLI (``--json``) and the server."""
        return {
            "error": self.code,
            "message": str(self),
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "expected": self.expected,
            "got": self.got,
            "hint": self.hint,
        }


class InputError(LabsightError, ValueError):
    """The input is wrong: a bad file, value, option or name. Exit code 2."""

    exit_code = 2
    code = "bad_input"


class DataFormatError(InputError):
    """A file cannot be read as a table (empty, binary, corrupt, ragged, a bad cell)."""

    code = "bad_file"


class UnitError(InputError):
    """A unit that is unknown, or incompatible with the one expected."""

    code = "bad_unit"


class NotFoundError(LabsightError, KeyError):
    """A dataset, version or file that does not exist. Exit code 2."""

    exit_code = 2
    code = "not_found"

    def __str__(self) -> str:  # KeyError would quote the message
        return LabsightError.__str__(self)


class ConflictError(LabsightError):
    """The request contradicts the state of the workspace (e.g. a name that is taken)."""

    exit_code = 1
    code = "conflict"


class AuthenticationError(LabsightError):
    """No valid credentials: an unknown user or token, a wrong password, a locked or disabled
    account, an expired token or session. The server answers 401. Exit code 2."""

    exit_code = 2
    code = "unauthenticated"


class ForbiddenError(LabsightError, PermissionError):
    """Who acts is known but may not do this (their role, or their token's scope). The server
    answers 403."""

    code = "forbidden"


class ExportError(LabsightError):
    """A model cannot be written in the format asked for (a family with no ONNX form)."""

    code = "export_failed"


class StoreError(LabsightError, OSError):
    """The database or artifact folder failed; nothing was changed."""

    code = "store_failed"


class ArtifactIntegrityError(StoreError):
    """A stored file no longer matches its content hash."""

    code = "artifact_corrupt"


class AuditChainError(LabsightError):
    """The audit trail does not verify."""

    code = "audit_chain_broken"

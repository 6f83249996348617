"""The one rule for the names of datasets, models and campaigns.

A name is what people type to reach an object (``labsight dataset show NAME``, ``NAME@v2``), and
it is printed in tables, file names and the audit trail, so it must read the same everywhere and
never be taken for something else: ASCII letters, digits, ``_``, ``.`` and ``-``, starting with a
letter or a digit, at most 200 characters. So no ``@`` (it separates a name from its version in a
reference), no ``/`` or ``\\`` (a path), no space, quote or control character, and no name made of
dots (``..``).

The rule is checked where a name enters the workspace (ingest, clean, train, new campaign), with
:func:`validate_name`. Lookups take any text and answer "not found" for a name that cannot exist.
Defaults derived from free text (a file's stem, a target column) are made to fit with
:func:`to_name`, so only a name that someone chose can be refused.
"""

from __future__ import annotations

import re
from typing import Literal

from labsight.exceptions import InputError

__all__ = ["MAX_NAME_LENGTH", "NameKind", "to_name", "validate_name"]

NameKind = Literal["dataset", "model", "campaign"]
MAX_NAME_LENGTH = 200

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")
_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_EXPECTED = (
    "ASCII letters, digits, '_', '.' or '-', starting with a letter or digit, "
    f"up to {MAX_NAME_LENGTH} characters"
)
_HINT: dict[str, str] = {
    "dataset": "Pass --name with a simpler name, such as 'reactions_2024'",
    "model": "Pass --name with a simpler name, such as 'reactions-yield'",
    "campaign": "Choose a simpler name, such as 'suzuki-screen'",
}


def validate_name(name: str, kind: NameKind = "dataset") -> str:
    """``name``, when it is a valid name for a ``kind`` of object; else :class:`InputError`.

    Examples
    --------
    >>> validate_name("reactions_2024.v2", "dataset")
    'reactions_2024.v2'
    >>> validate_name("yield@v1", "model")
    Traceback (most recent call last):
    ...
    labsight.exceptions.InputError: invalid model name 'yield@v1': '@' separates a name from its version (NAME@v2); expected ASCII letters, digits, '_', '.' or '-', starting with a letter or digit, up to 200 characters. Pass --name with a simpler name, such as 'reactions-yield'
    """
    if isinstance(name, str) and _NAME.fullmatch(name):
        return name
    shown = name if not isinstance(name, str) or len(name) <= 60 else name[:57] + "…"
    raise InputError(
        f"invalid {kind} name {shown!r}: {_why(name)}",
        expected=_EXPECTED,
        hint=_HINT[kind],
    )


def _why(name: object) -> str:
    if not isinstance(name, str):
        return f"a name is text, not {type(name).__name__}"
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"it is {len(name)} characters long"
    if "@" in name:
        return "'@' separates a name from its version (NAME@v2)"
    if "/" in name or "\\" in name:
        return "a name cannot hold a path"
    bad = next((ch for ch in name if ch not in _ALLOWED), None)
    if bad is not None:
        return f"{bad!r} is not allowed"
    return "it must start with a letter or digit"


def to_name(text: str, *, fallback: str, fill: str = "_") -> str:
    """A valid name made from free text, for defaults (a file's stem, a target column): each
    character a name cannot hold becomes ``fill``, leading and trailing ``_ . -`` go, and it is
    cut at 200 characters; ``fallback`` when nothing is left.

    Examples
    --------
    >>> to_name("Größe (run 1)", fallback="dataset")
    'Gr__e__run_1'
    >>> to_name("[%]", fallback="model")
    'model'
    """
    cleaned = "".join(ch if ch in _ALLOWED else fill for ch in text).strip("_.-")
    return cleaned[:MAX_NAME_LENGTH] or fallback

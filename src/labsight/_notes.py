"""Warnings a caller collects for itself: a server answering many requests at once must give
each answer its own warnings, which ``warnings.catch_warnings`` cannot do (it swaps process-wide
state, so concurrent requests took, lost or doubled each other's). A call that wants its warnings
in words runs in :func:`collecting`; :func:`warn` then adds to that call's list (a context
variable: per thread, per asyncio task), and otherwise warns through :mod:`warnings` as any
library does."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from labsight.exceptions import LabsightWarning

__all__ = ["collecting", "warn"]

_SINK: ContextVar[list[str] | None] = ContextVar("labsight_warnings", default=None)


@contextmanager
def collecting() -> Iterator[list[str]]:
    """The :class:`~labsight.exceptions.LabsightWarning` messages of the code run inside, in
    order, for this call alone.

    Examples
    --------
    >>> with collecting() as notes:
    ...     warn("column 'T' has no unit")
    >>> notes
    ["column 'T' has no unit"]
    """
    notes: list[str] = []
    token = _SINK.set(notes)
    try:
        yield notes
    finally:
        _SINK.reset(token)


def warn(message: str, *, stacklevel: int = 2) -> None:
    """A :class:`~labsight.exceptions.LabsightWarning`: into the list of the :func:`collecting`
    call this code runs in, else through :mod:`warnings`."""
    sink = _SINK.get()
    if sink is not None:
        sink.append(message)
        return
    warnings.warn(message, LabsightWarning, stacklevel=stacklevel + 1)

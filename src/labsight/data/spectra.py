"""Spectra in a table: at least 50 numeric columns named by numbers (wavelengths, wavenumbers,
``1050`` or ``1050 [nm]``) are one spectrum per row, its channels in the order of their numbers.
Exploring draws them as one thing; cleaning can smooth, differentiate, normalise them."""

from __future__ import annotations

import re

from labsight.data.table import Table, is_number

__all__ = ["MIN_CHANNELS", "channel_position", "spectral_columns"]

MIN_CHANNELS = 50
_NUMBER_NAME = re.compile(
    r"^\s*([-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?)\s*(?:\[[^\]]*\]|\([^)]*\)|nm|cm-1|1/cm|um)?\s*$"
)


def channel_position(name: str) -> float | None:
    """The number a column is named by (``"1050"``, ``"1050.5 [nm]"``), or None."""
    m = _NUMBER_NAME.match(name)
    return float(m.group(1).replace(",", ".")) if m else None


def spectral_columns(table: Table) -> list[str]:
    """The numeric columns named by numbers, in axis order, when there are at least 50 of them.

    Examples
    --------
    >>> import polars as pl
    >>> t = Table.from_frame(pl.DataFrame({str(400 + 2 * i): [0.1, 0.2] for i in range(60)}))
    >>> len(spectral_columns(t)), spectral_columns(t)[:2]
    (60, ['400', '402'])
    """
    found = []
    for c in table.columns:
        if c.role in ("id", "time", "group", "target") or not is_number(table.schema[c.name]):
            continue
        pos = channel_position(c.name)
        if pos is not None:
            found.append((pos, c.name))
    if len(found) < MIN_CHANNELS:
        return []
    return [name for _, name in sorted(found)]

"""Spectra in a table: at least 50 numeric columns named by numbers (wavelengths, wavenumbers,
``1050`` or ``1050 [nm]``) are one spectrum per row, its channels in the order of their numbers.
Exploring draws them as one thing; cleaning can smooth, differentiate, normalise them."""

from __future__ import annotations

import itertools
import re

from labsight.data.table import Table, is_number

__all__ = ["MIN_CHANNELS", "bands", "channel_position", "spectral_columns"]

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


def bands(channels: list[str] | tuple[str, ...], most: int = 30) -> dict[str, list[str]]:
    """The spectrum's channels cut into at most ``most`` contiguous bands of about equal width (at
    least 5 channels each), named by their first and last positions.

    A single channel of a spectrum carries almost nothing on its own (its neighbours say the same),
    so what a model reads from a spectrum is measured band by band.

    Examples
    --------
    >>> b = bands([str(400 + 2 * i) for i in range(60)], most=4)
    >>> list(b), [len(v) for v in b.values()]
    (['400–428', '430–458', '460–488', '490–518'], [15, 15, 15, 15])
    """
    count = max(1, min(most, len(channels) // 5))
    cuts = [round(k * len(channels) / count) for k in range(count + 1)]
    out: dict[str, list[str]] = {}
    for start, stop in itertools.pairwise(cuts):
        part = list(channels[start:stop])
        first, last = channel_position(part[0]), channel_position(part[-1])
        out[f"{_number(first)}–{_number(last)}"] = part
    return out


def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"

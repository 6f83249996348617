"""Parsing units as humans write them, in headers and in cells, and converting values between them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from labsight.data.units._registry import registry
from labsight.exceptions import InputError, UnitError

if TYPE_CHECKING:  # pint is imported with the registry, when a unit is first parsed
    import pint

__all__ = [
    "convert",
    "is_compatible",
    "parse_unit",
    "preferred_unit",
    "rename_unit_in_header",
    "split_header",
    "split_value_unit",
]

# Spellings pint does not read (or reads wrongly) rewritten before parsing. Order matters.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[µμ]"), "u"),
    (re.compile(r"°\s*C\b"), "degC"),
    (re.compile(r"°\s*F\b"), "degF"),
    (re.compile(r"\bdeg(?:rees?)?\s+C\b"), "degC"),
    (re.compile(r"\bdeg(?:rees?)?\s+F\b"), "degF"),
    (re.compile(r"\b(mol|wt|vol)\s*%"), r"\1_percent"),
    (re.compile(r"·"), "*"),
)
# Tokens of pint's short form rewritten so that output is ASCII and lab-conventional.
_TOKEN_OUT = {"°C": "degC", "°F": "degF", "Δ°C": "delta_degC", "Δ°F": "delta_degF"}
_LITER = re.compile(r"^([a-zµ]?)l$")
_TOKEN_SPLIT = re.compile(r"(\s+|\*\*|\*|/|\(|\)|\^)")
_STRAY_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")

# Units that pint knows but that, inside a header's brackets, almost always mean something else.
_NOT_HEADER_UNITS = frozenset(
    {"pH", "pKa", "n", "N", "no", "No", "ID", "id", "a.u.", "au", "-", "x"}
)
_SINGLE_LETTER_UNITS = frozenset("KMLlgshmVWJ%")
_ATOM = re.compile(r"[A-Za-z_µμ°%]+")
_HEADER = re.compile(r"^(?P<name>.*?)\s*(?:\[(?P<sq>[^\[\]]*)\]|\((?P<rd>[^()]*)\))\s*$", re.DOTALL)

_NUMBER = r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?"
_VALUE_UNIT = rf"^\s*({_NUMBER})\s*([^\d\s.,+\-][^\d]*?)\s*$"


def _format(unit: pint.Unit) -> str:
    text = f"{unit:~}"
    out = []
    for token in _TOKEN_SPLIT.split(text):
        token = _TOKEN_OUT.get(token, token)
        liter = _LITER.match(token)
        if liter:
            token = f"{liter.group(1)}L"
        out.append(token.replace("µ", "u"))
    return "".join(out)


def _to_unit(text: str) -> pint.Unit:
    """Parse ``text`` into a pint unit, raising :class:`UnitError` with a hint when it fails."""
    cleaned = text.strip()
    for pattern, replacement in _REWRITES:
        cleaned = pattern.sub(replacement, cleaned)
    hint = (
        "Write the unit as pint spells it (e.g. 'degC', 'mol/L', 'mL/min', 'h', '%'), "
        "or add it to labsight's lab_units.txt"
    )
    if not cleaned or _STRAY_DOT.search(cleaned):
        raise UnitError(
            f"unknown unit {text!r}", expected="a unit such as 'degC' or 'mol/L'", hint=hint
        )
    ureg = registry()
    import pint

    try:
        unit = ureg.Unit(cleaned)
    except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError) as exc:
        raise UnitError(
            f"unknown unit {text!r}", expected="a unit such as 'degC' or 'mol/L'", hint=hint
        ) from exc
    return unit


def parse_unit(text: str) -> str:
    """Normalise a unit written by a human into labsight's canonical short string.

    Parameters
    ----------
    text
        The unit as written: ``"°C"``, ``"deg C"``, ``"mol/L"``, ``"µL"``, ``"mol%"`` ...

    Returns
    -------
    str
        pint's short form with ASCII spellings (``"degC"``, ``"mol / L"``, ``"uL"``, ``"%"``).
        Parsing the result again gives the same string.

    Raises
    ------
    UnitError
        When the text is not a unit the registry knows.

    Examples
    --------
    >>> parse_unit("°C"), parse_unit("mol/L"), parse_unit("µL"), parse_unit("%")
    ('degC', 'mol / L', 'uL', '%')
    """
    return _format(_to_unit(text))


def is_compatible(a: str, b: str) -> bool:
    """Whether values in unit ``a`` can be converted to unit ``b``.

    Examples
    --------
    >>> is_compatible("min", "h"), is_compatible("degC", "bar")
    (True, False)
    """
    try:
        return bool(_to_unit(a).dimensionality == _to_unit(b).dimensionality)
    except UnitError:
        return False


def convert(values: npt.ArrayLike, from_unit: str, to_unit: str) -> npt.NDArray[np.float64]:
    """Convert numbers from one unit to another.

    Parameters
    ----------
    values
        Numbers (anything ``numpy.asarray`` takes); NaN stays NaN.
    from_unit, to_unit
        Units as :func:`parse_unit` reads them.

    Returns
    -------
    numpy.ndarray
        A new float64 array.

    Raises
    ------
    UnitError
        When either unit is unknown or the two are not of the same dimension.

    Examples
    --------
    >>> convert([90.0, 30.0], "min", "h").tolist()
    [1.5, 0.5]
    >>> convert([25.0], "degC", "K").tolist()
    [298.15]
    """
    array = np.array(values, dtype=np.float64)
    source, target = _to_unit(from_unit), _to_unit(to_unit)
    if source == target:
        return array
    import pint

    try:
        result = registry().Quantity(array, source).to(target).magnitude
    except pint.errors.DimensionalityError as exc:
        raise UnitError(
            f"cannot convert from {_format(source)!r} to {_format(target)!r}",
            expected=f"a unit of the same dimension as {_format(target)!r} ({target.dimensionality})",
            got=f"{_format(source)!r} ({source.dimensionality})",
        ) from exc
    return np.asarray(result, dtype=np.float64)


_PREFERRED: tuple[tuple[str, str], ...] = (
    ("degC", "degC"),
    ("s", "s"),
    ("g", "g"),
    ("mL", "mL"),
    ("mol", "mol"),
    ("mol / L", "mol / L"),
    ("g / L", "g / L"),
    ("bar", "bar"),
    ("m", "m"),
    ("mL / min", "mL / min"),
)


def preferred_unit(unit: str) -> str:
    """The lab-canonical unit of ``unit``'s dimension.

    Temperature → ``degC``, time → ``s``, mass → ``g``, volume → ``mL``, amount → ``mol``,
    concentration → ``mol / L``, mass concentration → ``g / L``, pressure → ``bar``,
    length → ``m``, volume flow → ``mL / min``; anything else (``%``, ``rpm``) stays as it is.

    Examples
    --------
    >>> preferred_unit("K"), preferred_unit("h"), preferred_unit("mM"), preferred_unit("%")
    ('degC', 's', 'mol / L', '%')
    """
    parsed = _to_unit(unit)
    dims = parsed.dimensionality
    if dims:
        for probe, preferred in _PREFERRED:
            if _to_unit(probe).dimensionality == dims:
                return preferred
    return _format(parsed)


def split_header(header: str) -> tuple[str, str | None]:
    """Split a column header into its name and its unit, when it ends with one in brackets.

    Never raises: a bracket that does not hold a unit (``"ratio (A/B)"``, ``"sample (n)"``) is part
    of the name, and the whole header comes back with ``None``.

    Examples
    --------
    >>> split_header("temperature [degC]"), split_header("temperature (°C)")
    (('temperature', 'degC'), ('temperature', 'degC'))
    >>> split_header("conc [mol/L]"), split_header("ratio (A/B)")
    (('conc', 'mol / L'), ('ratio (A/B)', None))
    """
    match = _HEADER.match(header)
    if match is None:
        return header, None
    raw = match.group("sq") if match.group("sq") is not None else match.group("rd")
    raw = raw.strip()
    if not raw or raw in _NOT_HEADER_UNITS:
        return header, None
    for atom in _ATOM.findall(raw):
        if len(atom) == 1 and atom not in _SINGLE_LETTER_UNITS:
            return header, None
    try:
        unit = parse_unit(raw)
    except UnitError:
        return header, None
    name = match.group("name").strip()
    return (name or header), unit


def match_column(name: str, headers: Mapping[str, str] | Sequence[str]) -> str | None:
    """The column for ``name``: the header ``name`` exactly, else the one header whose name without
    its unit is ``name``'s without its unit (case and spacing aside): ``temperature [degC]`` for
    ``temperature`` or ``temperature [K]``. ``None`` when no header matches. The one matcher of
    predict (model features) and campaign results (parameters and objectives); each converts the
    units it finds, or refuses those of another dimension, itself.

    ``headers`` may map spellings to the header they stand for (a template header as it was before
    a spreadsheet escaped it).

    Raises
    ------
    InputError
        When several headers match ``name`` by their name without the unit.

    Examples
    --------
    >>> match_column("temperature [K]", ["run", "temperature [degC]"])
    'temperature [degC]'
    >>> match_column("time", ["time [min]", "yield"]), match_column("pressure", ["yield"])
    ('time [min]', None)
    """
    spelled = dict(headers) if isinstance(headers, Mapping) else {h: h for h in headers}
    if name in spelled:
        return spelled[name]
    key = split_header(name)[0].strip().lower()
    found = sorted(
        {h for text, h in spelled.items() if split_header(text)[0].strip().lower() == key}
    )
    if len(found) > 1:
        raise InputError(
            f"{len(found)} columns could be {name!r}: {', '.join(repr(h) for h in found)}",
            hint=f"Keep one of them, or rename the one meant to {name!r}",
        )
    return found[0] if found else None


def rename_unit_in_header(header: str, new_unit: str) -> str:
    """Replace the unit in a header, keeping its bracket style (adds ``" [unit]"`` if it had none).

    Examples
    --------
    >>> rename_unit_in_header("time [min]", "s"), rename_unit_in_header("T (°C)", "K")
    ('time [s]', 'T (K)')
    >>> rename_unit_in_header("time", "s")
    'time [s]'
    """
    name, unit = split_header(header)
    if unit is None:
        return f"{header} [{new_unit}]"
    match = _HEADER.match(header)
    assert match is not None  # split_header found a unit, so the pattern matched
    if match.group("sq") is not None:
        return f"{name} [{new_unit}]"
    return f"{name} ({new_unit})"


def split_value_unit(strings: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Split cells like ``"90 min"`` or ``"-4 °C"`` into a number and the unit as written.

    Vectorised with polars' regex extraction. A decimal comma (``"1,5 h"``) is read as a decimal
    point. Cells that are not a number followed by a unit give null in both outputs.

    Parameters
    ----------
    strings
        A String series.

    Returns
    -------
    tuple of polars.Series
        The numbers (Float64) and the units as written (String, not normalised).

    Examples
    --------
    >>> values, units = split_value_unit(pl.Series(["90 min", "2 h", "x", "1.5e3 µL"]))
    >>> values.to_list(), units.to_list()
    ([90.0, 2.0, None, 1500.0], ['min', 'h', None, 'µL'])
    """
    text = strings.cast(pl.String)
    number = text.str.extract(_VALUE_UNIT, 1)
    unit = text.str.extract(_VALUE_UNIT, 2)
    values = number.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    unit = pl.select(pl.when(values.is_not_null()).then(unit).otherwise(None)).to_series()
    values = pl.select(pl.when(unit.is_not_null()).then(values).otherwise(None)).to_series()
    return values.alias(strings.name), unit.alias(strings.name)

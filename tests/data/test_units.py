"""Units: parsing as humans write them, headers, conversion, the canonical unit of each dimension."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labsight.data.units as units
from labsight.data.units import (
    convert,
    is_compatible,
    parse_unit,
    preferred_unit,
    rename_unit_in_header,
    split_header,
    split_value_unit,
    ureg,
)
from labsight.exceptions import UnitError


def test_public_namespace() -> None:
    assert set(units.__all__) == {
        "convert",
        "is_compatible",
        "match_column",
        "parse_unit",
        "preferred_unit",
        "rename_unit_in_header",
        "split_header",
        "split_value_unit",
        "ureg",
    }


def test_one_registry_with_offset_autoconversion() -> None:
    assert ureg is units.ureg
    assert ureg.autoconvert_offset_to_baseunit is True
    assert ureg.Quantity(1, "equiv").to("dimensionless").magnitude == 1


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("°C", "degC"),
        ("degC", "degC"),
        ("deg C", "degC"),
        ("celsius", "degC"),
        ("%", "%"),
        ("mol/L", "mol / L"),
        ("M", "M"),
        ("µL", "uL"),
        ("μL", "uL"),
        ("uL", "uL"),
        ("mL/min", "mL / min"),
        ("h", "h"),
        ("min", "min"),
        ("s", "s"),
        ("bar", "bar"),
        ("K", "K"),
        ("g/L", "g / L"),
        ("mg/mL", "mg / mL"),
        ("rpm", "rpm"),
        ("ppm", "ppm"),
        ("mol%", "mol%"),
        ("wt%", "wt%"),
        ("equiv", "eq"),
        ("eq", "eq"),
    ],
)
def test_parse_unit_normalises(written: str, expected: str) -> None:
    assert parse_unit(written) == expected
    assert parse_unit(expected) == expected  # idempotent


@pytest.mark.parametrize("bad", ["bananas", "a.u.", "", "zorg"])
def test_parse_unit_rejects_unknown_with_hint(bad: str) -> None:
    with pytest.raises(UnitError, match=r"unknown unit .*lab_units\.txt"):
        parse_unit(bad)


def test_capital_c_is_coulomb_not_celsius() -> None:
    assert not is_compatible("C", "degC")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("temperature [degC]", ("temperature", "degC")),
        ("temperature (°C)", ("temperature", "degC")),
        ("yield [%]", ("yield", "%")),
        ("conc [mol/L]", ("conc", "mol / L")),
        ("flow (mL/min)", ("flow", "mL / min")),
        ("ratio (A/B)", ("ratio (A/B)", None)),
        ("sample (n)", ("sample (n)", None)),
        ("name", ("name", None)),
        ("acidity (pH)", ("acidity (pH)", None)),
        ("absorbance (a.u.)", ("absorbance (a.u.)", None)),
        ("weird [", ("weird [", None)),
    ],
)
def test_split_header(header: str, expected: tuple[str, str | None]) -> None:
    assert split_header(header) == expected


@pytest.mark.parametrize(
    ("values", "source", "target", "expected"),
    [
        ([90.0, 30.0], "min", "h", [1.5, 0.5]),
        ([25.0], "degC", "K", [298.15]),
        ([1.0], "M", "mmol/L", [1000.0]),
        ([50.0], "%", "dimensionless", [0.5]),
        ([5.0], "mol%", "%", [5.0]),
        ([1500.0], "µL", "mL", [1.5]),
        ([2.0], "bar", "Pa", [200000.0]),
    ],
)
def test_convert(values: list[float], source: str, target: str, expected: list[float]) -> None:
    np.testing.assert_allclose(convert(values, source, target), expected)


def test_convert_keeps_nan_and_returns_float64() -> None:
    out = convert(np.array([1, np.nan]), "h", "min")
    assert out.dtype == np.float64
    assert out[0] == 60.0
    assert math.isnan(out[1])


def test_convert_incompatible_names_both_units() -> None:
    with pytest.raises(UnitError, match=r"cannot convert from 'degC' to 'bar'"):
        convert([1.0], "degC", "bar")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("min", "h", True),
        ("degC", "K", True),
        ("mL", "L", True),
        ("degC", "bar", False),
        ("x", "s", False),
    ],
)
def test_is_compatible(a: str, b: str, expected: bool) -> None:
    assert is_compatible(a, b) is expected


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("K", "degC"),
        ("degF", "degC"),
        ("h", "s"),
        ("kg", "g"),
        ("L", "mL"),
        ("mmol", "mol"),
        ("mM", "mol / L"),
        ("mg/mL", "g / L"),
        ("Pa", "bar"),
        ("mm", "m"),
        ("L/h", "mL / min"),
        ("%", "%"),
        ("rpm", "rpm"),
    ],
)
def test_preferred_unit(unit: str, expected: str) -> None:
    assert preferred_unit(unit) == expected


@pytest.mark.parametrize(
    ("header", "unit", "expected"),
    [
        ("time [min]", "s", "time [s]"),
        ("temperature (°C)", "K", "temperature (K)"),
        ("time", "s", "time [s]"),
        ("ratio (A/B)", "%", "ratio (A/B) [%]"),
    ],
)
def test_rename_unit_in_header(header: str, unit: str, expected: str) -> None:
    assert rename_unit_in_header(header, unit) == expected


def test_split_value_unit() -> None:
    cells = pl.Series(
        "t", ["90 min", "2 h", "3600 s", "1.5e3 µL", "-4 °C", "x", None, "12", "1,5 h"]
    )
    values, unit = split_value_unit(cells)
    assert values.dtype == pl.Float64
    assert unit.dtype == pl.String
    assert values.to_list() == [90.0, 2.0, 3600.0, 1500.0, -4.0, None, None, None, 1.5]
    assert unit.to_list() == ["min", "h", "s", "µL", "°C", None, None, None, "h"]


_PAIRS = [("min", "h"), ("degC", "K"), ("degC", "degF"), ("mL", "uL"), ("bar", "Pa"), ("M", "mM")]


@settings(max_examples=60, deadline=None)
@given(
    value=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    pair=st.sampled_from(_PAIRS),
)
def test_convert_round_trip(value: float, pair: tuple[str, str]) -> None:
    a, b = pair
    back = convert(convert([value], a, b), b, a)[0]
    assert back == pytest.approx(value, rel=1e-9, abs=1e-9)

"""Property: a table written as any CSV variant reads back with the same values and units."""

from __future__ import annotations

import gzip
import math
import tempfile
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from labsight.data.ingest import read_table
from labsight.data.units import split_header

NUMERIC_HEADERS = [
    "temperature [degC]",
    "time (min)",
    "yield [%]",
    "conc [mol/L]",
    "flow [mL/min]",
    "x",
]
TEXT_HEADERS = ["name", "note", "catalyst"]
LETTERS = "abcdefghijkmnopqrstuvwxyzé"


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[str], list[list[object]]]:
    n_rows = draw(st.integers(min_value=1, max_value=8))
    kinds = draw(st.lists(st.sampled_from(["float", "int", "text"]), min_size=2, max_size=5))
    numeric = iter(draw(st.permutations(NUMERIC_HEADERS)))
    text = iter(draw(st.permutations(TEXT_HEADERS)))
    headers: list[str] = []
    columns: list[list[object]] = []
    for kind in kinds:
        if kind == "text":
            header = next(text, None)
            cell: st.SearchStrategy[object] = st.text(LETTERS, min_size=1, max_size=6).map(
                lambda s: "s" + s
            )
        else:
            header = next(numeric, None)
            cell = (
                st.integers(-10_000, 10_000).map(lambda i: i / 1000)
                if kind == "float"
                else st.integers(-10_000, 10_000)
            )
        if header is None:
            continue
        headers.append(header)
        columns.append(draw(st.lists(st.one_of(st.none(), cell), min_size=n_rows, max_size=n_rows)))
    if len(headers) < 2:
        headers, columns = ["name", "x"], [["sa"] * n_rows, [1] * n_rows]
    kinds_out = ["text" if h in TEXT_HEADERS else "num" for h in headers]
    return headers, kinds_out, columns


def render(value: object, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.3f}"
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


VARIANTS = st.fixed_dictionaries(
    {
        "delimiter": st.sampled_from([",", ";", "\t", "|"]),
        "decimal_comma": st.booleans(),
        "encoding": st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
        "gzip": st.booleans(),
        "preamble": st.booleans(),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), variant=VARIANTS)
def test_csv_variants_round_trip(
    table: tuple[list[str], list[str], list[list[object]]], variant: dict[str, object]
) -> None:
    headers, kinds, columns = table
    delimiter = str(variant["delimiter"])
    decimal_comma = bool(variant["decimal_comma"]) and delimiter != ","
    lines = []
    if variant["preamble"]:
        lines += ["Instrument: HPLC-2", "Operator: J. Doe", ""]
    lines.append(delimiter.join(headers))
    n_rows = len(columns[0])
    for row in range(n_rows):
        lines.append(delimiter.join(render(col[row], decimal_comma) for col in columns))
    data = ("\n".join(lines) + "\n").encode(str(variant["encoding"]))
    name = "t.csv.gz" if variant["gzip"] else "t.csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(gzip.compress(data) if variant["gzip"] else data)
        result = read_table(path, on_issue="raise")
    assert result.frame.columns == headers
    assert result.height == n_rows
    for header, kind, expected in zip(headers, kinds, columns, strict=True):
        got = result.frame[header].to_list()
        if kind == "text":
            assert got == expected
            continue
        for a, b in zip(got, expected, strict=True):
            if b is None:
                assert a is None
            else:
                assert a is not None
                assert math.isclose(float(a), float(b), abs_tol=1e-9)  # type: ignore[arg-type]
        assert result.column(header).unit == split_header(header)[1]

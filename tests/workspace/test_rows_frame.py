"""Rows sent as JSON objects (the server's predict body) become one frame whichever way polars
reads them: from the dicts (a few rows) or column by column (many)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from labsight.workspace.models import _rows_frame

ROWS: list[list[dict[str, Any]]] = [
    [{"T [degC]": 80, "cat": "Pd", "t": 1.5}, {"T [degC]": 85.5, "cat": None, "t": 2}],
    [{"a": 1, "b": "x"}, {"a": "2", "b": 3}],  # numbers and text in one column: text
    [{"a": None, "b": 1}, {"a": None, "b": None}],  # a column with no value at all
    [{"a": True, "b": 1.0}, {"a": False, "b": float("nan")}],
    [{"a": 1}, {"b": 2.5, "a": 3}, {"c": "z"}],  # columns missing from some rows, in any order
    [{"x": 1}],
    [{"a": 1, "b": 2}, {"a": 3, "c": 4}],  # as many columns, one of them another
    [{"a": 1, "b": 2}, {"b": 3, "a": 4}],  # the same columns in another order
]


@pytest.mark.parametrize("rows", ROWS)
def test_few_rows_and_many_read_as_the_same_frame(rows: list[dict[str, Any]]) -> None:
    from_dicts = _rows_frame(rows, as_dicts=len(rows))
    by_column = _rows_frame(rows, as_dicts=0)
    assert from_dicts.schema == by_column.schema
    assert from_dicts.equals(by_column)
    assert from_dicts.height == len(rows)


def test_mixed_rows_keep_every_column_in_first_seen_order() -> None:
    frame = _rows_frame([{"a": 1}, {"b": 2.5, "a": 3}, {"c": "z"}], as_dicts=0)
    assert frame.columns == ["a", "b", "c"]
    assert frame["b"].to_list() == [None, 2.5, None]
    assert frame.schema["a"] == pl.Int64


def test_a_row_with_another_column_in_place_of_one_keeps_both() -> None:
    frame = _rows_frame([{"a": 1, "b": 2}, {"a": 3, "c": 4}], as_dicts=0)
    assert frame.columns == ["a", "b", "c"]
    assert frame.rows() == [(1, 2, None), (3, None, 4)]

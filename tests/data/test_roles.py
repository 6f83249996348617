"""Inferring column roles."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from labsight.data.roles import infer_roles
from labsight.data.table import ColumnInfo, Role
from labsight.exceptions import InputError


def roles_of(
    frame: pl.DataFrame, units: dict[str, str] | None = None, **kw: object
) -> dict[str, Role]:
    kinds = {
        pl.Float64: "float",
        pl.Int64: "int",
        pl.String: "string",
        pl.Boolean: "bool",
        pl.Date: "date",
    }
    cols = [
        ColumnInfo(name, kinds[frame.schema[name].base_type()], (units or {}).get(name))  # type: ignore[index]
        for name in frame.columns
    ]
    return {c.name: c.role for c in infer_roles(frame, cols, **kw)}  # type: ignore[arg-type]


FRAME = pl.DataFrame(
    {
        "sample_id": ["S1", "S2", "S3", "S4", "S5", "S6"],
        "replicate": [1, 2, 1, 2, 1, 2],
        "catalyst": ["Pd", "Pd", "Ni", "Ni", "Pd", "Ni"],
        "time [min]": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
        "date": [date(2024, 3, d) for d in range(1, 7)],
        "conversion [%]": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "yield [%]": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
)


def test_inferred_roles() -> None:
    assert roles_of(FRAME) == {
        "sample_id": "id",
        "replicate": "group",
        "catalyst": "condition",
        "time [min]": "feature",
        "date": "time",
        "conversion [%]": "feature",  # only the last target-like column is the target
        "yield [%]": "target",
    }


def test_overrides_win() -> None:
    roles = roles_of(FRAME, overrides={"conversion [%]": "target", "catalyst": "feature"})
    assert roles["conversion [%]"] == "target"
    assert roles["yield [%]"] == "feature"
    assert roles["catalyst"] == "feature"


def test_override_of_missing_column_lists_columns() -> None:
    with pytest.raises(InputError, match=r"no such column.*'sample_id', 'replicate'"):
        roles_of(FRAME, overrides={"nope": "target"})


def test_override_with_unknown_role() -> None:
    with pytest.raises(InputError, match=r"unknown role 'label'"):
        roles_of(FRAME, overrides={"catalyst": "label"})


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("y", "target"),
        ("purity", "target"),
        ("Titer (g/L)", "target"),
        ("layer", "feature"),
        ("yieldx", "feature"),
    ],
)
def test_target_names_match_words(name: str, role: Role) -> None:
    frame = pl.DataFrame({name: [1.5, 2.5, 3.5]})
    assert roles_of(frame)[name] == role


def test_all_unique_strings_are_ids() -> None:
    frame = pl.DataFrame({"label": ["a", "b", "c", "d"], "x": [1.0, 2.0, 3.0, 4.0]})
    assert roles_of(frame) == {"label": "id", "x": "feature"}


def test_integer_run_column_is_id() -> None:
    frame = pl.DataFrame({"run": [1, 2, 3], "x": [1.0, 2.0, 3.0]})
    assert roles_of(frame)["run"] == "id"

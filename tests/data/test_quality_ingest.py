"""Quality and cleaning on tables read by ingest, and speed on a million rows."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from labsight.data import ingest
from labsight.data.clean import apply_plan, build_plan
from labsight.data.quality import check_table
from labsight.data.table import ColumnInfo, Table


@pytest.fixture
def reactions(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    lines = ["run,catalyst,temperature [degC],time [min],yield [%]"]
    for i in range(40):
        catalyst = "pd(oac)2 " if i == 7 else ["Pd(OAc)2", "CuI"][i % 2]
        temperature = "n/a?" if i == 13 else f"{rng.normal(80, 3):.1f}"
        yield_ = "104.5" if i == 11 else f"{rng.uniform(20, 90):.1f}"
        lines.append(f"{i + 1},{catalyst},{temperature},{[30, 60, 90][i % 3]},{yield_}")
    path = tmp_path / "reactions.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_report_on_an_ingested_file(reactions: Path) -> None:
    table = ingest.read_table(reactions, on_issue="ignore")
    report = check_table(table)
    found = {(f.check, f.column): f.rows for f in report.findings}
    assert found == {
        ("invalid_value", "temperature [degC]"): [13],
        ("physical_limit", "yield [%]"): [11],
        ("label_inconsistency", "catalyst"): [7],
        ("missing", "temperature [degC]"): [13],
    }
    assert not report.ok
    label = report.by_check("label_inconsistency")[0]
    assert "row 7 (file line 9)" in label.message


def test_clean_an_ingested_file(reactions: Path) -> None:
    table = ingest.read_table(reactions, on_issue="ignore")
    plan = build_plan(table, labels="normalize", units="canonical", impute="median")
    out = apply_plan(table, plan).table
    assert out.frame.columns == ["run", "catalyst", "temperature [degC]", "time [s]", "yield [%]"]
    assert out.frame["time [s]"][:3].to_list() == [1800.0, 3600.0, 5400.0]
    assert out.frame["catalyst"][7] == "Pd(OAc)2"
    assert out.frame["catalyst"].n_unique() == 2
    assert out.frame["temperature [degC]"].null_count() == 0


def test_a_million_rows_by_twenty_columns_is_fast() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    data = {f"x{i}": rng.normal(size=n) for i in range(16)}
    data["c"] = rng.lognormal(size=n)
    data["k"] = rng.poisson(20, n)
    data["op"] = rng.choice(["a", "b", "c"], n)
    data["y"] = rng.normal(size=n)
    frame = pl.DataFrame(data)
    roles = {"op": "condition", "y": "target"}
    dtypes = {"op": "string", "k": "int"}
    columns = [ColumnInfo(c, dtypes.get(c, "float"), None, roles.get(c, "feature")) for c in data]  # type: ignore[arg-type]
    start = time.perf_counter()
    report = check_table(Table(frame, columns))
    elapsed = time.perf_counter() - start
    assert report.findings == []
    assert elapsed < 20, f"check_table took {elapsed:.1f} s on 1M x 20"

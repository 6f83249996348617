"""Regressions of issue #15 (trust in quality and ingest): codes for missing values such as 0 or
-999, replicate-number columns, a JSON object that is not a table, and which sheet of a workbook
was read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
import pytest

from labsight import example_path
from labsight.data.clean import CleaningPlan, apply_plan, build_plan
from labsight.data.ingest import read_table
from labsight.data.quality import check_table
from labsight.data.table import Table
from labsight.exceptions import LabsightWarning

CliRun = Callable[..., tuple[int, str, str]]  # the `run` fixture of tests/conftest.py

# --- sentinels -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Table:
    return read_table(example_path("chem_proc_yield"), on_issue="ignore")


def _zero_rows(table: Table, name: str) -> list[int]:
    return [int(r) for r in np.flatnonzero((table.frame[name] == 0).fill_null(False).to_numpy())]


def test_sentinel_check_finds_the_demo_zeros_with_their_rows(demo: Table) -> None:
    found = {f.column: f for f in check_table(demo).by_check("sentinel")}
    for name in ("man_proc_01", "man_proc_02", "man_proc_28", "man_proc_42", "man_proc_16"):
        assert found[name].rows == _zero_rows(demo, name)
        assert found[name].details["values"] == [0.0]
    assert len(found["man_proc_02"].rows) == 35
    assert "--sentinels missing" in found["man_proc_02"].suggestion
    # 0 among counts 0, 1, 2 … (man_proc_22) or as most of a column (man_proc_12) is a value
    assert "man_proc_22" not in found
    assert "man_proc_12" not in found
    json.dumps([f.to_dict() for f in found.values()], allow_nan=False)


def test_minus_999_in_a_measured_column_is_a_sentinel_not_an_outlier() -> None:
    x = np.random.default_rng(4).normal(50.0, 5.0, 200)
    x[[3, 17, 40]] = -999.0
    table = Table.from_frame(pl.DataFrame({"conc [mM]": x}))
    report = check_table(table)
    [sentinel] = report.by_check("sentinel")
    assert (sentinel.column, sentinel.rows, sentinel.details["values"]) == (
        "conc [mM]",
        [3, 17, 40],
        [-999.0],
    )
    assert "-999" in sentinel.message
    assert report.by_check("outlier") == []


def test_demo_sentinels_are_not_reported_as_outliers(demo: Table) -> None:
    report = check_table(demo)
    codes = {f.column: set(f.rows) for f in report.by_check("sentinel")}
    outliers = {f.column: set(f.rows) for f in report.by_check("outlier")}
    assert "man_proc_02" not in outliers  # its 35 zeros were its "outliers"
    assert all(not (rows & codes.get(name, set())) for name, rows in outliers.items())


def _batches(demo: Table) -> tuple[Table, Table]:
    return Table(demo.frame[:120], demo.columns), Table(demo.frame[120:], demo.columns)


def test_clean_plan_treats_sentinels_as_missing_and_replays_them(demo: Table) -> None:
    first, second = _batches(demo)
    plan = build_plan(first, sentinels="missing", outliers="flag")
    assert [s.op for s in plan.steps] == ["sentinels", "outliers"]
    plan = CleaningPlan.from_yaml(plan.to_yaml())  # what a saved plan replays
    cleaned = apply_plan(first, plan).table.frame
    assert cleaned["man_proc_02"].null_count() == first.frame["man_proc_02"].null_count() + 35
    replay = apply_plan(second, plan)
    # man_proc_28 is 0 in 51 of the next batch's 56 rows: missing values, not 51 outliers
    assert replay.table.frame["man_proc_28"].drop_nulls().len() == 0
    flagged = {c["column"]: c["count"] for c in replay.changes if c["op"] == "outliers"}
    assert max(flagged.values()) < second.height // 4


def test_outlier_bounds_are_fitted_without_sentinels(demo: Table) -> None:
    first, second = _batches(demo)
    plan = build_plan(first, outliers="flag")
    bounds = plan.steps[0].params["bounds"]["man_proc_28"]
    assert bounds["lower"] > 5.0  # from 10.0 … 11.5, not from the zeros below
    replay = apply_plan(second, plan)
    flagged = {c["column"]: c["count"] for c in replay.changes if c["op"] == "outliers"}
    assert flagged["man_proc_28"] == 0  # its 51 zeros are codes, not outliers


def test_clean_sentinels_missing_from_the_command_line(run: CliRun) -> None:
    assert run("ingest", str(example_path("chem_proc_yield")), "--name", "demo")[0] == 0
    code, out, err = run("clean", "demo", "--sentinels", "missing", "--json")
    assert code == 0, err
    changes = {c["column"]: c for c in json.loads(out)["changes"] if c["op"] == "sentinels"}
    assert changes["man_proc_02"]["count"] == 35
    assert changes["man_proc_02"]["values"] == [0.0]


# --- replicate numbers ---------------------------------------------------------------------------


@pytest.fixture
def replicate_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(9)
    temps = np.repeat(np.arange(60.0, 100.0, 2.0), 3)
    y = temps / 2 + rng.normal(0, 0.5, temps.size)
    y[[0, 1, 2]] += [-6.0, 6.0, 0.0]
    path = tmp_path / "replicates.csv"
    pl.DataFrame(
        {
            "sample_id": [f"S{i:02d}" for i in range(temps.size)],
            "temperature [degC]": temps,
            "catalyst": np.where(temps > 80, "Pd", "Ni"),
            "replicate": np.tile([1, 2, 3], temps.size // 3),
            "yield [%]": y,
        }
    ).write_csv(path)
    return path


def test_replicate_number_column_groups_the_replicates(replicate_csv: Path) -> None:
    table = read_table(replicate_csv)
    [finding] = check_table(table, checks=["replicate_noise"]).findings
    assert finding.rows == [0, 1, 2]
    assert finding.details["by"] == ["temperature [degC]", "catalyst"]
    cleaned = apply_plan(table, build_plan(table, replicates="mean")).table
    assert cleaned.height == 20
    assert "replicate" not in cleaned.frame.columns
    assert cleaned.frame["n_replicates"].to_list() == [3] * 20


# --- a JSON object is not a table ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"instrument": "HPLC-2", "operator": "ann", "flow [mL/min]": 1.0}\n',
        '{\n  "instrument": "HPLC-2",\n  "settings": {"flow": 1.0}\n}\n',
    ],
    ids=["one line", "pretty-printed"],
)
def test_a_single_json_object_is_refused_as_holding_no_table(
    run: CliRun, tmp_path: Path, text: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text)
    code, out, err = run("ingest", str(path))
    assert code == 2
    assert err.count("\n") == 1
    assert "settings.json: the file holds no table: it is a single JSON object" in err
    assert "expected a table: JSON lines with one object per row" in err
    assert "'instrument'" in err
    assert "ingested" not in out


# --- which sheet was read ------------------------------------------------------------------------


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "campaign.xlsx"
    book = openpyxl.Workbook()
    runs = book.active
    assert runs is not None
    runs.title = "runs"
    runs.append(["run", "temperature [degC]", "yield [%]"])
    for i in range(4):
        runs.append([i + 1, 60.0 + 10 * i, 40.0 + i])
    calibration = book.create_sheet("calibration")
    calibration.append(["conc [mM]", "signal"])
    calibration.append([0.5, 0.1])
    book.create_sheet("notes").append(["checked by ann"])
    book.save(path)
    return path


def test_workbook_of_several_sheets_says_which_was_read(workbook: Path) -> None:
    table = read_table(workbook, on_issue="ignore")
    [note] = [f for f in table.findings if f.check == "sheet"]
    assert note.details == {"sheet": "runs", "sheets": ["runs", "calibration", "notes"]}
    assert "read the first, 'runs'; not read: 'calibration', 'notes'" in note.message
    with pytest.warns(LabsightWarning, match=r"campaign\.xlsx: .*read the first, 'runs'"):
        read_table(workbook)
    chosen = read_table(workbook, sheet="runs")
    assert [f for f in chosen.findings if f.check == "sheet"] == []


def test_ingest_of_a_workbook_prints_the_sheet_read(run: CliRun, workbook: Path) -> None:
    code, out, err = run("ingest", str(workbook))
    assert code == 0, err
    assert "read the first, 'runs'; not read: 'calibration', 'notes'" in " ".join(out.split())
    assert "--sheet" in out

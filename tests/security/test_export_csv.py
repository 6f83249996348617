"""CSV files written for people are safe to open in a spreadsheet: a text cell that would start a
formula gets a leading ``'``, numbers stay numbers, and JSON lines keep the exact text (issue #14,
item 8)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labsight
from labsight._display import spreadsheet_cell
from labsight.audit import render_export
from labsight.cli import main
from labsight.store.entities import AuditEntry

FormulaCells = Callable[[list[list[str]]], list[str]]
"""The ``formula_cells`` fixture of this folder's conftest."""

ACTOR = '=HYPERLINK("http://evil.example","click")'
REASONS = ["=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3", "\t=1+1", "\r=1+1"]


@pytest.fixture
def hostile(tmp_path: Path, yield_csv: Path) -> labsight.Workspace:
    """A workspace whose actor and reasons all start like spreadsheet formulas."""
    ws = labsight.Workspace(tmp_path / "home", user=ACTOR)
    ws.ingest(yield_csv, name="reactions", reason=REASONS[0])
    ws.ingest(yield_csv, name="copy", reason=REASONS[1])
    ws.clean("reactions", impute="median", reason=REASONS[2])
    ws.delete("copy", reason=REASONS[3])
    ws.ingest(yield_csv, name="tab", reason=REASONS[4])
    ws.ingest(yield_csv, name="cr", reason=REASONS[5])
    return ws


def test_the_audit_csv_escapes_every_cell_that_would_run_as_a_formula(
    hostile: labsight.Workspace, formula_cells: FormulaCells
) -> None:
    rows = list(csv.reader(io.StringIO(hostile.audit.export("csv"), newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == len(REASONS)
    assert formula_cells(body) == []
    actor, reason = header.index("actor"), header.index("reason")
    assert {row[actor] for row in body} == {"'" + ACTOR}
    assert [row[reason] for row in body] == [
        "'=1+1",
        "'@SUM(A1)",
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "\\t=1+1",  # a control character is shown as an escape, so it no longer leads
        "\\r=1+1",
    ]


def test_every_audit_csv_field_is_quoted(hostile: labsight.Workspace) -> None:
    lines = hostile.audit.export("csv").splitlines()
    assert lines[0].startswith("seq,created,actor")
    assert all(line.startswith('"') and line.endswith('"') for line in lines[1:])


def test_json_lines_keep_the_exact_text(hostile: labsight.Workspace) -> None:
    entries = [json.loads(line) for line in hostile.audit.export("jsonl").splitlines()]
    assert [e["reason"] for e in entries] == REASONS
    assert {e["actor"] for e in entries} == {ACTOR}
    assert hostile.audit.verify().ok


def _entry(**fields: object) -> AuditEntry:
    base: dict[str, object] = {
        "seq": 1,
        "created": "2024-05-01T10:00:00+00:00",
        "actor": "qa",
        "action": "model.stage",
        "object_type": "model",
        "object_id": "reactions-yield",
        "version": None,
        "old_value": None,
        "new_value": None,
        "reason": None,
        "inputs": [],
        "outputs": [],
        "details": {},
        "prev_hash": "0" * 64,
        "hash": "1" * 64,
    }
    return AuditEntry(**(base | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "cell"),
    [
        ("object_id", "=evil()", "'=evil()"),
        ("object_id", "@evil", "'@evil"),
        ("new_value", "-1.5", "-1.5"),
        ("new_value", "+2e-3", "+2e-3"),
        ("old_value", "-x", "'-x"),
        ("reason", "plain words, = inside", "plain words, = inside"),
        ("reason", "line one\nline two", "line one\\nline two"),
    ],
)
def test_names_and_values_are_escaped_unless_they_are_plain_numbers(
    field: str, value: str, cell: str
) -> None:
    (_, row) = csv.reader(io.StringIO(render_export([_entry(**{field: value})], "csv")))
    header = render_export([], "csv").strip().split(",")
    assert row[header.index(field)] == cell
    (exact,) = render_export([_entry(**{field: value})], "jsonl").splitlines()
    assert json.loads(exact)[field] == value


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("-2+3", "'-2+3"),
        ("-1.5", "-1.5"),
        ("-.5e3", "-.5e3"),
        ("-1\n", "'-1\n"),
        ("Pd-A", "Pd-A"),
        ("", ""),
    ],
)
def test_spreadsheet_cell(text: str, cell: str) -> None:
    assert spreadsheet_cell(text) == cell


def test_the_predictions_csv_escapes_text_and_keeps_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], formula_cells: FormulaCells
) -> None:
    rng = np.random.default_rng(0)
    t = rng.uniform(-20, 60, 40)
    pl.DataFrame({"T [degC]": t, "yield [%]": 0.5 * t + rng.normal(0, 1, 40)}).write_csv(
        tmp_path / "runs.csv"
    )
    home = str(tmp_path / "home")
    assert main(["--home", home, "ingest", str(tmp_path / "runs.csv"), "--name", "runs"]) == 0
    train = ["train", "runs", "--target", "yield [%]", "--families", "ridge", "--trials", "1"]
    assert main(["--home", home, *[*train, "--budget", "20", "--name", "m", "--json"]]) == 0
    new = tmp_path / "new.csv"
    pl.DataFrame({"T [degC]": [-1.5, 20.0, 30.0], "note": ["=1+1", "@SUM(A1)", "-2+3"]}).write_csv(
        new
    )
    preds = tmp_path / "preds.csv"
    assert main(["--home", home, "predict", "m", str(new), "--out", str(preds)]) == 0
    capsys.readouterr()
    rows = list(csv.reader(preds.open(newline="")))
    assert formula_cells(rows) == []
    assert [row[1] for row in rows[1:]] == ["'=1+1", "'@SUM(A1)", "'-2+3"]
    written = pl.read_csv(preds)
    assert written["T [degC]"].to_list() == [-1.5, 20.0, 30.0]
    assert written["prediction"].dtype == pl.Float64


def test_the_seals_in_the_csv_are_json(tmp_path: Path, yield_csv: Path) -> None:
    import csv
    import io
    import json as json_

    ws = labsight.Workspace(tmp_path / "home")
    ws.ingest(yield_csv, name="reactions")
    rows = list(csv.DictReader(io.StringIO(ws.audit.export("csv"))))
    kind, key, fields = json_.loads(rows[0]["records"])[0]
    assert kind == "dataset"
    assert key == ["reactions"]
    assert set(fields) >= {"name", "created_by"}

"""The Workspace API: ingest, versions, lineage, cleaning, units, deletes — and nothing lost on failure."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import labsight
from labsight import ConflictError, InputError, NotFoundError, UnitError, Workspace


def _state(ws: Workspace) -> tuple[list[str], int, list[str]]:
    """What a user could see: datasets, audit entries, stored files."""
    files = sorted(p.name for p in Path(ws.settings.artifacts_url).rglob("*") if p.is_file())
    return [d.name for d in ws.datasets(include_deleted=True)], len(ws.audit.entries()), files


def test_ingest_records_a_version_with_units_and_roles(ws: Workspace, yield_csv: Path) -> None:
    ds = ws.ingest(yield_csv, name="reactions")
    assert ds.created
    assert ds.dataset == "reactions"
    assert ds.rows == 6
    assert len(ds.version) == 16
    cols = {c.name: c for c in ds.columns}
    assert cols["temperature [degC]"].unit == "degC"
    assert cols["yield [%]"].role == "target"
    assert cols["run"].role == "id"
    assert cols["catalyst"].role == "condition"
    frame = ds.to_polars()
    assert frame.columns == list(cols)
    assert frame["time [min]"].null_count() == 1
    assert ds.to_pandas().shape == (6, 5)


def test_reingesting_identical_bytes_gives_the_same_version(ws: Workspace, yield_csv: Path) -> None:
    first = ws.ingest(yield_csv, name="reactions")
    again = ws.ingest(yield_csv, name="reactions")
    assert again.version == first.version
    assert not again.created
    assert ws.info("reactions").versions == 1
    assert len(ws.audit.entries()) == 1


def test_new_content_makes_a_new_version_and_the_audit_says_old_to_new(
    ws: Workspace, yield_csv: Path
) -> None:
    first = ws.ingest(yield_csv, name="reactions")
    yield_csv.write_text(yield_csv.read_text() + "7,Pd-A,90,30,52.0\n")
    second = ws.ingest(yield_csv, name="reactions", reason="batch 2 arrived")
    assert second.version != first.version
    assert second.record.number == 2
    assert ws.dataset("reactions").version == second.version
    assert ws.dataset("reactions@v1").version == first.version
    assert ws.dataset(f"reactions@{first.version[:6]}").version == first.version
    entry = ws.audit.entries()[-1]
    assert (entry.old_value, entry.new_value) == (first.version, second.version)
    assert entry.reason == "batch 2 arrived"
    assert entry.actor == "tester"
    assert entry.outputs == [second.record.sha256]


@pytest.mark.parametrize(
    ("ref", "error", "match"),
    [
        ("nothing", NotFoundError, "no dataset named 'nothing'"),
        ("reactions@v9", NotFoundError, "has no version 'v9'"),
        ("reactions@zz!", InputError, "cannot read the version"),
    ],
)
def test_bad_references_are_named(
    ws: Workspace, yield_csv: Path, ref: str, error: type[Exception], match: str
) -> None:
    ws.ingest(yield_csv, name="reactions")
    with pytest.raises(error, match=match):
        ws.dataset(ref)


def test_invalid_dataset_names_are_refused(ws: Workspace, yield_csv: Path) -> None:
    with pytest.raises(InputError, match="invalid dataset name 'my data/1'"):
        ws.ingest(yield_csv, name="my data/1")


def test_a_failed_ingest_changes_nothing(ws: Workspace, yield_csv: Path, tmp_path: Path) -> None:
    ws.ingest(yield_csv, name="reactions")
    before = _state(ws)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,c\n1,2,3\n4,5,6,7\n")
    with pytest.raises(labsight.DataFormatError, match=r"ragged\.csv line 3"):
        ws.ingest(ragged, name="ragged")
    missing = tmp_path / "nope.csv"
    with pytest.raises(NotFoundError, match=r"nope\.csv"):
        ws.ingest(missing)
    assert _state(ws) == before
    assert ws.audit.verify().ok


def test_to_units_converts_and_renames(ws: Workspace, yield_csv: Path) -> None:
    ds = ws.ingest(yield_csv, name="reactions")
    frame = ds.to_units({"temperature [degC]": "K", "time [min]": "h"})
    assert "temperature [K]" in frame.columns
    assert "time [h]" in frame.columns
    assert frame.columns.index("temperature [K]") == 2
    assert frame["temperature [K]"][0] == pytest.approx(333.15)
    assert frame["time [h]"][0] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("mapping", "match"),
    [
        ({"temperature [degC]": "mL"}, "degC"),
        ({"catalyst": "K"}, "has no unit to convert from"),
    ],
)
def test_to_units_refuses_what_cannot_convert(
    ws: Workspace, yield_csv: Path, mapping: dict[str, str], match: str
) -> None:
    ds = ws.ingest(yield_csv, name="reactions")
    with pytest.raises(UnitError, match=match):
        ds.to_units(mapping)


def test_clean_makes_a_child_version_with_its_plan(ws: Workspace, yield_csv: Path) -> None:
    raw = ws.ingest(yield_csv, name="reactions")
    cleaned = raw.clean(impute="median", reason="fill the gap")
    assert cleaned.record.parent == raw.ref
    assert cleaned.record.operation == "clean"
    assert cleaned.to_polars()["time [min]"].null_count() == 0
    assert [r.ref for r in cleaned.lineage()] == [cleaned.ref, raw.ref]
    plan = ws.plan_of(cleaned.ref)
    assert [s.op for s in plan.steps] == ["impute"]
    entry = ws.audit.entries()[-1]
    assert entry.action == "dataset.clean"
    assert entry.inputs[0] == raw.record.sha256
    assert entry.reason == "fill the gap"


def test_a_plan_replays_on_the_next_batch(ws: Workspace, yield_csv: Path, tmp_path: Path) -> None:
    raw = ws.ingest(yield_csv, name="reactions")
    cleaned = raw.clean(impute="median")
    fill = cleaned.to_polars()["time [min]"][3]
    batch = tmp_path / "batch2.csv"
    batch.write_text(
        "run,catalyst,temperature [degC],time [min],yield [%]\n"
        "8,Pd-A,65,,44.0\n9,Pd-B,75,30,57.1\n10,Pd-B,85,600,66.0\n"
    )
    second = ws.ingest(batch, name="batch2")
    replayed = second.clean(plan=cleaned.ref)
    assert replayed.to_polars()["time [min]"][0] == fill
    plan_file = tmp_path / "plan.yaml"
    ws.plan_of(cleaned.ref).save(plan_file)
    from_file = ws.ingest(batch, name="batch3").clean(plan=plan_file)
    assert from_file.to_polars().equals(replayed.to_polars())


def test_clean_needs_options_or_a_plan_not_both(ws: Workspace, yield_csv: Path) -> None:
    raw = ws.ingest(yield_csv, name="reactions")
    with pytest.raises(InputError, match="nothing to clean"):
        raw.clean()
    with pytest.raises(InputError, match="either a plan or cleaning options"):
        raw.clean(impute="mean", plan="reactions")
    with pytest.raises(InputError, match="holds no cleaning plan"):
        raw.clean(plan="reactions")


def test_delete_is_a_tombstone(ws: Workspace, yield_csv: Path) -> None:
    ds = ws.ingest(yield_csv, name="reactions")
    ws.delete("reactions", reason="uploaded twice")
    assert ws.datasets() == []
    (gone,) = ws.datasets(include_deleted=True)
    assert gone.deleted
    assert gone.deleted_by == "tester"
    assert Path(ws.artifacts.path(ds.record.sha256)).is_file()
    with pytest.raises(NotFoundError, match="it was deleted"):
        ws.dataset("reactions")
    with pytest.raises(ConflictError, match="was deleted"):
        ws.ingest(yield_csv, name="reactions")
    entry = ws.audit.entries()[-1]
    assert (entry.action, entry.old_value, entry.new_value) == (
        "dataset.delete",
        "active",
        "deleted",
    )
    assert ws.audit.verify().ok


def test_tampered_data_is_refused_on_load(ws: Workspace, yield_csv: Path) -> None:
    ds = ws.ingest(yield_csv, name="reactions")
    path = Path(ws.artifacts.path(ds.record.sha256))
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(labsight.ArtifactIntegrityError, match="altered on disk"):
        ws.dataset("reactions").to_polars()


def test_quality_of_a_stored_version_includes_ingest_findings(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("x,temperature [degC]\n1,20\n2,21\n3,hot\n4,22\n5,23\n6,24\n")
    ds = ws.ingest(path, name="bad", on_issue="ignore")
    report = ds.quality()
    (finding,) = report.by_check("invalid_value")
    assert finding.rows == [2]
    assert finding.column == "temperature [degC]"


def test_the_settings_follow_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yield_csv: Path
) -> None:
    monkeypatch.setenv("LABSIGHT_HOME", str(tmp_path / "envhome"))
    monkeypatch.setenv("LABSIGHT_USER", "dr-who")
    with Workspace() as ws:
        ws.ingest(yield_csv)
        assert (tmp_path / "envhome" / "labsight.db").is_file()
        assert ws.audit.entries()[0].actor == "dr-who"
        assert ws.datasets()[0].name == "reactions"


def test_public_namespace_is_what_we_mean() -> None:
    assert set(labsight.__all__) == {
        "ArtifactIntegrityError",
        "AuditChainError",
        "AuditEntry",
        "AuditLog",
        "ColumnInfo",
        "ConflictError",
        "DataFormatError",
        "Dataset",
        "DatasetVersion",
        "ExportError",
        "Finding",
        "InputError",
        "LabsightError",
        "LabsightWarning",
        "NotFoundError",
        "StoreError",
        "Table",
        "UnitError",
        "VersionRecord",
        "Workspace",
        "__version__",
        "example_path",
        "quality",
        "read_table",
    }
    for name in labsight.__all__:
        assert hasattr(labsight, name)


def test_polars_frames_are_immutable_versions(ws: Workspace, yield_csv: Path) -> None:
    ds = ws.ingest(yield_csv, name="reactions")
    frame = ds.to_polars()
    frame = frame.with_columns(pl.lit(0).alias("temperature [degC]"))
    assert ws.dataset("reactions").to_polars()["temperature [degC]"][0] == 60


def test_cleaning_a_file_with_a_bad_plan_stores_nothing(
    ws: Workspace, yield_csv: Path, tmp_path: Path
) -> None:
    ws.ingest(yield_csv, name="reactions")
    before = _state(ws)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n3,\n")
    with pytest.raises(InputError, match="unknown --impute method 'foo'"):
        ws.clean_file(other, impute="foo")
    plan = tmp_path / "plan.yaml"
    ws.plan_of(ws.dataset("reactions").clean(impute="median").ref).save(plan)
    before = _state(ws)
    with pytest.raises(InputError, match="time \\[min\\]"):
        ws.clean_file(other, plan=plan)
    assert _state(ws) == before


def test_clean_file_ingests_then_cleans(ws: Workspace, yield_csv: Path) -> None:
    base, cleaned = ws.clean_file(yield_csv, name="batch", impute="mean")
    assert cleaned.record.parent == base.ref
    assert [e.action for e in ws.audit.entries()] == ["dataset.ingest", "dataset.clean"]


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE dataset_versions SET rows = 5", "field 'rows' (now 5) differs from what audit"),
        ("UPDATE dataset_versions SET sha256 = 'ab' || substr(sha256, 3)", "field 'sha256'"),
        ("UPDATE datasets SET name = 'renamed'", "dataset 'renamed' has no audit entry"),
        ("UPDATE datasets SET deleted_at = '2026-01-01 00:00:00'", "field 'deleted_at'"),
    ],
)
def test_verify_finds_edits_to_the_dataset_tables(
    ws: Workspace, yield_csv: Path, sql: str, problem: str
) -> None:
    import sqlite3

    ws.ingest(yield_csv, name="reactions")
    db = sqlite3.connect(ws.settings.home / "labsight.db")
    db.execute(sql)
    db.commit()
    db.close()
    report = ws.audit.verify()
    assert not report.ok
    assert report.problem is None  # the chain itself is intact
    assert any(problem in p for p in report.record_problems), report.record_problems

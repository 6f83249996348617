"""Edits made straight in the database (as a colleague with database access could) are found.

Every row that holds state is sealed into the audit entry that created or changed it. Each edit below
is made with plain SQL, outside labsight, on SQLite and on PostgreSQL; ``audit verify`` must name the
row and the field in one line, and the paths that use the row must refuse it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Connection, delete, insert, select, update
from typer.testing import CliRunner

import labsight
from labsight.audit import entry_hash
from labsight.cli import app, main
from labsight.exceptions import AuditChainError
from labsight.store._rows import (
    AuditHeadRow,
    AuditRow,
    CampaignRow,
    DatasetRow,
    ExperimentRow,
    ModelRow,
    ResultRow,
    VersionRow,
)

SPACE = """\
parameters:
  - {name: temperature, type: continuous, bounds: [25, 130], unit: degC}
  - {name: solvent, type: categorical, values: [THF, DMF, water]}
objectives:
  - {name: yield, goal: maximize, bounds: [0, 100], unit: "%"}
"""

TABLE = (
    "run,catalyst,temperature [degC],time [min],yield [%]\n"
    "1,Pd-A,60,30,41.5\n2,Pd-A,70,30,48.0\n3,Pd-B,,60,55.2\n4,Pd-B,80,,61.9\n"
    "5,Pd-A,80,90,58.3\n6,Pd-B,70,90,63.4\n7,Pd-A,65,45,50.1\n8,Pd-B,75,60,60.2\n"
    "9,Pd-A,85,50,57.7\n10,Pd-B,62,75,52.0\n11,Pd-A,72,40,51.3\n12,Pd-B,68,80,59.9\n"
)


def _populate(ws: labsight.Workspace, folder: Path) -> None:
    """A dataset with two ingests and a cleaned version, a staged model, a campaign with results."""
    csv = folder / "reactions.csv"
    csv.write_text(TABLE)
    first = ws.ingest(csv, name="reactions", id="run", on_issue="ignore")
    more = folder / "reactions2.csv"
    more.write_text(TABLE + "13,Pd-A,77,55,56.0\n")
    ws.ingest(more, name="reactions", id="run", on_issue="ignore")
    cleaned = first.clean(impute="median", name="clean")
    ws.ingest(csv, name="scratch", on_issue="ignore")
    ws.delete("scratch", reason="duplicate upload")
    record, _ = ws.models.train(
        cleaned, "yield [%]", name="yield-model", families=["ridge"], budget=30, max_trials=2
    )
    ws.models.stage(record.ref, "validated", reason="checked")
    (folder / "space.yaml").write_text(SPACE)
    campaign = ws.new_campaign("suzuki", folder / "space.yaml", seed=0)
    batch = campaign.suggest(3)
    campaign.record(batch.select("experiment_id").with_columns(pl.lit(50.0).alias("yield")))


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One populated SQLite workspace, copied for each test (building it takes a few seconds)."""
    folder = tmp_path_factory.mktemp("golden")
    ws = labsight.Workspace(folder / "home", user="analyst")
    _populate(ws, folder)
    assert ws.audit.verify().ok
    ws.close()
    return folder / "home"


@pytest.fixture
def home(golden: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(golden, copy)
    return copy


def _json_edit(
    table: Any, where: Any, column: str, change: Callable[[Any], Any]
) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        value = conn.execute(select(table.c[column]).where(where)).scalars().first()
        conn.execute(update(table).where(where).values({column: change(value)}))

    return run


def _set_unit(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c | {"unit": "K"} if c["unit"] == "degC" else c for c in columns]


def _set_role(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c | {"role": "target"} if c["name"] == "time [min]" else c for c in columns]


def _set_fill(params: dict[str, Any]) -> dict[str, Any]:
    plan = params["plan"]
    plan["steps"][0]["params"]["values"]["temperature [degC]"] = 999.0
    return params


def _swap_numbers(conn: Connection) -> None:
    v = VersionRow.__table__
    rows = conn.execute(
        select(v.c.id, v.c.number)
        .join(DatasetRow.__table__, DatasetRow.__table__.c.id == v.c.dataset_id)
        .where(DatasetRow.__table__.c.name == "reactions")
        .order_by(v.c.number)
    ).all()
    (a, na), (b, nb) = rows[0], rows[1]
    conn.execute(update(v).where(v.c.id == a).values(number=-1))
    conn.execute(update(v).where(v.c.id == b).values(number=na))
    conn.execute(update(v).where(v.c.id == a).values(number=nb))


def _repoint_model(conn: Connection) -> None:
    v = VersionRow.__table__
    other = conn.execute(select(v.c.sha256).limit(1)).scalar_one()
    conn.execute(update(ModelRow.__table__).values(sha256=other))


def _add_result(conn: Connection) -> None:
    r = ResultRow.__table__
    first = conn.execute(select(r).limit(1)).mappings().one()
    conn.execute(insert(r).values({k: v for k, v in first.items() if k != "id"}))


V, D, M = VersionRow.__table__, DatasetRow.__table__, ModelRow.__table__
C, E, R = CampaignRow.__table__, ExperimentRow.__table__, ResultRow.__table__
_FIRST = V.c.number == 1

EDITS: dict[str, tuple[Callable[[Connection], None], str]] = {
    "unit degC -> K": (
        _json_edit(V, _FIRST, "columns", _set_unit),
        "dataset version reactions@",
    ),
    "role": (_json_edit(V, _FIRST, "columns", _set_role), "field 'columns'"),
    "version numbers swapped": (_swap_numbers, "field 'number' (now 2)"),
    "cleaning plan fill value": (
        _json_edit(V, V.c.operation == "clean", "operation_params", _set_fill),
        "field 'operation_params'",
    ),
    "operation": (
        lambda c: c.execute(update(V).where(_FIRST).values(operation="ingest2")),
        "field 'operation' (now 'ingest2')",
    ),
    "tombstone removed": (
        lambda c: c.execute(update(D).values(deleted_at=None)),
        "dataset 'scratch': field 'deleted_at'",
    ),
    "model to production": (
        lambda c: c.execute(update(M).values(stage="production")),
        "model yield-model@v1 (id ",
    ),
    "model artifact repointed": (_repoint_model, "field 'sha256'"),
    "model metric": (lambda c: c.execute(update(M).values(cv_mean=0.99)), "field 'cv_mean'"),
    "model summary": (
        _json_edit(M, M.c.number == 1, "summary", lambda s: s | {"metric": "r2", "trials": 1}),
        "field 'summary'",
    ),
    "campaign space": (
        _json_edit(C, C.c.name == "suzuki", "space", lambda s: s | {"seed": 1}),
        "campaign 'suzuki': field 'space'",
    ),
    "experiment conditions": (
        _json_edit(
            E, E.c.experiment_id == "E001", "conditions", lambda c: c | {"temperature": 30.0}
        ),
        "experiment E001 of campaign 'suzuki': field 'conditions'",
    ),
    "result edited": (
        _json_edit(R, R.c.experiment_id == "E002", "values", lambda v: {"yield": 99.0}),
        "(experiment E002) of campaign 'suzuki': field 'values'",
    ),
    "result deleted": (
        lambda c: c.execute(delete(R).where(R.c.experiment_id == "E003")),
        "of campaign 'suzuki', recorded by audit entry",
    ),
    "result added": (_add_result, "has no audit entry that recorded it"),
}


def _tamper(ws: labsight.Workspace, edit: Callable[[Connection], None]) -> None:
    with ws.db.engine.begin() as conn:  # plain SQL, around labsight's audit trail
        edit(conn)


@pytest.mark.parametrize("name", list(EDITS))
def test_verify_names_each_edit_on_sqlite(home: Path, name: str) -> None:
    edit, expected = EDITS[name]
    ws = labsight.Workspace(home, user="analyst")
    _tamper(ws, edit)
    report = ws.audit.verify()
    assert not report.ok
    assert report.problem is None  # the chain itself is intact: only the rows were edited
    assert any(expected in p for p in report.record_problems), report.record_problems
    assert all("\n" not in p for p in report.record_problems)
    ws.close()


def test_the_untouched_copy_verifies(home: Path) -> None:
    ws = labsight.Workspace(home, user="analyst")
    report = ws.audit.verify()
    assert report.ok, report.record_problems
    ws.close()


def test_an_edited_unit_is_refused_where_the_data_is_used(home: Path) -> None:
    ws = labsight.Workspace(home, user="analyst")
    _tamper(ws, EDITS["unit degC -> K"][0])
    with pytest.raises(
        AuditChainError, match=r"reactions@\w+ \(v1\) was changed outside .*columns"
    ):
        ws.dataset("reactions@v1")
    ws.dataset("reactions@v2")  # the untouched version still reads
    ws.close()


def test_an_edited_fill_value_is_never_replayed(home: Path, tmp_path: Path) -> None:
    ws = labsight.Workspace(home, user="analyst")
    _tamper(ws, EDITS["cleaning plan fill value"][0])
    batch = tmp_path / "batch.csv"
    batch.write_text("run,catalyst,temperature [degC],time [min],yield [%]\n20,Pd-A,,30,40.0\n")
    entries = len(ws.audit.entries())
    with pytest.raises(AuditChainError, match="operation_params"):
        ws.clean_file(batch, plan="clean")
    assert len(ws.audit.entries()) == entries  # nothing stored
    ws.close()


def test_a_model_edited_in_the_database_is_refused(home: Path) -> None:
    ws = labsight.Workspace(home, user="analyst")
    _tamper(ws, EDITS["model to production"][0])
    with pytest.raises(AuditChainError, match="stage"):
        ws.models.load("yield-model")
    # A later, legitimate change must not launder the edit into a new seal.
    with pytest.raises(AuditChainError, match="stage"):
        ws.models.stage("yield-model", "archived", reason="retire")
    assert not ws.audit.verify().ok
    ws.close()


def test_an_edited_result_is_refused_before_it_steers_the_next_batch(home: Path) -> None:
    ws = labsight.Workspace(home, user="analyst")
    _tamper(ws, EDITS["result edited"][0])
    with pytest.raises(AuditChainError, match="E002"):
        ws.campaign("suzuki").suggest(2)
    ws.close()


def test_a_deleted_result_is_refused_before_it_steers_the_next_batch(home: Path) -> None:
    ws = labsight.Workspace(home, user="analyst")
    _tamper(ws, EDITS["result deleted"][0])
    with pytest.raises(
        AuditChainError, match=r"result #3 of campaign .suzuki.*deleted outside labsight"
    ):
        ws.campaign("suzuki").suggest(2)
    ws.close()


def test_a_deleted_newest_version_is_refused_not_replaced_by_the_older(home: Path) -> None:
    ws = labsight.Workspace(home, user="analyst")
    newest = ws.dataset("reactions").record.version
    v = VersionRow.__table__
    _tamper(ws, lambda c: c.execute(delete(v).where(v.c.version == newest)))
    with pytest.raises(AuditChainError, match=rf"reactions@{newest}.*deleted outside labsight"):
        ws.dataset("reactions")  # silently reading v1 instead would be a wrong answer
    ws.close()


def test_a_deleted_newest_model_is_refused_not_replaced_by_the_older(home: Path) -> None:
    ws = labsight.Workspace(home, user="analyst")
    cleaned = ws.dataset("clean")
    second, _ = ws.models.train(
        cleaned, "yield [%]", name="yield-model", families=["ridge"], budget=30, max_trials=2
    )
    m = ModelRow.__table__
    _tamper(ws, lambda c: c.execute(delete(m).where(m.c.model_id == second.model_id)))
    with pytest.raises(AuditChainError, match=rf"{second.model_id}.*deleted outside labsight"):
        ws.models.load("yield-model")
    ws.close()


def test_verify_names_an_unreadable_timestamp_instead_of_crashing(home: Path) -> None:
    ws = labsight.Workspace(home, user="analyst")
    with ws.db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE dataset_versions SET created = 'not a date' WHERE number = 1")
    report = ws.audit.verify()
    assert not report.ok
    assert any(
        "field 'created' cannot be read (now 'not a date'" in p for p in report.record_problems
    ), report.record_problems
    with pytest.raises(AuditChainError):
        ws.dataset("reactions@v1")
    ws.close()


def test_verify_with_a_kept_anchor_finds_a_rewritten_chain(home: Path) -> None:
    """Someone who controls the database can rebuild the whole chain; a head kept elsewhere cannot."""
    ws = labsight.Workspace(home, user="analyst")
    kept = ws.audit.verify()
    anchor = f"{kept.entries}:{kept.head}"
    assert ws.audit.verify(anchor=anchor).ok
    with ws.db.engine.begin() as conn:  # rewrite entry 1 and re-hash every entry after it
        rows = conn.execute(select(AuditRow.__table__).order_by(AuditRow.seq)).mappings().all()
        prev = "0" * 64
        for row in rows:
            fields = dict(row)
            if fields["seq"] == 1:
                fields["reason"] = "rewritten"
            fields["prev_hash"] = prev
            fields["hash"] = entry_hash(fields)
            conn.execute(
                update(AuditRow.__table__)
                .where(AuditRow.__table__.c.seq == fields["seq"])
                .values(reason=fields["reason"], prev_hash=prev, hash=fields["hash"])
            )
            prev = fields["hash"]
        conn.execute(update(AuditHeadRow.__table__).values(hash=prev))
    assert ws.audit.verify().ok  # without the anchor the rewrite is consistent
    report = ws.audit.verify(anchor=anchor)
    assert not report.ok
    assert report.first_bad == kept.entries
    assert "anchor" in (report.problem or "")
    with pytest.raises(labsight.InputError, match="SEQ:HASH"):
        ws.audit.verify(anchor="12")
    ws.close()


def test_an_altered_artifact_is_found_unless_quick(home: Path) -> None:
    ws = labsight.Workspace(home, user="analyst")
    key = ws.dataset("reactions@v1").record.sha256
    path = Path(ws.artifacts.path(key))
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"\0")
    report = ws.audit.verify()
    assert any(
        f"artifact {key[:12]} (the data of dataset version reactions@" in p
        and "does not match its hash" in p
        for p in report.record_problems
    ), report.record_problems
    assert ws.audit.verify(quick=True).ok
    path.unlink()
    assert any("is missing" in p for p in ws.audit.verify().record_problems)
    ws.close()


def test_cli_verify_prints_one_line_per_problem_and_exits_1(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = labsight.Workspace(home, user="analyst")
    _tamper(ws, EDITS["model to production"][0])
    _tamper(ws, EDITS["unit degC -> K"][0])
    ws.close()
    monkeypatch.setenv("LABSIGHT_HOME", str(home))
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("MISMATCH")]
    assert len(lines) == 4, result.output  # three datasets' first versions and the model
    assert all(line.endswith("changed outside labsight") for line in lines), result.output
    assert any("field 'stage' (now 'production')" in line for line in lines)
    quick = CliRunner().invoke(app, ["audit", "verify", "--quick"])
    assert quick.exit_code == 1


def test_a_workspace_from_before_seals_is_sealed_once_on_upgrade(tmp_path: Path) -> None:
    """A workspace written by the previous schema keeps verifying after the upgrade."""
    from importlib import resources

    from alembic import command
    from alembic.config import Config

    ws = labsight.Workspace(tmp_path / "home", user="analyst")
    csv = tmp_path / "r.csv"
    csv.write_text(TABLE)
    ws.ingest(csv, name="reactions", on_issue="ignore")
    # The entry as the previous labsight wrote it (no seals, hashed without them) ...
    with ws.db.engine.begin() as conn:
        entry = conn.execute(select(AuditRow.__table__)).mappings().one()
        old = entry_hash(dict(entry) | {"records": None})
        conn.execute(update(AuditRow.__table__).values(records=None, hash=old))
        conn.execute(update(AuditHeadRow.__table__).values(hash=old))
    # ... and the schema back at 0003.
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("labsight.store") / "migrations"))
    with ws.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    ws.close()
    upgraded = labsight.Workspace(tmp_path / "home", user="analyst")
    actions = [e.action for e in upgraded.audit.entries()]
    assert actions == ["dataset.ingest", "audit.seal"]
    assert upgraded.audit.verify().ok
    _tamper(upgraded, lambda c: c.execute(update(V).values(rows=3)))
    assert any("field 'rows'" in p for p in upgraded.audit.verify().record_problems)
    upgraded.close()
    again = labsight.Workspace(tmp_path / "home", user="analyst")
    assert [e.action for e in again.audit.entries()].count("audit.seal") == 1
    again.close()


@pytest.fixture
def pg_workspace(pg_url: str, tmp_path: Path) -> Iterator[labsight.Workspace]:
    ws = labsight.Workspace(tmp_path / "home", db_url=pg_url, user="analyst")
    _populate(ws, tmp_path)
    yield ws
    ws.close()


@pytest.mark.postgres
def test_verify_names_every_edit_on_postgres(pg_workspace: labsight.Workspace) -> None:
    """The same edits on PostgreSQL, all at once (one populated schema): each is named."""
    ws = pg_workspace
    assert ws.audit.verify().ok, ws.audit.verify().record_problems
    skip = {"result added", "result deleted"}  # they touch E002/E003 rows the others edit
    for name, (edit, _) in EDITS.items():
        if name not in skip:
            _tamper(ws, edit)
    report = ws.audit.verify()
    assert report.problem is None
    for name, (_, expected) in EDITS.items():
        if name not in skip:
            assert any(expected in p for p in report.record_problems), (name, report)
    _tamper(ws, EDITS["result deleted"][0])
    assert any(EDITS["result deleted"][1] in p for p in ws.audit.verify().record_problems)


def test_cli_verify_prints_the_anchor_and_checks_a_kept_one(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LABSIGHT_HOME", str(home))
    first = CliRunner().invoke(app, ["audit", "verify", "--quick"])
    assert first.exit_code == 0, first.output
    anchor = first.output.split("anchor ")[1].split(";")[0].split()[0]
    kept = CliRunner().invoke(app, ["audit", "verify", "--quick", "--anchor", anchor])
    assert kept.exit_code == 0, kept.output
    assert "the kept anchor holds" in kept.output
    seq, digest = anchor.split(":")
    forged = f"{seq}:{'0' * len(digest)}"
    bad = CliRunner().invoke(app, ["audit", "verify", "--quick", "--anchor", forged])
    assert bad.exit_code == 1, bad.output
    assert "rewritten" in bad.output
    assert main(["--home", str(home), "audit", "verify", "--anchor", "yesterday"]) == 2
    assert "SEQ:HASH" in capsys.readouterr().err


def test_an_edited_surrogate_setting_is_refused_as_an_edit(home: Path) -> None:
    """A warp this labsight does not know, written into the campaign's stored space: read as the
    default it would change the campaign's model without a word; the row is refused by its seal."""
    ws = labsight.Workspace(home, user="analyst")
    edit = _json_edit(
        CampaignRow.__table__,
        CampaignRow.__table__.c.name == "suzuki",
        "space",
        lambda s: s | {"surrogate": {**s["surrogate"], "warp": "box-cox"}},
    )
    _tamper(ws, edit)
    with pytest.raises(AuditChainError, match=r"campaign 'suzuki' was changed.*field space"):
        ws.campaign("suzuki")
    ws.close()

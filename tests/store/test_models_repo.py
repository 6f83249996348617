"""Registered models, through ``labsight.store.models`` against a real database.

Each public function is called directly with a session (SQLite, and PostgreSQL where one is
configured): versions numbered per name, lookups by id, id prefix, ``name`` (latest), ``name@vN`` and
``name@ID``, listing and its order, stage moves and the ones refused, the labsight errors for what is
missing, ambiguous or taken, and what a row holds.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labsight.exceptions import ConflictError, InputError, NotFoundError
from labsight.store import Database
from labsight.store import models as repo
from labsight.store._rows import ModelRow
from labsight.store.entities import ModelRecord

Write = Callable[[], AbstractContextManager[Session]]

SUMMARY: dict[str, Any] = {
    "cv": {"scheme": "5-fold", "folds": [0.81, 0.79, 0.84]},
    "leaderboard": [{"family": "gp", "mean": 0.8123456789, "std": 0.02, "fit_seconds": None}],
    "features": ["temperature [degC]", "catalyst"],
    "note": "µ-scale, ±",
}


def register(write: Write, name: str, model_id: str, **kw: Any) -> ModelRecord:
    fields: dict[str, Any] = {
        "dataset": "reactions@a1b2c3d4e5f60718",
        "target": "yield [%]",
        "task": "regression",
        "metric": "r2",
        "cv_mean": 0.8123456789,
        "cv_std": 0.0213,
        "family": "gp",
        "sha256": model_id.ljust(64, "f"),
        "summary": SUMMARY,
        "actor": "alice",
    }
    fields.update(kw)
    with write() as session:
        return repo.add_model(session, model_id=model_id, name=name, **fields)


def test_stages_go_draft_validated_production_archived() -> None:
    assert repo.STAGES == ("draft", "validated", "production", "archived")


# --- registering --------------------------------------------------------------------------------------


def test_a_registered_model_is_a_draft_and_holds_what_was_given(db: Database, write: Write) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    made = register(write, "yield-model", "0123456789abcdef")
    assert made.model_id == "0123456789abcdef"
    assert made.name == "yield-model"
    assert made.number == 1
    assert made.ref == "yield-model@v1"
    assert made.stage == "draft"
    assert made.dataset == "reactions@a1b2c3d4e5f60718"
    assert (made.target, made.task, made.metric, made.family) == (
        "yield [%]",
        "regression",
        "r2",
        "gp",
    )
    assert made.sha256 == "0123456789abcdef".ljust(64, "f")
    assert made.created_by == "alice"
    assert before <= made.created <= datetime.now(UTC) + timedelta(seconds=1)
    with db.read() as session:
        stored = repo.get_model(session, "0123456789abcdef")
    assert stored == made
    assert stored.cv_mean == 0.8123456789  # floats come back exactly
    assert stored.cv_std == 0.0213
    assert stored.summary == SUMMARY
    assert stored.created.utcoffset() == timedelta(0)


def test_a_model_may_come_from_no_stored_dataset(db: Database, write: Write) -> None:
    register(write, "m", "0123456789abcdef", dataset=None)
    with db.read() as session:
        assert repo.get_model(session, "m").dataset is None


def test_versions_are_numbered_per_name(db: Database, write: Write) -> None:
    a1 = register(write, "a", "a100000000000001")
    b1 = register(write, "b", "b100000000000001")
    a2 = register(write, "a", "a200000000000002")
    a3 = register(write, "a", "a300000000000003")
    assert [m.number for m in (a1, a2, a3)] == [1, 2, 3]
    assert b1.number == 1
    with db.read() as session:
        assert repo.get_model(session, "a") == a3
        assert repo.get_model(session, "b") == b1


def test_the_database_refuses_a_model_id_twice(db: Database, write: Write) -> None:
    first = register(write, "a", "0123456789abcdef")
    with pytest.raises(IntegrityError):
        register(write, "b", "0123456789abcdef")
    with db.read() as session:
        assert repo.list_models(session) == [first]


def test_the_database_refuses_two_versions_with_one_number(db: Database, write: Write) -> None:
    """The guard behind ``max(number) + 1`` when two writers register at once."""
    first = register(write, "a", "0123456789abcdef")

    def second_v1(session: Session) -> ModelRow:
        row = repo.model_row(session, "a")
        fields = {c.key: getattr(row, c.key) for c in ModelRow.__table__.columns if c.key != "id"}
        return ModelRow(**fields | {"model_id": "fedcba9876543210"})

    def insert() -> None:
        with write() as session:
            session.add(second_v1(session))
            session.flush()

    with pytest.raises(IntegrityError):
        insert()
    with db.read() as session:
        assert repo.list_models(session) == [first]


# --- lookups ------------------------------------------------------------------------------------------


@pytest.fixture
def models(write: Write) -> dict[str, ModelRecord]:
    """``yield`` v1..v3 (ids of v1 and v2 share ``ab12``) and ``purity`` v1."""
    return {
        "y1": register(write, "yield", "ab12000000000001"),
        "y2": register(write, "yield", "ab12000000000002"),
        "p1": register(write, "purity", "cd34000000000003"),
        "y3": register(write, "yield", "ef56000000000004"),
    }


def test_get_model_by_id_prefix_name_and_version(
    db: Database, models: dict[str, ModelRecord]
) -> None:
    with db.read() as session:
        assert repo.get_model(session, "ab12000000000002") == models["y2"]
        assert repo.get_model(session, "cd3400") == models["p1"]  # six hex digits are enough
        assert repo.get_model(session, "yield") == models["y3"]
        assert repo.get_model(session, "yield@v1") == models["y1"]
        assert repo.get_model(session, "yield@v3") == models["y3"]
        assert repo.get_model(session, "purity@v1") == models["p1"]
        assert repo.get_model(session, "yield@ef56") == models["y3"]
        assert repo.get_model(session, "yield@ab12000000000001") == models["y1"]
        assert repo.model_row(session, "yield@v2").model_id == "ab12000000000002"
        y3 = models["y3"]
        for ref in ("yield", "yield@v3", "yield@ef56", y3.model_id):  # without reading the summary
            assert repo.model_key(session, ref) == (y3.model_id, y3.stage, y3.sha256)


@pytest.mark.parametrize(
    "ref",
    [
        "nope",
        "yield@v4",
        "yield@v0",
        "purity@v2",
        "purity@ab12",  # an id of another model
        "cd34",  # under six digits: read as a name
        "ab1200",  # six digits, but two ids match: read as a name
        "yield@%",  # a reference is not a LIKE pattern
        "yield@_b12",
        "yield@ab12/%",  # nor is the escape character labsight's patterns use
        "yield@/",
    ],
)
def test_a_reference_that_names_no_one_model_is_not_found(
    db: Database, models: dict[str, ModelRecord], ref: str
) -> None:
    with db.read() as session, pytest.raises(NotFoundError, match="no model") as caught:
        repo.get_model(session, ref)
    assert isinstance(caught.value, KeyError)
    assert "Known models: purity, yield." in (caught.value.hint or "")


def test_an_id_prefix_shared_by_two_versions_is_ambiguous(
    db: Database, models: dict[str, ModelRecord]
) -> None:
    """``name@PREFIX`` names one version or none; it never picks one of several."""
    for ref in ("yield@ab12", "yield@ab1200000000000"):
        with db.read() as session, pytest.raises(InputError, match="ambiguous") as caught:
            repo.get_model(session, ref)
        assert "2 versions" in str(caught.value)
    with pytest.raises(InputError, match="ambiguous"), db.write() as session:
        repo.set_stage(session, "yield@ab12", "production")
    with db.read() as session:
        assert [m.stage for m in repo.list_models(session)] == ["draft"] * 4


def test_with_no_models_the_hint_says_none_yet(db: Database) -> None:
    with db.read() as session, pytest.raises(NotFoundError) as caught:
        repo.get_model(session, "m")
    assert "none yet" in (caught.value.hint or "")


def test_list_models_is_ordered_by_name_then_version(
    db: Database, models: dict[str, ModelRecord]
) -> None:
    with db.read() as session:
        listed = repo.list_models(session)
    assert [m.ref for m in listed] == ["purity@v1", "yield@v1", "yield@v2", "yield@v3"]
    assert listed[1:] == [models["y1"], models["y2"], models["y3"]]


def test_an_empty_store_lists_no_models(db: Database) -> None:
    with db.read() as session:
        assert repo.list_models(session) == []
        assert repo.version_keys(session, "anything") == []


def test_version_keys_are_the_ids_of_every_version_of_one_name(
    db: Database, models: dict[str, ModelRecord]
) -> None:
    with db.read() as session:
        keys = repo.version_keys(session, "yield")
    assert sorted(keys) == [(models[k].model_id,) for k in ("y1", "y2", "y3")]


# --- stages -------------------------------------------------------------------------------------------


def test_a_model_moves_forward_through_the_stages(db: Database, write: Write) -> None:
    register(write, "m", "0123456789abcdef")
    moves = []
    for stage in ("validated", "production", "archived"):
        with write() as session:
            moved, old = repo.set_stage(session, "m", stage)
        moves.append((old, moved.stage))
    assert moves == [
        ("draft", "validated"),
        ("validated", "production"),
        ("production", "archived"),
    ]
    with db.read() as session:
        assert repo.get_model(session, "m@v1").stage == "archived"


def test_name_at_production_is_the_one_version_in_production(db: Database, write: Write) -> None:
    register(write, "m", "0123456789abcdef")
    register(write, "m", "fedcba9876543210")
    with write() as session:
        repo.set_stage(session, "m@v1", "production")
    with db.read() as session:
        assert repo.get_model(session, "m@production").number == 1
        with pytest.raises(NotFoundError):
            repo.get_model(session, "m@validated")
    with write() as session:
        repo.set_stage(session, "m@v2", "production")
    with db.read() as session:  # v2 replaces v1, which is archived in the same transaction
        assert repo.get_model(session, "m@production").number == 2
        assert repo.get_model(session, "m@v1").stage == "archived"


@pytest.mark.parametrize("stage", ["production", "archived"])
def test_a_model_may_skip_stages_forward(db: Database, write: Write, stage: str) -> None:
    register(write, "m", "0123456789abcdef")
    with write() as session:
        moved, old = repo.set_stage(session, "m@v1", stage)
    assert (old, moved.stage) == ("draft", stage)
    with db.read() as session:
        assert repo.get_model(session, "0123456789abcdef").stage == stage


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (["validated"], "draft"),  # backwards
        (["production"], "validated"),
        ([], "draft"),  # where it is already
        (["validated"], "validated"),
        (["archived"], "production"),  # nothing leaves archived
        (["archived"], "archived"),
    ],
)
def test_a_move_backwards_or_out_of_archived_is_a_conflict(
    db: Database, write: Write, path: list[str], refused: str
) -> None:
    register(write, "m", "0123456789abcdef")
    for stage in path:
        with write() as session:
            repo.set_stage(session, "m", stage)
    before = path[-1] if path else "draft"
    with (
        pytest.raises(ConflictError, match=f"m@v1 is {before}; it cannot move to {refused}"),
        write() as session,
    ):
        repo.set_stage(session, "m", refused)
    with db.read() as session:
        assert repo.get_model(session, "m").stage == before


def test_an_unknown_stage_is_an_input_error_before_the_model_is_looked_up(
    db: Database, write: Write
) -> None:
    register(write, "m", "0123456789abcdef")
    for ref in ("m", "ghost"):
        with (
            pytest.raises(InputError, match="unknown stage 'released'") as caught,
            write() as session,
        ):
            repo.set_stage(session, ref, "released")
        assert caught.value.expected == "draft → validated → production → archived"
    with db.read() as session:
        assert repo.get_model(session, "m").stage == "draft"


def test_moving_an_unknown_model_is_not_found(db: Database, write: Write) -> None:
    with pytest.raises(NotFoundError, match="no model 'ghost'"), write() as session:
        repo.set_stage(session, "ghost", "validated")


def test_a_stage_move_changes_one_version_only(
    db: Database, write: Write, models: dict[str, ModelRecord]
) -> None:
    with write() as session:
        repo.set_stage(session, "yield@v2", "production")
    with db.read() as session:
        stages = {m.ref: m.stage for m in repo.list_models(session)}
        assert session.scalar(select(func.count(ModelRow.id))) == 4
    assert stages == {
        "purity@v1": "draft",
        "yield@v1": "draft",
        "yield@v2": "production",
        "yield@v3": "draft",
    }


def test_a_single_read_gives_its_connection_back_as_it_found_it(tmp_path: Path) -> None:
    """SQLite connections run with pysqlite's own transactions off (labsight begins them); a
    single-statement read must not turn them back on for the next user of the connection."""
    from labsight.store import Database

    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.one_read() as connection:
        raw = connection.connection.dbapi_connection
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    assert raw is not None
    assert raw.isolation_level is None
    with db.read() as session:
        assert session.connection().connection.dbapi_connection.isolation_level is None
    db.dispose()

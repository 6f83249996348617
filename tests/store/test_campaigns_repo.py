"""Design campaigns, their experiments and results, through ``labsight.store.campaigns``.

Each public function is called directly with a session (SQLite, and PostgreSQL where one is
configured): a campaign and its stored space, experiment numbering (``E001 …``) and batches across
calls and campaigns, results and replicates, listing and its order, counts, the labsight errors for
a taken name or a missing campaign, and what the rows hold.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labsight.exceptions import ConflictError, NotFoundError
from labsight.store import Database
from labsight.store import campaigns as repo
from labsight.store._rows import CampaignRow, ExperimentRow, ResultRow
from labsight.store.entities import CampaignRecord, ExperimentRecord

Write = Callable[[], AbstractContextManager[Session]]

SPACE: dict[str, Any] = {
    "factors": [
        {"name": "temperature [degC]", "type": "continuous", "low": 40.0, "high": 90.5},
        {"name": "catalyst", "type": "categorical", "levels": ["Pd-A", "Pd-B", "Cu–I"]},
    ],
    "objectives": [{"name": "yield [%]", "goal": "maximize"}],
    "constraints": [],
}


def insert(write: Write, make: Callable[[Session], object]) -> None:
    """Add the row ``make`` builds, past the repository's own checks (what the schema refuses)."""
    with write() as session:
        session.add(make(session))
        session.flush()


def campaign_id(session: Session, name: str) -> int:
    row = session.scalar(select(CampaignRow).where(CampaignRow.name == name))
    assert row is not None
    return row.id


def campaign(write: Write, name: str = "suzuki", **kw: Any) -> CampaignRecord:
    fields: dict[str, Any] = {
        "space": SPACE,
        "space_sha256": "5" * 64,
        "seed": 42,
        "acquisition": "qEI",
        "actor": "alice",
    }
    fields.update(kw)
    with write() as session:
        return repo.add_campaign(session, name=name, **fields)


def suggest(
    write: Write, name: str, n: int, *, method: str = "initial:sobol", actor: str = "alice"
) -> list[ExperimentRecord]:
    points = [{"temperature [degC]": 40.0 + i, "catalyst": "Pd-A"} for i in range(n)]
    predictions = [{"yield [%]": {"mean": 50.0 + i, "sd": 2.5}} for i in range(n)]
    with write() as session:
        return repo.add_experiments(
            session, name, points, method=method, predictions=predictions, actor=actor
        )


@pytest.mark.parametrize(
    ("number", "label"), [(1, "E001"), (42, "E042"), (999, "E999"), (1000, "E1000")]
)
def test_experiment_labels_have_three_digits_and_more_past_999(number: int, label: str) -> None:
    assert repo.experiment_label(number) == label


# --- campaigns ------------------------------------------------------------------------------------


def test_a_new_campaign_holds_its_space_seed_and_acquisition(db: Database, write: Write) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    made = campaign(write)
    assert made.name == "suzuki"
    assert made.space == SPACE
    assert made.space_sha256 == "5" * 64
    assert made.seed == 42
    assert made.acquisition == "qEI"
    assert made.created_by == "alice"
    assert (made.experiments, made.results) == (0, 0)
    assert before <= made.created <= datetime.now(UTC) + timedelta(seconds=1)
    with db.read() as session:
        stored = repo.get_campaign(session, "suzuki")
    assert stored == made
    assert stored.space == SPACE  # the JSON comes back whole, unicode and floats included
    assert stored.created.utcoffset() == timedelta(0)


def test_a_campaign_may_have_no_default_acquisition(db: Database, write: Write) -> None:
    campaign(write, acquisition=None)
    with db.read() as session:
        assert repo.get_campaign(session, "suzuki").acquisition is None


def test_a_taken_name_is_a_conflict_and_the_first_campaign_is_unchanged(
    db: Database, write: Write
) -> None:
    first = campaign(write)
    with pytest.raises(ConflictError, match="'suzuki' exists already") as caught:
        campaign(write, seed=7, actor="bob")
    assert "design suggest" in (caught.value.hint or "")
    with db.read() as session:
        assert repo.get_campaign(session, "suzuki") == first
        assert session.scalar(select(func.count(CampaignRow.id))) == 1


def test_the_database_refuses_a_second_campaign_of_one_name(db: Database, write: Write) -> None:
    campaign(write)
    with pytest.raises(IntegrityError):
        insert(
            write,
            lambda _: CampaignRow(
                name="suzuki",
                space={},
                space_sha256="0" * 64,
                seed=0,
                created=datetime.now(UTC),
                created_by="x",
            ),
        )
    with db.read() as session:
        assert session.scalar(select(func.count(CampaignRow.id))) == 1


def test_an_unknown_campaign_is_not_found_and_the_known_ones_are_named(
    db: Database, write: Write
) -> None:
    campaign(write, "zeta")
    campaign(write, "alpha")
    with db.read() as session:
        for call in (
            lambda: repo.get_campaign(session, "nope"),
            lambda: repo.list_experiments(session, "nope"),
            lambda: repo.list_results(session, "nope"),
            lambda: repo.campaign_rows(session, "nope"),
        ):
            with pytest.raises(NotFoundError, match="no campaign named 'nope'") as caught:
                call()
            assert caught.value.expected == "one of 'alpha', 'zeta'"
    with pytest.raises(NotFoundError), write() as session:
        repo.add_experiments(session, "nope", [{}], method="m", predictions=[{}], actor="a")
    with pytest.raises(NotFoundError), write() as session:
        repo.add_results(session, "nope", [("E001", {"y": 1.0}, None)], actor="a")


def test_with_no_campaigns_the_error_expects_a_campaign(db: Database) -> None:
    with db.read() as session, pytest.raises(NotFoundError) as caught:
        repo.get_campaign(session, "nope")
    assert caught.value.expected == "a campaign"
    assert "design new" in (caught.value.hint or "")


def test_list_campaigns_is_ordered_by_name_with_counts(db: Database, write: Write) -> None:
    for name in ("zeta", "beta", "alpha"):
        campaign(write, name)
    suggest(write, "beta", 3)
    with write() as session:
        repo.add_results(session, "beta", [("E002", {"yield [%]": 61.0}, None)], actor="bob")
    with db.read() as session:
        listed = repo.list_campaigns(session)
    assert [c.name for c in listed] == ["alpha", "beta", "zeta"]
    assert [(c.experiments, c.results) for c in listed] == [(0, 0), (3, 1), (0, 0)]


def test_an_empty_store_lists_no_campaigns(db: Database) -> None:
    with db.read() as session:
        assert repo.list_campaigns(session) == []


# --- experiments --------------------------------------------------------------------------------------


def test_experiments_are_numbered_on_across_batches(db: Database, write: Write) -> None:
    campaign(write)
    first = suggest(write, "suzuki", 3)
    second = suggest(write, "suzuki", 2, method="qEI", actor="bob")
    assert [e.experiment_id for e in first] == ["E001", "E002", "E003"]
    assert [e.experiment_id for e in second] == ["E004", "E005"]
    assert [e.number for e in first + second] == [1, 2, 3, 4, 5]
    assert {e.batch for e in first} == {1}
    assert {e.batch for e in second} == {2}
    assert {(e.method, e.suggested_by) for e in second} == {("qEI", "bob")}
    assert len({e.suggested for e in first}) == 1  # one batch, one timestamp
    assert first[1].conditions == {"temperature [degC]": 41.0, "catalyst": "Pd-A"}
    assert first[1].prediction == {"yield [%]": {"mean": 51.0, "sd": 2.5}}
    with db.read() as session:
        assert repo.list_experiments(session, "suzuki") == first + second
        assert repo.get_campaign(session, "suzuki").experiments == 5


def test_each_campaign_numbers_its_own_experiments(db: Database, write: Write) -> None:
    campaign(write, "a")
    campaign(write, "b")
    suggest(write, "a", 2)
    in_b = suggest(write, "b", 1)
    assert [e.experiment_id for e in in_b] == ["E001"]
    assert in_b[0].batch == 1
    with db.read() as session:
        assert [e.experiment_id for e in repo.list_experiments(session, "a")] == ["E001", "E002"]
        assert repo.list_experiments(session, "b") == in_b


def test_an_empty_batch_stores_nothing_and_takes_no_batch_number(
    db: Database, write: Write
) -> None:
    campaign(write)
    assert suggest(write, "suzuki", 0) == []
    [first] = suggest(write, "suzuki", 1)
    assert (first.experiment_id, first.batch) == ("E001", 1)


def test_conditions_and_predictions_of_different_lengths_store_nothing(
    db: Database, write: Write
) -> None:
    campaign(write)
    with pytest.raises(ValueError, match="zip"), write() as session:
        repo.add_experiments(
            session, "suzuki", [{"x": 1}, {"x": 2}], method="m", predictions=[{}], actor="a"
        )
    with db.read() as session:
        assert repo.list_experiments(session, "suzuki") == []


def test_the_database_refuses_one_experiment_id_twice_in_a_campaign(
    db: Database, write: Write
) -> None:
    campaign(write)
    suggest(write, "suzuki", 1)
    with pytest.raises(IntegrityError):
        insert(
            write,
            lambda session: ExperimentRow(
                campaign_id=campaign_id(session, "suzuki"),
                experiment_id="E001",
                number=1,
                batch=9,
                conditions={},
                method="m",
                prediction={},
                suggested=datetime.now(UTC),
                suggested_by="x",
            ),
        )
    with db.read() as session:
        assert len(repo.list_experiments(session, "suzuki")) == 1


# --- results ------------------------------------------------------------------------------------------


def test_results_and_replicates_are_stored_in_the_order_recorded(
    db: Database, write: Write
) -> None:
    campaign(write)
    suggest(write, "suzuki", 2)
    with write() as session:
        first = repo.add_results(
            session,
            "suzuki",
            [("E002", {"yield [%]": 61.5}, "plate-7.csv"), ("E001", {"yield [%]": None}, None)],
            actor="bob",
        )
    with write() as session:
        replicate = repo.add_results(
            session, "suzuki", [("E002", {"yield [%]": 60.9}, None)], actor="carol"
        )
    assert [(r.experiment_id, r.values, r.source) for r in first] == [
        ("E002", {"yield [%]": 61.5}, "plate-7.csv"),
        ("E001", {"yield [%]": None}, None),
    ]
    assert {r.recorded_by for r in first} == {"bob"}
    assert replicate[0].recorded_by == "carol"
    assert replicate[0].recorded.tzinfo is not None
    with db.read() as session:
        stored = repo.list_results(session, "suzuki")
        counted = repo.get_campaign(session, "suzuki")
    assert stored == first + replicate
    assert (counted.experiments, counted.results) == (2, 3)


def test_a_result_for_an_experiment_the_campaign_lacks_is_not_found(
    db: Database, write: Write
) -> None:
    campaign(write, "a")
    campaign(write, "b")
    suggest(write, "a", 1)
    with (
        pytest.raises(NotFoundError, match="no experiment 'E001' in campaign 'b'"),
        write() as session,
    ):
        repo.add_results(session, "b", [("E001", {"y": 1.0}, None)], actor="a")
    with pytest.raises(NotFoundError, match="no experiment 'E002'"), write() as session:
        repo.add_results(
            session, "a", [("E001", {"y": 1.0}, None), ("E002", {"y": 2.0}, None)], actor="a"
        )
    with db.read() as session:
        assert repo.list_results(session, "a") == []
        assert session.scalar(select(func.count(ResultRow.id))) == 0


def test_campaign_rows_are_the_campaign_then_its_experiments_then_its_results(
    db: Database, write: Write
) -> None:
    campaign(write, "a")
    campaign(write, "b")
    suggest(write, "a", 2)
    suggest(write, "b", 1)
    with write() as session:
        repo.add_results(session, "a", [("E001", {"y": 1.0}, None)], actor="bob")
    with db.read() as session:
        rows = repo.campaign_rows(session, "a")
        assert [type(r) for r in rows] == [CampaignRow, ExperimentRow, ExperimentRow, ResultRow]
        assert rows[0].name == "a"
        assert {r.campaign_id for r in rows[1:]} == {rows[0].id}
        assert sorted(r.experiment_id for r in rows[1:3]) == ["E001", "E002"]
        assert len(repo.campaign_rows(session, "b")) == 2

"""Design campaigns in the database: the campaign, its experiments (numbered ``E001 …``) and results.

Functions take the caller's session so that a change and its audit entry commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labsight.exceptions import ConflictError, NotFoundError
from labsight.store._rows import CampaignRow, ExperimentRow, ResultRow, utcnow
from labsight.store.entities import CampaignRecord, ExperimentRecord, ResultRecord

__all__ = [
    "add_campaign",
    "add_experiments",
    "add_results",
    "campaign_rows",
    "experiment_label",
    "get_campaign",
    "list_campaigns",
    "list_experiments",
    "list_results",
]


def experiment_label(number: int) -> str:
    """``E001``, ``E002`` … (more digits past 999)."""
    return f"E{number:03d}"


def _row(session: Session, name: str) -> CampaignRow:
    row = session.scalar(select(CampaignRow).where(CampaignRow.name == name))
    if row is None:
        names = session.scalars(select(CampaignRow.name).order_by(CampaignRow.name)).all()
        raise NotFoundError(
            f"no campaign named {name!r}",
            expected="one of " + ", ".join(repr(n) for n in names) if names else "a campaign",
            hint="Create it with labsight design new NAME --space space.yaml",
        )
    return row


def _entity(session: Session, row: CampaignRow) -> CampaignRecord:
    experiments = session.scalar(
        select(func.count()).select_from(ExperimentRow).where(ExperimentRow.campaign_id == row.id)
    )
    results = session.scalar(
        select(func.count()).select_from(ResultRow).where(ResultRow.campaign_id == row.id)
    )
    return row.to_entity(int(experiments or 0), int(results or 0))


def add_campaign(
    session: Session,
    *,
    name: str,
    space: dict[str, Any],
    space_sha256: str,
    seed: int,
    acquisition: str | None,
    actor: str,
) -> CampaignRecord:
    """A new campaign; the name must be free."""
    if session.scalar(select(CampaignRow.id).where(CampaignRow.name == name)) is not None:
        raise ConflictError(
            f"a campaign named {name!r} exists already",
            hint="Choose another name, or continue it with labsight design suggest",
        )
    row = CampaignRow(
        name=name,
        space=space,
        space_sha256=space_sha256,
        seed=seed,
        acquisition=acquisition,
        created=utcnow(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return _entity(session, row)


def get_campaign(session: Session, name: str) -> CampaignRecord:
    return _entity(session, _row(session, name))


def list_campaigns(session: Session) -> list[CampaignRecord]:
    rows = session.scalars(select(CampaignRow).order_by(CampaignRow.name)).all()
    return [_entity(session, r) for r in rows]


def add_experiments(
    session: Session,
    name: str,
    conditions: Sequence[dict[str, Any]],
    *,
    method: str,
    predictions: Sequence[dict[str, Any]],
    actor: str,
) -> list[ExperimentRecord]:
    """Number and store new experiments (one suggestion batch, or recorded unsolicited runs)."""
    campaign = _row(session, name)
    last = session.scalar(
        select(func.max(ExperimentRow.number)).where(ExperimentRow.campaign_id == campaign.id)
    )
    batch = (
        session.scalar(
            select(func.max(ExperimentRow.batch)).where(ExperimentRow.campaign_id == campaign.id)
        )
        or 0
    ) + 1
    now = utcnow()
    rows = []
    for i, (point, prediction) in enumerate(zip(conditions, predictions, strict=True)):
        number = (last or 0) + i + 1
        rows.append(
            ExperimentRow(
                campaign_id=campaign.id,
                experiment_id=experiment_label(number),
                number=number,
                batch=batch,
                conditions=point,
                method=method,
                prediction=prediction,
                suggested=now,
                suggested_by=actor,
            )
        )
    session.add_all(rows)
    session.flush()
    return [r.to_entity() for r in rows]


def list_experiments(session: Session, name: str) -> list[ExperimentRecord]:
    campaign = _row(session, name)
    rows = session.scalars(
        select(ExperimentRow)
        .where(ExperimentRow.campaign_id == campaign.id)
        .order_by(ExperimentRow.number)
    ).all()
    return [r.to_entity() for r in rows]


def add_results(
    session: Session,
    name: str,
    results: Sequence[tuple[str, dict[str, float | None], str | None]],
    *,
    actor: str,
) -> list[ResultRecord]:
    """Store results as ``(experiment_id, values, source)``; the experiments must exist."""
    campaign = _row(session, name)
    known = set(
        session.scalars(
            select(ExperimentRow.experiment_id).where(ExperimentRow.campaign_id == campaign.id)
        ).all()
    )
    now = utcnow()
    rows = []
    for experiment_id, values, source in results:
        if experiment_id not in known:  # pragma: no cover - the campaign checks before writing
            raise NotFoundError(f"no experiment {experiment_id!r} in campaign {name!r}")
        rows.append(
            ResultRow(
                campaign_id=campaign.id,
                experiment_id=experiment_id,
                values=values,
                recorded=now,
                recorded_by=actor,
                source=source,
            )
        )
    session.add_all(rows)
    session.flush()
    return [r.to_entity() for r in rows]


def campaign_rows(session: Session, name: str) -> list[Any]:
    """The campaign's row, its experiments' and its results' (for checks against the audit trail)."""
    campaign = _row(session, name)
    rows: list[Any] = [campaign]
    for table in (ExperimentRow, ResultRow):
        rows.extend(session.scalars(select(table).where(table.campaign_id == campaign.id)))
    return rows


def list_results(session: Session, name: str) -> list[ResultRecord]:
    campaign = _row(session, name)
    rows = session.scalars(
        select(ResultRow).where(ResultRow.campaign_id == campaign.id).order_by(ResultRow.id)
    ).all()
    return [r.to_entity() for r in rows]

"""Registered models in the database: versions by name, lookups by id or ``name@vN``, stages.

Functions take the caller's session so that a model row and its audit entry commit together.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from labsight.exceptions import ConflictError, InputError, NotFoundError
from labsight.store._rows import ModelRow, utcnow
from labsight.store.entities import ModelRecord

__all__ = [
    "STAGES",
    "add_model",
    "get_model",
    "list_models",
    "model_key",
    "model_row",
    "set_stage",
    "version_keys",
]

STAGES = ("draft", "validated", "production", "archived")
"""Model stages, in order; a model may move forward, or to archived from any stage."""

_HEX = re.compile(r"^[0-9a-f]{6,64}$")


def add_model(
    session: Session,
    *,
    model_id: str,
    name: str,
    dataset: str | None,
    target: str,
    task: str,
    metric: str,
    cv_mean: float,
    cv_std: float,
    family: str,
    sha256: str,
    summary: dict[str, Any],
    actor: str,
) -> ModelRecord:
    """Register a new version of model ``name`` at stage ``draft``."""
    number = (
        session.scalar(select(func.max(ModelRow.number)).where(ModelRow.name == name)) or 0
    ) + 1
    row = ModelRow(
        model_id=model_id,
        name=name,
        number=number,
        dataset=dataset,
        target=target,
        task=task,
        metric=metric,
        cv_mean=cv_mean,
        cv_std=cv_std,
        family=family,
        stage="draft",
        sha256=sha256,
        summary=summary,
        created=utcnow(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row.to_entity()


@functools.cache
def _query(kind: str, what: tuple[Any, ...]) -> Any:
    """The statement that finds a version by ``kind`` of reference, built once (building one
    costs more than running it), its values bound at execution."""
    query = select(*what)
    if kind == "prefix":  # a unique prefix of the id
        return query.where(ModelRow.model_id.startswith(bindparam("prefix"), escape="/"))
    query = query.where(ModelRow.name == bindparam("name"))
    if kind == "number":
        return query.where(ModelRow.number == bindparam("number"))
    if kind == "stage":  # NAME@production: the newest version at that stage
        query = query.where(ModelRow.stage == bindparam("stage"))
    elif kind == "selector":  # NAME@<prefix of the id>
        return query.where(ModelRow.model_id.startswith(bindparam("prefix"), escape="/")).limit(2)
    return query.order_by(ModelRow.number.desc()).limit(1)


def _literal(prefix: str) -> str:
    """``prefix`` as the start of a LIKE pattern that matches it literally (escape ``/``)."""
    return prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _find(session: Session | Connection, ref: str, *what: Any) -> Any:
    """The result row (``what``: the columns or the entity to select) of the version ``ref``
    names."""
    name, _, selector = ref.partition("@")
    if not selector and _HEX.match(ref):
        found = session.execute(_query("prefix", what), {"prefix": _literal(ref)}).all()
        if len(found) == 1:
            return found[0]
    if not selector:
        row = session.execute(_query("latest", what), {"name": name}).first()
    elif re.fullmatch(r"v\d+", selector):
        values = {"name": name, "number": int(selector[1:])}
        row = session.execute(_query("number", what), values).first()
    elif selector in STAGES:
        row = session.execute(_query("stage", what), {"name": name, "stage": selector}).first()
    else:  # the selector is text from the user, not a LIKE pattern; a prefix names one version
        values = {"name": name, "prefix": _literal(selector)}
        found = session.execute(_query("selector", what), values).all()
        if len(found) > 1:
            raise InputError(
                f"model {ref!r} is ambiguous (2 versions or more of {name!r} match)",
                hint="Give more digits of the model id, or NAME@vN",
            )
        row = found[0] if found else None
    if row is None:
        names = sorted(set(session.scalars(select(ModelRow.name)).all()))
        raise NotFoundError(
            f"no model {ref!r}",
            hint="Known models: "
            + (", ".join(names[:20]) or "none yet")
            + ". See `labsight models`",
        )
    return row


def _row(session: Session, ref: str) -> ModelRow:
    row: ModelRow = _find(session, ref, ModelRow)[0]
    return row


def model_key(session: Session | Connection, ref: str) -> tuple[str, str, str]:
    """``(model id, stage, file sha256)`` of the version ``ref`` names, without reading its
    summary (a server resolves a reference on every request, on a plain connection)."""
    found = _find(session, ref, ModelRow.model_id, ModelRow.stage, ModelRow.sha256)
    return str(found[0]), str(found[1]), str(found[2])


def model_row(session: Session, ref: str) -> ModelRow:
    """The row behind a model reference (for checks against the audit trail)."""
    return _row(session, ref)


def version_keys(session: Session, name: str) -> list[tuple[str]]:
    """The id of every version of a model (for checks against the audit trail)."""
    return [(i,) for i in session.scalars(select(ModelRow.model_id).where(ModelRow.name == name))]


def get_model(session: Session, ref: str) -> ModelRecord:
    """A model by id (or a unique prefix of at least 6 hex digits), ``name`` (latest), ``name@vN``,
    ``name@production`` (the version in production; also ``@validated`` …)."""
    return _row(session, ref).to_entity()


def list_models(session: Session) -> list[ModelRecord]:
    """Every model version, by name then version."""
    rows = session.scalars(select(ModelRow).order_by(ModelRow.name, ModelRow.number)).all()
    return [r.to_entity() for r in rows]


def set_stage(session: Session, ref: str, stage: str) -> tuple[ModelRecord, str]:
    """Move a model to ``stage``; returns the record and the stage it left.

    Raises
    ------
    InputError
        For an unknown stage.
    ConflictError
        For a move backwards (archived is reachable from anywhere; nothing leaves archived).

    A version moved to production archives the version of the same name that was there, so
    ``NAME@production`` names one version.
    """
    if stage not in STAGES:
        raise InputError(f"unknown stage {stage!r}", expected=" → ".join(STAGES), got=stage)
    row = _row(session, ref)
    old = row.stage
    if (
        old == stage
        or (stage != "archived" and STAGES.index(stage) < STAGES.index(old))
        or old == "archived"
    ):
        raise ConflictError(
            f"model {row.name}@v{row.number} is {old}; it cannot move to {stage}",
            hint="Stages go draft → validated → production → archived; train a new version instead",
        )
    row.stage = stage
    if stage == "production":  # one version of a name serves: the one it replaces is archived
        for other in session.scalars(
            select(ModelRow).where(
                ModelRow.name == row.name, ModelRow.stage == "production", ModelRow.id != row.id
            )
        ):
            other.stage = "archived"
    session.flush()
    return row.to_entity(), old

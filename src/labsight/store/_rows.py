"""ORM rows: private to the store. Alembic migrations in ``migrations/`` must match these."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from labsight.store.entities import (
    AuditEntry,
    CampaignRecord,
    Dataset,
    ExperimentRecord,
    ModelRecord,
    ResultRecord,
    SignatureRecord,
    TokenRecord,
    UserRecord,
    VersionRecord,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class DatasetRow(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    delete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    def to_entity(self, versions: int, latest: str | None) -> Dataset:
        return Dataset(
            name=self.name,
            created=_aware(self.created) or utcnow(),
            created_by=self.created_by,
            versions=versions,
            latest=latest,
            deleted=self.deleted_at is not None,
            deleted_at=_aware(self.deleted_at),
            deleted_by=self.deleted_by,
        )


class VersionRow(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "version", name="uq_version_hash"),
        UniqueConstraint("dataset_id", "number", name="uq_version_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list[Any]] = mapped_column(JSON)
    operation: Mapped[str] = mapped_column(String(50))
    operation_params: Mapped[dict[str, Any]] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"), nullable=True)
    findings: Mapped[list[Any]] = mapped_column(JSON)
    source: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))

    def to_entity(self, dataset: str, parent: str | None) -> VersionRecord:
        return VersionRecord(
            dataset=dataset,
            version=self.version,
            number=self.number,
            sha256=self.sha256,
            rows=self.rows,
            columns=list(self.columns),
            operation=self.operation,
            operation_params=dict(self.operation_params),
            parent=parent,
            created=_aware(self.created) or utcnow(),
            created_by=self.created_by,
            findings=list(self.findings),
            source=dict(self.source) if self.source is not None else None,
        )


class AuditRow(Base):
    """One audit entry. Every field is text so that the hash is computed over exactly what is stored."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(300))
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    inputs: Mapped[str] = mapped_column(Text)
    outputs: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    records: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON seals of the rows this entry created or changed (None in entries from before seals)."""

    def to_entity(self) -> AuditEntry:
        return AuditEntry(
            seq=self.seq,
            created=self.created,
            actor=self.actor,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            version=self.version,
            old_value=self.old_value,
            new_value=self.new_value,
            reason=self.reason,
            inputs=json.loads(self.inputs),
            outputs=json.loads(self.outputs),
            details=json.loads(self.details),
            prev_hash=self.prev_hash,
            hash=self.hash,
            records=json.loads(self.records) if self.records is not None else None,
        )


class AuditHeadRow(Base):
    """The single row that names the end of the chain; writers lock it to append in turn."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class ModelRow(Base):
    """One registered model version. The fitted model is an artifact (``sha256``); ``summary``
    holds what ``model show`` prints (leaderboard, CV scores, parameters, importance)."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "number", name="uq_model_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    number: Mapped[int] = mapped_column(Integer)
    dataset: Mapped[str | None] = mapped_column(String(300), nullable=True)
    target: Mapped[str] = mapped_column(String(300))
    task: Mapped[str] = mapped_column(String(30))
    metric: Mapped[str] = mapped_column(String(50))
    cv_mean: Mapped[float] = mapped_column(Float)
    cv_std: Mapped[float] = mapped_column(Float)
    family: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(30))
    sha256: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))

    def to_entity(self) -> ModelRecord:
        return ModelRecord(
            model_id=self.model_id,
            name=self.name,
            number=self.number,
            dataset=self.dataset,
            target=self.target,
            task=self.task,
            metric=self.metric,
            cv_mean=self.cv_mean,
            cv_std=self.cv_std,
            family=self.family,
            stage=self.stage,
            sha256=self.sha256,
            summary=dict(self.summary),
            created=_aware(self.created) or utcnow(),
            created_by=self.created_by,
        )


class CampaignRow(Base):
    """A design campaign; its space is stored whole so it never depends on the files it came from."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    space: Mapped[dict[str, Any]] = mapped_column(JSON)
    space_sha256: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    acquisition: Mapped[str | None] = mapped_column(String(60), nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))

    def to_entity(self, experiments: int = 0, results: int = 0) -> CampaignRecord:
        return CampaignRecord(
            name=self.name,
            space=dict(self.space),
            space_sha256=self.space_sha256,
            seed=self.seed,
            acquisition=self.acquisition,
            created=_aware(self.created) or utcnow(),
            created_by=self.created_by,
            experiments=experiments,
            results=results,
        )


class ExperimentRow(Base):
    """One experiment of a campaign (suggested, or run without a suggestion and recorded)."""

    __tablename__ = "campaign_experiments"
    __table_args__ = (UniqueConstraint("campaign_id", "experiment_id", name="uq_experiment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    experiment_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    batch: Mapped[int] = mapped_column(Integer)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON)
    method: Mapped[str] = mapped_column(String(60))
    prediction: Mapped[dict[str, Any]] = mapped_column(JSON)
    suggested: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    suggested_by: Mapped[str] = mapped_column(String(200))

    def to_entity(self) -> ExperimentRecord:
        return ExperimentRecord(
            experiment_id=self.experiment_id,
            number=self.number,
            batch=self.batch,
            conditions=dict(self.conditions),
            method=self.method,
            prediction=dict(self.prediction),
            suggested=_aware(self.suggested) or utcnow(),
            suggested_by=self.suggested_by,
        )


class ResultRow(Base):
    """One measured result of an experiment; replicates are several rows."""

    __tablename__ = "campaign_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    experiment_id: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(Text, nullable=True)

    def to_entity(self) -> ResultRecord:
        return ResultRecord(
            experiment_id=self.experiment_id,
            values=dict(self.values),
            recorded=_aware(self.recorded) or utcnow(),
            recorded_by=self.recorded_by,
            source=self.source,
        )


class UserRow(Base):
    """An account. Never deleted (disabled instead), and its id is never reused: SQLite's
    AUTOINCREMENT and PostgreSQL's sequence both skip every id handed out before."""

    __tablename__ = "users"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))

    def to_entity(self) -> UserRecord:
        return user_record(self)


def user_record(row: Any) -> UserRecord:
    """The account in ``row``: a :class:`UserRow`, or a result row with the same columns."""
    return UserRecord(
        user_id=row.id,
        name=row.name,
        full_name=row.full_name,
        role=row.role,
        active=row.active,
        created=_aware(row.created) or utcnow(),
        created_by=row.created_by,
    )


class TokenRow(Base):
    """An API token: only the sha256 of its secret is stored (the secret is printed once)."""

    __tablename__ = "api_tokens"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_id: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(20))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    def to_entity(self, user: str) -> TokenRecord:
        return TokenRecord(
            token_id=self.token_id,
            user=user,
            scope=self.scope,
            created=_aware(self.created) or utcnow(),
            expires=_aware(self.expires) or utcnow(),
            revoked=_aware(self.revoked),
            note=self.note,
        )


class SessionRow(Base):
    """A browser session after ``POST /api/v1/login``: the sha256 of the cookie's secret, the
    CSRF token that cookie-authenticated writes must echo, and when it ends. Not state a user
    made (a login is audited; the session row is how the server remembers it), so not sealed."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SignatureRow(Base):
    """An electronic signature on one version of a record (21 CFR Part 11 §11.50, §11.70)."""

    __tablename__ = "signatures"
    __table_args__ = (Index("ix_signature_record", "record_type", "record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    signature_id: Mapped[str] = mapped_column(String(16), unique=True)
    record_type: Mapped[str] = mapped_column(String(30))
    record_key: Mapped[str] = mapped_column(String(300))
    record_label: Mapped[str] = mapped_column(String(300))
    record_sha256: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer: Mapped[str] = mapped_column(String(64))
    printed_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    signed: Mapped[str] = mapped_column(String(40))
    seal: Mapped[str] = mapped_column(String(64))

    def to_entity(self) -> SignatureRecord:
        return SignatureRecord(
            signature_id=self.signature_id,
            record_type=self.record_type,
            record_key=self.record_key,
            record=self.record_label,
            record_sha256=self.record_sha256,
            signer=self.signer,
            printed_name=self.printed_name,
            meaning=self.meaning,
            reason=self.reason,
            signed=self.signed,
            seal=self.seal,
        )


class SettingRow(Base):
    """A workspace setting changed with ``labsight config set`` (regulated mode …)."""

    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    value: Mapped[str] = mapped_column(Text)
    changed: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str] = mapped_column(String(200))

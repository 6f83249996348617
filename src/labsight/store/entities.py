"""Public records of the store: what the Python API, the CLI and (later) the REST schemas see.

They are plain frozen dataclasses; ORM rows are private to the store and convert to these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AuditEntry",
    "Dataset",
    "ModelRecord",
    "SignatureRecord",
    "TokenRecord",
    "UserRecord",
    "VersionRecord",
]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Dataset:
    """A named dataset: a line of immutable versions."""

    name: str
    created: datetime
    created_by: str
    versions: int
    latest: str | None
    deleted: bool = False
    deleted_at: datetime | None = None
    deleted_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created"] = _iso(self.created)
        data["deleted_at"] = _iso(self.deleted_at)
        return data


@dataclass(frozen=True)
class VersionRecord:
    """One immutable version of a dataset, named by the hash of its content.

    ``version`` is the content hash (16 hex digits); ``number`` counts versions within the dataset
    (``v1``, ``v2`` ...). ``parent`` and ``operation`` record lineage; ``operation_params`` holds the
    ingest options or the cleaning plan; ``findings`` what ingest noticed.
    """

    dataset: str
    version: str
    number: int
    sha256: str
    rows: int
    columns: list[dict[str, Any]]
    operation: str
    operation_params: dict[str, Any]
    parent: str | None
    created: datetime
    created_by: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] | None = None

    @property
    def ref(self) -> str:
        return f"{self.dataset}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created"] = _iso(self.created)
        data["ref"] = self.ref
        return data


@dataclass(frozen=True)
class AuditEntry:
    """One link of the audit chain."""

    seq: int
    created: str
    actor: str
    action: str
    object_type: str
    object_id: str
    version: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None
    inputs: list[str]
    outputs: list[str]
    details: dict[str, Any]
    prev_hash: str
    hash: str
    records: list[Any] | None = None
    """Seals of the rows this entry created or changed: ``[kind, key, {field: digest}]``."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelRecord:
    """One registered model version: what it predicts, how well (cross-validated), from which data,
    at which stage (draft → validated → production → archived)."""

    model_id: str
    name: str
    number: int
    dataset: str | None
    target: str
    task: str
    metric: str
    cv_mean: float
    cv_std: float
    family: str
    stage: str
    sha256: str
    summary: dict[str, Any]
    created: datetime
    created_by: str

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.number}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created"] = _iso(self.created)
        data["ref"] = self.ref
        return data

    def _repr_html_(self) -> str:
        """The model in a notebook: what it predicts and how well (cross-validated), its
        intervals and the leaderboard (up to 10 rows)."""
        # _display, like labsight.exceptions, imports nothing from labsight
        from labsight._display import html_card, html_table

        s = self.summary
        cv = s.get("cv") or {}
        lines = [
            f"{self.family} predicting {self.target} ({self.task}) from {self.dataset or '-'}; "
            f"stage {self.stage}; id {self.model_id}; {self.created_by}, "
            f"{self.created:%Y-%m-%d %H:%M} UTC",
            f"CV {self.metric} {self.cv_mean:.4g} ± {self.cv_std:.2g}"
            + (f" ({cv['scheme']})" if cv.get("scheme") else ""),
        ]
        interval = s.get("interval")
        if interval and interval.get("coverage") is not None:
            lines.append(
                f"{interval['level']:.0%} prediction intervals ({interval['method']}) covered "
                f"{interval['coverage']:.0%} of the rows on cross-validation"
            )
        board = [
            [i, r["family"], r["mean"], r["std"], r.get("fit_seconds")]
            for i, r in enumerate(s.get("leaderboard", [])[:10], 1)
        ]
        header = ["#", "family", f"CV {self.metric}", "± sd", "fit (s)"]
        return html_card(f"Model {self.ref}", lines, [html_table(header, board)] if board else [])


@dataclass(frozen=True)
class CampaignRecord:
    """One design campaign: its space (stored whole, as JSON), seed and default acquisition."""

    name: str
    space: dict[str, Any]
    space_sha256: str
    seed: int
    acquisition: str | None
    created: datetime
    created_by: str
    experiments: int = 0
    results: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created"] = _iso(self.created)
        return data


@dataclass(frozen=True)
class ExperimentRecord:
    """One experiment of a campaign: conditions, how they were chosen (``initial:sobol``, an
    acquisition, or ``recorded`` for conditions run without a suggestion) and what the surrogate
    expected of them."""

    experiment_id: str
    number: int
    batch: int
    conditions: dict[str, Any]
    method: str
    prediction: dict[str, Any]
    suggested: datetime
    suggested_by: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["suggested"] = _iso(self.suggested)
        return data


@dataclass(frozen=True)
class ResultRecord:
    """One measured result of an experiment (replicates are several results of one experiment)."""

    experiment_id: str
    values: dict[str, float | None]
    recorded: datetime
    recorded_by: str
    source: str | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["recorded"] = _iso(self.recorded)
        return data


@dataclass(frozen=True)
class UserRecord:
    """An account of a shared workspace. ``role`` is viewer, scientist, reviewer or admin."""

    user_id: int
    name: str
    full_name: str
    role: str
    active: bool
    created: datetime
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created"] = _iso(self.created)
        return data


@dataclass(frozen=True)
class TokenRecord:
    """An API token as listed: never its secret, which is printed once when it is made."""

    token_id: str
    user: str
    scope: str
    created: datetime
    expires: datetime
    revoked: datetime | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created", "expires", "revoked"):
            data[key] = _iso(data[key])
        return data


@dataclass(frozen=True)
class SignatureRecord:
    """An electronic signature: who (user name and printed name), what it means (authored,
    reviewed, approved), when (UTC), why, and the sha256 of the exact version of the record signed.
    ``seal`` binds all of these and the record's identity, so the signature cannot be moved to
    another record or version. ``status`` is filled in when read against the record as it is now:
    ``valid``, ``orphaned`` (the record changed since) or ``broken`` (the signature row was edited)."""

    signature_id: str
    record_type: str
    record_key: str
    record: str
    record_sha256: str
    signer: str
    printed_name: str
    meaning: str
    reason: str
    signed: str
    seal: str
    status: str = "unchecked"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

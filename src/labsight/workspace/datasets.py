"""Datasets: reading files into versions, finding them, cleaning, clustering and deleting them.

:class:`Datasets` holds the operations (the :class:`~labsight.workspace.Workspace` hands them out
as ``ws.ingest``, ``ws.dataset`` …); :class:`DatasetVersion` is one stored version and what can be
done with it; :class:`ReadFile` a file read and checked but not stored yet (training on a file
stores it only once the model is trained).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

import polars as pl

from labsight import audit
from labsight.audit import events
from labsight.data.findings import OnIssue
from labsight.data.table import ColumnInfo, Role, Table
from labsight.exceptions import InputError, NotFoundError
from labsight.store import Dataset, VersionRecord, write_frame
from labsight.store import datasets as repo
from labsight.store.names import to_name
from labsight.workspace._context import Context, StepCallback, _noop
from labsight.workspace.versions import DatasetVersion, ReadFile

if TYPE_CHECKING:
    from labsight.data.clean import CleaningOptions, CleaningPlan
    from labsight.data.ingest import ReadOptions
    from labsight.models.anomaly import AnomalyResult
    from labsight.models.denoise import DenoiseResult
    from labsight.models.unsupervised import ClusterResult, EmbedResult

__all__ = [
    "FILE_SUFFIXES",
    "DatasetVersion",
    "Datasets",
    "OnIssue",
    "ReadFile",
    "StepCallback",
    "is_file_source",
    "role_overrides",
    "version_hash",
]


def role_overrides(
    roles: Mapping[str, Role] | None,
    id: str | Sequence[str] | None,
    target: str | None,
    group: str | None,
    time: str | None,
) -> dict[str, Role]:
    """Column roles from the ``--id/--target/--group/--time`` options; one role per column."""
    merged: dict[str, Role] = dict(roles or {})
    ids = [id] if isinstance(id, str) else list(id or [])
    for col in ids:
        merged[col] = "id"
    named: tuple[tuple[str | None, Role], ...] = (
        (target, "target"),
        (group, "group"),
        (time, "time"),
    )
    for column, role in named:
        if column:
            if column in merged and merged[column] != role:
                raise InputError(
                    f"column {column!r} cannot be both {merged[column]} and {role}",
                    hint="Give each column one role",
                )
            merged[column] = role
    return merged


def version_hash(content_sha256: str, columns: list[dict[str, Any]]) -> str:
    """The name of a version: 16 hex digits of the hash of its content and column metadata."""
    text = json.dumps({"data": content_sha256, "columns": columns}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


FILE_SUFFIXES = frozenset(
    {".csv", ".tsv", ".txt", ".dat", ".gz", ".xlsx", ".xls", ".parquet", ".jsonl", ".ndjson"}
)
"""Extensions of the files labsight reads: a source ending in one is a file, not a dataset."""


def is_file_source(source: str | os.PathLike[str]) -> bool:
    """A file rather than a dataset name: a path object, or text naming a file that exists, with a
    folder or with a data file's extension (dataset names never contain "/")."""
    if not isinstance(source, str):
        return True
    return Path(source).is_file() or "/" in source or Path(source).suffix.lower() in FILE_SUFFIXES


class Datasets:
    """The datasets of a workspace: ``ws.ingest``, ``ws.dataset``, ``ws.clean`` … are these."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def ingest(
        self,
        /,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        roles: Mapping[str, Role] | None = None,
        id: str | Sequence[str] | None = None,
        target: str | None = None,
        group: str | None = None,
        time: str | None = None,
        on_issue: OnIssue = "warn",
        reason: str | None = None,
        on_step: StepCallback = _noop,
        source_name: str | None = None,
        **read: Unpack[ReadOptions],
    ) -> DatasetVersion:
        """Read a file into a new version of dataset ``name`` (default: the file's stem), with the
        reading options of :func:`~labsight.data.ingest.read_table` (``sheet``, ``na_values``,
        ``delimiter``, ``encoding``, ``decimal_comma``). ``source_name`` is what the lineage
        records as the file's path when the path read is not the file's own (an upload's file
        name, not the server's temporary copy).

        Re-ingesting identical content returns the existing version and records nothing. A failed
        ingest registers nothing.
        """
        pending = self.read_file(
            path,
            name=name,
            roles=role_overrides(roles, id, target, group, time),
            on_issue=on_issue,
            on_step=on_step,
            **read,
        )
        if source_name is not None and pending.table.source is not None:
            pending.table.source = dataclasses.replace(pending.table.source, path=source_name[:300])
        return pending.store(reason=reason, on_step=on_step)

    def read_file(
        self,
        /,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        roles: Mapping[str, Role] | None = None,
        on_issue: OnIssue = "warn",
        on_step: StepCallback = _noop,
        **read: Unpack[ReadOptions],
    ) -> ReadFile:
        """A file read and checked as ingest reads it, not stored yet (``.store()`` stores it)."""
        from labsight.data.ingest import read_table

        dataset = repo.validate_name(name or _stem(path))
        on_step(f"reading {path}")
        table = read_table(
            path,
            roles=dict(roles or {}),
            on_issue=on_issue,
            max_file_bytes=self.ctx.settings.max_file_bytes,
            max_expanded_bytes=self.ctx.settings.max_expanded_bytes,
            **read,
        )
        params = {  # the lineage of the version: every reading option, given or not
            "sheet": read.get("sheet"),
            "na_values": list(read.get("na_values", ())),
            "delimiter": read.get("delimiter"),
            "encoding": read.get("encoding"),
            "decimal_comma": read.get("decimal_comma"),
            "images": read.get("images"),
        }
        return ReadFile(self, dataset, table, params)

    def store_table(
        self,
        dataset: str,
        table: Table,
        *,
        operation: str,
        params: dict[str, Any],
        parent: VersionRecord | None,
        source: dict[str, Any] | None,
        inputs: list[str],
        reason: str | None,
        on_step: StepCallback = _noop,
        details: dict[str, Any] | None = None,
    ) -> DatasetVersion:
        if table.images is not None and table.images.files:
            on_step(f"storing {len(table.images.files)} images")
            for key, file in table.images.files.items():
                if self.ctx.artifacts.put_file(file) != key:
                    raise InputError("an image changed on disk while it was stored", path=str(file))
        on_step("writing Parquet")
        content = write_frame(self.ctx.artifacts, table.frame)
        columns = [c.to_dict() for c in table.columns]
        new = repo.NewVersion(
            version=version_hash(content, columns),
            sha256=content,
            rows=table.height,
            columns=columns,
            operation=operation,
            operation_params=params,
            findings=[f.to_dict() for f in table.findings],
            source=source,
            parent=parent,
        )
        on_step("recording the version")
        with self.ctx.db.write() as session:
            previous = None
            with contextlib.suppress(NotFoundError):
                previous = repo.resolve_version(session, dataset)
            record, created = repo.add_version(session, dataset, new, self.ctx.user)
            if created:
                event = events.dataset_stored(
                    operation,
                    dataset,
                    record.version,
                    previous=previous.version if previous else None,
                    reason=reason,
                    inputs=inputs,
                    content=content,
                    details={
                        "rows": record.rows,
                        "columns": len(columns),
                        "number": record.number,
                        "parent": record.parent,
                        **(details or {}),
                    },
                )
                audit.record(session, event, self.ctx.user)
        return DatasetVersion(self, record, created=created)

    def dataset(self, ref: str) -> DatasetVersion:
        """A version by reference: ``name`` (latest), ``name@vN`` or ``name@HASH``.

        Raises
        ------
        AuditChainError
            When the version's record (its columns, units, roles, operation …) was changed
            outside labsight: it no longer matches the audit entry that created it.
        """
        with self.ctx.db.read() as session:
            record = repo.resolve_version(session, ref)
            audit.check_sealed(  # a newest version deleted behind labsight's back is refused too
                session,
                [repo.version_row(session, record)],
                "dataset",
                record.dataset,
                present={"dataset_version": repo.version_keys(session, record.dataset)},
            )
            return DatasetVersion(self, record)

    def source(self, source: str | os.PathLike[str]) -> DatasetVersion | Path:
        """What a command's SOURCE names: a dataset version (``NAME[@VERSION]``), or the path of a
        file (by :func:`is_file_source`), which the caller reads or stores as it needs."""
        return Path(source) if is_file_source(source) else self.dataset(str(source))

    def embed(
        self,
        ref: str,
        features: Sequence[str] | None = None,
        *,
        method: str = "pca",
        seed: int = 0,
    ) -> EmbedResult:
        """A 2-D embedding of a version's rows (standardized numeric features): ``pca``, ``umap``
        or ``tsne`` (:func:`labsight.models.unsupervised.embed`)."""
        from labsight.models.unsupervised import embed

        table = self.dataset(ref).table()
        return embed(table, list(features) if features else None, method=method, seed=seed)

    def anomalies(
        self,
        ref: str,
        *,
        reference: str,
        features: Sequence[str] | None = None,
        method: str = "auto",
        level: float = 0.99,
        seed: int = 0,
    ) -> AnomalyResult:
        """Which rows of a version look unlike the rows of ``reference`` (another version, or the
        same one: then each row is scored by an autoencoder that never saw it); see
        :func:`labsight.models.anomaly.anomalies`."""
        from labsight.models.anomaly import anomalies

        scored, normal, same = self._against(ref, reference)
        return anomalies(
            scored.table(),
            normal.table(),
            features=list(features) if features else None,
            method=method,
            level=level,
            seed=seed,
            same=same,
        )

    def _against(self, ref: str, reference: str) -> tuple[DatasetVersion, DatasetVersion, bool]:
        """The version to judge, the reference it is judged against, and whether they hold the
        same data (then each row is judged by models that never saw it)."""
        scored, normal = self.dataset(ref), self.dataset(reference)
        return scored, normal, scored.record.sha256 == normal.record.sha256

    def denoise(
        self,
        ref: str,
        *,
        reference: str,
        features: Sequence[str] | None = None,
        method: str = "auto",
        level: float = 0.99,
        seed: int = 0,
        name: str | None = None,
        reason: str | None = None,
        force: bool = False,
    ) -> tuple[DatasetVersion, DenoiseResult]:
        """Denoise a version's spectra or runs with autoencoders trained on ``reference`` (another
        version, or the same one: each row is then rebuilt by a model that never saw it), and store
        the result as a new version (of this dataset, or of ``name``) whose lineage names the
        reference and the settings; see :func:`labsight.models.denoise.denoise` (``force``
        stores rows the rebuilding is expected to make worse)."""
        from labsight.models.denoise import denoise

        dataset = repo.validate_name(name) if name else None  # before anything is computed
        noisy, normal, same = self._against(ref, reference)
        result = denoise(
            noisy.table(),
            normal.table(),
            features=list(features) if features else None,
            method=method,
            level=level,
            seed=seed,
            same=same,
            force=force,
        )
        params = {
            "reference": normal.ref,
            "method": result.method,
            "features": result.features,
            "level": level,
            "latent": result.latent,
            "seed": seed,
            "held_out": result.held_out,
            "threshold": result.threshold,
            "kept": result.kept,
            "expected_ratio": result.expected_ratio,
            "forced": force,
        }
        stored = self.store_table(
            dataset or noisy.dataset,
            result.table,
            operation="denoise",
            params=params,
            parent=noisy.record,
            source=None,
            inputs=[noisy.record.sha256, normal.record.sha256],
            reason=reason,
            details={"reference": normal.ref, "kept": len(result.kept)},
        )
        return stored, result

    def datasets(self, *, include_deleted: bool = False) -> list[Dataset]:
        """All datasets, by name."""
        with self.ctx.db.read() as session:
            return repo.list_datasets(session, include_deleted=include_deleted)

    def info(self, name: str) -> Dataset:
        with self.ctx.db.read() as session:
            return repo.get_dataset(session, repo.parse_ref(name)[0])

    def history(self, name: str) -> list[VersionRecord]:
        """Every version of a dataset, oldest first."""
        with self.ctx.db.read() as session:
            return repo.dataset_history(session, repo.parse_ref(name)[0])

    def delete(self, name: str, *, reason: str | None = None) -> Dataset:
        """Delete a dataset by tombstone: it disappears from listings; its history stays."""
        with self.ctx.db.write() as session:
            current = repo.resolve_version(session, name)
            audit.check_sealed(
                session, [repo.dataset_row(session, current.dataset)], "dataset", current.dataset
            )
            ds = repo.tombstone(session, repo.parse_ref(name)[0], self.ctx.user, reason)
            event = events.dataset_deleted(ds.name, current.version, current.sha256, reason)
            audit.record(session, event, self.ctx.user)
        return ds

    def clean(
        self,
        /,
        ref: str,
        *,
        plan: CleaningPlan | str | os.PathLike[str] | None = None,
        name: str | None = None,
        reason: str | None = None,
        save_plan: str | os.PathLike[str] | None = None,
        on_step: StepCallback = _noop,
        **options: Unpack[CleaningOptions],
    ) -> DatasetVersion:
        """Clean a version into a new one whose lineage holds the (replayable) plan (see
        :meth:`DatasetVersion.clean`: a clean that changes nothing stores nothing)."""
        return self.dataset(ref).clean(
            plan=plan, name=name, reason=reason, save_plan=save_plan, on_step=on_step, **options
        )

    def plan_of(self, ref: str) -> CleaningPlan:
        """The cleaning plan recorded in a cleaned version's lineage."""
        from labsight.data.clean import CleaningPlan

        version = self.dataset(ref)
        params = version.record.operation_params
        if version.record.operation != "clean" or "plan" not in params:
            raise InputError(
                f"{version.ref} was made by {version.record.operation!r}, not by clean; "
                "it holds no cleaning plan",
                hint="Name a cleaned version, or a plan file",
            )
        return CleaningPlan.from_dict(params["plan"])

    def fit_plan(
        self,
        table: Table,
        plan: CleaningPlan | str | os.PathLike[str] | None,
        options: CleaningOptions,
        on_step: StepCallback = _noop,
    ) -> CleaningPlan:
        """The plan to apply: loaded (``plan``) or fitted on ``table`` (``options``), validated."""
        from labsight.data.clean import build_plan

        given = [f"--{k}" for k, v in options.items() if v is not None]
        if plan is not None:
            if given:
                raise InputError(
                    "give either a plan or cleaning options, not both "
                    f"(got --plan and {', '.join(given)})"
                )
            return self.load_plan(plan)
        if not given:
            raise InputError(
                "nothing to clean: no cleaning option given",
                hint="Pass at least one of --sentinels, --impute, --outliers, --labels, --units, "
                "--spectra, --replicates, or --plan",
            )
        on_step("fitting the cleaning plan")
        return build_plan(table, **options)

    def load_plan(self, plan: CleaningPlan | str | os.PathLike[str]) -> CleaningPlan:
        from labsight.data.clean import CleaningPlan

        if isinstance(plan, CleaningPlan):
            return plan
        if Path(plan).is_file():
            return CleaningPlan.load(Path(plan))
        if isinstance(plan, str) and Path(plan).suffix not in (".yaml", ".yml", ".json"):
            return self.plan_of(plan)
        raise NotFoundError(
            f"plan file {str(plan)!r} does not exist",
            hint="Give a plan file written by `labsight clean --save-plan`, or a cleaned version",
        )

    def cluster(
        self,
        ref: str,
        features: Sequence[str] | None = None,
        *,
        method: str = "kmeans",
        k: int | str = "auto",
        seed: int = 0,
        column: str = "cluster",
        reason: str | None = None,
    ) -> tuple[DatasetVersion, ClusterResult]:
        """Cluster a dataset version's rows and store the labels as a new version (column
        ``column``, role ``id`` like every derived column, so that a later ``train`` neither
        groups its folds by cluster nor reads the labels as a feature); the clustering settings
        are its lineage."""
        from labsight.models.unsupervised import LABEL_ROLE, cluster

        version = self.dataset(ref)
        table = version.table()
        result = cluster(table, list(features) if features else None, method=method, k=k, seed=seed)
        if column in table.frame.columns:
            raise InputError(
                f"the dataset already has a column {column!r}",
                hint="Pass --column with another name for the cluster labels",
            )
        frame = table.frame.with_columns(pl.Series(column, result.labels))
        labelled = Table(frame, [*table.columns, ColumnInfo(column, "int", None, LABEL_ROLE)])
        params = {
            "method": result.method,
            "k": result.k,
            "features": result.features,
            "seed": seed,
            "column": column,
            "criterion": result.criterion,
            "silhouette": result.silhouette,
        }
        stored = self.store_table(
            version.dataset,
            labelled,
            operation="cluster",
            params=params,
            parent=version.record,
            source=None,
            inputs=[version.record.sha256],
            reason=reason,
        )
        return stored, result

    def clean_file(
        self,
        /,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        plan: CleaningPlan | str | os.PathLike[str] | None = None,
        reason: str | None = None,
        on_step: StepCallback = _noop,
        **options: Unpack[CleaningOptions],
    ) -> tuple[DatasetVersion, DatasetVersion]:
        """Ingest a file and clean it (e.g. the next batch, with the first batch's plan).

        The file is read, the plan fitted or loaded and applied in memory first, so bad options or
        a plan that does not fit the file fail before anything is stored. Returns the ingested and
        the cleaned versions.
        """
        from labsight.data.clean import apply_plan
        from labsight.data.ingest import read_table

        on_step(f"reading {path}")
        table = read_table(path, on_issue="ignore")
        fitted = self.fit_plan(table, plan, options, on_step)
        on_step("checking the plan against the file")
        apply_plan(table, fitted)
        base = self.ingest(path, name=name, on_issue="ignore", reason=reason, on_step=on_step)
        return base, base.clean(plan=fitted, reason=reason, on_step=on_step)


def _stem(path: str | os.PathLike[str]) -> str:
    name = Path(path).name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".dat", ".xlsx", ".parquet", ".jsonl", ".ndjson"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return to_name(name, fallback="dataset")  # a default must pass the name rule

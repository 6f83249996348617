"""The model registry of a workspace: train and register, look up, stage, predict.

Reached as ``ws.models``; given the workspace's context and its datasets (a model is trained on a
dataset version, or on a file stored as one once the model is trained). A model version records
the dataset version it was trained on (lineage), the cleaning plan behind that version when there
is one (replayed on new data before predicting), its feature names and units, scores, parameters,
seed, library versions, who and when; every registration and stage change is audited.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import math
import operator
import os
import platform
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

import polars as pl

from labsight import audit
from labsight.audit import events
from labsight.data.table import Role, Table
from labsight.exceptions import ConflictError, ExportError, InputError, LabsightError
from labsight.store import models as model_repo
from labsight.store.entities import ModelRecord
from labsight.store.names import to_name, validate_name
from labsight.workspace._context import Context
from labsight.workspace.config import is_regulated
from labsight.workspace.datasets import Datasets, DatasetVersion

if TYPE_CHECKING:
    import numpy as np
    from sqlalchemy.orm import Session

    from labsight.data.clean import CleaningPlan
    from labsight.models._trust import Note
    from labsight.models.export import OnnxExport
    from labsight.models.train import TrainedModel
    from labsight.store import ArtifactStore

__all__ = [
    "ModelRegistry",
    "NotInMemory",
    "Predictions",
    "curve_shape",
    "library_versions",
    "stored_target",
    "training_report",
    "trust_notes",
]

_LOADED: dict[str, TrainedModel] = {}
"""Models loaded in this process, by their file's sha256 (a file is named by its content, so the
same hash is the same model): a server predicts from a model without reading and checking its
file again. The row is still checked against the audit trail on every load."""
_LOADED_MAX = 8
_CHECKED: dict[tuple[str, str, str, str], ModelRecord] = {}
"""Model rows checked against the audit trail in this process, by (database, id, stage, file):
a reference that still names that id, stage and file is answered from here without reading the
row's summary again."""
_CHECKED_MAX = 256
_ROWS_AS_DICTS = 64
_ONNX_MODULES = ("onnx", "onnxruntime", "skl2onnx", "onnxmltools")
_CHECK_ROWS = 2_000  # training rows an export is checked on (a sample of larger tables)
_LIBRARIES = ("labsight", "scikit-learn", "lightgbm", "optuna", "numpy", "polars", "torch", "skops")


def _json_safe(value: Any) -> Any:
    """``value`` as plain JSON that every database stores: a NaN or infinite number (a bootstrap
    bound no draw could set) becomes None, which PostgreSQL's JSON type accepts and NaN it does not.

    Examples
    --------
    >>> _json_safe({"lower": float("nan"), "upper": [1.5, float("inf")], "n": 3})
    {'lower': None, 'upper': [1.5, None], 'n': 3}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return _json_safe(json.loads(json.dumps(value, default=str)))


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model's behaviour depends on (and Python's)."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@contextmanager
def _removed_on_failure(store: ArtifactStore, key: str) -> Iterator[None]:
    """Remove the artifact ``key`` when the block fails, unless it was stored before the block
    (files are content-addressed: an older row may hold the very same bytes). Wrap the database
    transaction, so a failed commit is seen too."""
    existed = store.exists(key)
    try:
        yield
    except BaseException:
        if not existed and store.exists(key):
            store.fs.rm(store.path(key))
        raise


def _no_better_than_baseline(record: ModelRecord, force: bool, reason: str | None) -> bool:
    """Whether staging ``record`` to production overrides its verdict against the baseline (True:
    the audit entry says so); refused unless ``force`` comes with a ``reason``."""
    if record.summary.get("better_than_baseline") is not False:  # better, or trained before
        return False
    base = record.summary.get("baseline") or {}
    num = {k: v if isinstance(v, int | float) else math.nan for k, v in base.items()}
    verdict = (
        f"model {record.ref} is not clearly better than the baseline: on all its out-of-fold "
        f"predictions it scores {record.metric} {num.get('model_score', math.nan):.3g}, "
        f"predicting {base.get('predicts', 'a constant')} {num.get('score', math.nan):.3g} "
        f"(difference {num.get('difference', math.nan):.2g}, standard error "
        f"{num.get('se', math.nan):.2g})"
    )
    if not force:
        raise ConflictError(
            verdict + "; it is not staged to production",
            hint="Collect more runs or better features and retrain; or, to stage it anyway, pass "
            "--force with --reason 'why' (audited)",
        )
    if not reason or not reason.strip():
        raise InputError(
            "--force needs a --reason: staging a model no better than the baseline to production "
            "is audited with why",
            hint="Pass --reason 'why it is needed anyway'",
        )
    return True


def _require_approval(session: Session, record: ModelRecord) -> None:
    """In regulated mode, production needs a valid ``approved`` signature on this very version
    of the model by someone other than its author."""
    from labsight.workspace.signatures import signatures_of

    signed = signatures_of(session, "model", record.model_id)
    approvals = [
        s
        for s in signed
        if s.meaning == "approved" and s.status == "valid" and s.signer != record.created_by
    ]
    if not approvals:
        stale = [s for s in signed if s.meaning == "approved" and s.status != "valid"]
        raise ConflictError(
            f"the workspace is in regulated mode: model {record.ref} reaches production only "
            "with an approved signature by someone other than its author "
            f"({record.created_by!r}); it has none"
            + (f" valid ({len(stale)} {stale[0].status})" if stale else ""),
            hint=f"A reviewer signs it: labsight sign {record.ref} --meaning approved "
            "--reason 'why'",
        )


class NotInMemory(Exception):
    """The model a reference names is not in this process's memory, and reading its file was
    not wanted (``load=False``): the caller reads it where a wait of seconds does no harm."""


@dataclass(frozen=True)
class Predictions:
    """What :meth:`ModelRegistry.predict_file` gives: the rows with their predictions, and the
    warnings about them, one sentence each."""

    frame: pl.DataFrame
    warnings: list[str]
    model: str = ""
    """The model version that predicted (``yield@v3``)."""
    masks: list[tuple[str, np.ndarray]] | None = None
    """A segmentation model's objects in each image: (the image's file, its label image)."""


@functools.lru_cache(maxsize=32)
def _parsed_plan(text: str) -> CleaningPlan:
    from labsight.data.clean import CleaningPlan

    return CleaningPlan.from_dict(json.loads(text))


def _plan(plan: dict[str, Any]) -> CleaningPlan:
    """A stored cleaning plan, parsed once per process (a server replays it on every request)."""
    return _parsed_plan(json.dumps(plan, sort_keys=True))


def _rows_frame(rows: Sequence[dict[str, Any]], *, as_dicts: int = _ROWS_AS_DICTS) -> pl.DataFrame:
    """``rows`` as a frame, each column's type from all of its values: polars reads up to
    ``as_dicts`` rows fastest from the dicts themselves, more fastest column by column (the same
    frame either way)."""
    if len(rows) <= as_dicts:
        return pl.from_dicts(rows, infer_schema_length=None, strict=False)
    return pl.DataFrame(_by_column(rows), strict=False)


def _by_column(rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """``rows`` as columns, in the order the columns first appear (a missing cell is None).

    Examples
    --------
    >>> _by_column([{"a": 1, "b": 2}, {"b": 3, "c": 4}])
    {'a': [1, None], 'b': [2, 3], 'c': [None, 4]}
    """
    names = list(rows[0])
    if len(names) > 1 and all(len(row) == len(names) for row in rows):
        # the usual case, the same columns in every row: as many keys, and all of the first's
        try:
            taken = list(map(operator.itemgetter(*names), rows))
        except KeyError:  # another column in place of one of the first row's
            pass
        else:
            return dict(zip(names, map(list, zip(*taken, strict=True)), strict=True))
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {name: [row.get(name) for row in rows] for name in names}


def trust_notes(summary: dict[str, Any]) -> list[Note]:
    """What to know before trusting a model, from its summary, as ``(level, sentence)`` pairs
    (``warning`` or ``info``): the folds' grouping, the baseline, sibling targets, molecules,
    columns left out. ``train`` and ``model show`` print them; the server returns them."""
    from labsight.models._trust import trust_notes as notes

    return notes(summary)


def curve_shape(grid: list[float], average: list[float]) -> str:
    """A partial-dependence curve in words ("rises", "falls then rises" …)."""
    from labsight.models._explain import describe_curve

    return describe_curve(grid, average)


def training_report(record: ModelRecord, model: TrainedModel) -> dict[str, Any]:
    """What a training run gives a program (``labsight train --json``, the server's job result):
    the registered version, its cross-validated score and how it was reached, the baseline and
    what the model does not read."""
    summary = model.summary()
    return {
        "model": record.model_id,
        "ref": record.ref,
        "task": model.task,
        "metric": model.metric,
        "cv": {
            "mean": model.cv["mean"],
            "std": model.cv["std"],
            "scheme": model.cv["scheme"],
            "grouping": model.cv["grouping"],
        },
        "baseline": model.baseline,
        "better_than_baseline": model.better_than_baseline,
        "siblings": model.siblings,
        "molecules": list(model.features.molecules),
        "left_out": summary["left_out"],
        "leaderboard": model.leaderboard,
        "skipped": summary["skipped"],
        "dataset": record.dataset,
        "interval": summary["interval"],
        "trials": model.trials,
        "seconds": model.seconds,
        "cut_short": model.cut_short,
    }


def stored_target(table: Table, target: str | None) -> str:
    """``target`` when given, else the table's one column with the role ``target``.

    Raises
    ------
    InputError
        When no target is given and the table has no target column, or several.
    """
    if target is not None:
        return target
    targets = table.by_role("target")
    if len(targets) == 1:
        return targets[0]
    if not targets:
        raise InputError(
            "no target: no column has the role target",
            hint="Name the column to predict with --target (or set its role at ingest: --target)",
        )
    raise InputError(
        f"{len(targets)} columns have the role target ({', '.join(targets)}): which one to predict?",
        hint="Name it with --target",
    )


class ModelRegistry:
    """``ws.models``: train, list, show, stage and load models."""

    def __init__(self, ctx: Context, datasets: Datasets) -> None:
        self._ctx = ctx
        self._datasets = datasets

    def train(
        self,
        source: DatasetVersion | str | os.PathLike[str],
        target: str | None = None,
        *,
        name: str | None = None,
        sheet: str | int | None = None,
        reason: str | None = None,
        **options: Any,
    ) -> tuple[ModelRecord, TrainedModel]:
        """Train on a dataset version (or its ``NAME[@VERSION]``), or on a file, and register the
        result as a new draft model version.

        ``target`` defaults to the table's one column with the role ``target`` (as ingest stored or
        guessed it); with none, or several, it must be named. A file is read as ``ingest`` reads it
        (``sheet`` for Excel) and stored as a dataset version only once the model is trained: a
        file that cannot be trained on leaves nothing behind. ``reason`` goes to the audit entries
        (the model's, and the file's ingest); regulated mode requires one.
        """
        from labsight.models._persist import dumps
        from labsight.models.train import train

        name = None if name is None else validate_name(name, "model")  # before the long search
        if isinstance(source, str | os.PathLike):
            source = self._datasets.source(source)  # a dataset NAME[@VERSION], else a file
        if isinstance(source, os.PathLike):
            roles: dict[str, Role] = {target: "target"} if target else {}
            pending = self._datasets.read_file(source, sheet=sheet, roles=roles, on_issue="ignore")
            target = stored_target(pending.table, target)
            model = train(pending.table, target, **options)
            source = pending.store(reason=reason)
        else:
            table = source.table()
            target = stored_target(table, target)
            model = train(table, target, **options)
        summary = model.summary()
        summary["dataset"] = source.ref
        summary["plan"] = (
            source.record.operation_params.get("plan")
            if source.record.operation == "clean"
            else None
        )
        summary["libraries"] = library_versions()
        if not all(math.isfinite(model.cv[k]) for k in ("mean", "std")):  # NOT NULL, and honest
            raise LabsightError(
                f"the cross-validated {model.metric} of {model.best} is not a number "
                f"({model.cv['mean']} ± {model.cv['std']}); nothing was stored",
                hint="Please report this with the table",
            )
        data = dumps(model)
        digest = hashlib.sha256(data).hexdigest()  # the file itself is stored last, with the row
        model_id = hashlib.sha256(
            (digest + json.dumps(summary, sort_keys=True, default=str)).encode()
        ).hexdigest()[:16]
        slug = "".join(ch if ch.isalnum() else "-" for ch in target.lower()).strip("-")
        name = name or to_name(f"{source.dataset}-{slug}", fallback="model", fill="-")
        # The file outlives a failed transaction only if an older row already holds it.
        with _removed_on_failure(self._ctx.artifacts, digest), self._ctx.db.write() as session:
            record = model_repo.add_model(
                session,
                model_id=model_id,
                name=name,
                dataset=source.ref,
                target=target,
                task=model.task,
                metric=model.metric,
                cv_mean=model.cv["mean"],
                cv_std=model.cv["std"],
                family=model.best,
                sha256=digest,
                summary=_json_safe(summary),
                actor=self._ctx.user,
            )
            audit.record(
                session,
                events.model_trained(
                    record.name,
                    record.model_id,
                    data=source.record.sha256,
                    file=digest,
                    details={
                        "number": record.number,
                        "dataset": source.ref,
                        "target": target,
                        "metric": model.metric,
                        "cv_mean": model.cv["mean"],
                        "family": model.best,
                        "seed": model.seed,
                        "better_than_baseline": model.better_than_baseline,
                    },
                    reason=reason,
                ),
                self._ctx.user,
            )
            self._ctx.artifacts.put_bytes(data, ".skops")  # last: a failed row writes no file
        return record, model

    def list(self) -> list[ModelRecord]:
        """Every model version, by name and number."""
        with self._ctx.db.read() as session:
            return model_repo.list_models(session)

    def get(self, ref: str) -> ModelRecord:
        """A model by id, ``name`` (latest version) or ``name@vN``."""
        with self._ctx.db.read() as session:
            return model_repo.get_model(session, ref)

    def load(self, ref: str) -> TrainedModel:
        """The fitted model, read from its file now (its hash is checked; only trusted types are
        loaded)."""
        return self.loaded(ref, cached=False)[1]

    def loaded(
        self, ref: str, *, cached: bool = True, load: bool = True
    ) -> tuple[ModelRecord, TrainedModel]:
        """The model version ``ref`` names and its fitted model, from one lookup.

        The row is checked against the audit trail (stage, file, summary; no newer version
        deleted) whenever its stage or file is not one already checked in this process, and the
        file is read, hash-checked and loaded once per process (by its hash): a server predicting
        many times from one model pays for neither again. ``cached=False`` reads the file again;
        ``load=False`` raises :class:`NotInMemory` instead of reading it (a server answers small
        requests on its event loop only when that takes no more than the prediction).
        """
        from labsight.models._persist import loads

        with self._ctx.db.one_read() as connection:
            model_id, stage, sha256 = model_repo.model_key(connection, ref)
        key = (self._ctx.settings.db_url, model_id, stage, sha256)
        record = _CHECKED.get(key)
        if record is None:  # read again with its seals, in one snapshot
            with self._ctx.db.read() as session:
                row = model_repo.model_row(session, model_id)
                audit.check_sealed(
                    session,
                    [row],
                    "model",
                    row.name,
                    present={"model": model_repo.version_keys(session, row.name)},
                )
                record = row.to_entity()
                if (record.model_id, record.stage, record.sha256) == key[1:]:
                    _CHECKED[key] = record
                    while len(_CHECKED) > _CHECKED_MAX:
                        _CHECKED.pop(next(iter(_CHECKED)))
        model = _LOADED.get(record.sha256) if cached else None
        if model is None:
            if not load:
                raise NotInMemory(record.ref)
            model = loads(self._ctx.artifacts.get_bytes(record.sha256), record.summary)
            _LOADED[record.sha256] = model
            while len(_LOADED) > _LOADED_MAX:
                _LOADED.pop(next(iter(_LOADED)))
        else:
            _LOADED[record.sha256] = _LOADED.pop(record.sha256)  # most recently used last
        return record, model

    def stage(
        self, ref: str, stage: str, *, reason: str | None = None, force: bool = False
    ) -> ModelRecord:
        """Move a model to ``stage`` (validated, production, archived), audited with the reason.

        A model that is not clearly better than the trivial baseline (its summary says
        ``better_than_baseline: false``) goes to production only with ``force=True`` and a
        ``reason``; the audit entry records that it was forced, and why.

        Raises
        ------
        ConflictError
            For a move backwards, or to production of a model no better than the baseline
            without ``force``.
        InputError
            For an unknown stage, or ``force`` without a ``reason``.
        """
        with self._ctx.db.write() as session:
            row = model_repo.model_row(session, ref)
            audit.check_sealed(session, [row], "model", row.name)  # never re-seal an edited row
            record, old = model_repo.set_stage(session, ref, stage)  # a refusal rolls it back
            if stage == "production" and is_regulated(session):
                _require_approval(session, record)
            forced = stage == "production" and _no_better_than_baseline(record, force, reason)
            audit.record(
                session,
                events.model_staged(
                    record.name,
                    record.model_id,
                    old=old,
                    new=stage,
                    reason=reason,
                    file=record.sha256,
                    details={
                        "forced": "not better than the baseline",
                        "cv_mean": record.cv_mean,
                        "baseline": record.summary.get("baseline"),  # the scores it was refused on
                    }
                    if forced
                    else {},
                ),
                self._ctx.user,
            )
        return record

    def export(
        self,
        ref: str,
        path: str | os.PathLike[str],
        *,
        format: str = "onnx",
        reason: str | None = None,
    ) -> OnnxExport:
        """Write the model as one ONNX graph (prediction with its interval, or calibrated
        probabilities) to ``path``, after checking it against labsight's own predictions on the
        training rows; audited as ``model.export`` with the file's hash (and ``reason``, which
        regulated mode requires).

        Raises
        ------
        InputError
            For a format other than ``onnx``.
        ExportError
            When the model has no ONNX form, or the graph disagrees with the model.
        """
        from labsight._atomic import atomic_write_bytes
        from labsight.models._features import model_frame

        if format != "onnx":
            raise InputError(f"unknown export format {format!r}", expected="onnx", got=repr(format))
        absent = [m for m in _ONNX_MODULES if importlib.util.find_spec(m) is None]
        if absent:
            raise ExportError(
                f"ONNX export needs the onnx extra ({', '.join(absent)} not installed)",
                hint="pip install 'labsight[onnx]'",
            )
        from labsight.models.export import refuse_unexportable, to_onnx

        record = self.get(ref)
        model = self.load(ref)
        refuse_unexportable(model)  # before the training rows are read
        if record.dataset is None:
            raise ExportError(
                f"model {record.ref} records no training data to check its export on",
                hint="Retrain it from a dataset (labsight train DATASET --target COLUMN)",
            )
        rows = model_frame(self._datasets.dataset(record.dataset).table(), model.features)
        if len(rows) > _CHECK_ROWS:
            rows = rows.sample(_CHECK_ROWS, random_state=0)
        plan = record.summary.get("plan")
        exported = to_onnx(
            model,
            rows,
            {
                "model_id": record.model_id,
                "model": record.ref,
                "stage": record.stage,
                "dataset": record.dataset or "",
                "created": record.created.isoformat(),
                "created_by": record.created_by,
                "cleaning_plan": plan or "",
                "libraries": record.summary.get("libraries", {}),
            },
        )
        if plan:
            exported.notes.append(
                f"trained on the cleaned version {record.dataset}: clean new data with its plan "
                f"first (labsight clean FILE --plan {record.dataset}); the graph does not"
            )
        digest = hashlib.sha256(exported.data).hexdigest()
        with self._ctx.db.write() as session:
            audit.record(
                session,
                events.model_exported(
                    record.name,
                    record.model_id,
                    file=record.sha256,
                    exported=digest,
                    path=str(path),
                    details={"format": format, "bytes": len(exported.data)},
                    reason=reason,
                ),
                self._ctx.user,
            )
            atomic_write_bytes(path, exported.data)  # last: a failed write rolls the entry back
        return exported

    def predict_file(
        self, ref: str, path: str | os.PathLike[str], *, sheet: str | int | None = None
    ) -> Predictions:
        """Predictions for the rows of a file (read as ``ingest`` reads it, nothing stored), with
        every warning in words: a column without a unit taken to be in the model's unit, rows
        outside the training data. The one way every face predicts from a file."""
        from labsight._notes import collecting
        from labsight.data.ingest import read_table
        from labsight.models.predict import extrapolation_note

        options: dict[str, Any] = {"sheet": sheet} if sheet is not None else {}
        record, model = self.loaded(ref)
        if model.features.image is not None:  # a folder of new images (any layout), or one image
            from labsight.data.ingest import read_images

            table = read_images(path)
        else:
            table = read_table(path, on_issue="ignore", **options)
        if model.task == "segmentation":  # one row per image, and its objects as a label image
            from labsight.models.segment import segmentation_table

            found, masks = segmentation_table(model, table)
            files = table.frame["file"].to_list() if "file" in table.frame.columns else None
            named = [(files[i] if files else f"image-{i + 1}", m) for i, m in enumerate(masks)]
            frame = pl.concat([table.frame, found], how="horizontal")
            return Predictions(frame, [], record.ref, named)
        with collecting() as notes:  # this call's warnings alone, whatever runs beside it
            record, frame = self._predict(ref, table)
        note = extrapolation_note(frame)
        return Predictions(frame, [*notes, note] if note else notes, record.ref)

    def predict_rows(
        self, ref: str, rows: Sequence[dict[str, Any]], *, load: bool = True
    ) -> Predictions:
        """Predictions for rows given as ``{column: value}`` mappings (the server's JSON), read as
        a table is (units from the headers), with the warnings in words. ``frame`` holds the
        prediction columns only; ``model`` names the version that predicted. ``load=False``
        raises :class:`NotInMemory` rather than read a model file (see :meth:`loaded`)."""
        from labsight._notes import collecting
        from labsight.models.predict import extrapolation_note

        if not rows:
            raise InputError("no rows to predict", hint='Send {"rows": [{"column": value, …}]}')
        try:
            frame = _rows_frame(rows)
        except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
            raise InputError(
                f"the rows cannot be read as a table: {str(exc).splitlines()[0][:200]}",
                hint="Give every row the same columns, each with values of one kind",
            ) from exc
        schema = frame.schema
        # dtypes tested by class (polars's dtype == is slow Python)
        nested = [c for c, t in schema.items() if t.is_nested() or isinstance(t, pl.Object)]
        if nested:
            raise InputError(
                f"column {nested[0][:80]!r} holds lists or objects",
                expected="a number, text, true/false or null in every cell",
                column=nested[0],
            )
        if any(isinstance(t, pl.Null) for t in schema.values()):  # a column with no value at all
            frame = pl.DataFrame(
                [s.cast(pl.Float64) if s.dtype == pl.Null else s for s in frame.get_columns()]
            )
        with collecting() as notes:  # this call's warnings alone, whatever runs beside it
            record, predicted = self._predict(
                ref, Table.from_frame(frame), with_input=False, load=load
            )
        note = extrapolation_note(predicted)
        return Predictions(predicted, [*notes, note] if note else notes, record.ref)

    def predict(self, ref: str, table: Table) -> pl.DataFrame:
        """Predictions for ``table``: the model's cleaning plan replayed first, when it has one.

        Columns are matched and converted to the model's units as
        :func:`~labsight.models.predict.predict_table` does, which warns
        (:class:`~labsight.exceptions.LabsightWarning`) for a column without a unit taken to be in
        the model's unit, and adds ``extrapolation`` and ``out_of_range`` for rows outside the
        training data (models trained before the domain was recorded have neither column).
        """
        return self._predict(ref, table)[1]

    def _predict(
        self, ref: str, table: Table, *, with_input: bool = True, load: bool = True
    ) -> tuple[ModelRecord, pl.DataFrame]:
        from labsight.data.clean import apply_plan
        from labsight.models.predict import predict_table, predictions

        record, model = self.loaded(ref, load=load)
        plan = record.summary.get("plan")
        if plan:
            table = apply_plan(table, _plan(plan)).table
        if with_input:
            return record, predict_table(model, table)
        return record, predictions(model, table)

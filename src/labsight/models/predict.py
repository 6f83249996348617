"""Batch predictions: match a new table to what the model expects, convert units, predict.

A new file may name a feature with another unit (``temperature [K]`` for a model trained on
``temperature [degC]``): columns are matched by exact name first, then by name without the unit, and
values are converted when the units are compatible. Missing columns, incompatible units, a unit
where the model learned none, and text where a number is expected are refused with one error naming
the column. A column without a unit where the model learned one is taken to be in the model's unit,
with a :class:`~labsight.exceptions.LabsightWarning` saying so (the CLI prints it as a line): it
cannot be checked. The output keeps the input rows in order and adds ``extrapolation`` (the row is
outside the training data, see :mod:`labsight.models._domain`) and ``out_of_range`` (the features
outside their training range, ``"T [degC] > 80"``; null when none) for models that recorded their
training data's domain, then ``prediction`` with ``lower`` and ``upper`` (regression) or
``prediction`` and one ``proba_<class>`` column per class.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from labsight._notes import warn
from labsight.data.sequences import SequenceSpec, runs_table
from labsight.data.table import Table
from labsight.data.units import convert, is_compatible, match_column, split_header
from labsight.exceptions import InputError
from labsight.models._arrays import FeatureArrays
from labsight.models._compiled import compiled
from labsight.models._domain import check_domain
from labsight.models._features import model_arrays, number_block
from labsight.models._trained import TrainedModel

__all__ = [
    "extrapolation_note",
    "feature_arrays",
    "interval",
    "predict_table",
    "predictions",
]

_FLAG_COLUMNS = ("extrapolation", "out_of_range")


@dataclass(frozen=True)
class _Bound:
    """Where a model's feature comes from in a table: the column ``found`` and, for a number, the
    unit it is in (``have``) and the model's (``want``)."""

    feature: str
    found: str
    have: str | None = None
    want: str | None = None


@dataclass(frozen=True)
class _Binding:
    numbers: list[_Bound]
    categories: list[_Bound]
    molecules: list[_Bound]
    images: list[_Bound]


def _bind(model: TrainedModel, table: Table) -> _Binding:
    """The column of ``table`` that feeds each feature of ``model``, with the units to convert;
    found once per model and set of headers (with their units), the checks that need only the
    headers made then."""
    fs = model.features
    headers = tuple(table.frame.columns)
    units = tuple(c.unit for c in table.columns)
    key = (id(model), headers, units)
    cached = _BINDINGS.get(key)
    if cached is not None and cached[0] is model:
        return cached[1]
    numbers: list[_Bound] = []
    categories: list[_Bound] = []
    molecules: list[_Bound] = []
    images: list[_Bound] = []
    for name in fs.columns:
        found = match_column(name, headers)
        if found is None:
            raise InputError(
                f"the model needs column {name!r}, which the new data does not have",
                expected="the feature columns the model was trained on: "
                + ", ".join(repr(c) for c in fs.columns),
                hint="Rename the column in the file, or train a model without it",
            )
        if name == fs.image:
            images.append(_Bound(name, found))
            continue
        if name not in fs.numeric:
            (categories if name in fs.categorical else molecules).append(_Bound(name, found))
            continue
        # a header's unit counts even where the table's metadata lost it
        want = fs.units.get(name)
        have = table.column(found).unit or split_header(found)[1]
        if have and not want:
            raise InputError(
                f"the values are in {have}, but the model learned {name!r} without a unit, so "
                "it cannot tell whether they need converting",
                column=found,
                expected=f"the values in the unit of the training data, under the name {name!r}",
                got=have,
                hint=f"Rename the column to {name!r} once its values are in the training data's unit",
            )
        if want and have and want != have and not is_compatible(have, want):
            raise InputError(
                f"column {found!r} is in {have}, which cannot be converted to the model's {want}",
                expected=f"a unit of the same dimension as {want}",
                got=have,
            )
        numbers.append(_Bound(name, found, have, want))
    binding = _Binding(numbers, categories, molecules, images)
    _BINDINGS[key] = (model, binding)
    while len(_BINDINGS) > _BINDINGS_MAX:
        _BINDINGS.pop(next(iter(_BINDINGS)))
    return binding


_NUMPY_READS = frozenset(
    {pl.Float64, pl.Float32, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32}
)
"""Number types whose ``to_numpy`` becomes float64 in the number block exactly as a cast to
Float64 would make it (a missing cell is NaN either way); others (UInt64, decimals) are cast."""

_BINDINGS: dict[tuple[Any, ...], tuple[TrainedModel, _Binding]] = {}
_BINDINGS_MAX = 256


def feature_arrays(model: TrainedModel, table: Table) -> FeatureArrays:
    """The model's inputs read from ``table``: its feature columns matched by name, numbers
    converted to the model's units, categories as text (``MISSING_LEVEL`` for a missing
    cell), SMILES as their descriptors.

    Raises
    ------
    InputError
        When a feature column is missing, its unit is incompatible, or it holds text where the
        model expects numbers.

    Warns
    -----
    LabsightWarning
        For each number column without a unit that the model learned with one.
    """
    binding = _bind(model, table)
    frame = table.frame
    by_name = dict(zip(frame.columns, frame.get_columns(), strict=True))
    unread = {f.column for f in table.findings if f.check == "invalid_value" and f.rows}
    columns = []  # column by column: a polars select of many columns costs more than the model
    for b in binding.numbers:
        series = by_name[b.found]
        kind = type(series.dtype)  # (a class test: polars's dtype == is slow)
        if kind in _NUMPY_READS:  # floats, or integers that numpy widens as a cast would
            pass
        elif not series.dtype.is_numeric():  # text cells, or a column with no value at all
            _refuse_text(table, b.found, b.feature)
            series = series.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        else:
            series = series.cast(pl.Float64)
        if b.found in unread:
            _refuse_unread_cells(table, b.found, b.feature)
        columns.append(series.to_numpy())  # NaN for a missing cell
    for b in binding.numbers:
        if b.want and not b.have:
            _warn_unknown_unit(b.found, b.feature, b.want)
    numbers = number_block(columns, table.height)
    for j, b in enumerate(binding.numbers):
        if b.want and b.have and b.want != b.have:
            numbers[:, j] = convert(numbers[:, j], b.have, b.want)
    return model_arrays(
        table,
        numbers,
        [b.feature for b in binding.numbers],
        molecules=[(b.feature, b.found) for b in binding.molecules],
        categories=[(b.feature, b.found) for b in binding.categories],
        images=[(b.feature, b.found) for b in binding.images],
    )


def _warn_unknown_unit(found: str, name: str, want: str) -> None:
    warn(
        f"column {found!r} has no unit; its values are taken to be in {want}, the unit the model "
        f"learned for {name!r}, and cannot be checked. Name their unit in the header "
        f"('{found} [{want}]' if they are in {want})",
        stacklevel=4,
    )


def _refuse_text(table: Table, found: str, name: str) -> None:
    """Name the first cell of ``found`` that is not a number: file, line, column, value (none:
    every filled cell reads as a number, and an empty column is all missing values)."""
    series = table.frame[found]
    numbers = series.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    bad = (numbers.is_null() & series.is_not_null()).arg_true()
    if not bad.len():  # every filled cell is a number (or no cell is filled): nothing to refuse
        return
    row = int(bad[0])
    raise InputError(
        f"{series[row]!r} is not a number, and the model reads numbers from {name!r}",
        path=table.source.path if table.source else None,
        line=table.line_of(row),
        column=found,
        expected="a number in every filled cell of the column",
        got=repr(series[row]),
        hint="Fix or empty the cell (labsight quality FILE lists every such cell)",
    )


def _refuse_unread_cells(table: Table, found: str, name: str) -> None:
    """Cells that ingest could not read as numbers became missing; a prediction must not quietly
    impute them, so the first one is named (file, line, column) instead."""
    for finding in table.findings:
        if finding.check == "invalid_value" and finding.column == found and finding.rows:
            details = finding.details
            value = (details.get("values") or ["?"])[0]
            lines = details.get("lines") or [table.line_of(finding.rows[0])]
            raise InputError(
                f"{value!r} is not a number, and the model reads numbers from {name!r}",
                path=table.source.path if table.source else None,
                line=lines[0],
                column=found,
                expected="a number in every filled cell of the column",
                got=repr(value),
                hint="Fix or empty the cell (labsight quality FILE lists every such cell)",
            )


def predict_table(model: TrainedModel, table: Table, *, fast_path: bool = True) -> pl.DataFrame:
    """The input rows, in order, with the extrapolation flags and the model's predictions appended
    (:func:`predictions`; a prediction column whose name the input already has gets the suffix
    ``_predicted``).

    Warns
    -----
    LabsightWarning
        For each feature column without a unit that the model learned with one: its values are
        taken to be in the model's unit.
    """
    if model.task == "segmentation":  # one row per image: its objects (the masks: segment.py)
        from labsight.models.segment import segmentation_table

        return pl.concat([table.frame, segmentation_table(model, table)[0]], how="horizontal")
    if model.forecast is not None:  # one row per run and step ahead: run, step, time, forecast
        from labsight.data.forecast import forecast_rows

        windows, where = forecast_rows(table, model.forecast)
        extra = predictions(model, windows, fast_path=fast_path)
        return pl.concat([where, extra], how="horizontal")
    if model.sequence is not None:  # one row per run: the run's id, then its prediction
        runs = runs_table(_long(table, model.sequence), model.sequence)
        extra = predictions(model, runs, fast_path=fast_path, as_runs=True)
        return pl.concat([runs.frame.select(model.sequence.group), extra], how="horizontal")
    extra = predictions(model, table, fast_path=fast_path)
    clash = [c for c in extra.columns if c in table.frame.columns]
    if clash:
        extra = extra.rename({c: f"{c}_predicted" for c in clash})
    return pl.concat([table.frame, extra], how="horizontal")


def predictions(
    model: TrainedModel, table: Table, *, fast_path: bool = True, as_runs: bool = False
) -> pl.DataFrame:
    """One row per row of ``table``: ``extrapolation`` and ``out_of_range`` (for models that
    recorded their training data's domain), then ``prediction`` with ``lower`` and ``upper``
    (regression) or one ``proba_<class>`` per class.

    The model's pipelines are replayed on numpy where that gives scikit-learn's answers exactly
    (:mod:`labsight.models._compiled`; ``fast_path=False`` never does).

    A model of runs (a sequence task) reads the long table of readings and answers one row per
    run, in order of each run's first reading (``as_runs``: ``table`` is already one row per run).
    """
    if model.sequence is not None and not as_runs:
        table = runs_table(_long(table, model.sequence), model.sequence)
    x = feature_arrays(model, table)
    out: dict[str, Any] = {}
    if model.domain is not None:  # models trained before it was recorded are not checked
        names = model.domain.get("features") or []
        flags, outside = check_domain(model.domain, x.numbers_of(names))
        out["extrapolation"] = pl.Series("extrapolation", flags, dtype=pl.Boolean)
        out["out_of_range"] = pl.Series("out_of_range", outside, dtype=pl.String)
    fast = compiled(model) if fast_path else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model.task == "regression":
            folds = None
            if fast is not None:
                prediction, folds = fast.regress(x)
            else:
                prediction = model.estimator.predict(x.to_pandas())
            out["prediction"] = np.asarray(prediction, dtype=np.float64)
            out["lower"], out["upper"] = interval(model, x, folds)
        else:
            proba = np.asarray(
                fast.predict_proba(x)
                if fast is not None
                else model.estimator.predict_proba(x.to_pandas()),
                dtype=np.float64,
            )
            classes = list(model.estimator.classes_)
            out["prediction"] = [classes[i] for i in np.argmax(proba, axis=1)]
            for j, c in enumerate(classes):
                out[f"proba_{c}"] = proba[:, j]
    return pl.DataFrame(out)


def _long(table: Table, spec: SequenceSpec) -> Table:
    """Runs stored one per row (lists of readings in cells) unfolded, as training unfolded them."""
    if not spec.cells:
        return table
    from labsight.data.sequences import unfold_cells

    return unfold_cells(table, spec.cells, spec.group)


def extrapolation_note(frame: pl.DataFrame) -> str | None:
    """One sentence on the rows of a :func:`predict_table` output that extrapolate, or ``None``.

    Examples
    --------
    >>> frame = pl.DataFrame({"extrapolation": [False, True, True],
    ...                       "out_of_range": [None, "T > 80", None]})
    >>> print(extrapolation_note(frame))
    2 of 3 rows extrapolate beyond the training data (1 outside a feature's training range, 1 far from every training row): see the extrapolation and out_of_range columns
    """
    names = [f"{c}_predicted" if f"{c}_predicted" in frame.columns else c for c in _FLAG_COLUMNS]
    if not all(c in frame.columns for c in names):
        return None
    flags = frame[names[0]].to_list()
    total = sum(1 for flag in flags if flag)
    if not total:
        return None
    outside = frame[names[1]].to_list()
    ranged = sum(1 for flag, o in zip(flags, outside, strict=True) if flag and o is not None)
    return (
        f"{total} of {frame.height} rows extrapolate beyond the training data ({ranged} outside a "
        f"feature's training range, {total - ranged} far from every training row): see the "
        f"{names[0]} and {names[1]} columns"
    )


def interval(
    model: TrainedModel, x: FeatureArrays, folds: list[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the prediction interval at the model's level (from ``folds``, the
    CV+ fold pipelines' predictions for ``x`` by the compiled replay, when given)."""
    if folds is not None and model.interval_method != "gp":
        preds = np.vstack([np.asarray(p, dtype=np.float64) for p in folds])
        return model.intervals.interval_of(preds, model.level)  # type: ignore[no-any-return]
    frame = x.to_pandas()
    if model.interval_method == "gp":
        from labsight.models._conformal import gaussian_interval

        # The GP's own posterior, from the model refitted on all rows.
        mean, std = model.estimator[-1].predict(
            model.estimator[:-1].transform(frame), return_std=True
        )
        return gaussian_interval(mean, std, model.level)
    return model.intervals.interval(frame, model.level)  # type: ignore[no-any-return]

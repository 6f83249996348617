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
from typing import Any

import numpy as np
import polars as pl

from labsight.data.table import Table
from labsight.data.units import convert, is_compatible, match_column, split_header
from labsight.exceptions import InputError, LabsightWarning
from labsight.models._compiled import CompiledModel, Inputs, compiled
from labsight.models._domain import check_domain
from labsight.models._features import model_frame
from labsight.models._trained import TrainedModel

__all__ = ["align_features", "extrapolation_note", "interval", "predict_table"]

_FLAG_COLUMNS = ("extrapolation", "out_of_range")


def align_features(model: TrainedModel, table: Table) -> Table:
    """A table with the model's feature columns, under its names, in its units.

    Raises
    ------
    InputError
        When a feature column is missing, its unit is incompatible, or it holds text where the
        model expects numbers.
    """
    fs = model.features
    columns: list[pl.Series] = []
    for name in fs.columns:
        found = match_column(name, table.frame.columns)
        if found is None:
            raise InputError(
                f"the model needs column {name!r}, which the new data does not have",
                expected="the feature columns the model was trained on: "
                + ", ".join(repr(c) for c in fs.columns),
                hint="Rename the column in the file, or train a model without it",
            )
        series = table.frame[found]
        if name in fs.numeric:
            if not series.dtype.is_numeric():  # text cells, or a column with no value at all
                _refuse_text(table, found, name)
                series = series.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
            _refuse_unread_cells(table, found, name)
            # a header's unit counts even where the table's metadata lost it
            want = fs.units.get(name)
            have = table.column(found).unit or split_header(found)[1]
            values = series.cast(pl.Float64)
            if want and not have:
                _warn_unknown_unit(found, name, want)
            if have and not want:
                raise InputError(
                    f"the values are in {have}, but the model learned {name!r} without a unit, so "
                    "it cannot tell whether they need converting",
                    column=found,
                    expected=f"the values in the unit of the training data, under the name {name!r}",
                    got=have,
                    hint=f"Rename the column to {name!r} once its values are in the training data's unit",
                )
            if want and have and want != have:
                if not is_compatible(have, want):
                    raise InputError(
                        f"column {found!r} is in {have}, which cannot be converted to the model's "
                        f"{want}",
                        expected=f"a unit of the same dimension as {want}",
                        got=have,
                    )
                values = pl.Series(found, convert(values.fill_null(np.nan).to_numpy(), have, want))
                values = values.fill_nan(None)
            columns.append(values.alias(name))
        else:
            columns.append(series.cast(pl.String).alias(name))
    return Table.from_frame(pl.DataFrame(columns))


def _warn_unknown_unit(found: str, name: str, want: str) -> None:
    warnings.warn(
        f"column {found!r} has no unit; its values are taken to be in {want}, the unit the model "
        f"learned for {name!r}, and cannot be checked. Name their unit in the header "
        f"('{found} [{want}]' if they are in {want})",
        LabsightWarning,
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
    """The input rows, in order, with the extrapolation flags and the model's predictions appended.

    The model's pipelines are replayed on numpy where that gives scikit-learn's answers exactly
    (:mod:`labsight.models._compiled`; ``fast_path=False`` never does).

    Warns
    -----
    LabsightWarning
        For each feature column without a unit that the model learned with one: its values are
        taken to be in the model's unit.
    """
    aligned = align_features(model, table)
    x = model_frame(aligned, model.features)
    out: dict[str, Any] = {}
    if model.domain is not None:  # models trained before it was recorded are not checked
        flags, outside = check_domain(model.domain, x)
        out["extrapolation"] = pl.Series("extrapolation", flags, dtype=pl.Boolean)
        out["out_of_range"] = pl.Series("out_of_range", outside, dtype=pl.String)
    fast = compiled(model) if fast_path else None
    inputs: Inputs = {}  # the compiled replay takes each input column from x once
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model.task == "regression":
            out["prediction"] = np.asarray(
                fast.predict(x, inputs) if fast is not None else model.estimator.predict(x),
                dtype=np.float64,
            )
            lower, upper = interval(model, x, fast, inputs)
            out["lower"], out["upper"] = lower, upper
        else:
            proba = np.asarray(
                fast.predict_proba(x, inputs)
                if fast is not None
                else model.estimator.predict_proba(x),
                dtype=np.float64,
            )
            classes = list(model.estimator.classes_)
            out["prediction"] = [classes[i] for i in np.argmax(proba, axis=1)]
            for j, c in enumerate(classes):
                out[f"proba_{c}"] = proba[:, j]
    extra = pl.DataFrame(out)
    clash = [c for c in extra.columns if c in table.frame.columns]
    if clash:
        extra = extra.rename({c: f"{c}_predicted" for c in clash})
    return pl.concat([table.frame, extra], how="horizontal")


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
    flags, outside = frame[names[0]].fill_null(False), frame[names[1]].is_not_null()
    total = int(flags.sum())
    if not total:
        return None
    ranged = int((flags & outside).sum())
    return (
        f"{total} of {frame.height} rows extrapolate beyond the training data ({ranged} outside a "
        f"feature's training range, {total - ranged} far from every training row): see the "
        f"{names[0]} and {names[1]} columns"
    )


def interval(
    model: TrainedModel, x: Any, fast: CompiledModel | None = None, inputs: Inputs | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the prediction interval at the model's level (from the fold
    predictions of ``fast``, the model's compiled replay, when given)."""
    if fast is not None and model.interval_method != "gp":
        folds = fast.fold_predictions(x, inputs)
        preds = np.vstack([np.asarray(p, dtype=np.float64) for p in folds])
        return model.intervals.interval_of(preds, model.level)  # type: ignore[no-any-return]
    if model.interval_method == "gp":
        from labsight.models._conformal import gaussian_interval

        # The GP's own posterior, from the model refitted on all rows.
        mean, std = model.estimator[-1].predict(model.estimator[:-1].transform(x), return_std=True)
        return gaussian_interval(mean, std, model.level)
    return model.intervals.interval(x, model.level)  # type: ignore[no-any-return]

"""Which columns a model reads, and the preprocessing inside every pipeline.

Preprocessing is fitted inside each cross-validation fold (it is the first step of the pipeline), so
nothing about the held-out rows leaks into the model: numbers are median-imputed (with a missing
indicator when they have gaps) and standardized. Categories with at most :data:`ONEHOT_LEVELS`
levels are one-hot encoded, a missing category being its own level, ``(missing)`` (in a lab, a
blank catalyst cell often means "none"), and levels unseen in training are ignored. Categories with
more levels (reagent lots, substrates) are target-encoded: scikit-learn's ``TargetEncoder`` replaces
each level by the shrunk mean of the target for it, learned with an inner cross-fitting so that a
row's own target never sets its encoding; then standardized. Tree models get the same encoding,
which keeps one contract for every family.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from labsight.data.table import Table, is_number
from labsight.exceptions import InputError

__all__ = [
    "MISSING_LEVEL",
    "ONEHOT_LEVELS",
    "FeatureSet",
    "feature_set",
    "make_preprocessor",
    "model_frame",
]

ONEHOT_LEVELS = 10  # categories with more levels are target-encoded
_MAX_LEVELS = 50  # … and kept up to this many levels, or one level per 5 rows on larger tables
MISSING_LEVEL = "(missing)"  # the level a missing category cell takes


@dataclass(frozen=True)
class FeatureSet:
    """The columns a model reads: numbers and categories, with the unit of each number."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    units: dict[str, str | None]
    encoded: tuple[str, ...] = ()  # the categories (of ``categorical``) that are target-encoded

    @property
    def onehot(self) -> tuple[str, ...]:
        """The categories that are one-hot encoded."""
        return tuple(c for c in self.categorical if c not in self.encoded)

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]


def feature_set(table: Table, target: str, features: list[str] | None = None) -> FeatureSet:
    """The feature columns of ``table`` for predicting ``target``.

    By default every column with role ``feature`` or ``condition``; ids, groups, times and the
    target are left out. Text columns with more than 50 levels (and more than one level per five
    rows) are left out too: free text and sample names do not generalize. Categories with more than
    :data:`ONEHOT_LEVELS` levels are marked for target encoding.

    Raises
    ------
    InputError
        When a named feature is not a column, or no usable feature is left.
    """
    names = table.frame.columns
    if features is None:
        chosen = [
            c.name for c in table.columns if c.role in ("feature", "condition") and c.name != target
        ]
    else:
        unknown = [f for f in features if f not in names]
        if unknown:
            raise InputError(
                f"unknown feature column {unknown[0]!r}",
                expected="one of " + ", ".join(repr(n) for n in names),
                got=repr(unknown[0]),
            )
        chosen = [f for f in features if f != target]
    numeric, categorical, encoded = [], [], []
    most = max(_MAX_LEVELS, table.frame.height // 5)
    for name in chosen:
        if is_number(table.schema[name]):
            numeric.append(name)
        elif (levels := table.distinct(name)) <= most:
            categorical.append(name)
            if levels > ONEHOT_LEVELS:
                encoded.append(name)
    if not numeric and not categorical:
        raise InputError(
            f"no feature columns to predict {target!r} from",
            expected="numeric columns or categories with at most 50 levels (role feature or condition)",
            hint="Set roles with --role NAME=feature, or list the features",
        )
    units = {c: table.column(c).unit for c in numeric}
    return FeatureSet(tuple(numeric), tuple(categorical), units, tuple(encoded))


def model_frame(table: Table, features: FeatureSet) -> pd.DataFrame:
    """The feature columns as pandas (what scikit-learn pipelines read): numbers as floats with
    NaN for missing cells, categories as strings with :data:`MISSING_LEVEL` for missing cells."""

    frame = table.frame.select(
        *[pl.col(c).cast(pl.Float64).fill_nan(None) for c in features.numeric],
        *[pl.col(c).cast(pl.String).fill_null(MISSING_LEVEL) for c in features.categorical],
    )
    out = frame.to_pandas()
    for c in features.categorical:
        out[c] = out[c].astype(object)
    return out


def make_preprocessor(
    features: FeatureSet, *, scale: bool = True, seed: int = 0
) -> ColumnTransformer:
    """The preprocessing step: impute and scale numbers, one-hot encode the categories with few
    levels, target-encode (and scale) those with many."""
    numeric_steps: list[tuple[str, object]] = [
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    ]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    parts: list[tuple[str, object, list[str]]] = []
    if features.numeric:
        parts.append(("num", Pipeline(numeric_steps), list(features.numeric)))
    if features.onehot:
        parts.append(
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(features.onehot),
            )
        )
    if features.encoded:
        encode: list[tuple[str, object]] = [("encode", TargetEncoder(random_state=seed))]
        if scale:
            encode.append(("scale", StandardScaler()))
        parts.append(("enc", Pipeline(encode), list(features.encoded)))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)

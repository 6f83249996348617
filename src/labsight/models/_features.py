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

A text column whose name says SMILES is read as molecules: each becomes the RDKit descriptors of
:mod:`labsight.models._molecules` (``smiles:MolWt`` …), numbers like any other. Every column a
model does not read is named with the reason (:func:`select_features`), and feature columns that
look like other outcomes of the same experiments are called out (:func:`sibling_targets`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from labsight.data.roles import named_like_target
from labsight.data.spectra import MIN_CHANNELS, spectral_columns
from labsight.data.table import Table, is_number
from labsight.exceptions import InputError
from labsight.models._arrays import FeatureArrays
from labsight.models._molecules import (
    descriptor_columns,
    descriptor_matrix,
    looks_like_smiles_column,
    rdkit_available,
)

__all__ = [
    "IMAGE_REASON",
    "MISSING_LEVEL",
    "ONEHOT_LEVELS",
    "FeatureSet",
    "describe_left_out",
    "feature_set",
    "image_input",
    "image_refs_of",
    "make_preprocessor",
    "model_arrays",
    "model_frame",
    "number_block",
    "select_features",
    "sibling_targets",
    "with_images",
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
    molecules: tuple[str, ...] = ()  # SMILES columns, read as their RDKit descriptors
    # The numeric columns that are one spectrum (:mod:`labsight.data.spectra`), in axis order:
    # explanations measure bands of them together, and the spectral families read them as one
    # signal.
    spectrum: tuple[str, ...] = ()
    # A sequence task (:mod:`labsight.data.sequences`): the sensors, each resampled onto
    # ``sequence_length`` points as the inputs ``sensor@000`` …; importance is measured per sensor,
    # and the 1-D CNN reads the sensors as the channels of one signal over time.
    sequence: tuple[str, ...] = ()
    sequence_length: int = 0
    # An image task (:mod:`labsight.data.images`): the column of images, which the image
    # families read (and nothing else: the other columns are left out)
    image: str | None = None

    @property
    def onehot(self) -> tuple[str, ...]:
        """The categories that are one-hot encoded."""
        return tuple(c for c in self.categorical if c not in self.encoded)

    @property
    def columns(self) -> list[str]:
        """The table columns the model reads (what new data must have)."""
        if self.image:
            return [self.image]
        return [*self.numeric, *self.categorical, *self.molecules]

    @property
    def descriptors(self) -> tuple[str, ...]:
        """The descriptor features computed from the SMILES columns (``smiles:MolWt`` …)."""
        return tuple(d for c in self.molecules for d in descriptor_columns(c))

    @property
    def numbers(self) -> tuple[str, ...]:
        """The numeric inputs of the pipeline: the numeric columns, then the descriptors."""
        return (*self.numeric, *self.descriptors)

    @property
    def signals(self) -> list[tuple[str, ...]]:
        """The inputs a convolution reads, one tuple per channel in axis (or time) order: the
        spectrum, or each sensor's resampled values; empty for other tables."""
        if self.spectrum:
            return [self.spectrum]
        return [tuple(f"{s}@{k:03d}" for k in range(self.sequence_length)) for s in self.sequence]

    @property
    def inputs(self) -> list[str]:
        """The columns of :func:`model_frame`, in its order: what importance is measured on."""
        if self.image:
            return [self.image]
        return [*self.numbers, *self.categorical]


def feature_set(
    table: Table,
    target: str,
    features: list[str] | None = None,
    exclude: list[str] | None = None,
) -> FeatureSet:
    """The feature columns of ``table`` for predicting ``target`` (see :func:`select_features`)."""
    return select_features(table, target, features, exclude)[0]


def select_features(
    table: Table,
    target: str,
    features: list[str] | None = None,
    exclude: list[str] | None = None,
) -> tuple[FeatureSet, dict[str, str]]:
    """The feature columns of ``table`` for predicting ``target``, and why each other column is
    left out (column → reason).

    By default every column with role ``feature`` or ``condition``; ids, groups, times, other
    targets and the target are left out, and so are the columns in ``exclude``. Text columns with
    more than 50 levels (and more than one level per five rows) are left out too: free text and
    sample names do not generalize. Categories with more than :data:`ONEHOT_LEVELS` levels are
    marked for target encoding. A text column whose name says SMILES (whatever its role but
    target, group or time: a column of distinct molecules is guessed to be an id) is read as
    molecules, through their RDKit descriptors; without RDKit, or when fewer than half of its
    values are SMILES RDKit can read, it is the text it is (a category when its role is feature
    or condition and it has few levels), and when left out, that is the reason given.

    Raises
    ------
    InputError
        When a named or excluded column does not exist, the target is excluded, or no usable
        feature is left.
    """
    names = table.frame.columns
    exclude = list(exclude or [])
    for name in [*(features or []), *exclude]:
        if name not in names:
            given = "feature" if name in (features or []) else "excluded"
            raise InputError(
                f"unknown {given} column {name!r}",
                expected="one of " + ", ".join(repr(n) for n in names),
                got=repr(name),
            )
    if target in exclude:
        raise InputError(
            f"cannot exclude the target {target!r}",
            hint="Exclude other columns, or name another --target",
        )
    left_out: dict[str, str] = {}
    image = image_input(table, target, features, exclude)
    if image is not None:  # an image task: the images are the input
        for name in names:
            if name not in (image, target):
                left_out[name] = "excluded on request" if name in exclude else IMAGE_REASON
        return FeatureSet((), (), {}, image=image), left_out
    molecules: list[str] = []
    if features is None:
        chosen = []
        for c in table.columns:
            if c.name == target or c.name in exclude:
                continue
            smiles = table.schema[c.name] == pl.String and looks_like_smiles_column(c.name)
            if smiles and c.role not in ("target", "group", "time"):
                molecules.append(c.name)
                continue
            if c.role in ("feature", "condition"):
                chosen.append(c.name)
            else:
                left_out[c.name] = _ROLE_REASONS.get(c.role, f"role {c.role}")
    else:
        chosen = [f for f in features if f != target and f not in exclude]
        for name in names:
            if name != target and name not in chosen and name not in exclude:
                left_out[name] = "not among the features asked for"
        molecules = [
            f for f in chosen if table.schema[f] == pl.String and looks_like_smiles_column(f)
        ]
        chosen = [f for f in chosen if f not in molecules]
    for name in exclude:
        left_out[name] = "excluded on request"
    unread = _unreadable_molecules(table, molecules)
    molecules = [m for m in molecules if m not in unread]
    for name, why in unread.items():  # an input still, as the text it is, where its role says so
        if features is not None or table.column(name).role in ("feature", "condition"):
            chosen.append(name)
        else:
            left_out[name] = why
    numeric, categorical, encoded = [], [], []
    most = max(_MAX_LEVELS, table.frame.height // 5)
    for name in chosen:
        if is_number(table.schema[name]):
            numeric.append(name)
        elif (levels := table.distinct(name)) <= most:
            categorical.append(name)
            if levels > ONEHOT_LEVELS:
                encoded.append(name)
        else:
            left_out[name] = unread.get(name) or (
                f"text with {levels} distinct values, more than {most}: names or free text"
            )
    if not numeric and not categorical and not molecules:
        raise InputError(
            f"no feature columns to predict {target!r} from",
            expected="numeric columns or categories with at most 50 levels (role feature or condition)",
            got=describe_left_out(left_out) or "no other column",
            hint="Set roles with --role NAME=feature, or list the features",
        )
    units = {c: table.column(c).unit for c in numeric}
    chosen_numbers = set(numeric)
    spectrum = [c for c in spectral_columns(table) if c in chosen_numbers]
    if len(spectrum) < MIN_CHANNELS:  # some channels not asked for: what is left is no spectrum
        spectrum = []
    fs = FeatureSet(
        tuple(numeric),
        tuple(categorical),
        units,
        tuple(encoded),
        tuple(molecules),
        tuple(spectrum),
    )
    return fs, {n: left_out[n] for n in names if n in left_out}


IMAGE_REASON = "an image model reads the image alone"


def image_input(
    table: Table, target: str, features: list[str] | None, exclude: list[str]
) -> str | None:
    """The image column a model reads, when the table has one not excluded (and the features
    asked for, if any, name it)."""
    images = [
        c.name
        for c in table.columns
        if c.dtype == "image" and c.name != target and c.name not in exclude
    ]
    if features is not None:
        images = [c for c in images if c in features]
    return images[0] if images else None


_ROLE_REASONS = {
    "id": "role id: identifies rows, or derived",
    "group": "role group: keeps rows together in the folds",
    "time": "role time",
    "target": "role target: another target",
}
_MOLECULE_SAMPLE = 200  # distinct SMILES tried before a column is read as molecules


def _unreadable_molecules(table: Table, columns: list[str]) -> dict[str, str]:
    """The SMILES columns that cannot be read as molecules, with why: RDKit is not installed, or
    more than half of (a sample of) the distinct values are not SMILES it can read."""
    if not columns:
        return {}
    if not rdkit_available():
        why = "SMILES, but RDKit is not installed (pip install 'labsight[design]')"
        return dict.fromkeys(columns, why)
    out = {}
    for name in columns:
        values = table.frame[name].drop_nulls().unique(maintain_order=True)
        sample = values.head(_MOLECULE_SAMPLE).to_list()
        _, unread = descriptor_matrix(sample)
        if not sample or unread > len(sample) / 2:
            out[name] = (
                f"named like SMILES, but {unread} of {len(sample)} values are not SMILES RDKit "
                "can read"
            )
    return out


def describe_left_out(left_out: dict[str, str], most: int = 8) -> str:
    """The columns a model does not read, grouped by reason, in one line: ``mol_id (role id …);
    notes, operator (role id …)``; a long list is cut after ``most`` names per reason.

    Examples
    --------
    >>> describe_left_out({"run": "role id", "lot": "role id", "T2": "excluded on request"})
    'run, lot (role id); T2 (excluded on request)'
    """
    by_reason: dict[str, list[str]] = {}
    for name, reason in left_out.items():
        by_reason.setdefault(reason, []).append(name)
    parts = []
    for reason, columns in by_reason.items():
        more = f" and {len(columns) - most} more" if len(columns) > most else ""
        parts.append(f"{', '.join(columns[:most])}{more} ({reason})")
    return "; ".join(parts)


def sibling_targets(
    table: Table, target: str, features: FeatureSet, *, classes: bool = False
) -> list[str]:
    """The feature columns that look like other outcomes of the same experiments: inputs that may
    leak the target when they are measured with or after it.

    A column is called a sibling of the target when its name says it is an outcome (the words by
    which roles guesses a target: yield, conversion, selectivity, purity, titer, strength,
    response, target, output, y), or, for a target of ``classes``, when it takes exactly the
    target's levels (such as 0 and 1) and has missing cells, as the results of an assay panel do
    (each row measured on some assays only).

    Examples
    --------
    >>> frame = pl.DataFrame({"NR-AR": [0, 1, None, 0], "SR-p53": [1, None, 0, 0],
    ...                       "dose": [1.0, 2.0, 3.0, 4.0], "conversion": [0.5, 0.7, 0.1, 0.2]})
    >>> t = Table.from_frame(frame, roles={"NR-AR": "target"})
    >>> sibling_targets(t, "NR-AR", feature_set(t, "NR-AR"), classes=True)
    ['SR-p53', 'conversion']
    """
    levels = _levels(table.frame[target]) if classes else None
    out = []
    for name in (*features.numeric, *features.categorical):
        column = table.frame[name]
        panel = bool(levels) and column.null_count() > 0 and _levels(column) == levels
        if panel or named_like_target(name):
            out.append(name)
    return out


_SIBLING_LEVELS = 12  # more distinct values than a target of classes has (models._task)


def _levels(series: pl.Series) -> frozenset[object] | None:
    """The distinct filled values, numbers as floats (so 1 and 1.0 are one level); None when
    there are more than a target of classes has."""
    values = series.drop_nulls()
    distinct = values.cast(pl.Float64 if is_number(values.dtype) else pl.String).unique()
    return frozenset(distinct.to_list()) if distinct.len() <= _SIBLING_LEVELS else None


def model_frame(table: Table, features: FeatureSet) -> pd.DataFrame:
    """The feature columns as pandas (what scikit-learn pipelines read): numbers as floats with
    NaN for missing cells, then the RDKit descriptors of each SMILES column (NaN for a SMILES
    RDKit cannot read), then categories as strings with :data:`MISSING_LEVEL` for missing cells."""
    columns = [table.frame[c].cast(pl.Float64).to_numpy() for c in features.numeric]
    return model_arrays(
        table,
        number_block(columns, table.height),
        features.numeric,
        molecules=[(m, m) for m in features.molecules],
        categories=[(c, c) for c in features.categorical],
        images=[(features.image, features.image)] if features.image else [],
    ).to_pandas()


def number_block(columns: Sequence[np.ndarray], rows: int) -> np.ndarray:
    """Number columns side by side as one float64 block (rows × columns, C order)."""
    if not columns:
        return np.empty((rows, 0), dtype=np.float64)
    return np.column_stack(columns).astype(np.float64, copy=False)


def model_arrays(
    table: Table,
    numbers: np.ndarray,
    number_names: Sequence[str],
    *,
    molecules: Sequence[tuple[str, str]],
    categories: Sequence[tuple[str, str]],
    images: Sequence[tuple[str, str]] = (),
) -> FeatureArrays:
    """A model's inputs from the number block already read (``numbers``, in the model's units),
    then the descriptors and the categories, each given as ``(feature, column of table)``: the
    one layout training and prediction share."""
    names = tuple(number_names)
    if molecules:
        blocks = [numbers]
        for feature, column in molecules:
            values, _ = descriptor_matrix(table.frame[column].cast(pl.String).to_list())
            width = len(descriptor_columns(feature))
            blocks.append(np.asarray(values, dtype=np.float64).reshape(table.height, width))
            names = (*names, *descriptor_columns(feature))
        numbers = np.hstack(blocks)
    levels = {
        feature: np.array(
            table.frame[column].cast(pl.String).fill_null(MISSING_LEVEL).to_list(), dtype=object
        )
        for feature, column in categories
    }
    for feature, column in images:  # each cell an ImageRef, read a batch at a time
        levels[feature] = image_refs_of(table, column)
    return FeatureArrays(numbers, names, levels)


def with_images(table: Table, column: str) -> Table:
    """The rows of ``table`` that have an image in ``column`` (an empty path cell has none)."""
    has = table.frame[column].is_not_null()
    if bool(has.all()):
        return table
    lines = (
        None
        if table.row_lines is None
        else [line for line, kept in zip(table.row_lines, has.to_list(), strict=True) if kept]
    )
    return dataclasses.replace(table, frame=table.frame.filter(has), row_lines=lines)


def image_refs_of(table: Table, column: str) -> np.ndarray:
    """The images of ``column`` as :class:`~labsight.data.images.ImageRef` objects.

    Raises
    ------
    InputError
        When the table holds no images (a plain table under an image model), or a row has none.
    """
    from labsight.data.images import ImageFiles

    if table.images is None or table.column(column).dtype != "image":
        raise InputError(
            f"column {column!r} holds no images",
            column=column,
            expected="images: a folder of them, or a table ingested with --images",
        )
    keys = table.frame[column].cast(pl.String).to_list()
    missing = [i for i, k in enumerate(keys) if k is None]
    if missing:
        raise InputError(
            f"{len(missing)} rows have no image",
            line=table.line_of(missing[0]),
            column=column,
            hint="Give every row an image, or leave those rows out",
        )
    names = (
        table.frame["file"].cast(pl.String).to_list()
        if "file" in table.frame.columns
        else [f"{column} of row {i + 1}" for i in range(len(keys))]
    )
    assert isinstance(table.images, ImageFiles)
    return table.images.refs(keys, names)


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
    if features.numbers:
        parts.append(("num", Pipeline(numeric_steps), list(features.numbers)))
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

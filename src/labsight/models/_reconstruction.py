"""Rows rebuilt by an autoencoder trained on a reference: the one computation behind anomaly scores
(:mod:`labsight.models.anomaly`) and denoising (:mod:`labsight.models.denoise`).

:func:`rebuild` chooses the columns and the network, standardizes with the reference's statistics,
calibrates the threshold on held-out reference rows, and rebuilds the scored rows (the reference's
own rows by the fold models that never saw them). The module notes of
:mod:`labsight.models.anomaly` say why each choice is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labsight.data.sequences import SequenceSpec, runs_spec, runs_table
from labsight.data.spectra import MIN_CHANNELS, bands, spectral_columns
from labsight.data.table import Table
from labsight.data.units import convert, is_compatible
from labsight.exceptions import InputError
from labsight.models._matrix import feature_matrix

__all__ = ["METHODS", "MIN_REFERENCE_ROWS", "Fold", "Rebuilt", "check_level", "rebuild"]

METHODS = ("auto", "dense", "conv")
MIN_REFERENCE_ROWS = 10
"""Fewest reference rows a threshold is calibrated on (5 folds of at least 2 held-out rows)."""
_FOLDS = 5


@dataclass(frozen=True)
class Fold:
    """One of the reference's folds: the rows an autoencoder was trained on, the rows held out
    from it, and the autoencoder."""

    train: NDArray[np.intp]
    test: NDArray[np.intp]
    network: Any


@dataclass(frozen=True)
class Rebuilt:
    """The scored rows and their rebuilding, in standardized units (the reference's mean and
    spread: ``raw = z * sd + mean``), one column per name of ``names``."""

    table: Table  # the scored rows as read: for runs, one row per run (their resampled sensors)
    reference: Table
    readings: Table  # the reference as given (for runs: one row per reading)
    runs: SequenceSpec | None
    names: list[str]
    kind: str  # "dense" or "conv"
    parts: dict[str, list[str]]  # columns, a spectrum's bands or a run's sensors -> their columns
    z: NDArray[np.float64]  # the scored rows (missing values at the reference's median)
    rebuilt: NDArray[np.float64]  # new rows: the mean of the fold models' rebuildings
    errors: NDArray[np.float64]  # squared, rows × columns (new rows: the fold models' mean)
    z_reference: NDArray[np.float64]
    folds: list[Fold]
    missing: NDArray[np.bool_]  # where the scored rows had no value
    mean: NDArray[np.float64]
    sd: NDArray[np.float64]
    threshold: float
    reference_scores: NDArray[np.float64]
    latent: int
    held_out: bool  # the scored rows are the reference's, each rebuilt by a model that never saw it

    @property
    def scores(self) -> NDArray[np.float64]:
        """Each row's mean squared reconstruction error."""
        return np.asarray(self.errors.mean(axis=1), dtype=np.float64)

    @property
    def reference_rows(self) -> int:
        return int(self.reference_scores.shape[0])


def check_level(level: float) -> None:
    if not 0.5 < level < 1.0:
        raise InputError(
            f"level {level} is not a share of normal rows to keep below the threshold",
            expected="a number between 0.5 and 1, such as 0.99",
            got=str(level),
        )


def _standardize(
    raw: NDArray[np.float64],
    median: NDArray[np.float64],
    mean: NDArray[np.float64],
    sd: NDArray[np.float64],
) -> NDArray[np.float64]:
    filled = np.where(np.isnan(raw), median, raw)
    return np.asarray((filled - mean) / sd, dtype=np.float64)


def _columns(reference: Table, features: list[str] | None, method: str) -> tuple[list[str], str]:
    """The columns to read, in the order the network reads them, and the network's kind."""
    if method not in METHODS:
        raise InputError(
            f"unknown autoencoder {method!r}",
            expected="one of " + ", ".join(METHODS),
            got=repr(method),
        )
    names = feature_matrix(reference, features).features
    spectrum = [c for c in spectral_columns(reference) if c in set(names)]
    is_spectrum = len(spectrum) >= MIN_CHANNELS and len(spectrum) == len(names)
    if method == "conv" and not is_spectrum:
        raise InputError(
            "the convolutional autoencoder reads a spectrum, and these columns are not one",
            expected=f"only a spectrum's channels: {MIN_CHANNELS} or more numeric columns named by numbers",
            got=f"{len(names)} columns, {len(spectrum)} of them channels",
            hint="Use --method dense, or name only the spectrum's columns",
        )
    kind = "conv" if method == "conv" or (method == "auto" and is_spectrum) else "dense"
    return (spectrum if kind == "conv" else names), kind


def _in_reference_units(
    raw: NDArray[np.float64], table: Table, reference: Table, names: list[str]
) -> NDArray[np.float64]:
    """``raw`` (the columns ``names`` of ``table``) converted to the reference's units, as
    ``predict`` converts to a model's; a unit that cannot be converted is refused."""
    out = raw.copy()
    for j, name in enumerate(names):
        want, have = reference.column(name).unit, table.column(name).unit
        if not want or not have or want == have:
            continue
        if not is_compatible(have, want):
            raise InputError(
                f"column {name!r} is in {have}, which cannot be converted to the reference's {want}",
                column=name,
                expected=f"a unit of the same dimension as {want}",
                got=have,
            )
        out[:, j] = convert(raw[:, j], have, want)
    return out


def _rebuilt(
    kind: str, train: NDArray[np.float64], rows: NDArray[np.float64], latent: int, seed: int
) -> tuple[NDArray[np.float64], Any]:
    """``rows`` rebuilt by an autoencoder of ``kind`` fitted on ``train``, and the autoencoder."""
    from labsight.models._autoencoder_net import fit_network, reconstruct

    network = fit_network(kind, train, latent, seed)
    return reconstruct(network, rows)[0], network


def rebuild(
    table: Table,
    reference: Table,
    *,
    features: list[str] | None,
    method: str,
    level: float,
    seed: int,
    same: bool,
) -> Rebuilt:
    """Rebuild the rows of ``table`` by autoencoders trained on ``reference`` (``same``: the
    reference itself, each row rebuilt by a fold's model that never saw it), with the threshold
    calibrated at ``level`` on held-out reference rows.

    Raises
    ------
    InputError
        Unknown method or column, a column in a unit that does not convert to the reference's, a
        level outside (0.5, 1), fewer than :data:`MIN_REFERENCE_ROWS` reference rows (or runs),
        or a convolutional autoencoder asked for on columns that are not a spectrum.
    """
    check_level(level)
    runs = runs_spec(reference, None) if features is None and method != "conv" else None
    readings = reference
    if runs is not None:  # runs of readings: one row per run, each sensor resampled in time
        reference = runs_table(reference, runs)
        table = reference if same else runs_table(table, runs)
        parts = {s: runs.grid(s) for s in runs.sensors}
        names, kind = [n for grid in parts.values() for n in grid], "dense"
    else:
        names, kind = _columns(reference, features, method)
        parts = bands(names) if kind == "conv" else {n: [n] for n in names}
    ref = feature_matrix(reference, names)
    n = ref.raw.shape[0]
    if n < MIN_REFERENCE_ROWS:
        raise InputError(
            f"the reference has {n} rows: too few to learn what normal looks like",
            expected=f"at least {MIN_REFERENCE_ROWS} reference rows",
            got=str(n),
            hint="Use a reference dataset with more runs known to be normal",
        )
    scored = (
        ref.raw
        if same
        else _in_reference_units(feature_matrix(table, names).raw, table, reference, names)
    )
    median = np.nanmedian(ref.raw, axis=0)
    filled = np.where(np.isnan(ref.raw), median, ref.raw)
    mean, sd = filled.mean(axis=0), filled.std(axis=0)
    # A spectrum is centred on its mean and divided by one spread for every channel, a run's
    # sensor by one spread over its points: a flat channel's noise stays small.
    shared = [names] if kind == "conv" else list(parts.values()) if runs is not None else []
    index = {name: j for j, name in enumerate(names)}
    for members in shared:
        at = [index[c] for c in members]
        sd[at] = float(np.sqrt(np.mean(sd[at] ** 2)))
    sd = np.where(sd > 0, sd, 1.0)
    z_ref = _standardize(ref.raw, median, mean, sd)
    latent = int(max(2, min(8, n // 5)))
    # Held-out reference rows: each fold's rows rebuilt by an autoencoder trained on the rest.
    from sklearn.model_selection import KFold

    held = np.empty_like(z_ref)
    folds = []
    for k, (train_rows, test_rows) in enumerate(
        KFold(_FOLDS, shuffle=True, random_state=seed).split(z_ref)
    ):
        held[test_rows], network = _rebuilt(
            kind, z_ref[train_rows], z_ref[test_rows], latent, seed + k
        )
        folds.append(Fold(train_rows, test_rows, network))
    reference_scores = ((z_ref - held) ** 2).mean(axis=1)
    if same:
        z, rebuilt, errors = z_ref, held, (z_ref - held) ** 2
    else:
        # New rows are rebuilt by the fold models the threshold was calibrated on, each row's
        # error their mean: a normal new row is judged as a held-out reference row was.
        from labsight.models._autoencoder_net import reconstruct

        z = _standardize(scored, median, mean, sd)
        each = [reconstruct(fold.network, z)[0] for fold in folds]
        rebuilt = np.mean(each, axis=0)
        errors = np.mean([(z - r) ** 2 for r in each], axis=0)
    return Rebuilt(
        table=table,
        reference=reference,
        readings=readings,
        runs=runs,
        names=names,
        kind=kind,
        parts=parts,
        z=z,
        rebuilt=rebuilt,
        errors=errors,
        z_reference=z_ref,
        folds=folds,
        missing=np.isnan(scored),
        mean=mean,
        sd=sd,
        threshold=float(np.quantile(reference_scores, level, method="higher")),
        reference_scores=reference_scores,
        latent=latent,
        held_out=same,
    )

"""Which rows look unlike a reference: autoencoder anomaly scores with a calibrated threshold.

:func:`anomalies` learns what normal rows look like from a *reference* table (a dataset version of
runs or spectra known to be good) and scores each row of another table by how badly an autoencoder
trained on the reference rebuilds it. The choices, made once:

* **Columns.** The reference's numeric ``feature`` and ``condition`` columns (or those named); the
  scored table must have them (in the reference's units, or units that convert to them, as
  ``predict`` converts). Each is median-imputed and standardized with the
  *reference's* statistics, so the score is in the reference's standard deviations. A spectrum is
  centred on the reference's mean spectrum and divided by one spread for all channels (scaling
  each channel alone would blow a flat region's noise up to the size of a real band).
* **Network.** A 1-D convolutional autoencoder when the columns are a spectrum (at least 50
  numeric columns named by wavelengths, read in axis order), else a dense one; a code of
  2 to 8 numbers (a fifth of the reference rows at most); trained with early stopping, seeded.
* **Score.** The mean squared reconstruction error of a row, in standardized units.
* **Threshold.** Calibrated on held-out reference rows: the reference is cut into 5 folds, each
  fold's rows scored by an autoencoder trained on the other four, and the threshold is the
  ``level`` quantile (default 0.99) of those held-out scores, so about 1 % of normal rows score
  above it. A reference of *n* rows cannot resolve a rate finer than about 1/(n + 1): the result
  says what rate the reference can support. Scoring the reference itself gives each of its rows its
  held-out score (a row never judges itself).
* **Where.** Each flagged row names the columns (for a spectrum: the bands) it is rebuilt worst
  on.
* **Runs.** A long table of readings (one column with role ``group``, one with role ``time``) is
  scored run by run: each run's sensors resampled onto the median run's points in time
  (:mod:`labsight.data.sequences`), each sensor scaled by one spread over its points, a dense
  autoencoder over them all; the result names each run and the sensors it differs on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from labsight.data.sequences import runs_spec, runs_table
from labsight.data.spectra import MIN_CHANNELS, bands, spectral_columns
from labsight.data.table import Table
from labsight.data.units import convert, is_compatible
from labsight.exceptions import InputError
from labsight.models._matrix import feature_matrix

__all__ = [
    "ANOMALY_METHODS",
    "MIN_REFERENCE_ROWS",
    "AnomalyResult",
    "anomalies",
    "autoencoder_codes",
]

ANOMALY_METHODS = ("auto", "dense", "conv")
MIN_REFERENCE_ROWS = 10
"""Fewest reference rows a threshold is calibrated on (5 folds of at least 2 held-out rows)."""
_FOLDS = 5
_WORST = 3  # columns or bands named per row


@dataclass(frozen=True)
class AnomalyResult:
    """The outcome of :func:`anomalies`.

    ``frame`` has one row per scored row: ``row`` (0-based), ``score`` (mean squared
    reconstruction error, standardized units), ``ratio`` (score / threshold), ``anomalous``
    (score above the threshold) and ``worst`` (the columns or bands rebuilt worst, comma-separated).
    """

    frame: pl.DataFrame
    threshold: float
    level: float
    method: str  # "dense" or "conv"
    features: list[str]
    reference_rows: int
    held_out: bool  # the scored rows are the reference's, each scored by a model that never saw it
    latent: int
    reference_scores: list[float] = field(default_factory=list, repr=False)

    @property
    def flagged(self) -> int:
        return int(self.frame["anomalous"].sum())

    @property
    def finest_rate(self) -> float:
        """The smallest false-alarm rate a reference of this size can calibrate: 1 / (n + 1)."""
        return 1.0 / (self.reference_rows + 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "level": self.level,
            "threshold": self.threshold,
            "reference_rows": self.reference_rows,
            "finest_rate": self.finest_rate,
            "held_out": self.held_out,
            "latent": self.latent,
            "features": self.features,
            "flagged": self.flagged,
            "rows": self.frame.to_dicts(),
        }


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
    if method not in ANOMALY_METHODS:
        raise InputError(
            f"unknown autoencoder {method!r}",
            expected="one of " + ", ".join(ANOMALY_METHODS),
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


def _scores(
    kind: str, train: NDArray[np.float64], score: NDArray[np.float64], latent: int, seed: int
) -> tuple[NDArray[np.float64], Any]:
    """Squared errors (rows × columns) of ``score`` rebuilt by an autoencoder fitted on ``train``."""
    from labsight.models._autoencoder_net import fit_network, reconstruct

    network = fit_network(kind, train, latent, seed)
    rebuilt, _ = reconstruct(network, score)
    return (score - rebuilt) ** 2, network


def _worst(errors: NDArray[np.float64], names: list[str], parts: dict[str, list[str]]) -> list[str]:
    """Per row, the parts (columns, a spectrum's bands, a run's sensors) rebuilt worst."""
    index = {n: j for j, n in enumerate(names)}
    labels = list(parts)
    per = np.column_stack(
        [errors[:, [index[c] for c in members]].mean(axis=1) for members in parts.values()]
    )
    top = np.argsort(-per, axis=1, kind="stable")[:, :_WORST]
    return [", ".join(labels[j] for j in row) for row in top]


def anomalies(
    table: Table,
    reference: Table,
    *,
    features: list[str] | None = None,
    method: str = "auto",
    level: float = 0.99,
    seed: int = 0,
    same: bool = False,
) -> AnomalyResult:
    """Score each row of ``table`` against the rows of ``reference`` (see the module's notes).

    ``same`` says that ``table`` is the reference itself: each row then gets its held-out score.

    Raises
    ------
    InputError
        Unknown method or column, a column in a unit that does not convert to the reference's, a
        level outside (0.5, 1), fewer than :data:`MIN_REFERENCE_ROWS` reference rows (or runs),
        or a convolutional autoencoder asked for on columns that are not a spectrum.
    """
    if not 0.5 < level < 1.0:
        raise InputError(
            f"level {level} is not a share of normal rows to keep below the threshold",
            expected="a number between 0.5 and 1, such as 0.99",
            got=str(level),
        )
    runs = runs_spec(reference, None) if features is None and method != "conv" else None
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
    index = {n: j for j, n in enumerate(names)}
    for members in shared:
        at = [index[c] for c in members]
        sd[at] = float(np.sqrt(np.mean(sd[at] ** 2)))
    sd = np.where(sd > 0, sd, 1.0)
    z_ref = _standardize(ref.raw, median, mean, sd)
    latent = int(max(2, min(8, n // 5)))
    # Held-out reference scores: each fold's rows rebuilt by an autoencoder trained on the rest.
    from sklearn.model_selection import KFold

    held = np.empty_like(z_ref)
    for k, (train_rows, test_rows) in enumerate(
        KFold(_FOLDS, shuffle=True, random_state=seed).split(z_ref)
    ):
        held[test_rows], _ = _scores(kind, z_ref[train_rows], z_ref[test_rows], latent, seed + k)
    reference_scores = held.mean(axis=1)
    threshold = float(np.quantile(reference_scores, level, method="higher"))
    if same:
        errors = held
    else:
        z_new = _standardize(scored, median, mean, sd)
        errors, _ = _scores(kind, z_ref, z_new, latent, seed)
    score = errors.mean(axis=1)
    ids = {runs.group: table.frame[runs.group]} if runs is not None else {}
    frame = pl.DataFrame(
        {
            **ids,
            "row": np.arange(len(score), dtype=np.int64),
            "score": score,
            "ratio": score / threshold if threshold > 0 else np.full(len(score), math.inf),
            "anomalous": score > threshold,
            "worst": _worst(errors, names, parts),
        }
    )
    return AnomalyResult(
        frame=frame,
        threshold=threshold,
        level=level,
        method=kind,
        features=names,
        reference_rows=n,
        held_out=same,
        latent=latent,
        reference_scores=[float(v) for v in reference_scores],
    )


def autoencoder_codes(z: NDArray[np.float64], seed: int, latent: int = 2) -> NDArray[np.float64]:
    """The ``latent``-number code of each row of ``z`` (standardized) from a dense autoencoder
    trained on those rows: an embedding that, unlike PCA, can bend."""
    from labsight.models._autoencoder_net import fit_network, reconstruct

    network = fit_network("dense", z, latent, seed)
    return reconstruct(network, z)[1]

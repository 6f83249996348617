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
  above it. New rows are scored by those same five autoencoders (the mean of their errors): a
  normal new row is judged as a held-out reference row was. A reference of *n* rows cannot resolve a rate finer than about 1/(n + 1): the result
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

from labsight.data.table import Table
from labsight.models._reconstruction import METHODS, MIN_REFERENCE_ROWS, rebuild

__all__ = [
    "ANOMALY_METHODS",
    "MIN_REFERENCE_ROWS",
    "AnomalyResult",
    "anomalies",
    "autoencoder_codes",
]

ANOMALY_METHODS = METHODS
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
    found = rebuild(
        table, reference, features=features, method=method, level=level, seed=seed, same=same
    )
    score, threshold, runs = found.scores, found.threshold, found.runs
    ids = {runs.group: found.table.frame[runs.group]} if runs is not None else {}
    frame = pl.DataFrame(
        {
            **ids,
            "row": np.arange(len(score), dtype=np.int64),
            "score": score,
            "ratio": score / threshold if threshold > 0 else np.full(len(score), math.inf),
            "anomalous": score > threshold,
            "worst": _worst(found.errors, found.names, found.parts),
        }
    )
    return AnomalyResult(
        frame=frame,
        threshold=threshold,
        level=level,
        method=found.kind,
        features=found.names,
        reference_rows=found.reference_rows,
        held_out=same,
        latent=found.latent,
        reference_scores=[float(v) for v in found.reference_scores],
    )


def autoencoder_codes(z: NDArray[np.float64], seed: int, latent: int = 2) -> NDArray[np.float64]:
    """The ``latent``-number code of each row of ``z`` (standardized) from a dense autoencoder
    trained on those rows: an embedding that, unlike PCA, can bend."""
    from labsight.models._autoencoder_net import fit_network, reconstruct

    network = fit_network("dense", z, latent, seed)
    return reconstruct(network, z)[1]

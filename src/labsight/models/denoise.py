"""Spectra and runs rebuilt from what a reference teaches: their noise taken out, or an honest no.

:func:`denoise` learns what clean signals look like from a *reference* version (spectra or runs
known to be good, or the version itself) with the autoencoders of :mod:`labsight.models.anomaly`:
a signal squeezed through a code of 2 to 8 numbers comes back as the nearest signal of the kind
the reference holds, and what does not fit through the code (noise, different in every row) is
left behind. The choices, made once:

* **What.** A spectrum (1-D convolutional autoencoder) or runs of readings (a dense autoencoder
  over each run's sensors resampled in time; each reading gets the rebuilt run at its own time, so
  a run keeps its readings' times and count). A plain table is refused under ``auto``: its columns
  are not one signal, and rebuilding each from the others replaces measurements with a model's
  guess; ``method="dense"`` (or ``"pca"``) does it anyway, for columns that measure one thing.
* **Autoencoder or PCA.** PCA is the linear autoencoder, and on mixtures of a few compounds
  (spectra are often exactly that) it rebuilds better from few rows. Both are judged on values
  they were not shown (:mod:`labsight.models._denoisers`) over the reference's held-out folds;
  ``auto`` takes the better and the result reports both errors.
* **An honest no.** The same hidden-value error, less the noise's variance, is the rebuilding's
  own error: against the scored rows' noise it says how far the rebuilt values are expected to lie
  from the noise-free signal, as a share of how far the measured ones do (``expected_ratio``). At
  1 or more denoising would make the rows worse — spectra already cleaner than what a small
  reference can teach — and it is refused with that number unless ``force``.
* **Rows unlike the reference** in *shape* (rebuilt worse, less their own noise, than the
  ``level`` quantile of held-out reference rows; a merely noisier row is what denoising is for)
  are kept exactly as measured and named: rebuilding them would erase what makes them different.
* **Never seen.** Denoising the reference itself rebuilds each row by a fold's model that never
  saw it, so no row's own noise can be learned and handed back; new rows are rebuilt by the mean
  of the fold models.
* **Nothing invented.** A missing value stays missing (imputing is ``clean --impute``'s job);
  values keep their column's unit (converted back when the scored version's unit differs from the
  reference's); integer columns become floats.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from labsight.data.sequences import at_readings, run_numbers
from labsight.data.table import Table
from labsight.data.units import convert
from labsight.exceptions import InputError
from labsight.models._denoisers import (
    MAX_RANK,
    axis_segments,
    compare,
    expected_ratio,
    noise_variance,
    pca_rebuilt,
)
from labsight.models._reconstruction import Rebuilt, rebuild

__all__ = ["DENOISE_METHODS", "DenoiseResult", "denoise"]

DENOISE_METHODS = ("auto", "dense", "conv", "pca")


@dataclass(frozen=True)
class DenoiseResult:
    """The outcome of :func:`denoise`.

    ``table`` is the scored table with its signal columns denoised. ``frame`` has one row per
    scored row (per run for runs): ``row`` (0-based), ``score`` and ``ratio`` (as
    :func:`~labsight.models.anomaly.anomalies` gives them), ``denoised`` (False: kept as measured,
    the row is unlike the reference) and ``change`` (root mean square of what denoising changed,
    in the reference's standard deviations).
    """

    table: Table
    frame: pl.DataFrame
    threshold: float
    level: float
    method: str  # what rebuilt the rows: "conv", "dense" (autoencoders) or "pca"
    autoencoder: str  # the autoencoder's kind, whose scores decide which rows are kept
    features: list[str]  # the columns denoised (for runs: the sensors)
    reference_rows: int
    held_out: bool
    latent: int  # the code's size (PCA: its rank)
    held_out_errors: dict[str, float]  # "autoencoder" and "pca": error on hidden values, z units
    # How far the rebuilt values are expected to lie from the noise-free signal, as a share of the
    # measured values' distance (their noise): below 1 the rows are cleaner. None: no axis to read
    # the noise along (a plain table).
    expected_ratio: float | None

    @property
    def kept(self) -> list[int]:
        """The rows (runs) kept as measured."""
        return [int(r) for r in self.frame.filter(~pl.col("denoised"))["row"]]

    def to_dict(self) -> dict[str, Any]:
        changes = self.frame.filter(pl.col("denoised"))["change"]
        return {
            "method": self.method,
            "autoencoder": self.autoencoder,
            "held_out_errors": self.held_out_errors,
            "expected_ratio": self.expected_ratio,
            "level": self.level,
            "threshold": self.threshold,
            "reference_rows": self.reference_rows,
            "held_out": self.held_out,
            "latent": self.latent,
            "features": self.features,
            "denoised": int(self.frame["denoised"].sum()),
            "kept": self.kept,
            "median_change": float(changes.median()) if len(changes) else None,  # type: ignore[arg-type]
            "rows": self.frame.to_dicts(),
        }


def _raw(found: Rebuilt, values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Standardized values back in the reference's units."""
    return np.asarray(values * found.sd + found.mean, dtype=np.float64)


def _in_units(values: NDArray[np.float64], have: str | None, want: str | None) -> Any:
    return convert(values, have, want) if have and want and have != want else values


def _denoised_table(
    table: Table, found: Rebuilt, z: NDArray[np.float64], keep: NDArray[np.bool_]
) -> Table:
    """``table`` with ``z`` (standardized: the denoised rows) in place of the measured values,
    except in the ``keep`` rows (runs), which stay exactly as measured, and where a value was
    missing."""
    rebuilt = _raw(found, z)
    rebuilt[found.missing] = np.nan
    units = {c.name: c.unit for c in found.reference.columns}
    if found.runs is not None:
        index = {name: j for j, name in enumerate(found.names)}
        grids = {s: rebuilt[:, [index[c] for c in found.parts[s]]] for s in found.runs.sensors}
        values = at_readings(table, found.runs, grids)
        measured = {s: table.frame[s].cast(pl.Float64).to_numpy() for s in values}
        for s in values:  # a reading with no value stays without one
            values[s] = np.where(np.isnan(measured[s]), np.nan, values[s])
    else:
        values = {name: rebuilt[:, j] for j, name in enumerate(found.names)}
    if found.runs is not None:
        kept_rows = keep[run_numbers(table.frame[found.runs.group])[1]]
    else:
        kept_rows = keep
    new = {
        name: pl.Series(
            name,
            np.where(
                kept_rows,
                table.frame[name].cast(pl.Float64).to_numpy(),
                _in_units(v, units.get(name), table.column(name).unit),
            ),
            pl.Float64,
        )
        for name, v in values.items()
    }
    columns = [
        replace(c, dtype="float") if c.name in new and c.dtype != "float" else c
        for c in table.columns
    ]
    return Table(table.frame.with_columns(new.values()), columns, source=table.source)


def denoise(
    table: Table,
    reference: Table,
    *,
    features: list[str] | None = None,
    method: str = "auto",
    level: float = 0.99,
    seed: int = 0,
    same: bool = False,
    force: bool = False,
) -> DenoiseResult:
    """Denoise the spectra or runs of ``table`` with what was learned from ``reference`` (see the
    module's notes); ``same`` says that ``table`` is the reference itself.

    Raises
    ------
    InputError
        What :func:`~labsight.models.anomaly.anomalies` refuses, an unknown method, a plain
        table (neither a spectrum nor runs) under ``method="auto"``, and (unless ``force``)
        rows that the rebuilding is expected to move further from their noise-free signal than
        their noise does.
    """
    if method not in DENOISE_METHODS:
        raise InputError(
            f"unknown denoising method {method!r}",
            expected="one of " + ", ".join(DENOISE_METHODS),
            got=repr(method),
        )
    network = "auto" if method == "pca" else method
    found = rebuild(
        table, reference, features=features, method=network, level=level, seed=seed, same=same
    )
    if found.kind == "dense" and found.runs is None and method == "auto":
        raise InputError(
            "denoising rebuilds a signal, and these columns are neither a spectrum nor runs of "
            "readings: each would be replaced by a guess from the others",
            expected="a spectrum (numeric columns named by wavelengths) or runs (a group and a "
            "time column)",
            got=f"{len(found.names)} numeric columns",
            hint="Pass --method dense (or pca) to rebuild columns that measure one thing anyway",
        )
    smallest_fold = min(len(f.train) for f in found.folds)
    ranks = list(range(1, min(MAX_RANK, smallest_fold - 1, len(found.names)) + 1))
    errors = compare(found, ranks)
    best_rank = min(ranks, key=lambda r: errors[f"pca:{r}"])
    pca_wins = errors[f"pca:{best_rank}"] < errors["autoencoder"]
    if method == "pca" or (method == "auto" and pca_wins):
        used, latent, error = "pca", best_rank, errors[f"pca:{best_rank}"]
    else:
        used, latent, error = found.kind, found.latent, errors["autoencoder"]
    parts = axis_segments(found)
    noise = noise_variance(found.z, parts)
    reference_noise = noise_variance(found.z_reference, parts)
    ratio = expected_ratio(found, error, table, noise, reference_noise)
    if ratio is not None and ratio >= 1 and not force:
        raise InputError(
            f"denoising would make these rows worse: on held-out reference rows, {used} rebuilds "
            f"hidden values {ratio:.1f} times as far from the noise-free signal as the "
            f"measurements lie (they are cleaner than what {found.reference_rows} reference rows "
            "teach); nothing stored",
            hint="Use a larger reference of rows of this kind, or pass --force to store the "
            "rebuilt rows anyway",
        )
    rebuilt = pca_rebuilt(found, best_rank) if used == "pca" else found.rebuilt
    # A row is kept when the autoencoder rebuilds its *shape* worse than the reference's held-out
    # rows: its error less its own noise (a noisier row is what denoising is for, not a reason to
    # keep it), against the level quantile of the reference rows' same excess.
    excess = found.scores - noise
    reference_excess = found.reference_scores - reference_noise
    threshold = float(np.quantile(reference_excess, level, method="higher"))
    keep = excess > threshold
    delta = np.where(keep[:, None], 0.0, rebuilt - found.z)
    delta[found.missing] = 0.0
    ids = {found.runs.group: found.table.frame[found.runs.group]} if found.runs else {}
    frame = pl.DataFrame(
        {
            **ids,
            "row": np.arange(len(excess), dtype=np.int64),
            "score": found.scores,
            "noise": np.sqrt(noise),
            "ratio": excess / threshold if threshold > 0 else np.full(len(excess), np.nan),
            "denoised": ~keep,
            "change": np.sqrt((delta**2).mean(axis=1)),
        }
    )
    return DenoiseResult(
        table=_denoised_table(table, found, found.z + delta, keep),
        frame=frame,
        threshold=threshold,
        level=level,
        method=used,
        autoencoder=found.kind,
        features=list(found.runs.sensors) if found.runs else found.names,
        reference_rows=found.reference_rows,
        held_out=same,
        latent=latent,
        expected_ratio=ratio,
        held_out_errors={
            "autoencoder": errors["autoencoder"],
            "pca": errors[f"pca:{best_rank}"],
        },
    )

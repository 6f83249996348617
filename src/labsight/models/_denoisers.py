"""Which denoiser, and what it gains: the autoencoder and PCA (a linear autoencoder) compared on
values they were not shown, and the gain expected from the one chosen (:mod:`labsight.models.denoise`).

A rebuilding can be judged without noise-free truth by hiding values from it (the idea of
Noise2Self, Batson & Royer 2019): a hidden value's noise never reaches the input, so the error of
guessing it is the rebuilding's own error plus the noise's variance, the same for every denoiser
compared, and a denoiser that merely passes noise through gains nothing. The noise's variance is
read off second differences along the signal's axis (near zero for a smooth signal, six times the
variance for white noise).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from labsight.data.sequences import resample, run_rows
from labsight.data.table import Table
from labsight.models._reconstruction import Rebuilt

__all__ = [
    "MAX_RANK",
    "axis_segments",
    "compare",
    "expected_ratio",
    "noise_variance",
    "pca_rebuilt",
]

STRIDE = 4  # every fourth value hidden at a time
MAX_RANK = 10  # the largest PCA rank tried


def axis_segments(found: Rebuilt) -> list[NDArray[np.intp]]:
    """The columns in runs of neighbours: a spectrum's whole axis, each sensor's points in time,
    or (a plain table) each column alone."""
    index = {name: j for j, name in enumerate(found.names)}
    if found.kind == "conv":
        return [np.arange(len(found.names))]
    return [np.array([index[c] for c in members]) for members in found.parts.values()]


def masked_error(
    rebuild_rows: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    z: NDArray[np.float64],
    segments: list[NDArray[np.intp]],
) -> tuple[float, int]:
    """How well ``rebuild_rows`` rebuilds values it was not shown: every :data:`STRIDE`-th
    column hidden in turn (replaced by the mean of its two neighbours, or by the reference's mean
    when it has none) and compared with what was measured there. The noise at a hidden value
    never reaches the input, so a denoiser that passes noise through gains nothing: the error is
    the signal's error plus the noise's variance, the same for every denoiser compared.
    Returns the sum of squared errors and their count."""
    total, count = 0.0, 0
    for offset in range(STRIDE):
        shown, hidden = z.copy(), []
        for seg in segments:
            pos = np.arange(offset, len(seg), STRIDE)
            if not len(pos):
                continue
            if len(seg) < 3:
                shown[:, seg[pos]] = 0.0
            else:
                left = np.where(pos > 0, pos - 1, pos + 1)
                right = np.where(pos < len(seg) - 1, pos + 1, pos - 1)
                shown[:, seg[pos]] = (z[:, seg[left]] + z[:, seg[right]]) / 2
            hidden.append(seg[pos])
        if not hidden:
            continue
        at = np.concatenate(hidden)
        rebuilt = rebuild_rows(shown)
        total += float(((rebuilt[:, at] - z[:, at]) ** 2).sum())
        count += z.shape[0] * len(at)
    return total, count


def _robust_variance(x: NDArray[np.float64], axis: int | None = None) -> Any:
    """The variance of ``x`` (along ``axis``) from its median absolute deviation, so that a few
    readings far off (a band, a spike) do not count as noise."""
    centre = np.median(x, axis=axis, keepdims=True)
    return (1.4826 * np.median(np.abs(x - centre), axis=axis)) ** 2


def noise_variance(z: NDArray[np.float64], segments: list[NDArray[np.intp]]) -> NDArray[np.float64]:
    """Each row's noise variance, read off its second differences along each segment (a smooth
    signal's are near zero; white noise's have six times its variance), robustly (MAD); zero where
    no segment has three neighbours (a plain table has no axis to read it along)."""
    d2 = [np.diff(z[:, seg], n=2, axis=1) for seg in segments if len(seg) >= 3]
    if not d2:
        return np.zeros(z.shape[0])
    return np.asarray(_robust_variance(np.concatenate(d2, axis=1), axis=1) / 6, dtype=np.float64)


def pca(train: NDArray[np.float64]) -> Callable[[int], Callable[[NDArray[np.float64]], Any]]:
    """PCA of ``train``, fitted once (one SVD): given a rank, what rebuilds rows through that many
    components (centred on ``train``'s mean, projected, and back)."""
    mean = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)

    def of_rank(rank: int) -> Callable[[NDArray[np.float64]], Any]:
        basis = vt[:rank]
        return lambda rows: (rows - mean) @ basis.T @ basis + mean

    return of_rank


def hidden_readings(
    rebuild_rows: Callable[[NDArray[np.float64]], Any], found: Rebuilt, runs: NDArray[np.intp]
) -> tuple[float, int]:
    """:func:`masked_error` for runs, in their readings: every :data:`STRIDE`-th reading of each
    sensor hidden in turn, the run resampled from the rest, rebuilt, and the rebuilt run read at
    the hidden readings' times. (Hiding points of the resampled grid would not do: neighbouring
    points are interpolated from the same readings, so a hidden point's noise is in its
    neighbours.)"""
    spec, total, count = found.runs, 0.0, 0
    assert spec is not None
    _, in_time = run_rows(found.readings, spec)
    index = {name: j for j, name in enumerate(found.names)}
    values = {s: found.readings.frame[s].cast(pl.Float64).to_numpy() for s in spec.sensors}
    for offset in range(STRIDE):
        shown = found.z_reference[runs].copy()
        hidden = []
        for i, run in enumerate(runs):
            rows, t, grid = in_time[run]
            for sensor in spec.sensors:
                cols = [index[c] for c in found.parts[sensor]]
                v = values[sensor][rows]
                seen = np.flatnonzero(np.isfinite(t) & np.isfinite(v))
                hide = seen[offset::STRIDE]
                keep = np.setdiff1d(seen, hide)
                if len(keep) < 2 or not len(hide):
                    continue
                shown[i, cols] = (resample(t[keep], v[keep], grid) - found.mean[cols]) / found.sd[
                    cols
                ]
                hidden.append((i, cols, grid, t[hide], v[hide]))
        rebuilt = rebuild_rows(shown)
        for i, cols, grid, at, measured in hidden:
            guess = np.interp(at, grid, rebuilt[i, cols] * found.sd[cols] + found.mean[cols])
            total += float((((guess - measured) / found.sd[cols[0]]) ** 2).sum())
            count += len(measured)
    return total, count


def _readings_noise(found: Rebuilt, table: Table) -> float:
    """The noise variance of runs' readings (``table``, long), in the reference's spread of each
    sensor: each reading against the line through its two neighbours in time (readings need not be
    evenly spaced), scaled to the noise's size, robustly (MAD)."""
    spec = found.runs
    assert spec is not None
    _, in_time = run_rows(table, spec)
    index = {name: j for j, name in enumerate(found.names)}
    scaled = []
    for sensor in spec.sensors:
        v_all = table.frame[sensor].cast(pl.Float64).to_numpy()
        spread = found.sd[index[found.parts[sensor][0]]]
        for rows, t_run, _ in in_time:
            v = v_all[rows]
            ok = np.isfinite(v) & np.isfinite(t_run)
            v, t = v[ok] / spread, t_run[ok]
            if len(v) < 3:
                continue
            gap = t[2:] - t[:-2]
            w = np.divide(t[2:] - t[1:-1], gap, out=np.full(len(gap), 0.5), where=gap > 0)
            line = w * v[:-2] + (1 - w) * v[2:]
            # a reading's noise less the line's: variance (1 + w^2 + (1 - w)^2) times the noise's
            scaled.append((v[1:-1] - line) / np.sqrt(1 + w**2 + (1 - w) ** 2))
    return float(_robust_variance(np.concatenate(scaled))) if scaled else 0.0


def _network_rebuilt(network: Any, rows: NDArray[np.float64]) -> NDArray[np.float64]:
    from labsight.models._autoencoder_net import reconstruct

    return reconstruct(network, rows)[0]


def compare(found: Rebuilt, ranks: list[int]) -> dict[str, float]:
    """The held-out error on hidden values (:func:`masked_error`, or :func:`hidden_readings` for
    runs, summed over the reference's folds) of the autoencoder and of PCA at each of ``ranks``:
    ``"autoencoder"`` and ``"pca:R"``."""
    parts = axis_segments(found)
    sums = {"autoencoder": [0.0, 0]} | {f"pca:{r}": [0.0, 0] for r in ranks}
    for fold in found.folds:
        of_rank = pca(found.z_reference[fold.train])
        candidates: dict[str, Callable[[NDArray[np.float64]], Any]] = {
            "autoencoder": partial(_network_rebuilt, fold.network),
            **{f"pca:{r}": of_rank(r) for r in ranks},
        }
        for key, rebuild_rows in candidates.items():
            if found.runs is not None:
                total, count = hidden_readings(rebuild_rows, found, fold.test)
            else:
                total, count = masked_error(rebuild_rows, found.z_reference[fold.test], parts)
            sums[key][0] += total
            sums[key][1] += count
    return {
        key: float(total / count) if count else math.inf for key, (total, count) in sums.items()
    }


def expected_ratio(
    found: Rebuilt,
    error: float,
    table: Table,
    row_noise: NDArray[np.float64],
    reference_row_noise: NDArray[np.float64],
) -> float | None:
    """How far rows of ``table`` rebuilt with held-out ``error`` on hidden values are expected to
    lie from their noise-free signal, as a share of their noise: the error less the reference's
    noise variance is the rebuilding's own, against the scored rows' noise variance. The noise is
    the rows' (``row_noise``, ``reference_row_noise``: :func:`noise_variance` of the scored and
    the reference rows), or for runs their readings'. None when there is no axis to read noise
    along (a plain table)."""
    if found.runs is not None:
        reference_noise = _readings_noise(found, found.readings)
        noise = _readings_noise(found, table)
    else:
        reference_noise, noise = float(reference_row_noise.mean()), float(row_noise.mean())
    if reference_noise <= 0 or noise <= 0:
        return None
    return math.sqrt(max(error - reference_noise, 0.0) / noise)


def pca_rebuilt(found: Rebuilt, rank: int) -> NDArray[np.float64]:
    """The scored rows rebuilt by PCA of ``rank`` fitted on the reference (its own rows: on the
    folds that held each out)."""
    if not found.held_out:
        return np.asarray(pca(found.z_reference)(rank)(found.z), dtype=np.float64)
    rebuilt = np.empty_like(found.z)
    for fold in found.folds:
        rebuilt[fold.test] = pca(found.z_reference[fold.train])(rank)(found.z_reference[fold.test])
    return rebuilt

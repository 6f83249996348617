"""Where a model was trained, so that a prediction outside it says so (extrapolation).

Two checks, on the numeric features in the model's units (after unit conversion):

* **per feature**: a value below the smallest or above the largest value of that feature among the
  training rows;
* **jointly**: a row whose distance to its nearest training row is larger than the training rows'
  own nearest-neighbour distances allow. Features are standardised by the training mean and
  standard deviation and missing cells take the training median (what the model's imputation
  feeds it). Training rows are rounded to 0.01 standard deviations and duplicates dropped
  (replicates would otherwise put every row at distance 0 of another), up to
  :data:`_REFERENCE_ROWS` of them kept. The threshold is the split-conformal quantile of the kept
  rows' leave-one-out nearest-neighbour distances: the ``ceil((m + 1)(1 - alpha))``-th smallest of
  ``m``, with ``alpha`` = 0.01, and the largest one when ``m`` < 99. A new row drawn like the
  training rows exceeds it with probability at most about ``alpha`` (``1 / (m + 1)`` on small
  tables), so a flag means the combination of values is unlike any training row, even when each
  value is inside its range (a high temperature with a short time, where training paired high
  temperatures with long times). Wide tables (more than :data:`_JOINT_MAX_FEATURES` numeric
  features, such as spectra) get the per-feature check only: distances in hundreds of dimensions
  say little, and their reference rows would not fit the summary.

:func:`training_domain` builds the JSON stored in the model's summary under ``"domain"``;
:func:`check_domain` applies it to new rows. A model trained before this existed has no domain and
is simply not checked.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["check_domain", "training_domain"]

_ALPHA = 0.01
_REFERENCE_ROWS = 500
_REFERENCE_NUMBERS = 10_000  # rows × features kept in the summary
_JOINT_MAX_FEATURES = 50
_DECIMALS = 2  # reference rows in standard deviations: 0.01 is far below any threshold


def _floats(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values]


def training_domain(x: pd.DataFrame, numeric: tuple[str, ...], seed: int = 0) -> dict[str, Any]:
    """The ranges and reference rows of the numeric features of the training rows ``x``.

    Examples
    --------
    >>> x = pd.DataFrame({"T": [20.0, 30.0, 40.0, 50.0], "t": [1.0, 2.0, 3.0, 4.0]})
    >>> d = training_domain(x, ("T", "t"))
    >>> d["min"], d["max"], len(d["reference"])
    ([20.0, 1.0], [50.0, 4.0], 4)
    """
    values = x[list(numeric)].to_numpy(dtype=np.float64) if numeric else np.empty((len(x), 0))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature with no value: NaN, handled
        lo, hi = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        center, scale = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        median = np.nanmedian(values, axis=0)
    center, median = np.nan_to_num(center), np.nan_to_num(median)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    domain: dict[str, Any] = {
        "features": list(numeric),
        "min": _floats(lo),
        "max": _floats(hi),
        "center": _floats(center),
        "scale": _floats(scale),
        "median": _floats(median),
        "reference": None,
        "threshold": None,
        "rule": (
            f"nearest training row farther than the conformal {1 - _ALPHA:.0%} quantile of the "
            "training rows' nearest-neighbour distances (standardised features)"
        ),
    }
    if not 0 < len(numeric) <= _JOINT_MAX_FEATURES:
        return domain
    keep = min(_REFERENCE_ROWS, _REFERENCE_NUMBERS // len(numeric))
    rng = np.random.default_rng(seed)
    if len(values) > 20 * keep:  # a large table: a sample is enough to find `keep` distinct rows
        values = values[np.sort(rng.choice(len(values), 20 * keep, replace=False))]
    standard = _standardise(values, center, scale, median)
    reference = np.unique(np.round(standard, _DECIMALS), axis=0)
    if len(reference) > keep:
        reference = reference[np.sort(rng.choice(len(reference), keep, replace=False))]
    if len(reference) < 2:  # one distinct training row: no spacing to compare with
        return domain
    domain["reference"] = reference.tolist()
    domain["threshold"] = float(_threshold(reference))
    return domain


def _standardise(
    values: np.ndarray, center: np.ndarray, scale: np.ndarray, median: np.ndarray
) -> np.ndarray:
    """Rows in the training rows' standard units, a missing value at the training median."""
    filled = np.where(np.isnan(values), median, values)
    return np.asarray((filled - center) / scale, dtype=np.float64)


def _nearest(rows: np.ndarray, reference: np.ndarray, *, skip_self: bool = False) -> np.ndarray:
    """The distance from each of ``rows`` to its nearest row of ``reference`` (the reference is
    small, a few hundred rows: plain numpy, in blocks of rows; sklearn's neighbours module alone
    takes a second or more to import)."""
    out = np.empty(len(rows))
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    for start in range(0, len(rows), 4096):
        block = rows[start : start + 4096]
        sq = (
            np.einsum("ij,ij->i", block, block)[:, None] + ref_sq[None, :] - 2 * block @ reference.T
        )
        if skip_self:  # the rows are the reference: leave each row's own distance out
            sq[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        out[start : start + len(block)] = np.sqrt(np.maximum(sq.min(axis=1), 0.0))
    return out


def _threshold(reference: np.ndarray) -> float:
    loo = np.sort(_nearest(reference, reference, skip_self=True))
    m = len(loo)
    rank = min(math.ceil((m + 1) * (1 - _ALPHA)), m)
    return float(loo[rank - 1])


@dataclass(frozen=True)
class _Prepared:
    """A domain's lists as arrays, made once per domain (a server checks every request)."""

    source: dict[str, Any]  # held so that its id is not reused while it is cached
    names: list[str]
    ranged: list[int]  # the features with a training range (a feature never seen has none)
    lo: np.ndarray
    hi: np.ndarray
    tol: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    median: np.ndarray
    reference: np.ndarray | None
    threshold: float | None
    below: np.ndarray  # "T [degC] < 20", per ranged feature (objects)
    above: np.ndarray


_PREPARED: dict[int, _Prepared] = {}
_PREPARED_MAX = 64


def _prepared(domain: dict[str, Any]) -> _Prepared:
    found = _PREPARED.get(id(domain))
    if found is not None and found.source is domain:
        return found
    names: list[str] = list(domain.get("features") or [])
    ranged = [
        j
        for j, (lo, hi) in enumerate(zip(domain["min"], domain["max"], strict=True))
        if lo is not None and hi is not None
    ]
    lo = np.array([domain["min"][j] for j in ranged], dtype=np.float64)
    hi = np.array([domain["max"][j] for j in ranged], dtype=np.float64)
    # unit conversion leaves rounding dust (333.15 K is 60.00000000000003 degC)
    tol = 1e-9 * np.maximum.reduce([np.abs(lo), np.abs(hi), hi - lo, np.full_like(lo, 1e-300)])
    far = bool(domain.get("reference")) and domain.get("threshold") is not None
    prepared = _Prepared(
        domain,
        names,
        ranged,
        lo,
        hi,
        tol,
        np.array(domain["center"], dtype=np.float64),
        np.array(domain["scale"], dtype=np.float64),
        np.array(domain["median"], dtype=np.float64),
        np.array(domain["reference"], dtype=np.float64) if far else None,
        float(domain["threshold"]) if far else None,
        np.array([f"{names[j]} < {domain['min'][j]:.4g}" for j in ranged], dtype=object),
        np.array([f"{names[j]} > {domain['max'][j]:.4g}" for j in ranged], dtype=object),
    )
    _PREPARED[id(domain)] = prepared
    while len(_PREPARED) > _PREPARED_MAX:
        _PREPARED.pop(next(iter(_PREPARED)))
    return prepared


def check_domain(domain: dict[str, Any], values: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """Per row of ``values`` (the domain's features, ``domain["features"]``, in that order and in
    the model's units): whether it extrapolates, and the features outside their training range
    written as ``"T [degC] > 80"`` (``None`` when none).

    Examples
    --------
    >>> domain = training_domain(pd.DataFrame({"T": [20.0, 30.0, 40.0, 50.0]}), ("T",))
    >>> flags, out = check_domain(domain, np.array([[35.0], [90.0]]))
    >>> flags.tolist(), out
    ([False, True], [None, 'T > 50'])
    """
    n = len(values)
    if not domain.get("features"):
        return np.zeros(n, dtype=bool), [None] * n
    d = _prepared(domain)
    outside: list[list[str]] = [[] for _ in range(n)]
    with np.errstate(invalid="ignore"):
        below = values[:, d.ranged] < d.lo - d.tol
        above = values[:, d.ranged] > d.hi + d.tol
    rows, ks = np.nonzero(below | above)  # rows in order, features in order
    texts = np.where(below[rows, ks], d.below[ks], d.above[ks])
    for i, text in zip(rows.tolist(), texts.tolist(), strict=True):
        outside[i].append(text)
    far = np.zeros(n, dtype=bool)
    if d.reference is not None and d.threshold is not None and n:
        standard = _standardise(values, d.center, d.scale, d.median)
        far = _nearest(standard, d.reference) > d.threshold + 1e-9
    flags = far | np.array([bool(o) for o in outside], dtype=bool)
    return flags, [", ".join(o) if o else None for o in outside]

"""Initial designs: the first experiments, before there is data to learn from.

* ``sobol`` (default) and ``lhs``: space-filling points (SciPy's scrambled Sobol sequence and Latin
  hypercube, seeded); a choice takes the level its coordinate falls in.
* ``factorial``: every combination of the levels (numbers at their bounds, or ``levels: 3`` for
  low / centre / high).
* ``fractional``: a two-level fractional factorial (pyDOE3) of the requested resolution (``resolution:
  4`` by default, 3 to 5), for screening many factors in few runs; two-level factors only.
* ``d-optimal``: the runs that make a stated ``model`` (``linear``, ``interaction`` or
  ``quadratic``) best estimated, chosen from the space's points (pyDOE3's Fedorov exchange on the
  D criterion).

Every design respects the constraints and the candidates: on a discrete space the points are taken
from its list (space-filling points are matched to their nearest unused candidate), on a continuous
one points that break a constraint are replaced by the next ones of the sequence.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import polars as pl

from labsight.design.encoding import Encoder
from labsight.design.space import Parameter, Space
from labsight.exceptions import InputError

__all__ = ["INITIAL_METHODS", "initial_design"]

INITIAL_METHODS = ("sobol", "lhs", "factorial", "fractional", "d-optimal")
_MODELS = {"linear": 1, "interaction": 2, "quadratic": 2}


def _from_unit(space: Space, u: np.ndarray) -> pl.DataFrame:
    """Points of the unit cube → points of the space (a choice takes the level ``u`` falls in)."""
    columns = {}
    for j, p in enumerate(space.parameters):
        if p.kind == "continuous":
            columns[p.name] = pl.Series(p.name, np.clip(p.from_unit(u[:, j]), p.low, p.high))
        else:
            index = np.minimum((u[:, j] * len(p.values)).astype(int), len(p.values) - 1)
            columns[p.name] = pl.Series(p.name, [p.values[i] for i in index])
    return pl.DataFrame(columns)


def _space_filling(space: Space, n: int, seed: int, method: str) -> pl.DataFrame:
    with warnings.catch_warnings():
        # SciPy notes that Sobol balance needs a power of two; a lab batch is what it is.
        warnings.simplefilter("ignore", UserWarning)
        return _space_filling_points(space, n, seed, method)


def _space_filling_points(space: Space, n: int, seed: int, method: str) -> pl.DataFrame:
    # scipy.stats takes most of a second to import: a suggestion over listed candidates with
    # enough results never draws a space-filling point
    from scipy.stats import qmc

    d = len(space.parameters)
    engine: qmc.QMCEngine = (
        qmc.Sobol(d, scramble=True, seed=seed)
        if method == "sobol"
        else qmc.LatinHypercube(d, seed=seed)
    )
    if space.discrete:
        return _nearest_candidates(space, engine.random(n), n)
    chosen: list[pl.DataFrame] = []
    have = 0
    for _ in range(64):  # draw more while constraints reject points
        batch = _from_unit(space, engine.random(max(n, 16)))
        batch = space.allowed(batch)
        chosen.append(batch)
        have += batch.height
        if have >= n:
            break
    out = pl.concat(chosen).head(n) if chosen else pl.DataFrame()
    if out.height < n:
        raise InputError(
            f"the constraints leave almost no room: {out.height} of {n} space-filling points fit",
            hint="Check the constraints in the space file",
        )
    return out


def _nearest_candidates(space: Space, u: np.ndarray, n: int) -> pl.DataFrame:
    """The unused candidate nearest (in the encoded space) to each space-filling point."""
    pool = space.enumerate()
    if pool.height <= n:
        return pool
    encoder = Encoder(space)
    x = encoder.encode(pool)
    target = encoder.encode(_from_unit(space, u))
    used = np.zeros(pool.height, dtype=bool)
    picks = []
    for t in target:
        distance = np.sum((x - t) ** 2, axis=1)
        distance[used] = np.inf
        i = int(np.argmin(distance))
        used[i] = True
        picks.append(i)
    return pool[picks]


def _levels(p: Parameter, count: int) -> list[Any]:
    if p.kind == "continuous":
        return list(p.from_unit(np.linspace(0.0, 1.0, count)))
    return list(p.values)


def _factorial(space: Space, levels: int) -> pl.DataFrame:
    if space.candidates is not None:
        return space.candidates
    grids = [_levels(p, levels) for p in space.parameters]
    if math.prod(len(g) for g in grids) > 100_000:
        raise InputError(
            "a full factorial of this space has more than 100,000 runs",
            hint="Use 'fractional' or 'd-optimal', or fewer levels",
        )
    rows = list(itertools.product(*grids))
    frame = pl.DataFrame({p.name: [r[j] for r in rows] for j, p in enumerate(space.parameters)})
    return space.allowed(frame)


def _fractional(space: Space, resolution: int) -> pl.DataFrame:
    from pyDOE3 import fracfact_by_res

    two_level = [p for p in space.parameters if p.kind == "continuous" or len(p.values) == 2]
    if len(two_level) != len(space.parameters):
        odd = next(p.name for p in space.parameters if p not in two_level)
        raise InputError(
            f"a fractional factorial needs two-level factors; {odd!r} has more levels",
            hint="Use 'factorial' or 'd-optimal' for this space",
        )
    if not 3 <= resolution <= 5:
        raise InputError("the resolution must be 3, 4 or 5", got=str(resolution))
    coded = fracfact_by_res(len(space.parameters), resolution)
    columns = {}
    for j, p in enumerate(space.parameters):
        low, high = (p.low, p.high) if p.kind == "continuous" else (p.values[0], p.values[1])
        columns[p.name] = [high if c > 0 else low for c in coded[:, j]]
    return space.allowed(pl.DataFrame(columns))


def _d_optimal(space: Space, n: int, model: str, seed: int) -> pl.DataFrame:
    from pyDOE3.doe_optimal import optimal_design

    if model not in _MODELS:
        raise InputError(
            f"unknown model {model!r} for a D-optimal design",
            expected="linear, interaction or quadratic",
        )
    if space.discrete:
        pool = space.enumerate()
    else:
        pool = _space_filling(space, 2_000, seed, "sobol")
        corners = _factorial(space, 3 if model == "quadratic" else 2)
        pool = pl.concat([corners, pool], how="vertical_relaxed") if corners.height else pool
    coded = _coded(space, pool)
    with np.errstate(all="ignore"):
        design, _ = optimal_design(
            coded, n_points=n, degree=_MODELS[model], criterion="D", method="fedorov"
        )
    chosen = []
    free = np.ones(len(coded), dtype=bool)
    for point in np.asarray(design):
        distance = np.sum((coded - point) ** 2, axis=1)
        distance[~free] = np.inf
        i = int(np.argmin(distance))
        free[i] = False
        chosen.append(i)
    return pool[chosen]


def _coded(space: Space, frame: pl.DataFrame) -> np.ndarray:
    """Numbers coded to [-1, 1]; a choice as effect-coded columns (levels − 1 of them)."""
    parts = []
    for p in space.parameters:
        if p.numeric:
            v = frame[p.name].cast(pl.Float64).to_numpy()
            parts.append((p.to_unit(v) * 2 - 1)[:, None])
        else:
            text = frame[p.name].cast(pl.String).to_numpy()
            effects = np.zeros((frame.height, len(p.values) - 1))
            for k, level in enumerate(p.values[:-1]):
                effects[:, k] = text == level
            effects[text == p.values[-1]] = -1.0
            parts.append(effects)
    return np.hstack(parts)


def initial_design(
    space: Space, n: int, *, method: str = "sobol", seed: int = 0, **options: Any
) -> pl.DataFrame:
    """``n`` first experiments of ``space`` (all runs of a factorial design, whatever ``n``).

    Raises
    ------
    InputError
        For an unknown method, or a design the space does not allow.
    """
    if method not in INITIAL_METHODS:
        raise InputError(f"unknown initial design {method!r}", expected=", ".join(INITIAL_METHODS))
    if method in ("sobol", "lhs"):
        return _space_filling(space, n, seed, method)
    if method == "factorial":
        return _factorial(space, int(options.get("levels", 2)))
    if method == "fractional":
        return _fractional(space, int(options.get("resolution", 4)))
    return _d_optimal(space, n, str(options.get("model", "linear")), seed)

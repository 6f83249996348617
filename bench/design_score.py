"""What the design benchmark measures, in numpy only, so labsight's loops and the peers' loops (in
their own venvs, without polars or labsight) score exactly alike: the hypervolume of two objectives,
the progress of a loop, and the synthetic problems' functions."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = ["branin", "hypervolume", "mixed_reaction", "progress"]


def hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of 2-D points (both maximized) above the reference point ``ref``."""
    pts = points[np.all(points > ref, axis=1)]
    if not len(pts):
        return 0.0
    pts = pts[np.argsort(-pts[:, 0])]
    volume, best_y = 0.0, float(ref[1])
    for x, y in pts:
        if y > best_y:
            volume += (x - ref[0]) * (y - best_y)
            best_y = y
    return float(volume)


def progress(signed: np.ndarray, ref: np.ndarray | None, total: float | None) -> float:
    """A loop's progress from its signed results (more is better): the best value of one
    objective, or the share of the table's hypervolume for two."""
    if ref is None:
        return float(np.nanmax(signed[:, 0]))
    assert total is not None
    return hypervolume(signed[np.isfinite(signed).all(axis=1)], ref) / total


def branin(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Branin–Hoo on [0, 1]²; minimum 0.397887 at three points."""
    x1 = np.asarray(columns["x1"], dtype=float) * 15 - 5
    x2 = np.asarray(columns["x2"], dtype=float) * 15
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return np.asarray((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10)


_CATALYST = {"A": 0.0, "B": 12.0, "C": 5.0, "D": -8.0}
_BASE = {"K2CO3": 3.0, "Cs2CO3": 6.0, "Et3N": -4.0}


def mixed_reaction(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """A reaction-like response: a temperature/time bump, a best catalyst, a base effect
    (maximum 98 at 95 °C, 45 min, catalyst B, Cs2CO3)."""
    t = np.asarray(columns["temperature"], dtype=float)
    time = np.asarray(columns["time"], dtype=float)
    bump = 80 * np.exp(-(((t - 95) / 25) ** 2) - ((np.log(time) - np.log(45)) / 0.8) ** 2)
    return np.asarray(
        bump
        + np.array([_CATALYST[str(c)] for c in columns["catalyst"]])
        + np.array([_BASE[str(b)] for b in columns["base"]])
    )

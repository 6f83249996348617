"""Outcome warping: a Yeo–Johnson power transform of an objective before the GP reads it.

A yield is often a product of factors (a choice's chemistry, a temperature window, a dilution), so
most of a space gives little and a few corners give much: a GP on the raw values spends its length
scales on the few peaks and takes "this base was tried at the wrong temperature" for "this base is
poor". A power transform that makes the results more nearly normal turns much of such a product
into a sum the kernel can share between choices (HEBO, Cowen-Rivers et al., 2022, "HEBO: pushing
the limits of sample-efficient hyperparameter optimisation", found output warping the largest of
its gains). On the design benchmark's cross-coupling it took the median share of the optimum after
40 experiments from 62 % to 78 % (docs/design/004-design.md).

The results are standardized first (the transform then reads neither the unit nor the origin of the
objective) and λ is the maximum-likelihood one in [0, 2]: there the transform maps the real line
onto itself, so every prediction in the warped space maps back. The GP's predictions are mapped
back to the objective's scale by Gauss–Hermite quadrature (:meth:`Warp.moments`): a mean and a
standard deviation the user reads in the objective's own unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LAMBDA_RANGE", "Warp"]

LAMBDA_RANGE = (0.0, 2.0)
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(32)
_WEIGHTS = _WEIGHTS / math.sqrt(2.0 * math.pi)  # expectations under the standard normal


@dataclass(frozen=True)
class Warp:
    """``z = yeo_johnson((y - centre) / scale, lam)``; the identity with ``lam == 1`` (up to the
    standardization, which the GP's own outcome transform repeats)."""

    centre: float = 0.0
    scale: float = 1.0
    lam: float = 1.0

    @classmethod
    def fit(cls, y: np.ndarray) -> Warp:
        """The warp that makes ``y`` (finite values) most nearly normal."""
        from scipy.optimize import minimize_scalar
        from scipy.stats import yeojohnson_llf

        y = np.asarray(y, dtype=float)
        centre, scale = float(np.mean(y)), float(np.std(y))
        if len(y) < 3 or not scale > 0:
            return cls()
        u = (y - centre) / scale
        best = minimize_scalar(
            lambda lam: -float(yeojohnson_llf(lam, u)), bounds=LAMBDA_RANGE, method="bounded"
        )
        lam = float(best.x)
        return cls(centre, scale, lam) if lam != 1.0 else cls()

    @property
    def identity(self) -> bool:
        return self.lam == 1.0

    def forward(self, y: np.ndarray) -> np.ndarray:
        u = (np.asarray(y, dtype=float) - self.centre) / self.scale
        if self.identity:
            return u
        lam, out = self.lam, np.empty_like(u)
        pos = u >= 0
        two, neg = 2.0 - lam, ~pos
        # expm1 and log1p: exact near λ = 0 and λ = 2, where the powers cancel
        out[pos] = np.log1p(u[pos]) if lam == 0 else np.expm1(lam * np.log1p(u[pos])) / lam
        out[neg] = -np.log1p(-u[neg]) if two == 0 else -np.expm1(two * np.log1p(-u[neg])) / two
        return out

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self._inverse(np.asarray(z, dtype=float), np))

    def inverse_torch(self, z: Any) -> Any:
        """:meth:`inverse` on a torch tensor, differentiable (an acquisition's samples)."""
        import torch

        return self._inverse(z, torch)

    def _inverse(self, z: Any, xp: Any) -> Any:
        """The inverse with ``xp`` (numpy or torch): each branch is computed on its own half of
        ``z`` only (zeros elsewhere), so neither a value nor a gradient of the other is NaN."""
        if self.identity:
            return z * self.scale + self.centre
        lam, two = self.lam, 2.0 - self.lam
        pos = z >= 0
        zero = xp.zeros_like(z)
        zp, zn = xp.where(pos, z, zero), xp.where(pos, zero, z)
        up = xp.expm1(zp) if lam == 0 else xp.expm1(xp.log1p(lam * zp) / lam)
        un = -xp.expm1(-zn) if two == 0 else -xp.expm1(xp.log1p(-two * zn) / two)
        return xp.where(pos, up, un) * self.scale + self.centre

    def log_slope(self, y: np.ndarray) -> np.ndarray:
        """``log dz/dy`` at ``y``: what turns a density of ``z`` into one of ``y``."""
        u = (np.asarray(y, dtype=float) - self.centre) / self.scale
        power = np.where(u >= 0, self.lam - 1.0, 1.0 - self.lam)
        return np.asarray(power * np.log1p(np.abs(u)) - math.log(self.scale))

    def moments(self, mean: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of ``y`` where ``z ~ N(mean, sd²)``."""
        mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
        if self.identity:
            return mean * self.scale + self.centre, sd * self.scale
        values = self.inverse(mean[..., None] + sd[..., None] * _NODES)
        m = values @ _WEIGHTS
        var = ((values - m[..., None]) ** 2) @ _WEIGHTS
        return m, np.sqrt(np.maximum(var, 0.0))

    def expected_excess(self, mean: float, sd: float, threshold: float) -> float:
        """``E[max(y - threshold, 0)]`` where ``z ~ N(mean, sd²)``: the expected improvement over
        ``threshold`` on the objective's own scale."""
        from scipy.integrate import quad
        from scipy.stats import norm

        if not sd > 0:
            return max(float(self.inverse(np.array([mean]))[0]) - threshold, 0.0)
        if self.identity:
            u = (mean * self.scale + self.centre - threshold) / (sd * self.scale)
            return float(sd * self.scale * (norm.pdf(u) + u * norm.cdf(u)))
        start = float(self.forward(np.array([threshold]))[0])
        low = max(start, mean - 12 * sd)

        def excess(z: float) -> float:
            return (float(self.inverse(np.array([z]))[0]) - threshold) * float(
                norm.pdf(z, mean, sd)
            )

        return (
            float(quad(excess, low, mean + 12 * sd, limit=200)[0]) if low < mean + 12 * sd else 0.0
        )

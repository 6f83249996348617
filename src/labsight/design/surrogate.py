"""The surrogate: one Gaussian process per objective, fitted with BoTorch on the encoded points.

By default a ``SingleTaskGP`` reads every column (numbers, one-hot levels, descriptors) with one
Matérn-5/2 kernel whose length scales have a Gamma prior scaled with the number of columns: its mode
is BoTorch's dimension-scaled one (Hvarfner et al., 2024, "Vanilla Bayesian optimization performs
great in high dimensions"), its tails are lighter than BoTorch's log-normal, as in BayBE's default.
In the design benchmark this took Summit's Reizman case 3 from 74 experiments to a top-1 % result
(more than random search) to 17 and the EDBO Suzuki table from 26 to 20; it cost experiments on
others (docs/design/004-design.md). With the space's ``surrogate: {kernel: mixed}`` the level
indices go to BoTorch's ``MixedSingleTaskGP`` (a categorical kernel combined with the numbers'
kernel). Outcomes are standardized, objectives to minimize are negated (the surrogate always
maximizes), and the noise is learned: replicated conditions tell the GP how noisy the assay is
instead of being interpolated. Each objective is fitted on the rows that measured it, so partial
results count. Fitting is deterministic for a seed (the torch RNG is forked and seeded).

With ``warp`` each objective's GP reads its results through a Yeo–Johnson warp
(:mod:`~labsight.design.warp`); everything the surrogate says outside the GP is mapped back to the
objective's own scale: :meth:`Surrogate.posterior` (mean and sd by quadrature), the leave-one-out
predictions, and :meth:`Surrogate.objective`, which turns the GP's samples back into the
objective's values inside an acquisition, so an improvement is counted in the objective's unit.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch

from labsight.design.warp import Warp

__all__ = ["Surrogate", "fit_surrogate"]

DTYPE = torch.float64
MAX_ITER = 150


@dataclass
class Surrogate:
    """The fitted model (a BoTorch ``Model``; a ``ModelListGP`` for several objectives), with the
    training data it saw in the maximization orientation."""

    model: Any
    x: torch.Tensor  # all rows with at least one objective measured
    y: np.ndarray  # [rows, objectives], signed so that more is better; NaN where not measured
    kernel: str = "onehot"  # "onehot" (Matérn on every column) or "mixed" (categorical kernel)
    # How the kernel was chosen: "asked" (the space's), "default" (too few results to compare),
    # or "leave-one-out" (the better mean log predictive density; ``compared`` holds each one's)
    chosen_by: str = "default"
    compared: dict[str, float] | None = None
    # Per objective: the warp its GP reads the results through (:mod:`~labsight.design.warp`)
    warps: list[Warp] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.warps = self.warps or [Warp()] * self.y.shape[1]

    @property
    def warped(self) -> bool:
        return any(not w.identity for w in self.warps)

    def warp_state(self) -> dict[str, Any] | None:
        """``{"method": "yeo-johnson", "lambda": [per objective]}``, or None without a warp."""
        if not self.warped:
            return None
        return {"method": "yeo-johnson", "lambda": [w.lam for w in self.warps]}

    def model_moments(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation on the scale the GPs model ``[points, objectives]``, the
        observation noise excluded: how unsure the model is, apart from how high it predicts
        (on a warped objective's own scale the sd also grows with the prediction)."""
        with torch.no_grad():
            post = self.model.posterior(torch.as_tensor(x, dtype=DTYPE))
            mean = post.mean.cpu().numpy().reshape(len(x), -1)
            sd = post.variance.clamp_min(0).sqrt().cpu().numpy().reshape(len(x), -1)
        return mean, sd

    def on_objective_scale(self, mean: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`model_moments` mapped back through each objective's warp (by quadrature)."""
        mean, sd = mean.copy(), sd.copy()
        for j, warp in enumerate(self.warps):
            mean[:, j], sd[:, j] = warp.moments(mean[:, j], sd[:, j])
        return mean, sd

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation (signed orientation, the objectives' own scale)
        ``[points, objectives]``, the observation noise excluded."""
        return self.on_objective_scale(*self.model_moments(x))

    def objective(self) -> Any:
        """For a Monte-Carlo acquisition: the GP's samples mapped back to the objectives' own
        scale, so that an improvement is counted in the objective's unit (None without a warp)."""
        if not self.warped:
            return None
        from botorch.acquisition.multi_objective.objective import GenericMCMultiOutputObjective
        from botorch.acquisition.objective import GenericMCObjective

        warps = self.warps

        def one(samples: torch.Tensor, X: torch.Tensor | None = None) -> torch.Tensor:
            return warps[0].inverse_torch(samples[..., 0])  # type: ignore[no-any-return]

        def several(samples: torch.Tensor, X: torch.Tensor | None = None) -> torch.Tensor:
            return torch.stack(
                [w.inverse_torch(samples[..., j]) for j, w in enumerate(warps)], dim=-1
            )

        if len(warps) == 1:
            return GenericMCObjective(one)
        return GenericMCMultiOutputObjective(several)

    @cached_property
    def _loo_warped(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        """Per objective: its results, each one's leave-one-out prediction and sd (the GP's
        hyperparameters held; the observation noise included, as a new result would have it) on
        the warped scale the GP models; None for an objective with fewer than three results."""
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = []
        for m in getattr(self.model, "models", [self.model]):
            x = m.train_inputs[0]
            y = m.train_targets  # standardized by the outcome transform
            if len(y) < 3:
                out.append(None)
                continue
            with torch.no_grad():
                k = m.covar_module(x).to_dense()
                noise = m.likelihood.noise.reshape(-1)[0]
                k = k + noise * torch.eye(len(y), dtype=k.dtype)
                inverse = torch.linalg.inv(k)
                alpha = inverse @ (y - m.mean_module(x))
                diag = torch.diagonal(inverse)
                loo_mean = y - alpha / diag
                loo_sd = (1.0 / diag).clamp_min(1e-12).sqrt()
            scale = float(m.outcome_transform.stdvs.reshape(-1)[0])
            shift = float(m.outcome_transform.means.reshape(-1)[0])
            out.append(
                (
                    (y * scale + shift).numpy(),
                    (loo_mean * scale + shift).numpy(),
                    (loo_sd * scale).numpy(),
                )
            )
        return out

    def leave_one_out(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        """Per objective: its results, each one's leave-one-out prediction and sd on the
        objective's own scale (signed orientation); None with fewer than three results."""
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = []
        for warp, entry in zip(self.warps, self._loo_warped, strict=True):
            if entry is None:
                out.append(None)
                continue
            truth, guess, sd = entry
            out.append((warp.inverse(truth), *warp.moments(guess, sd)))
        return out

    def loo_covered(self, z: float) -> list[np.ndarray | None]:
        """Per objective: whether each result lies within ``z`` leave-one-out sds of its
        prediction on the scale the GP models, which with a warp is the quantile interval on the
        objective's own (the map is monotone; mean ± z sd there would not be); None with fewer
        than three results."""
        return [
            None if entry is None else np.abs(entry[0] - entry[1]) <= z * entry[2]
            for entry in self._loo_warped
        ]

    def loo_log_likelihood(self) -> float:
        """The mean leave-one-out log predictive density of the results, on the objectives' own
        scales in standardized units (so objectives, kernels and warps compare): how well the
        model foresees a result it did not see, its uncertainty included. -inf with fewer than
        three results."""
        densities = []
        for warp, entry in zip(self.warps, self._loo_warped, strict=True):
            if entry is None:
                return -math.inf
            z, guess, sd = entry
            truth = warp.inverse(z)
            log_z = -0.5 * np.log(2 * math.pi * sd**2) - 0.5 * ((z - guess) / sd) ** 2
            spread = float(np.std(truth)) or 1.0
            densities.append(log_z + warp.log_slope(truth) + math.log(spread))
        return float(np.mean(np.concatenate(densities)))

    def state(self) -> dict[str, Any]:
        """What explains a choice later: kernel length scales and noise of each objective's GP."""
        models = getattr(self.model, "models", [self.model])
        out = []
        for m in models:
            entry: dict[str, Any] = {}
            noise = getattr(m.likelihood, "noise", None)
            if noise is not None:
                entry["noise"] = float(noise.detach().reshape(-1)[0])
            scales = [
                mod.lengthscale.detach().reshape(-1).tolist()
                for mod in m.covar_module.modules()
                if getattr(mod, "has_lengthscale", False) and mod.lengthscale is not None
            ]
            entry["lengthscales"] = scales
            out.append(entry)
        return {
            "objectives": out,
            "rows": int(self.x.shape[0]),
            "kernel": self.kernel,
            "warp": self.warp_state(),
            "chosen_by": self.chosen_by,
            "compared": self.compared,
        }


def _kernel_and_likelihood(dims: int) -> tuple[Any, Any]:
    """The default kernel and likelihood for ``dims`` input columns (see the module docstring).

    Length scales: Gamma(3, rate) with its mode at BoTorch's ``exp(sqrt(2) - 3) * sqrt(dims)``,
    at least 0.025; noise: Gamma(2, rate) with its mode at BoTorch's ``exp(-5)`` (of the
    standardized outcome's variance), at least 1e-4."""
    from gpytorch.constraints import GreaterThan
    from gpytorch.kernels import MaternKernel
    from gpytorch.likelihoods import GaussianLikelihood
    from gpytorch.priors import GammaPrior

    mode = math.exp(math.sqrt(2.0) - 3.0) * math.sqrt(dims)
    lengthscale = GammaPrior(3.0, 2.0 / mode)
    kernel = MaternKernel(
        nu=2.5,
        ard_num_dims=dims,
        lengthscale_prior=lengthscale,
        lengthscale_constraint=GreaterThan(2.5e-2, transform=None, initial_value=mode),
    )
    noise_mode = math.exp(-5.0)
    noise = GammaPrior(2.0, 1.0 / noise_mode)
    likelihood = GaussianLikelihood(
        noise_prior=noise,
        noise_constraint=GreaterThan(1e-4, transform=None, initial_value=noise_mode),
    )
    return kernel, likelihood


def _fit_one(x: torch.Tensor, y: torch.Tensor, cat_dims: list[int]) -> Any:
    from botorch.fit import fit_gpytorch_mll
    from botorch.models.gp_regression import SingleTaskGP
    from botorch.models.gp_regression_mixed import MixedSingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    # The likelihood surface is flat near its top: L-BFGS creeps on for 500–1,000 steps (1.5 s
    # on 14 dimensions, 7 s with the categorical kernel) for the last few per cent of
    # log-likelihood; MAX_ITER steps get nearly all of it.
    options: dict[str, Any] = {"optimizer_kwargs": {"options": {"maxiter": MAX_ITER}}}
    if cat_dims:
        model = MixedSingleTaskGP(x, y, cat_dims=cat_dims, outcome_transform=Standardize(m=1))
    else:
        kernel, likelihood = _kernel_and_likelihood(x.shape[-1])
        model = SingleTaskGP(
            x, y, covar_module=kernel, likelihood=likelihood, outcome_transform=Standardize(m=1)
        )
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fit retries and input-scaling notes are not the user's
        fit_gpytorch_mll(mll, **options)
    return model


def fit_surrogate(
    x: np.ndarray, y: np.ndarray, cat_dims: list[int], seed: int, warp: bool = False
) -> Surrogate:
    """One GP per column of ``y`` (signed objectives; NaN = not measured) on the rows of ``x``,
    each reading its results through a Yeo–Johnson warp when ``warp`` (:class:`Warp`).

    Raises
    ------
    ValueError
        When an objective has fewer than two measured rows.
    """
    from botorch.models.model_list_gp_regression import ModelListGP

    x_t = torch.as_tensor(x, dtype=DTYPE)
    models, warps = [], []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for j in range(y.shape[1]):
            rows = np.isfinite(y[:, j])
            if rows.sum() < 2:
                raise ValueError(f"objective {j} has {int(rows.sum())} results; a GP needs two")
            warps.append(Warp.fit(y[rows, j]) if warp else Warp())
            target = torch.as_tensor(warps[-1].forward(y[rows, j])[:, None], dtype=DTYPE)
            models.append(_fit_one(x_t[torch.as_tensor(rows)], target, cat_dims))
    model = models[0] if len(models) == 1 else ModelListGP(*models)
    return Surrogate(model, x_t, y, warps=warps)

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
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

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

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation (signed orientation) ``[points, objectives]``, the
        observation noise excluded."""
        with torch.no_grad():
            post = self.model.posterior(torch.as_tensor(x, dtype=DTYPE))
            mean = post.mean.cpu().numpy()
            sd = post.variance.clamp_min(0).sqrt().cpu().numpy()
        return mean.reshape(len(x), -1), sd.reshape(len(x), -1)

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
        return {"objectives": out, "rows": int(self.x.shape[0])}


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


def fit_surrogate(x: np.ndarray, y: np.ndarray, cat_dims: list[int], seed: int) -> Surrogate:
    """One GP per column of ``y`` (signed objectives; NaN = not measured) on the rows of ``x``.

    Raises
    ------
    ValueError
        When an objective has fewer than two measured rows.
    """
    from botorch.models.model_list_gp_regression import ModelListGP

    x_t = torch.as_tensor(x, dtype=DTYPE)
    models = []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for j in range(y.shape[1]):
            rows = np.isfinite(y[:, j])
            if rows.sum() < 2:
                raise ValueError(f"objective {j} has {int(rows.sum())} results; a GP needs two")
            target = torch.as_tensor(y[rows, j : j + 1], dtype=DTYPE)
            models.append(_fit_one(x_t[torch.as_tensor(rows)], target, cat_dims))
    model = models[0] if len(models) == 1 else ModelListGP(*models)
    return Surrogate(model, x_t, y)

"""A Gaussian process regressor with one length scale per input (the ``ard`` setting of the
``gaussian_process`` family); its own module so that importing the families stays light."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import Matern

__all__ = ["ARD_MAX_INPUTS", "ARDGaussianProcessRegressor"]

ARD_MAX_INPUTS = 16
"""Beyond this many inputs the kernel keeps one length scale for all: each length scale is one
more parameter the fit optimises (57 inputs of 112 rows: 3.4 s a fit instead of 0.06 s, and more
length scales than a small table can pin down)."""


class ARDGaussianProcessRegressor(GaussianProcessRegressor):  # type: ignore[misc]
    """A Gaussian process whose Matern kernel gets one length scale per input column (automatic
    relevance determination), set at ``fit``: the number of columns out of the preprocessing
    (one-hot levels, missing-value indicators) is known only then. An input that does not matter
    gets a long length scale instead of blurring the others (on small smooth tables this is often
    the best model of all). With more than :data:`ARD_MAX_INPUTS` inputs it fits one length scale
    for all, as the plain family does; ``ard_`` says which it fitted."""

    def fit(self, X: Any, y: Any) -> ARDGaussianProcessRegressor:
        # np.asarray, not np.shape: an array-like that only converts (no __array_function__) is
        # taken, and a 1-D X reaches GaussianProcessRegressor.fit, which refuses it in words.
        shape = np.asarray(X).shape
        width = shape[1] if len(shape) == 2 else 1
        isotropic: Any = self.kernel  # type: ignore[has-type]
        # No kernel: GaussianProcessRegressor's default (fixed, isotropic), as the parent fits it.
        kernel: Any = None if isotropic is None else clone(isotropic)
        self.ard_ = kernel is not None and width <= ARD_MAX_INPUTS
        for name, value in kernel.get_params().items() if self.ard_ else ():
            if isinstance(value, Matern) and np.ndim(value.length_scale) == 0:
                kernel.set_params(**{f"{name}__length_scale": np.full(width, value.length_scale)})
        # GaussianProcessRegressor.fit clones self.kernel into kernel_; the isotropic kernel the
        # estimator was built with is put back, so its parameters are what fit found them.
        self.kernel = kernel
        try:
            super().fit(X, y)
        finally:
            self.kernel = isotropic
        return self

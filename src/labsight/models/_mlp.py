"""A small PyTorch multilayer perceptron behind the scikit-learn estimator contract.

:class:`MLPRegressor` and :class:`MLPClassifier` are the ``mlp`` family of the AutoML
(:mod:`labsight.models._families`). They sit at the end of a scikit-learn pipeline, after the
preprocessing, so they receive a dense float matrix that is already imputed and standardized.

The network is ``layers`` blocks of ``Linear -> ReLU -> Dropout`` of width ``hidden`` followed by a
linear output layer, trained with AdamW on mini-batches. A random ``validation_fraction`` of the
training rows is held out for early stopping (``patience`` epochs without improvement), and the
weights with the best validation loss are restored. Datasets with fewer than
:data:`MIN_ROWS_FOR_VALIDATION` rows are too small to spare a validation split; they are trained for
``max_epochs // 5`` epochs instead (and keep their last weights). Regression targets are standardized internally; classification
uses cross-entropy over ``classes_`` (the sorted unique labels).

Fitting is deterministic for a given ``seed``: the weight initialization and dropout draw from a
forked, seeded torch RNG (the caller's global RNG state is left untouched), shuffling uses a seeded
:class:`torch.Generator` and the validation split a seeded :class:`numpy.random.RandomState`.

Fitted models persist without pickle: :meth:`to_state` returns a JSON-serializable ``config`` and
the weights as ``bytes`` (``safetensors`` when installed, else ``torch.save`` of the plain tensor
state dict), and :meth:`from_state` rebuilds the estimator, reading torch weights with
``torch.load(..., weights_only=True)`` so no arbitrary object is ever unpickled.

The network, its training loop and the weights' serialization are in
:mod:`labsight.models._mlp_net`; the estimator classes stay here, where saved model files name them
(``labsight.models._mlp.MLPRegressor``).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array
from torch import nn

from labsight.models._mlp_net import (
    WeightsState,
    build_network,
    load_weights,
    network_outputs,
    resolve_device,
)
from labsight.models._mlp_net import (  # under its old name: tests replace it here
    dump_weights as _dump_weights,
)
from labsight.models._mlp_net import train_network as train_network  # the CNNs call it here

__all__ = ["MIN_ROWS_FOR_VALIDATION", "MLPClassifier", "MLPRegressor"]

MIN_ROWS_FOR_VALIDATION = 10
"""Below this many training rows no validation split is made (and no early stopping)."""

FloatArray = npt.NDArray[np.float64]


def _as_matrix(X: Any, estimator: BaseEstimator) -> npt.NDArray[np.float32]:
    """Validate ``X`` as a finite, dense 2-D numeric matrix with at least one row and one column
    and return it as float32. The errors are scikit-learn's own (``check_array``), so a sparse,
    complex, 1-D or empty ``X`` is refused as every scikit-learn estimator refuses it."""
    arr: npt.NDArray[np.float32] = check_array(X, dtype=np.float32, estimator=estimator)
    return arr


def _as_vector(y: Any, n_rows: int, estimator: BaseEstimator) -> npt.NDArray[Any]:
    """Return ``y`` as a 1-D array of ``n_rows`` entries (a single column is flattened)."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None"
        )
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {arr.shape[0]}")
    return arr


class _BaseMLP(WeightsState, BaseEstimator):  # type: ignore[misc]
    """Shared constructor, training, inference and persistence of the two MLP estimators (the
    torch loops themselves are in :mod:`labsight.models._mlp_net`).

    Parameters
    ----------
    hidden : int
        Width of every hidden layer.
    layers : int
        Number of hidden ``Linear -> ReLU -> Dropout`` blocks (0 gives a linear model).
    dropout : float
        Dropout probability after every hidden activation.
    lr : float
        AdamW learning rate.
    weight_decay : float
        AdamW decoupled weight decay.
    max_epochs : int
        Upper bound on training epochs.
    batch_size : int
        Mini-batch size (capped at the number of training rows).
    patience : int
        Epochs without a better validation loss before training stops.
    validation_fraction : float
        Share of the training rows held out for early stopping (at least one row). Ignored below
        :data:`MIN_ROWS_FOR_VALIDATION` rows, or when 0.
    seed : int
        Seed for initialization, dropout, shuffling and the validation split.
    device : str
        ``"auto"`` (CUDA when available, else CPU) or any :class:`torch.device` string.
    """

    _kind: ClassVar[str] = ""

    def __init__(
        self,
        hidden: int = 64,
        layers: int = 2,
        dropout: float = 0.1,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        max_epochs: int = 500,
        batch_size: int = 64,
        patience: int = 20,
        validation_fraction: float = 0.15,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.hidden = hidden
        self.layers = layers
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.device = device

    # -- hooks for the subclasses -------------------------------------------------------------

    def _encode_target(self, y: npt.NDArray[Any]) -> tuple[torch.Tensor, int]:
        """Store target-related fitted attributes; return the training target and output width."""
        raise NotImplementedError

    def _loss(self) -> nn.Module:
        raise NotImplementedError

    def _fitted_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def _restore_fitted(self, config: dict[str, Any]) -> int:
        """Set target-related fitted attributes from ``config``; return the output width."""
        raise NotImplementedError

    def _network(self, n_features: int, n_out: int) -> nn.Module:
        """The untrained network for ``n_features`` inputs and ``n_out`` outputs."""
        return build_network(
            n_features, n_out, int(self.hidden), int(self.layers), float(self.dropout)
        )

    # -- training ----------------------------------------------------------------------------

    def _check_network(self) -> None:
        """Refuse parameters the network cannot be built with."""
        if int(self.layers) < 0:
            raise ValueError(f"layers must be >= 0, got {self.layers}")

    def _check_params(self) -> None:
        self._check_network()
        if int(self.hidden) < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if int(self.max_epochs) < 1 or int(self.batch_size) < 1 or int(self.patience) < 1:
            raise ValueError("max_epochs, batch_size and patience must be >= 1")
        if not 0.0 <= float(self.validation_fraction) < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )

    def fit(self, X: Any, y: Any) -> Self:
        """Train the network on ``X`` (rows x features) and ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Dense, finite, already preprocessed features (float32 or float64).
        y : array-like of shape (n_samples,)
            Targets: floats for regression, any labels for classification.

        Returns
        -------
        Self
            The fitted estimator.
        """
        self._check_params()
        Xa = _as_matrix(X, self)
        ya = _as_vector(y, Xa.shape[0], self)
        n_rows, n_features = Xa.shape
        self.n_features_in_ = n_features
        target, n_out = self._encode_target(ya)
        device = resolve_device(self.device)

        # Validation split (numpy RNG) — none for tiny datasets.
        n_val = 0
        if n_rows >= MIN_ROWS_FOR_VALIDATION and self.validation_fraction > 0:
            n_val = min(max(1, round(self.validation_fraction * n_rows)), n_rows - 1)
        order = np.random.RandomState(self.seed).permutation(n_rows)
        val_idx = torch.as_tensor(order[:n_val], dtype=torch.long)
        train_idx = torch.as_tensor(order[n_val:], dtype=torch.long)
        X_t = torch.from_numpy(Xa)
        X_train, y_train = X_t[train_idx].to(device), target[train_idx].to(device)
        X_val, y_val = X_t[val_idx].to(device), target[val_idx].to(device)

        fork_devices = [device.index or 0] if device.type == "cuda" else []
        threads = torch.get_num_threads()
        # Lab-sized networks: more CPU threads only spin against each other (0.15 s on one thread
        # against 2-7 s on two of a busy two-core machine).
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=fork_devices):
                torch.manual_seed(self.seed)
                network = self._network(n_features, n_out).to(device)
                max_epochs = int(self.max_epochs)
                if n_rows < MIN_ROWS_FOR_VALIDATION:
                    max_epochs = max(1, max_epochs // 5)
                self.n_epochs_, self.best_val_loss_ = train_network(
                    network,
                    X_train,
                    y_train,
                    X_val,
                    y_val,
                    device,
                    loss_fn=self._loss(),
                    lr=float(self.lr),
                    weight_decay=float(self.weight_decay),
                    seed=int(self.seed),
                    batch_size=int(self.batch_size),
                    patience=int(self.patience),
                    max_epochs=max_epochs,
                )
        finally:
            torch.set_num_threads(threads)
        network.eval()
        self.module_ = network
        return self

    # -- inference ---------------------------------------------------------------------------

    def _forward(self, X: Any) -> npt.NDArray[np.float64]:
        """Raw network outputs (n_samples, n_out) as float64."""
        module: nn.Module | None = getattr(self, "module_", None)
        if module is None:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet.")
        Xa = _as_matrix(X, self)
        if Xa.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {Xa.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return network_outputs(module, Xa)

    # -- persistence -------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Return the fitted model as ``{"config": <JSON-able dict>, "weights": <bytes>}``.

        ``config`` holds the constructor parameters, the fitted scalars (``n_features_in_`` and
        the target encoding) and ``weights_format`` (``"safetensors"`` or ``"torch"``).

        Returns
        -------
        dict
            A pickle-free state accepted by :meth:`from_state`.
        """
        module: nn.Module | None = getattr(self, "module_", None)
        if module is None:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet.")
        weights, fmt = _dump_weights(module.state_dict())
        config: dict[str, Any] = {
            "estimator": self._kind,
            **self.get_params(deep=False),
            "n_features_in_": int(self.n_features_in_),
            "weights_format": fmt,
            **self._fitted_config(),
        }
        json.dumps(config)  # fail early rather than at storage time
        return {"config": config, "weights": weights}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        """Rebuild a fitted estimator from :meth:`to_state` output, without unpickling.

        Parameters
        ----------
        state : dict
            ``{"config": dict, "weights": bytes}`` as returned by :meth:`to_state`.

        Returns
        -------
        Self
            The fitted estimator, on the device its ``device`` parameter resolves to.
        """
        config = dict(state["config"])
        kind = config.get("estimator", cls._kind)
        if kind != cls._kind:
            raise ValueError(f"state is for a {kind!r} estimator, not {cls._kind!r}")
        params = {k: config[k] for k in cls._get_param_names() if k in config}
        est = cls(**params)
        est.n_features_in_ = int(config["n_features_in_"])
        n_out = est._restore_fitted(config)
        network = est._network(est.n_features_in_, n_out)
        network.load_state_dict(load_weights(bytes(state["weights"]), config.get("weights_format")))
        network.to(resolve_device(est.device)).eval()
        est.module_ = network
        return est


class MLPRegressor(RegressorMixin, _BaseMLP):  # type: ignore[misc]
    """Multilayer perceptron regressor trained on the standardized target with MSE.

    See :class:`_BaseMLP` for the parameters. Fitted attributes: ``module_`` (the torch
    network), ``n_features_in_``, ``y_mean_`` and ``y_sd_`` (target standardization),
    ``n_epochs_`` and ``best_val_loss_``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
    >>> model = MLPRegressor(hidden=8, max_epochs=20, device="cpu").fit(X, 2 * X[:, 0])
    >>> model.predict(X).shape
    (40,)
    """

    _kind: ClassVar[str] = "regressor"

    def _encode_target(self, y: npt.NDArray[Any]) -> tuple[torch.Tensor, int]:
        yf = y.astype(np.float64)
        if not np.all(np.isfinite(yf)):
            raise ValueError("y contains NaN or infinite values")
        self.y_mean_ = float(yf.mean())
        sd = float(yf.std())
        self.y_sd_ = sd if sd > 0 else 1.0
        z = ((yf - self.y_mean_) / self.y_sd_).astype(np.float32)
        return torch.from_numpy(z).unsqueeze(1), 1

    def _loss(self) -> nn.Module:
        return nn.MSELoss()

    def _fitted_config(self) -> dict[str, Any]:
        return {"y_mean": self.y_mean_, "y_sd": self.y_sd_}

    def _restore_fitted(self, config: dict[str, Any]) -> int:
        self.y_mean_ = float(config["y_mean"])
        self.y_sd_ = float(config["y_sd"])
        return 1

    def predict(self, X: Any) -> FloatArray:
        """Predict targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples,), float64
        """
        out = self._forward(X)[:, 0]
        return out * self.y_sd_ + self.y_mean_


class MLPClassifier(ClassifierMixin, _BaseMLP):  # type: ignore[misc]
    """Multilayer perceptron classifier trained with cross-entropy over ``classes_``.

    See :class:`_BaseMLP` for the parameters. Fitted attributes: ``module_`` (the torch
    network), ``n_features_in_``, ``classes_`` (sorted unique labels), ``n_epochs_`` and
    ``best_val_loss_``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((20, 2)) - 2, np.zeros((20, 2)) + 2]
    >>> model = MLPClassifier(hidden=8, lr=0.01, max_epochs=50, device="cpu").fit(X, ["a"] * 20 + ["b"] * 20)
    >>> model.predict(X[:1]).tolist(), model.predict_proba(X).shape
    (['a'], (40, 2))
    """

    _kind: ClassVar[str] = "classifier"

    def _encode_target(self, y: npt.NDArray[Any]) -> tuple[torch.Tensor, int]:
        check_classification_targets(y)  # a continuous (or NaN, infinite) target is refused
        self.classes_ = np.unique(y)
        codes = np.searchsorted(self.classes_, y)
        return torch.from_numpy(codes.astype(np.int64)), len(self.classes_)

    def _loss(self) -> nn.Module:
        return nn.CrossEntropyLoss()

    def _fitted_config(self) -> dict[str, Any]:
        dtype = self.classes_.dtype
        return {
            "classes": self.classes_.tolist(),
            "classes_dtype": dtype.str if dtype.kind in "biufUS" else None,
        }

    def _restore_fitted(self, config: dict[str, Any]) -> int:
        dtype = config.get("classes_dtype")
        self.classes_ = np.asarray(config["classes"], dtype=np.dtype(dtype) if dtype else None)
        return len(self.classes_)

    def predict_proba(self, X: Any) -> FloatArray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_classes), float64; rows sum to 1.
        """
        logits = self._forward(X)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        return p

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """Predict class labels (elements of ``classes_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
        """
        scores = self._forward(X)  # first: an unfitted model raises NotFittedError
        return np.asarray(self.classes_[np.argmax(scores, axis=1)])

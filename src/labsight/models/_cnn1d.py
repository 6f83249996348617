"""A small 1-D convolutional network over a table's spectrum, or over the sensors of a sequence
task's runs: the ``cnn1d`` family of the AutoML.

The estimators sit at the end of the same scikit-learn pipeline as every family, after the
preprocessing (imputed, autoscaled inputs); ``positions`` says where the signal's points are among
those columns and ``channels`` how many channels they make (1 for a spectrum; one per sensor of a
run resampled in time, :mod:`labsight.data.sequences`), set by
:func:`labsight.models._families.make_pipeline`. The signal goes through two blocks of ``Conv1d ->
ReLU -> MaxPool`` (``filters`` and twice as many, kernel ``kernel``), an adaptive average pool to
16 positions, then the pooled features and any other inputs of the table (a temperature, a
batch's pH, a run's summary statistics) through a hidden ``Linear -> ReLU -> Dropout`` to the
output. Convolutions share their weights along the axis, which is what lets a network learn a
band's (or an event's) shape from a few dozen examples where a dense layer over 1,800 channels
could not.

Training, early stopping, seeding, the device (``"auto"``: CUDA when present) and the pickle-free
persistence (weights as safetensors) are the MLP family's (:class:`labsight.models._mlp._BaseMLP`);
only the network differs. Training adds noise augmentation: each mini-batch's channels get a small
random offset, scale and Gaussian noise (in standardized units), which a spectrometer's or a
sensor's drift between sessions produces and which the model should not read as chemistry.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from labsight.models._mlp import MLPClassifier, MLPRegressor
from labsight.models._mlp_net import build_network

__all__ = ["SpectrumCNNClassifier", "SpectrumCNNRegressor", "SpectrumNet"]

_POOLED = 16  # positions the convolutions' output is averaged down to


def register_signal(
    module: nn.Module, n_features: int, positions: tuple[int, ...], channels: int
) -> int:
    """Check ``positions`` (the signal's points among ``n_features`` inputs, ``channels``
    channels) and keep them and the other inputs' positions as buffers ``spectrum`` and
    ``others`` of ``module``; return the points per channel."""
    if not positions or max(positions) >= n_features or min(positions) < 0:
        raise ValueError(f"positions must index the {n_features} inputs, got {len(positions)}")
    if channels < 1 or len(positions) % channels:
        raise ValueError(f"{len(positions)} positions do not make {channels} channels")
    others = sorted(set(range(n_features)) - set(positions))
    module.register_buffer("spectrum", torch.as_tensor(positions, dtype=torch.long), False)
    module.register_buffer("others", torch.as_tensor(others, dtype=torch.long), False)
    return len(positions) // channels


class SpectrumNet(nn.Module):
    """Convolutions over the spectrum's channels, joined with the other inputs, to ``n_out``."""

    def __init__(
        self,
        n_features: int,
        positions: tuple[int, ...],
        n_out: int,
        *,
        channels: int = 1,
        filters: int,
        kernel: int,
        hidden: int,
        dropout: float,
        augment: float,
    ) -> None:
        super().__init__()
        self.spectrum: torch.Tensor
        self.others: torch.Tensor
        register_signal(self, n_features, positions, channels)
        self.channels = channels
        self.augment = augment
        pad = kernel // 2
        self.features = nn.Sequential(
            nn.Conv1d(channels, filters, kernel, padding=pad),
            nn.ReLU(),
            nn.MaxPool1d(2, ceil_mode=True),
            nn.Conv1d(filters, 2 * filters, kernel, padding=pad),
            nn.ReLU(),
            nn.MaxPool1d(2, ceil_mode=True),
            nn.AdaptiveAvgPool1d(_POOLED),
            nn.Flatten(),
        )
        width = 2 * filters * _POOLED + len(self.others)
        self.head = build_network(width, n_out, hidden, 1, dropout)  # the MLP's one hidden block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        signal = x.index_select(1, self.spectrum).view(n, self.channels, -1)
        if self.training and self.augment > 0:  # drift between sessions is not chemistry
            offset = torch.randn(n, self.channels, 1, device=x.device) * self.augment
            scale = 1.0 + torch.randn(n, self.channels, 1, device=x.device) * self.augment
            noise = torch.randn_like(signal) * self.augment
            signal = signal * scale + offset + noise
        pooled = self.features(signal)
        out: torch.Tensor = self.head(torch.cat([pooled, x.index_select(1, self.others)], dim=1))
        return out


class _SpectrumCNN:
    """What the two estimators change in the MLP's: the parameters and the network.

    Parameters
    ----------
    positions : tuple of int
        The signal's points among the input columns: channel after channel, each in axis (or
        time) order.
    channels : int
        How many channels ``positions`` holds (1 for a spectrum; a sequence's sensors).
    filters : int
        Filters of the first convolution (the second has twice as many).
    kernel : int
        Width of both convolutions' kernels, in channels.
    augment : float
        Spread of the training-time offset, scale and noise (standardized units; 0: none).
    hidden, dropout, lr, weight_decay, max_epochs, batch_size, patience, validation_fraction,
    seed, device
        As the MLP's (:class:`labsight.models._mlp._BaseMLP`).
    """

    def __init__(
        self,
        positions: tuple[int, ...] | list[int] = (),
        channels: int = 1,
        filters: int = 8,
        kernel: int = 9,
        augment: float = 0.02,
        hidden: int = 32,
        dropout: float = 0.1,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        max_epochs: int = 200,
        batch_size: int = 32,
        patience: int = 20,
        validation_fraction: float = 0.15,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.positions = positions
        self.channels = channels
        self.filters = filters
        self.kernel = kernel
        self.augment = augment
        self.hidden = hidden
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.device = device

    def _check_network(self) -> None:
        if not self.positions:
            raise ValueError("positions must name the spectrum's channels among the inputs")
        if int(self.filters) < 1 or int(self.kernel) < 1:
            raise ValueError("filters and kernel must be >= 1")
        if float(self.augment) < 0:
            raise ValueError(f"augment must be >= 0, got {self.augment}")

    def _network(self, n_features: int, n_out: int) -> nn.Module:
        return SpectrumNet(
            n_features,
            tuple(int(p) for p in self.positions),
            n_out,
            channels=int(self.channels),
            filters=int(self.filters),
            kernel=int(self.kernel),
            hidden=int(self.hidden),
            dropout=float(self.dropout),
            augment=float(self.augment),
        )


class SpectrumCNNRegressor(_SpectrumCNN, MLPRegressor):
    """A 1-D CNN regressor over a spectrum (the target standardized, MSE loss); parameters as
    :class:`_SpectrumCNN`'s.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 64))
    >>> model = SpectrumCNNRegressor(positions=tuple(range(64)), max_epochs=5, device="cpu")
    >>> model.fit(X, X[:, 10]).predict(X[:3]).shape
    (3,)
    """

    _kind: ClassVar[str] = "spectrum-cnn-regressor"


class SpectrumCNNClassifier(_SpectrumCNN, MLPClassifier):
    """A 1-D CNN classifier over a spectrum (cross-entropy over ``classes_``); parameters as
    :class:`_SpectrumCNN`'s.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 64))
    >>> model = SpectrumCNNClassifier(positions=tuple(range(64)), max_epochs=5, device="cpu")
    >>> model.fit(X, ["a", "b"] * 15).predict_proba(X[:3]).shape
    (3, 2)
    """

    _kind: ClassVar[str] = "spectrum-cnn-classifier"

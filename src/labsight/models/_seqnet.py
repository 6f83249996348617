"""Recurrent and attention networks over runs: the ``gru`` and ``transformer`` families.

Both read a sequence task's sensors as a signal over time (``positions`` and ``channels`` as the
1-D CNN's, :mod:`labsight.models._cnn1d`, whose estimator machinery — seeded training, early
stopping, device choice, safetensors persistence — they share):

* ``gru``: a GRU over the time steps (``hidden`` units), its last state and its mean over time;
* ``transformer``: each time step's channels projected to ``width``, a learned position added, two
  encoder layers of 4-head self-attention, then the mean over time.

Either summary joins the table's other inputs (a run's duration, its sensors' summaries) in a
dense head. They apply only to runs (a spectrum is one channel of a thousand points: a GRU over it
is slow and a convolution reads it better).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from labsight.models._cnn1d import _SpectrumCNN, register_signal
from labsight.models._mlp import MLPClassifier, MLPRegressor
from labsight.models._mlp_net import build_network

__all__ = ["SequenceNet", "SequenceNetClassifier", "SequenceNetRegressor"]


class SequenceNet(nn.Module):
    """A GRU, an LSTM or a small Transformer encoder over ``channels`` signals, then a dense
    head."""

    def __init__(
        self,
        n_features: int,
        positions: tuple[int, ...],
        n_out: int,
        *,
        channels: int,
        kind: str,
        hidden: int,
        dropout: float,
    ) -> None:
        super().__init__()
        if kind not in ("gru", "lstm", "transformer"):
            raise ValueError(f"unknown sequence network {kind!r}")
        self.spectrum: torch.Tensor
        self.others: torch.Tensor
        steps = register_signal(self, n_features, positions, channels)
        self.channels, self.kind = channels, kind
        if kind == "gru":
            self.gru = nn.GRU(channels, hidden, batch_first=True)
            summary = 2 * hidden
        elif kind == "lstm":
            self.lstm = nn.LSTM(channels, hidden, batch_first=True)
            summary = 2 * hidden
        else:
            self.project = nn.Linear(channels, hidden)
            self.position = nn.Parameter(torch.zeros(1, steps, hidden))
            layer = nn.TransformerEncoderLayer(
                hidden, nhead=4, dim_feedforward=2 * hidden, dropout=dropout, batch_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
            summary = hidden
        self.head = build_network(summary + len(self.others), n_out, hidden, 1, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        steps = x.index_select(1, self.spectrum).view(n, self.channels, -1).transpose(1, 2)
        if self.kind == "gru":
            states, last = self.gru(steps)
            summary = torch.cat([last[-1], states.mean(dim=1)], dim=1)
        elif self.kind == "lstm":
            states, (last, _) = self.lstm(steps)
            summary = torch.cat([last[-1], states.mean(dim=1)], dim=1)
        else:
            summary = self.encoder(self.project(steps) + self.position).mean(dim=1)
        out: torch.Tensor = self.head(torch.cat([summary, x.index_select(1, self.others)], dim=1))
        return out


class _SequenceNet(_SpectrumCNN):
    """The 1-D CNN's estimator with a recurrent or attention network.

    Parameters
    ----------
    positions, channels
        Where the runs' points are among the inputs, sensor after sensor, and how many sensors.
    network : str
        ``"gru"``, ``"lstm"`` or ``"transformer"``.
    hidden : int
        GRU units, or the Transformer's width (a multiple of its 4 heads).
    dropout, lr, weight_decay, max_epochs, batch_size, patience, validation_fraction, seed, device
        As the MLP's (:class:`labsight.models._mlp._BaseMLP`).
    """

    def __init__(
        self,
        positions: tuple[int, ...] | list[int] = (),
        channels: int = 1,
        network: str = "gru",
        hidden: int = 32,
        dropout: float = 0.1,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        max_epochs: int = 150,
        batch_size: int = 32,
        patience: int = 20,
        validation_fraction: float = 0.15,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.positions = positions
        self.channels = channels
        self.network = network
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
            raise ValueError("positions must name the runs' points among the inputs")
        if self.network not in ("gru", "lstm", "transformer"):
            raise ValueError(f"network must be gru, lstm or transformer, got {self.network!r}")
        if self.network == "transformer" and int(self.hidden) % 4:
            raise ValueError(f"a Transformer's width must be a multiple of 4, got {self.hidden}")

    def _network(self, n_features: int, n_out: int) -> nn.Module:
        return SequenceNet(
            n_features,
            tuple(int(p) for p in self.positions),
            n_out,
            channels=int(self.channels),
            kind=str(self.network),
            hidden=int(self.hidden),
            dropout=float(self.dropout),
        )


class SequenceNetRegressor(_SequenceNet, MLPRegressor):
    """A GRU or Transformer regressor over runs; parameters as :class:`_SequenceNet`'s."""

    _kind: ClassVar[str] = "sequence-net-regressor"


class SequenceNetClassifier(_SequenceNet, MLPClassifier):
    """A GRU or Transformer classifier over runs; parameters as :class:`_SequenceNet`'s."""

    _kind: ClassVar[str] = "sequence-net-classifier"

"""The torch side of the autoencoders: a dense one for any numeric table and a 1-D convolutional
one for spectra, each squeezing a row through a small ``latent`` code and back; trained by the MLP
family's loop (:func:`labsight.models._mlp_net.train_network`: AdamW, seeded mini-batches, early
stopping on held-out rows). Imported only when an autoencoder is fitted (torch is slow to import).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from labsight.models._mlp_net import train_network

__all__ = ["build_autoencoder", "fit_network", "reconstruct"]

_MIN_VALIDATION = 4  # rows held out for early stopping at least (else: a fixed number of epochs)


class DenseAutoencoder(nn.Module):
    """``inputs -> hidden -> latent -> hidden -> inputs`` with ReLUs between."""

    def __init__(self, inputs: int, latent: int, hidden: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, latent)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, inputs)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.encoder(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.decoder(self.encode(x))
        return out


class ConvAutoencoder(nn.Module):
    """A spectrum through two strided convolutions (shared along the axis: a band's shape is
    learned once wherever it sits) to ``latent`` numbers, and back through a dense decoder."""

    def __init__(self, inputs: int, latent: int, filters: int = 8, hidden: int = 64) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv1d(1, filters, 9, stride=2, padding=4),
            nn.ReLU(),
            nn.Conv1d(filters, 2 * filters, 9, stride=2, padding=4),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(32),
            nn.Flatten(),
            nn.Linear(2 * filters * 32, latent),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, inputs)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.encoder(x.unsqueeze(1))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.decoder(self.encode(x))
        return out


def build_autoencoder(kind: str, inputs: int, latent: int) -> nn.Module:
    """``"dense"`` or ``"conv"`` (a spectrum), for rows of ``inputs`` numbers."""
    if kind == "conv":
        return ConvAutoencoder(inputs, latent)
    return DenseAutoencoder(inputs, latent, hidden=max(8, min(64, inputs)))


def fit_network(
    kind: str, z: npt.NDArray[np.float64], latent: int, seed: int, max_epochs: int = 200
) -> nn.Module:
    """An autoencoder of ``kind`` trained to rebuild the rows of ``z`` (standardized), seeded;
    a seventh of the rows (at least :data:`_MIN_VALIDATION`) held out for early stopping."""
    n = z.shape[0]
    order = np.random.RandomState(seed).permutation(n)
    held = max(_MIN_VALIDATION, n // 7) if n >= 3 * _MIN_VALIDATION else 0
    data = torch.from_numpy(z.astype(np.float32))
    train_rows = torch.as_tensor(order[held:], dtype=torch.long)
    val_rows = torch.as_tensor(order[:held], dtype=torch.long)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: more threads only spin against each other
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            network = build_autoencoder(kind, z.shape[1], latent)
            train_network(
                network,
                data[train_rows],
                data[train_rows],
                data[val_rows],
                data[val_rows],
                torch.device("cpu"),
                loss_fn=nn.MSELoss(),
                lr=3e-3,
                weight_decay=1e-4,
                seed=seed,
                batch_size=64,
                patience=15,
                max_epochs=max_epochs if held else max_epochs // 3,
            )
    finally:
        torch.set_num_threads(threads)
    network.eval()
    return network


def reconstruct(
    network: nn.Module, z: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The rows of ``z`` rebuilt by ``network``, and their codes."""
    with torch.no_grad():
        x = torch.from_numpy(z.astype(np.float32))
        rebuilt = network(x).to(torch.float64).numpy()
        code = network.encode(x).to(torch.float64).numpy()  # type: ignore[operator]
    return rebuilt, code

"""The torch side of the ``mlp`` family: the network, its training loop, inference in chunks and
the pickle-free serialization of its weights.

:func:`build_network` makes ``layers`` blocks of ``Linear -> ReLU -> Dropout`` and a linear
output layer; :func:`train_network` trains it with AdamW on seeded mini-batches and early stopping
on a validation split; :func:`network_outputs` runs it over a matrix in chunks; :func:`dump_weights`
and :func:`load_weights` write and read a state dict as ``safetensors`` (or a ``torch.save`` of
plain tensors, read back with ``weights_only=True``). The scikit-learn estimators that use them,
and whose class path saved model files name, stay in :mod:`labsight.models._mlp`; like that
module, this one is imported only when an MLP is built or loaded (torch is slow to import).
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

__all__ = [
    "WeightsFormat",
    "build_network",
    "dump_weights",
    "load_weights",
    "network_outputs",
    "resolve_device",
    "train_network",
]

_PREDICT_CHUNK = 8192
WeightsFormat = Literal["safetensors", "torch"]


def resolve_device(device: str) -> torch.device:
    """Map ``"auto"`` to CUDA when available, else CPU; pass anything else to :class:`torch.device`."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def build_network(n_in: int, n_out: int, hidden: int, layers: int, dropout: float) -> nn.Sequential:
    """``layers`` blocks of ``Linear -> ReLU -> Dropout`` then a linear output layer."""
    modules: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), nn.ReLU()]
        if dropout > 0:
            modules.append(nn.Dropout(dropout))
        width = hidden
    modules.append(nn.Linear(width, n_out))
    return nn.Sequential(*modules)


def _safetensors() -> ModuleType | None:
    """``safetensors.torch`` when installed (imported dynamically: it is an optional extra)."""
    if importlib.util.find_spec("safetensors") is None:
        return None
    return importlib.import_module("safetensors.torch")


def dump_weights(state: dict[str, torch.Tensor]) -> tuple[bytes, WeightsFormat]:
    """Serialize a tensor state dict without pickling any Python object."""
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    st = _safetensors()
    if st is not None:
        return bytes(st.save(cpu)), "safetensors"
    buffer = io.BytesIO()
    torch.save(cpu, buffer)
    return buffer.getvalue(), "torch"


def load_weights(data: bytes, fmt: str | None) -> dict[str, torch.Tensor]:
    """Inverse of :func:`dump_weights`; torch archives are read with ``weights_only=True``."""
    if fmt is None:  # sniff: torch.save writes a zip archive
        fmt = "torch" if data[:2] == b"PK" else "safetensors"
    if fmt == "safetensors":
        st = _safetensors()
        if st is None:
            raise ValueError("weights are in safetensors format but safetensors is not installed")
        tensors: dict[str, torch.Tensor] = st.load(data)
        return tensors
    if fmt == "torch":
        loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()
        ):
            raise ValueError("weights are not a state dict of tensors")
        return loaded
    raise ValueError(f"unknown weights format {fmt!r}")


_NAMES = {
    "Sequential": "MLP",
    "SpectrumNet": "1-D CNN",
    "SequenceNet": "sequence network",
    "ImageNet2d": "image CNN",
}


def train_network(
    network: nn.Module,
    X_train: torch.Tensor,
    y_train: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    device: torch.device,
    *,
    loss_fn: nn.Module,
    lr: float,
    weight_decay: float,
    seed: int,
    batch_size: int,
    patience: int,
    max_epochs: int,
) -> tuple[int, float | None]:
    """Mini-batch AdamW with early stopping; returns (epochs run, best validation loss)."""
    from labsight.models._progress import report_epoch

    name = _NAMES.get(type(network).__name__, type(network).__name__)
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    n_train = X_train.shape[0]
    batch = min(batch_size, n_train)
    use_val = X_val.shape[0] > 0

    best_loss = float("inf")
    best_state: dict[str, torch.Tensor] | None = None
    stale = 0
    epochs_run = 0
    for _ in range(max_epochs):
        epochs_run += 1
        network.train()
        perm = torch.randperm(n_train, generator=generator).to(device)
        total, batches = 0.0, 0
        for start in range(0, n_train, batch):
            idx = perm[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(network(X_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            total, batches = total + float(loss.detach()), batches + 1
        if not use_val:
            report_epoch(name, epochs_run, max_epochs, total / max(batches, 1), None)
            continue
        network.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(network(X_val), y_val))
        report_epoch(
            name, epochs_run, max_epochs, total / max(batches, 1), min(best_loss, val_loss)
        )
        if val_loss < best_loss:
            best_loss, stale = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            stale += 1
            if stale >= patience:
                break
    if best_state is not None:
        network.load_state_dict(best_state)
    return epochs_run, (best_loss if best_state is not None else None)


def network_outputs(module: nn.Module, Xa: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """The network's raw outputs (n_samples, n_out) on ``Xa`` as float64, in chunks of
    :data:`_PREDICT_CHUNK` rows, on the device the network is on."""
    device = next(module.parameters()).device
    module.eval()
    outputs: list[npt.NDArray[np.float64]] = []
    with torch.no_grad():
        for start in range(0, Xa.shape[0], _PREDICT_CHUNK):
            chunk = torch.from_numpy(Xa[start : start + _PREDICT_CHUNK]).to(device)
            outputs.append(module(chunk).to("cpu", torch.float64).numpy())
    return np.concatenate(outputs, axis=0)


class WeightsState:
    """``__getstate__`` / ``__setstate__`` for an estimator whose fitted torch network
    (``module_``) travels as its ``to_state()`` — a JSON config and safetensors bytes — so skops
    (and ``copy``) never pickle a torch object; ``from_state`` rebuilds it."""

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k != "module_"}
        if getattr(self, "module_", None) is not None:
            fitted = self.to_state()  # type: ignore[attr-defined]
            state["_fitted"] = {
                "config": json.dumps(fitted["config"]),
                "weights": fitted["weights"],
            }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        fitted = state.pop("_fitted", None)
        self.__dict__.update(state)
        if fitted is not None:
            restored = type(self).from_state(  # type: ignore[attr-defined]
                {"config": json.loads(fitted["config"]), "weights": fitted["weights"]}
            )
            self.__dict__.update(restored.__dict__)

"""A small U-Net for segmenting images into objects and background (nuclei, cells, particles).

The network (Ronneberger et al., 2015, scaled down): ``depth`` levels of two ``Conv 3×3 ->
BatchNorm -> ReLU`` with max-pooling between them on the way down (``filters`` doubling per
level), transposed convolutions on the way up joined with the matching level's features, and one
output per pixel: the log-odds that it belongs to an object. It is fully convolutional, so it trains
on random crops (``crop`` pixels square, ``crops`` from each image an epoch) and predicts whole
images of any size (padded by reflection to a multiple of ``2 ** depth``).

Training minimises binary cross-entropy plus the soft Dice loss (the Dice term keeps small objects
from drowning in background), with each crop flipped and turned by a random quarter and its
intensity scaled and shifted; held-out images stop it early, and ``seconds`` bounds its time (the
search's share of the budget). Seeded like the other networks; weights persist as safetensors, not
a pickle (:class:`UNetSegmenter.to_state`).
"""

from __future__ import annotations

import time
from typing import Any, Self

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from torch import nn

from labsight.data.images import ImageRef, sample_shape
from labsight.models._mlp_net import WeightsState, dump_weights, load_weights, resolve_device
from labsight.models._progress import report_epoch

__all__ = ["UNet", "UNetSegmenter"]


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class UNet(nn.Module):
    """Images (n × channels × h × w, h and w multiples of ``2 ** depth``) to per-pixel log-odds."""

    def __init__(self, channels: int, filters: int, depth: int) -> None:
        super().__init__()
        widths = [filters * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList([_block(channels, widths[0])])
        self.down.extend(_block(widths[i], widths[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
            for i in reversed(range(depth))
        )
        self.merge = nn.ModuleList(_block(2 * widths[i], widths[i]) for i in reversed(range(depth)))
        self.out = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for k, block in enumerate(self.down):
            x = block(x if k == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([skips.pop(), up(x)], dim=1))
        out: torch.Tensor = self.out(x)[:, 0]
        return out


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    return bce + dice


class UNetSegmenter(WeightsState, BaseEstimator):  # type: ignore[misc]
    """Fits a :class:`UNet` on images and their masks; predicts each image's object probability.

    ``fit(images, masks)`` and ``predict_proba(images)`` take lists of
    :class:`~labsight.data.images.ImageRef` (the masks': any non-zero pixel is an object).
    """

    def __init__(
        self,
        filters: int = 8,
        depth: int = 3,
        crop: int = 64,
        crops: int = 8,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        max_epochs: int = 200,
        patience: int = 20,
        seconds: float = 60.0,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.filters = filters
        self.depth = depth
        self.crop = crop
        self.crops = crops
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.patience = patience
        self.seconds = seconds
        self.seed = seed
        self.device = device

    channels_: int

    def _network(self) -> UNet:
        """The network, its sizes checked first (a model file states them: a tampered one must
        not allocate gigabytes)."""
        checks = (
            (int(self.channels_) in (1, 3), f"channels {self.channels_}"),
            (1 <= int(self.filters) <= 128, f"filters {self.filters}"),
            (1 <= int(self.depth) <= 5, f"depth {self.depth}"),
            (8 <= int(self.crop) <= 1024, f"crop {self.crop}"),
        )
        bad = [what for ok, what in checks if not ok]
        if bad:
            raise ValueError(f"a U-Net cannot have {', '.join(bad)}")
        return UNet(int(self.channels_), int(self.filters), int(self.depth))

    def fit(self, images: list[ImageRef], masks: list[ImageRef]) -> Self:
        if len(images) != len(masks) or not images:
            raise ValueError("fit needs one mask per image, and at least one image")
        end = time.perf_counter() + float(self.seconds)
        self.channels_ = sample_shape(images)[1]
        device = resolve_device(self.device)
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(images))
        n_val = max(1, round(0.15 * len(images))) if len(images) >= 4 else 0
        val, fit = order[:n_val], order[n_val:]
        fork = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork):
            torch.manual_seed(self.seed)
            network = self._network().to(device)
            optimizer = torch.optim.AdamW(
                network.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay)
            )
            best, best_state, stale, epochs, last = float("inf"), None, 0, 0, 0.0
            # an epoch starts only if one as long as the last still ends in time (the first
            # always runs: a network needs at least one)
            while epochs < int(self.max_epochs) and (
                epochs == 0 or time.perf_counter() + last < end
            ):
                tick = time.perf_counter()
                epochs += 1
                network.train()
                x, y = self._crops([images[i] for i in fit], [masks[i] for i in fit], rng)
                total, batches = 0.0, 0
                for start in range(0, len(x), 16):
                    optimizer.zero_grad(set_to_none=True)
                    xb = torch.from_numpy(x[start : start + 16]).to(device)
                    yb = torch.from_numpy(y[start : start + 16]).to(device)
                    step = _loss(network(xb), yb)
                    step.backward()  # type: ignore[no-untyped-call]
                    optimizer.step()
                    total, batches = total + float(step.detach()), batches + 1
                last = time.perf_counter() - tick
                if not n_val:
                    report_epoch("U-Net", epochs, int(self.max_epochs), total / batches, None)
                    continue
                loss = self._held_out_loss(
                    network, [images[i] for i in val], [masks[i] for i in val]
                )
                report_epoch(
                    "U-Net", epochs, int(self.max_epochs), total / batches, min(best, loss)
                )
                if loss < best:
                    best, stale = loss, 0
                    best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
                else:
                    stale += 1
                    if stale >= int(self.patience):
                        break
        if best_state is not None:
            network.load_state_dict(best_state)
        self.module_ = network.eval()
        self.n_epochs_ = epochs
        return self

    def _crops(
        self, images: list[ImageRef], masks: list[ImageRef], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """``crops`` random squares of each image with its mask, flipped, turned, re-lit."""
        xs, ys = [], []
        for image, mask in zip(images, masks, strict=True):
            pixels, labels = image.full(self.channels_), mask.foreground()
            height, width = labels.shape
            side = min(int(self.crop), height, width) // 2 ** int(self.depth) * 2 ** int(self.depth)
            for _ in range(int(self.crops)):
                top = int(rng.integers(0, height - side + 1))
                left = int(rng.integers(0, width - side + 1))
                x = pixels[:, top : top + side, left : left + side]
                y = labels[top : top + side, left : left + side].astype(np.float32)
                turns, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))
                x, y = np.rot90(x, turns, axes=(1, 2)), np.rot90(y, turns)
                if flip:
                    x, y = x[:, :, ::-1], y[:, ::-1]
                x = x * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1)
                xs.append(np.ascontiguousarray(x, dtype=np.float32))
                ys.append(np.ascontiguousarray(y))
        order = rng.permutation(len(xs))
        return np.stack(xs)[order], np.stack(ys)[order]

    def _held_out_loss(
        self, network: nn.Module, images: list[ImageRef], masks: list[ImageRef]
    ) -> float:
        network.eval()
        total = 0.0
        with torch.no_grad():
            for image, mask in zip(images, masks, strict=True):
                logits = self._logits(network, image)
                target = torch.from_numpy(mask.foreground().astype(np.float32))
                total += float(_loss(logits, target))
        return total / len(images)

    def _logits(self, network: nn.Module, image: ImageRef) -> torch.Tensor:
        pixels = image.full(self.channels_)
        height, width = pixels.shape[1:]
        step = 2 ** int(self.depth)
        pad_h, pad_w = -height % step, -width % step
        device = next(network.parameters()).device
        x = torch.from_numpy(pixels)[None].to(device)
        if pad_h or pad_w:
            mode = "reflect" if pad_h < height and pad_w < width else "replicate"
            x = F.pad(x, [0, pad_w, 0, pad_h], mode=mode)
        logits: torch.Tensor = network(x)[0, :height, :width].cpu()
        return logits

    def predict_proba(self, images: list[ImageRef]) -> list[np.ndarray]:
        """Each image's per-pixel probability of belonging to an object (height × width)."""
        module: nn.Module | None = getattr(self, "module_", None)
        if module is None:
            raise NotFittedError("This UNetSegmenter instance is not fitted yet.")
        module.eval()
        with torch.no_grad():
            return [torch.sigmoid(self._logits(module, r)).numpy() for r in images]

    # -- persistence: plain data and safetensors, as the other networks ------------------------

    def to_state(self) -> dict[str, Any]:
        module: nn.Module | None = getattr(self, "module_", None)
        if module is None:
            raise NotFittedError("This UNetSegmenter instance is not fitted yet.")
        weights, fmt = dump_weights(module.state_dict())
        config = {
            **self.get_params(deep=False),
            "channels": int(self.channels_),
            "n_epochs": int(self.n_epochs_),
            "weights_format": fmt,
        }
        return {"config": config, "weights": weights}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        config = dict(state["config"])
        est = cls(**{k: config[k] for k in cls._get_param_names() if k in config})
        est.channels_ = int(config["channels"])
        est.n_epochs_ = int(config.get("n_epochs", 0))
        network = est._network()
        network.load_state_dict(load_weights(bytes(state["weights"]), config.get("weights_format")))
        est.module_ = network.to(resolve_device(est.device)).eval()
        return est

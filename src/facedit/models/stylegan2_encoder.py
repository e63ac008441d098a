"""anycost-gan's image encoder: a ResNet-50 whose `fc` predicts a W+ code, written here without
torchvision (same tensor names, so its `{"state_dict": ...}` checkpoint loads as it is).

    conv1 (7x7/2), bn1, maxpool, layer1..layer4 of bottleneck blocks (conv1 1x1, conv2 3x3 with
    the stride, conv3 1x1 to 4x the width, bn1..bn3, downsample.0/.1 where the shape changes),
    global average pool, fc (2048 -> n_style * style_dim), plus a `mean_latent` buffer added to
    every layer's prediction.

Input: (B, 3, 256, 256) RGB in [-1, 1] (the encoder accepts nothing else); output
(B, n_style, style_dim) W+. The block counts and the stem width are read from the checkpoint, so
a ResNet-50 (3, 4, 6, 3) x 64 loads, and so does a tiny one made for tests.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from facedit.errors import ShapeError, WeightsError

INPUT_SIZE = 256
EXPANSION = 4


@dataclass(frozen=True)
class EncoderConfig:
    n_style: int = 18
    style_dim: int = 512
    width: int = 64  # stem channels; layer k has width * 2**k inner channels
    blocks: tuple[int, ...] = (3, 4, 6, 3)  # ResNet-50

    def to_dict(self) -> dict:
        return asdict(self)


class Bottleneck(nn.Module):
    def __init__(self, c_in: int, width: int, stride: int):
        super().__init__()
        c_out = width * EXPANSION
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.downsample = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                         nn.BatchNorm2d(c_out))
                           if stride != 1 or c_in != c_out else None)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNetEncoder(nn.Module):
    """`forward(images (B, 3, 256, 256) in [-1, 1]) -> (B, n_style, style_dim)`."""

    def __init__(self, config: EncoderConfig = EncoderConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        c_in = w
        for k, n in enumerate(config.blocks):
            width = w * 2 ** k
            blocks = []
            for i in range(n):
                blocks.append(Bottleneck(c_in, width, 2 if (i == 0 and k > 0) else 1))
                c_in = width * EXPANSION
            setattr(self, f"layer{k + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(c_in, config.n_style * config.style_dim)
        self.register_buffer("mean_latent", torch.zeros(config.style_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (3, INPUT_SIZE, INPUT_SIZE):
            raise ShapeError(f"encoder input: expected (B, 3, {INPUT_SIZE}, {INPUT_SIZE}), got "
                             f"{tuple(x.shape)}")
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for k in range(len(self.config.blocks)):
            h = getattr(self, f"layer{k + 1}")(h)
        h = self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))
        c = self.config
        return h.view(len(x), c.n_style, c.style_dim) + self.mean_latent.view(1, 1, -1)


def infer_encoder_config(state: dict, where: str = "encoder") -> EncoderConfig:
    """The architecture an encoder state dict describes."""
    for key in ("conv1.weight", "fc.weight", "mean_latent"):
        if key not in state:
            raise WeightsError(f"{where}: not an anycost-gan encoder (no tensor {key!r})")
    blocks = []
    while True:
        idx = {int(m.group(1)) for k in state
               if (m := re.match(rf"layer{len(blocks) + 1}\.(\d+)\.", k))}
        if not idx:
            break
        blocks.append(max(idx) + 1)
    style_dim = int(state["mean_latent"].shape[0])
    out = int(state["fc.weight"].shape[0])
    if not blocks or out % style_dim:
        raise WeightsError(f"{where}: fc has {out} outputs, not a multiple of the style size "
                           f"{style_dim}")
    return EncoderConfig(n_style=out // style_dim, style_dim=style_dim,
                         width=int(state["conv1.weight"].shape[0]), blocks=tuple(blocks))


def load_encoder(path: str | Path) -> ResNetEncoder:
    """Load anycost-gan's encoder checkpoint `{"state_dict": sd}` (or a bare state dict),
    checking every tensor's name and shape."""
    from facedit.models.stylegan2 import read_checkpoint
    from facedit.models.store import check_state

    ckpt = read_checkpoint(path)
    state = ckpt.get("state_dict", ckpt)
    config = infer_encoder_config(state, str(path))
    with torch.device("meta"):
        check_state(ResNetEncoder(config), state, str(path))
    encoder = ResNetEncoder(config)
    encoder.load_state_dict(state)
    return encoder.eval().requires_grad_(False)

"""The attribute classifier: the judge of edits. A small residual CNN on aligned crops that predicts
CelebA's 40 attributes (logits) and age in years (UTKFace).

It looks at the `view` part of the crop at `input_size` pixels (area-downsampled from the 128 crop):
enough for the attributes and several times cheaper than full resolution on a CPU.
Images are (B, 3, S, S) float32 RGB in [0, 1].
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from facedit.data.sources import CELEBA_ATTRIBUTES


@dataclass(frozen=True)
class ClassifierConfig:
    input_size: int = 64
    # The part of the aligned crop the classifier looks at, as fractions (x0, y0, x1, y1): the
    # face and the hair around it, without the margins, so the mouth and eyes get more pixels.
    view: tuple[float, ...] = (0.0, 0.0, 1.0, 1.0)
    channels: tuple[int, ...] = (32, 64, 128, 256)
    attributes: tuple[str, ...] = CELEBA_ATTRIBUTES

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                   nn.BatchNorm2d(c_out)) if stride != 1 or c_in != c_out
                     else nn.Identity())

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)), inplace=True)
        return F.relu(self.bn2(self.conv2(h)) + self.skip(x), inplace=True)


# Per-channel mean/std of aligned faces; inputs are normalised by them.
_MEAN = (0.52, 0.42, 0.37)
_STD = (0.28, 0.25, 0.25)


class AttributeClassifier(nn.Module):
    """`forward(images) -> (attr_logits (B, 40), age_years (B,))`; `features(images)` gives the
    feature maps of each stage (for perceptual losses)."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.config = config
        c0 = config.channels[0]
        self.stem = nn.Sequential(nn.Conv2d(3, c0, 3, 1, 1, bias=False), nn.BatchNorm2d(c0),
                                  nn.ReLU(inplace=True))
        stages, c_in = [], c0
        for i, c in enumerate(config.channels):
            stages.append(_Block(c_in, c, 1 if i == 0 else 2))
            c_in = c
        self.stages = nn.ModuleList(stages)
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(c_in, len(config.attributes) + 1)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        s = self.config.input_size
        x0, y0, x1, y1 = self.config.view
        if (x0, y0, x1, y1) != (0.0, 0.0, 1.0, 1.0):
            h, w = images.shape[-2:]
            images = images[..., round(y0 * h):round(y1 * h), round(x0 * w):round(x1 * w)]
        if images.shape[-1] != s or images.shape[-2] != s:
            images = F.interpolate(images, size=(s, s), mode="area" if images.shape[-1] > s
                                   else "bilinear", align_corners=None)
        return (images - self.mean) / self.std

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        h = self.stem(self._prepare(images))
        out = []
        for stage in self.stages:
            h = stage(h)
            out.append(h)
        return out

    def outputs(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(attr_logits (B, 40), age_years (B,)) from `features(images)`."""
        out = self.head(self.dropout(features[-1].mean(dim=(2, 3))))
        return out[:, :-1], out[:, -1] * 20.0 + 35.0  # age head predicts (age - 35) / 20

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.outputs(self.features(images))

    def for_inference(self) -> "AttributeClassifier":
        """A copy for judging only: each batch norm folded into the convolution before it, and the
        weights in channels-last memory layout (oneDNN's preferred one on CPU). Outputs equal to
        about 1e-6; 14-22% less time per batch of 1 to 8 faces on 2 threads (`Judge` uses it).
        Not for training: the folded copy has no batch statistics to update."""
        from torch.fx.experimental.optimization import fuse

        model = copy.deepcopy(self).eval()
        model.stem = fuse(model.stem)
        model.stages = nn.ModuleList(fuse(stage) for stage in model.stages)
        return model.to(memory_format=torch.channels_last).requires_grad_(False)

"""A training term for the latent's linear structure: a face's code plus an attribute's
mean-difference vector must decode to a face that has the attribute.

The mean difference of the codes of faces with and without an attribute (the second source's
editing vector) is what attribute arithmetic adds. A decoder trained only to reconstruct learns
nothing about codes that are off by such a vector, and renders a rare attribute (eyeglasses, blond
hair) only faintly there. This term decodes each face's code moved by one attribute's vector
(added to a face without the attribute, subtracted from a face with it) and asks a frozen
attribute classifier to read the attribute as switched. It trains the decoder alone: the encoder
is frozen, so the codes and the vectors (computed once, from the frozen encoder's codes of the
training set) stay what the editor uses.
"""
from __future__ import annotations

import numpy as np
import torch

from facedit.data.sources import CELEBA_ATTRIBUTES
from facedit.directions import mean_difference
from facedit.train.common import frozen

# The attributes of the linear-structure check (issue 3; benchmarks/bench_models.py).
ARITHMETIC_ATTRIBUTES = ("Smiling", "Eyeglasses", "Male", "Young", "Blond_Hair")


class ArithmeticLoss:
    """classifier: frozen, `classifier(images)[0]` the 40 CelebA logits. `fit` computes the
    vectors (the codes' mean with each attribute minus without) before the first call. Each face
    draws one of `names` uniformly: repeat a name to train its attribute more often."""

    def __init__(self, classifier: torch.nn.Module, weight: float,
                 names: tuple[str, ...] = ARITHMETIC_ATTRIBUTES):
        unknown = sorted(set(names) - set(CELEBA_ATTRIBUTES))
        if unknown:
            raise ValueError(f"not CelebA attributes: {', '.join(unknown)}")
        self.classifier = frozen(classifier)
        self.names = tuple(names)
        self.columns = torch.tensor([CELEBA_ATTRIBUTES.index(n) for n in names])
        self.weight = weight
        self.vectors: torch.Tensor | None = None

    def fit(self, codes: np.ndarray, attrs: np.ndarray) -> "ArithmeticLoss":
        """The vectors from codes (N, latent) and their CelebA labels (N, 40: +1 / -1 / 0)."""
        vectors = []
        for column in self.columns.tolist():
            known = attrs[:, column] != 0
            vectors.append(mean_difference(codes[known], attrs[known, column] > 0,
                                           normalize=False))
        self.vectors = torch.as_tensor(np.stack(vectors), dtype=torch.float32)
        return self

    def __call__(self, decode, codes: torch.Tensor, attrs: torch.Tensor) -> torch.Tensor:
        """Mean binary cross-entropy of the classifier's verdict on each moved decoding against
        the switched label. One attribute per face, drawn at random; faces whose label for it is
        unknown (0) count for nothing. codes (B, latent); attrs (B, 40) in {+1, -1, 0}."""
        if self.vectors is None:
            raise RuntimeError("ArithmeticLoss.fit must compute the vectors first")
        pick = torch.randint(len(self.names), (len(codes),))
        column = self.columns[pick]
        label = attrs[torch.arange(len(codes)), column]
        has = label > 0
        sign = torch.where(has, -1.0, 1.0)
        moved = decode(codes + sign[:, None] * self.vectors[pick])
        logits = self.classifier(moved)[0][torch.arange(len(codes)), column]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, (~has).float(), reduction="none")
        known = (label != 0).float()
        return (loss * known).sum() / known.sum().clamp(min=1)

"""The attribute judge: facedit's classifier on numpy crops, for calibration and quality checks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch



class Judge:
    """Attribute probabilities and age of aligned crops.

    Example:
        >>> probs, ages = Judge().score(crops)   # doctest: +SKIP  crops (B, S, S, 3) uint8
    """

    def __init__(self, model: torch.nn.Module | None = None, path: Path | None = None):
        from facedit.models.classifier import AttributeClassifier

        if model is None:
            from facedit.models import builtin
            from facedit.models.classifier import ClassifierConfig
            from facedit.models.store import load_model

            model = load_model(path, AttributeClassifier, ClassifierConfig) if path \
                else builtin("classifier")
        # The judge only reads: a classifier judges through its faster folded copy.
        self.model = (model.for_inference() if isinstance(model, AttributeClassifier)
                      else model.eval())
        self.attributes = tuple(model.config.attributes)

    @torch.no_grad()
    def score(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, S, S, 3) uint8 or float 0..255 -> probabilities (B, 40) and ages (B,) in years."""
        x = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32)).permute(0, 3, 1, 2)
        logits, age = self.model(x / 255.0)
        return torch.sigmoid(logits).numpy(), age.numpy()

    def value(self, crops: np.ndarray, label: str) -> np.ndarray:
        """The judge's reading of one label for each crop: a probability, or age in years."""
        probs, ages = self.score(crops)
        return ages if label == "age" else probs[:, self.attributes.index(label)]

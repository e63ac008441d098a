"""Person versus background, from MediaPipe's bundled selfie segmentation model."""
from __future__ import annotations

import threading

import numpy as np

from facedit.errors import check_image_array
from facedit.faces import _import_mediapipe


class PersonSegmenter:
    """Probability that each pixel belongs to a person. The model loads on first use.

    Example:
        >>> prob = PersonSegmenter()(photo)   # doctest: +SKIP
        >>> prob.shape == photo.shape[:2]
        True
    """

    def __init__(self, landscape: bool = False):
        self.landscape = landscape  # MediaPipe's second model: faster, tuned for 16:9 frames
        self._lock = threading.Lock()
        self._model = None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (H, W) float32 person probability in [0, 1]."""
        check_image_array(image)
        with self._lock:
            if self._model is None:
                mp = _import_mediapipe()
                self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(
                    model_selection=1 if self.landscape else 0)
            result = self._model.process(image)
        return np.clip(result.segmentation_mask, 0.0, 1.0).astype(np.float32)

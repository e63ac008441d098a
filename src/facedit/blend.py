"""Blending a model's change into a real face: the residual transfer of SPEC §1.

The model's decoding of the edited code minus its decoding of the unedited code is the *residual*:
what the edit changes, without the model's blur of everything else. It is added to the real crop
inside the attribute's region, feathered by the blend rule of SPEC §2. Pure array functions.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from facedit.faces import Face
from facedit.masks import feather, region_mask


def region_weight(face: Face, regions: Sequence[str], size: int, margin: float) -> np.ndarray:
    """The union of `regions` of `face` in a (size, size) crop, feathered by `margin` pixels.

    Returns (size, size) float32 in [0, 1].
    """
    hard = np.zeros((size, size), np.float32)
    for name in regions:
        hard = np.maximum(hard, region_mask(face, name, (size, size)))
    return feather(hard, margin)


def upsample_residual(residual: np.ndarray, size: int) -> np.ndarray:
    """(s, s, 3) float residual -> (size, size, 3), smoothly (bicubic)."""
    if residual.shape[0] == size:
        return residual
    return cv2.resize(residual, (size, size), interpolation=cv2.INTER_CUBIC)


def apply_residual(crop: np.ndarray, residual: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """`crop` + `weight` x `residual`, rounded and clipped.

    Args:
        crop: (S, S, 3) uint8 RGB real crop.
        residual: (S, S, 3) float32, in 0-255 units.
        weight: (S, S) float32 in [0, 1].
    Returns:
        (S, S, 3) uint8; bit-identical to `crop` wherever `weight` is 0.
    """
    out = crop.astype(np.float32) + residual * weight[:, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def crossfade(crop_a: np.ndarray, crop_b: np.ndarray, res_a: np.ndarray, res_b: np.ndarray,
              t: float) -> np.ndarray:
    """A frame between two real crops: each moved by its residual towards the shared in-between
    decoding, then mixed (1 - t) : t. At t = 0 it is `crop_a` exactly, at t = 1 `crop_b`.

    All arrays (S, S, 3); crops uint8, residuals float32 in 0-255 units. Returns float32.
    """
    a = crop_a.astype(np.float32) + res_a
    b = crop_b.astype(np.float32) + res_b
    return (1 - t) * a + t * b

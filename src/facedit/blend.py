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


def luma(image: np.ndarray) -> np.ndarray:
    """(..., 3) RGB -> (...) float32 luma (BT.601 weights)."""
    return np.asarray(image, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def scale_chroma(residual: np.ndarray, amount: float, light: float = 1.0) -> np.ndarray:
    """A residual with its colour change scaled by `amount` and its light change by `light`.

    The light change is the residual's luma (BT.601 weights) on all three channels; the rest is
    its chroma. `amount` 1 (and `light` 1) returns `residual` itself, `amount` 0 a grey
    (luma-only) residual.

    Args:
        residual: (..., 3) float RGB residual.
    Returns:
        (..., 3) float32.
    """
    if amount == 1.0 and light == 1.0:
        return residual
    grey = luma(residual)[..., None]
    return (np.float32(light) * grey + np.float32(amount) * (residual - grey)).astype(np.float32)


def transmitted(residual: np.ndarray, crop: np.ndarray, floor: float = 8.0) -> np.ndarray:
    """A residual's light change as a share of the crop's own light, on every channel: what a
    neutral lens does, passing the same fraction of each channel, so the colour under it keeps
    its hue (an added residual of equal amounts would shift it; the model's own colour change
    tints warm skin cyan).

    The share is luma(residual) / (luma(crop) + floor), at most 1 (twice as light) and at least
    -0.95. All (..., 3) float arrays in 0-255 units. Returns float32.
    """
    crop = np.asarray(crop, np.float32)
    share = np.clip(luma(residual) / (luma(crop) + np.float32(floor)), -0.95, 1.0)
    return (crop * share[..., None]).astype(np.float32)


def level_lightening(residual: np.ndarray, crop: np.ndarray, inside: np.ndarray,
                     reference: np.ndarray, level: float,
                     where: np.ndarray | None = None) -> np.ndarray:
    """`residual` with what it lightens scaled by one share in [0, 1], the least that brings the
    crop's mean luma `inside` up to `level` times its mean luma in `reference` (what darkens
    passes as it is). A lens that darkened what is behind it gets back as much light as it took:
    clear lenses, as light as the cheeks already, get none, and the eyes behind them stay; dark
    ones get up to the whole residual.

    residual, crop: (..., 3) float 0-255 units; inside, reference: (...) bool masks.
    where: (...) bool, where the share applies [default: everywhere]; elsewhere the residual
        passes as it is (another edit's change). Returns float32.
    """
    residual = np.asarray(residual, np.float32)
    if not inside.any() or not reference.any():
        return residual
    light = luma(crop)
    need = level * float(light[reference].mean()) - float(light[inside].mean())
    have = float(luma(np.maximum(residual, 0))[inside].mean())
    share = np.float32(np.clip(need / have, 0.0, 1.0)) if have > 1e-3 else np.float32(0.0)
    if where is not None:
        share = np.where(where, share, np.float32(1.0))[..., None]
    return np.where(residual > 0, residual * share, residual).astype(np.float32)


def limit_residual(residual: np.ndarray, crop: np.ndarray, target: np.ndarray,
                   lightening_only: bool = False) -> np.ndarray:
    """`residual` clipped, channel by channel, so that `crop` + it lies between `crop` and
    `target`: a change that moves each pixel towards the target and never past it. With
    `lightening_only` only what lightens a pixel is limited so (it may only lighten towards
    a lighter target); what darkens passes as it is.

    All (..., 3) float arrays in 0-255 units. Returns float32.
    """
    room = np.asarray(target, np.float32) - crop
    if lightening_only:
        return np.where(residual > 0, np.minimum(residual, np.maximum(room, 0)),
                        residual).astype(np.float32)
    return np.clip(residual, np.minimum(room, 0), np.maximum(room, 0)).astype(np.float32)


def upsample_residual(residual: np.ndarray, size: int) -> np.ndarray:
    """(s, s, 3) float residual -> (size, size, 3), smoothly (bicubic)."""
    if residual.shape[0] == size:
        return residual
    return cv2.resize(residual, (size, size), interpolation=cv2.INTER_CUBIC)


def apply_residual(crop: np.ndarray, residual: np.ndarray,
                   weight: np.ndarray | float) -> np.ndarray:
    """`crop` + `weight` x `residual`, rounded and clipped.

    Args:
        crop: (S, S, 3) uint8 RGB real crop.
        residual: (S, S, 3) float32, in 0-255 units.
        weight: (S, S) float32 in [0, 1], or one number for every pixel (a mix of `crop` and
            `crop + residual`).
    Returns:
        (S, S, 3) uint8; bit-identical to `crop` wherever `weight` is 0.
    """
    out = crop.astype(np.float32) + residual * (weight if np.isscalar(weight)
                                                else weight[:, :, None])
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


def remove_object(crop: np.ndarray, reference: np.ndarray, region: np.ndarray, keep: np.ndarray,
                  threshold: float = 20.0, grow: int = 1) -> np.ndarray:
    """Paint out thin dark structures (eyeglass frames) that the model's object-free face lacks.

    A residual cannot remove what the model never reconstructed (SPEC §6, lesson 5), so the pixels
    of the object are found and inpainted from their surroundings before the residual is added:
    pixels inside `region`, outside `keep`, that are darker than the model's object-free face by
    more than `threshold` grey levels beyond the local average difference.

    Args:
        crop: (S, S, 3) uint8 RGB real crop.
        reference: (S, S, 3) float32 0..255, the model's face without the object (upsampled).
        region: (S, S) float weights: where the object may be (over 0.5); nothing outside it
            (at 0) is repainted.
        keep: (S, S) float: pixels never to repaint (the eyes and brows).
    Returns:
        (S, S, 3) uint8, equal to `crop` outside the repainted pixels.
    """
    diff = luma(reference) - luma(crop)
    # High-pass: thin frames stand out; broad colour differences of the blurry model do not.
    diff -= cv2.GaussianBlur(diff, (0, 0), crop.shape[0] / 32)
    darker = diff > threshold
    mask = (darker & (region > 0.5) & (keep < 0.5)).astype(np.uint8)
    if grow:
        mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    mask &= ((keep < 0.5) & (region > 0)).astype(np.uint8)  # grown, still inside region
    if not mask.any():
        return crop.copy()
    return cv2.inpaint(crop, mask, 3, cv2.INPAINT_TELEA)

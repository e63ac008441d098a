"""Where each characteristic's edit may land: the three post-processing steps of the first source,
as weights in [0, 1] that all use the SPEC §2 blend rule (`facedit.masks.feather`).

* domain: a coarse prior, the bounding box of the characteristic's face part (eye band for N/Be,
  nose for Bn/Pn, mouth for Bp, jaw for D, hair for B/Hc/Hs, head and neck for Sk/A/Se, face and
  jaw for Ch), margin 42 px at 512;
* segmentation: the part itself, from the landmarks of the input face united with those of the
  edited face (hair, nose, eyes dilated for N, eyes dilated and shifted down for Be, mouth, jaw,
  the head and neck for Sk/A/Se and the head for Ch), margin 21 px at 512;
* foreground: the person against the background; the weight is 0 on every background pixel (so
  the background never changes) and ramps up to 1 inside the person's outline.

Domain and segmentation weights are (S, S) float32 in the aligned crop's pixels; the foreground
weight is (H, W) float32 in the photo's pixels. Pure functions.
"""
from __future__ import annotations

import cv2
import numpy as np

from facedit.faces import Face
from facedit.masks import feather, region_mask

DOMAIN_REGIONS = {
    "Sk": ("head", "neck"), "A": ("head", "neck"), "Se": ("head", "neck"), "Ch": ("face", "jaw"),
    "B": ("hair",), "Hc": ("hair",), "Hs": ("hair",), "D": ("jaw",),
    "Be": ("eye_band",), "N": ("eye_band",), "Pn": ("nose",), "Bn": ("nose",), "Bp": ("mouth",),
}
SEGMENTATION_REGIONS = {
    "Sk": ("head", "neck"), "A": ("head", "neck"), "Se": ("head", "neck"), "Ch": ("head",),
    "B": ("hair",), "Hc": ("hair",), "Hs": ("hair",), "D": ("jaw",),
    "N": ("eyes_dilated",), "Be": ("under_eyes",), "Pn": ("nose",), "Bn": ("nose",),
    "Bp": ("mouth",),
}


def _eye_distance(face: Face) -> float:
    p = face.points5
    return float(np.hypot(*(p[1] - p[0])))


def _eyes_dilated(face: Face, shape, down: float = 0.0) -> np.ndarray:
    """The eyes dilated by a fifth of the eye distance, optionally moved down by `down` eye
    distances (bags under the eyes sit below them)."""
    ed = _eye_distance(face)
    eyes = region_mask(face, "eyes", shape).astype(np.uint8)
    k = max(1, int(round(0.2 * ed)))
    grown = cv2.dilate(eyes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    if down:
        p = face.points5
        ex = (p[1] - p[0]) / max(ed, 1e-6)
        shift = np.array([-ex[1], ex[0]]) * down * ed
        moved = cv2.warpAffine(grown, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]),
                               (shape[1], shape[0]), flags=cv2.INTER_NEAREST)
        grown = np.maximum(grown, moved)
    return grown.astype(np.float32)


def _neck(face: Face, shape) -> np.ndarray:
    """The skin under the chin: the chin swept down by one eye distance (skin tone, age and sex
    change it with the face; the landmarks do not reach it)."""
    ed = _eye_distance(face)
    p = face.points5
    ex = (p[1] - p[0]) / max(ed, 1e-6)
    down = np.array([-ex[1], ex[0]])
    chin = region_mask(face, "chin", shape)
    ys, xs = np.nonzero(chin > 0.5)
    if not len(ys):
        return chin
    pts = np.column_stack([xs, ys]).astype(np.float32)
    swept = np.concatenate([pts, pts + (down * ed).astype(np.float32)])
    hull = cv2.convexHull(swept)[:, 0, :]
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(hull).astype(np.int32)], 1)
    return mask.astype(np.float32)


def part_mask(face: Face, part: str, shape: tuple[int, int]) -> np.ndarray:
    """Hard (H, W) float32 mask of a face part: a `facedit.masks` region, or `eyes_dilated` /
    `under_eyes` / `neck`."""
    if part == "neck":
        return _neck(face, shape)
    if part == "eyes_dilated":
        return _eyes_dilated(face, shape)
    if part == "under_eyes":
        return _eyes_dilated(face, shape, down=0.25)
    return region_mask(face, part, shape)


def _union(face: Face, parts, shape) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    for part in parts:
        out = np.maximum(out, part_mask(face, part, shape))
    return out


def _box(mask: np.ndarray) -> np.ndarray:
    """The filled bounding box of a hard mask's pixels."""
    out = np.zeros_like(mask, dtype=np.float32)
    ys, xs = np.nonzero(mask > 0.5)
    if len(ys):
        out[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = 1.0
    return out


def domain_weight(characteristic: str, face: Face, size: int, margin: float) -> np.ndarray:
    """(size, size) float32: the feathered bounding box of the characteristic's domain."""
    return feather(_box(_union(face, DOMAIN_REGIONS[characteristic], (size, size))), margin)


def segmentation_weight(characteristic: str, faces: list[Face], size: int,
                        margin: float) -> np.ndarray:
    """(size, size) float32: the characteristic's part in any of `faces` (the input's and the
    edited image's landmarks), united and feathered."""
    parts = SEGMENTATION_REGIONS[characteristic]
    hard = np.zeros((size, size), np.float32)
    for face in faces:
        hard = np.maximum(hard, _union(face, parts, (size, size)))
    return feather(hard, margin)


def foreground_weight(person: np.ndarray, threshold: float, margin: float) -> np.ndarray:
    """(H, W) float32 from a person probability map: exactly 0 where the probability is at or
    below `threshold` (background), rising as d / margin with the distance d inside the person."""
    background = (np.asarray(person) <= threshold).astype(np.float32)
    if not background.any():
        return np.ones(background.shape, np.float32)
    return (1.0 - feather(background, margin)).astype(np.float32)


def border_fade(size: int, width: float) -> np.ndarray:
    """(size, size) float32: 1 inside the crop, falling to 0 over `width` pixels at its border,
    so a crop's change never shows a square edge in the photo."""
    inside = np.zeros((size, size), np.uint8)
    inside[1:-1, 1:-1] = 1
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    return np.clip(dist / max(width, 1e-6), 0.0, 1.0).astype(np.float32)

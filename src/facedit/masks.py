"""Region masks of a face, from its 478-point mesh, for blending edits into the right place.

Every region is a pure function of a `Face` (its points in the pixel frame of the image the mask is
for) and the image's (H, W); masks are (H, W) float32 in [0, 1]. Works for the aligned crop
(pass `aligned.face`) and for the photo (pass the face found in the photo).

`feather(mask, margin)` is the blend rule of the first source (SPEC §2): the weight of an edit is
1 inside the region and falls as 1 - d/m with the Euclidean distance d from it, 0 beyond m pixels.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from facedit.errors import ConfigError
from facedit.faces import EYE_LEFT_RING, EYE_RIGHT_RING, Face

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40,
              185)
BROW_LEFT = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
BROW_RIGHT = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
NOSE = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 97, 326, 327, 64, 294, 48, 278, 115, 344, 220,
        440, 131, 360, 49, 279, 102, 331, 129, 358)
UNDER_EYES = (111, 117, 118, 119, 120, 121, 128, 245, 340, 346, 347, 348, 349, 350, 357, 465)
TEMPLES = (127, 234, 356, 454)

MaskFn = Callable[[Face, tuple[int, int]], np.ndarray]
REGIONS: dict[str, MaskFn] = {}


def region(name: str) -> Callable[[MaskFn], MaskFn]:
    """Register a region mask function under `name`."""
    def register(fn: MaskFn) -> MaskFn:
        REGIONS[name] = fn
        return fn
    return register


def region_mask(face: Face, name: str, shape: tuple[int, int],
                person: np.ndarray | None = None) -> np.ndarray:
    """The hard (0/1) mask of region `name`, (H, W) float32.

    Args:
        face: the face, in the pixel frame of the image the mask is for.
        name: one of `REGIONS` (face, skin, mouth, eyes, eye_band, brows, nose, jaw, chin,
            forehead, hair, head).
        shape: (H, W) of the image.
        person: optional (H, W) person probability (see `facedit.segmentation`); the hair and head
            regions are cut to it.
    """
    if name not in REGIONS:
        raise ConfigError(f"unknown region {name!r}; expected one of {', '.join(sorted(REGIONS))}")
    mask = REGIONS[name](face, tuple(shape[:2]))
    if person is not None and name in ("hair", "head"):
        mask = mask * (np.asarray(person, np.float32) > 0.5)
    return mask.astype(np.float32)


def feather(mask: np.ndarray, margin: float) -> np.ndarray:
    """Soften a hard mask outwards: 1 inside, 1 - d/margin at distance d outside, 0 beyond.

    Args:
        mask: (H, W) values in [0, 1]; > 0.5 counts as inside.
        margin: width of the ramp in pixels; 0 returns the hard mask.
    Returns:
        (H, W) float32 in [0, 1].
    """
    hard = (np.asarray(mask) > 0.5).astype(np.uint8)
    if margin <= 0:
        return hard.astype(np.float32)
    if not hard.any():
        return np.zeros(hard.shape, np.float32)
    dist = cv2.distanceTransform(1 - hard, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.clip(1.0 - dist / float(margin), 0.0, 1.0).astype(np.float32)


def default_paste_mask(face: Face, size: int) -> np.ndarray:
    """The weight under which a crop's change enters the photo: the head, feathered, and fading to 0
    at the crop's border so no square edge can show. (size, size) float32."""
    margin = 0.04 * size
    head = feather(_dilate(region_mask(face, "head", (size, size)), margin), margin)
    inside = np.zeros((size, size), np.uint8)
    inside[1:-1, 1:-1] = 1
    fade = np.clip(cv2.distanceTransform(inside, cv2.DIST_L2, 3) / (0.03 * size), 0, 1)
    return (head * fade).astype(np.float32)


def _poly(face: Face, indices, shape, hull: bool = False) -> np.ndarray:
    pts = face.mesh[list(indices), :2]
    if hull:
        pts = cv2.convexHull(pts.astype(np.float32))[:, 0, :]
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(np.float32)


def _dilate(mask: np.ndarray, pixels: float) -> np.ndarray:
    k = max(1, int(round(pixels)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(np.float32)


def _eye_distance(face: Face) -> float:
    p = face.points5
    return float(np.hypot(*(p[1] - p[0])))


def _below(face: Face, shape, y_index_points, extra: float = 0.0) -> np.ndarray:
    """1 below the line through the given points (in the face's own up direction)."""
    h, w = shape
    down = face.axes()[1]
    anchor = face.mesh[list(y_index_points), :2].mean(axis=0) + down * extra
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (((xx - anchor[0]) * down[0] + (yy - anchor[1]) * down[1]) > 0).astype(np.float32)


@region("face")
def _face(face, shape):
    return _poly(face, FACE_OVAL, shape)


@region("mouth")
def _mouth(face, shape):
    return _poly(face, LIPS_OUTER, shape)


@region("eyes")
def _eyes(face, shape):
    return np.maximum(_poly(face, EYE_LEFT_RING, shape), _poly(face, EYE_RIGHT_RING, shape))


@region("brows")
def _brows(face, shape):
    return np.maximum(_poly(face, BROW_LEFT, shape, hull=True),
                      _poly(face, BROW_RIGHT, shape, hull=True))


@region("eye_band")
def _eye_band(face, shape):
    """Brows, eyes, the skin under them and the temples: where eyeglasses sit."""
    idx = BROW_LEFT + BROW_RIGHT + EYE_LEFT_RING + EYE_RIGHT_RING + UNDER_EYES + TEMPLES
    return _poly(face, idx, shape, hull=True) * _face(face, shape)


@region("nose")
def _nose(face, shape):
    return _poly(face, NOSE, shape, hull=True)


@region("skin")
def _skin(face, shape):
    holes = _dilate(np.maximum.reduce([_eyes(face, shape), _brows(face, shape),
                                       _mouth(face, shape)]), 0.04 * _eye_distance(face))
    return _face(face, shape) * (1 - holes)


@region("jaw")
def _jaw(face, shape):
    """The face below the nose tip, and the same shape moved down under the chin (where a double
    chin shows), no wider than the jaw itself."""
    lower = _face(face, shape) * _below(face, shape, (4,))
    shift = face.axes()[1] * 0.35 * _eye_distance(face)  # towards the chin
    moved = cv2.warpAffine(lower, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]),
                           (shape[1], shape[0]), flags=cv2.INTER_NEAREST)
    return np.maximum(lower, moved * _below(face, shape, (61, 291)))


@region("chin")
def _chin(face, shape):
    return _face(face, shape) * _below(face, shape, (17,))


@region("forehead")
def _forehead(face, shape):
    return _face(face, shape) * (1 - _below(face, shape, BROW_LEFT + BROW_RIGHT))


@region("head")
def _head(face, shape):
    """The face with an estimate of the hair: the oval pushed outwards, most at the crown."""
    pts = face.mesh[list(FACE_OVAL), :2].astype(np.float64)
    centre = pts.mean(axis=0)
    up = -face.axes()[1]
    rel = pts - centre
    cos_up = (rel @ up) / (np.linalg.norm(rel, axis=1) + 1e-6)
    # Not below the chin; ~1.35x at the sides, ~1.6x at the crown (where most hair is).
    growth = 1.0 + 0.35 * np.clip(1 + cos_up, 0, 1) + 0.25 * np.clip(cos_up, 0, 1)
    grown = centre + rel * growth[:, None]
    hull = cv2.convexHull(grown.astype(np.float32))[:, 0, :]
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(hull * 16).astype(np.int32)], 1, shift=4)
    return np.maximum(mask.astype(np.float32), _face(face, shape))


@region("hair")
def _hair(face, shape):
    """Estimated hair: the head outside the face, plus the upper half of the forehead (bangs)."""
    forehead_top = _forehead(face, shape) * (1 - _below(face, shape, BROW_LEFT + BROW_RIGHT,
                                                        extra=-0.35 * _eye_distance(face)))
    return np.maximum(_head(face, shape) * (1 - _face(face, shape)), forehead_top)


@region("mouth_area")
def _mouth_area(face, shape):
    """The mouth with the skin around it that a smile moves (cheek folds, chin)."""
    return _dilate(_mouth(face, shape), 0.3 * _eye_distance(face)) * _face(face, shape)


@region("cheeks")
def _cheeks(face, shape):
    """The skin between the eyes and the line of the mouth corners: what a smile lifts."""
    return _skin(face, shape) * _below(face, shape, UNDER_EYES) * \
        (1 - _below(face, shape, (61, 291)))

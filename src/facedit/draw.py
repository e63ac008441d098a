"""Pictures for people to check results: landmark and mask overlays, labelled grids."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from facedit.faces import Face
from facedit.masks import region_mask

# Region -> RGB colour of its outline in overlays.
OVERLAY_COLOURS = {
    "face": (255, 255, 255), "hair": (255, 160, 0), "eyes": (0, 200, 255), "brows": (160, 80, 255),
    "nose": (255, 255, 0), "mouth": (255, 60, 60), "jaw": (0, 255, 120), "eye_band": (0, 120, 255),
}


def draw_overlay(image: np.ndarray, faces: Sequence[Face], person: np.ndarray | None = None,
                 regions: Sequence[str] = tuple(OVERLAY_COLOURS), points: bool = True) -> np.ndarray:
    """The image with each face's mesh points, 68-point subset, 5 points and region outlines.

    Args:
        image: (H, W, 3) uint8 RGB.
        faces: faces in the image's pixel frame.
        person: optional (H, W) person probability; the background is darkened and the hair
            and head outlines are cut to the person, as `region_mask` cuts them.
    Returns:
        (H, W, 3) uint8 RGB.
    """
    out = image.astype(np.float32)
    if person is not None:
        out *= (0.35 + 0.65 * (person > 0.5))[:, :, None]
    out = out.astype(np.uint8)
    scale = max(1.0, max(image.shape[:2]) / 512)
    thick = max(1, int(round(scale)))
    for face in faces:
        for name in regions:
            mask = region_mask(face, name, image.shape[:2], person=person).astype(np.uint8)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(out, contours, -1, OVERLAY_COLOURS.get(name, (255, 255, 255)), thick,
                             cv2.LINE_AA)
        if points:
            for x, y in face.mesh[:, :2]:
                cv2.circle(out, (int(round(x)), int(round(y))), 0, (200, 200, 200), thick)
            for x, y in face.points68:
                cv2.circle(out, (int(round(x)), int(round(y))), thick + 1, (0, 255, 0), -1,
                           cv2.LINE_AA)
            for x, y in face.points5:
                cv2.circle(out, (int(round(x)), int(round(y))), thick + 2, (255, 0, 255), -1,
                           cv2.LINE_AA)
    return out


def grid(images: Sequence[np.ndarray], columns: int, labels: Sequence[str] | None = None,
         cell: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile RGB uint8 images into one (rows x columns) image, each resized to a `cell` square
    (default: the first image's height), with optional labels drawn in each tile's top-left."""
    if not images:
        raise ValueError("grid: no images")
    cell = cell or images[0].shape[0]
    rows = (len(images) + columns - 1) // columns
    out = np.full((rows * (cell + pad) + pad, columns * (cell + pad) + pad, 3), 255, np.uint8)
    for i, img in enumerate(images):
        tile = _fit(img, cell)
        if labels is not None and labels[i]:
            _label(tile, labels[i])
        r, c = divmod(i, columns)
        y, x = pad + r * (cell + pad), pad + c * (cell + pad)
        out[y:y + cell, x:x + cell] = tile
    return out


def _fit(image: np.ndarray, cell: int) -> np.ndarray:
    h, w = image.shape[:2]
    s = cell / max(h, w)
    resized = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))),
                         interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    tile = np.full((cell, cell, 3), 255, np.uint8)
    y, x = (cell - resized.shape[0]) // 2, (cell - resized.shape[1]) // 2
    tile[y:y + resized.shape[0], x:x + resized.shape[1]] = resized
    return tile


def _label(tile: np.ndarray, text: str) -> None:
    scale = max(0.35, tile.shape[0] / 400)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(tile, (0, 0), (tw + 6, th + base + 6), (0, 0, 0), -1)
    cv2.putText(tile, text, (3, th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                cv2.LINE_AA)

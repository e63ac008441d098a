"""Alignment to a canonical crop, and its exact inverse: pasting a crop's change back into the photo.

The canonical crop (all positions as fractions of the crop's side, so any output size works):

* the eyes are level, their centres at (0.375, 0.45) and (0.625, 0.45): eye distance 0.25;
* the mouth centre lies near (0.5, 0.67); the scale is set by the eye distance, unless the
  eye-to-mouth distance is larger than `mouth_ratio` eye distances (a face turned sideways), in
  which case that distance sets it, so a turned face is not blown up;
* the crop holds the whole head with hair and a little neck (chin near 0.9).

At 256 px the eye distance is 64 px, close to the second source's 66 px with its eye midpoint at
(128, 123). Transforms are 2x3 float64 matrices mapping photo pixels to crop pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facedit.errors import ShapeError, check_image_array
from facedit.faces import Face

EYE_DISTANCE = 0.25
EYE_Y = 0.45
MOUTH_RATIO = 1.1  # eye-mouth distance, in eye distances, above which it sets the scale
DEFAULT_SIZE = 256


def template_points(size: int = DEFAULT_SIZE) -> np.ndarray:
    """(2, 2) float64: where the image-left and image-right eye centres land in a crop of `size`."""
    half = EYE_DISTANCE / 2
    return np.array([[0.5 - half, EYE_Y], [0.5 + half, EYE_Y]]) * size


def alignment_matrix(points5: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """The 2x3 similarity that maps a face's 5 points (see `Face.points5`) into the crop.

    Args:
        points5: (5, 2) eye centres, nose tip, mouth corners in photo pixels.
        size: side of the square crop in pixels.

    Returns:
        (2, 3) float64 matrix, photo pixels -> crop pixels.
    """
    p = np.asarray(points5, dtype=np.float64)
    if p.shape != (5, 2):
        raise ShapeError(f"points5: expected shape (5, 2), got {p.shape}")
    eyes_mid = (p[0] + p[1]) / 2
    eye_vec = p[1] - p[0]
    mouth_mid = (p[3] + p[4]) / 2
    eye_dist = float(np.hypot(*eye_vec))
    mouth_dist = float(np.hypot(*(mouth_mid - eyes_mid)))
    if max(eye_dist, mouth_dist) < 1e-6:
        raise ShapeError("points5: the eye and mouth points coincide")
    scale = EYE_DISTANCE * size / max(eye_dist, mouth_dist / MOUTH_RATIO)
    angle = np.arctan2(eye_vec[1], eye_vec[0])
    c, s = np.cos(-angle) * scale, np.sin(-angle) * scale
    rot = np.array([[c, -s], [s, c]])
    target = np.array([0.5 * size, EYE_Y * size])
    return np.hstack([rot, (target - rot @ eyes_mid)[:, None]])


@dataclass(frozen=True)
class AlignedFace:
    """A face cut out of a photo into the canonical crop.

    Attributes:
        crop: (S, S, 3) uint8 RGB crop.
        matrix: (2, 3) float64, photo pixels -> crop pixels.
        face: the face, its points in crop pixels.
        photo_shape: (H, W) of the photo it came from.
    """

    crop: np.ndarray
    matrix: np.ndarray
    face: Face
    photo_shape: tuple[int, int]

    @property
    def size(self) -> int:
        return self.crop.shape[0]

    @property
    def scale(self) -> float:
        """Crop pixels per photo pixel: above 1 the crop is an enlarged, softer view of the
        photo."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    @property
    def inverse(self) -> np.ndarray:
        """(2, 3) float64, crop pixels -> photo pixels."""
        return cv2.invertAffineTransform(self.matrix)


def align(image: np.ndarray, face: Face, size: int = DEFAULT_SIZE) -> AlignedFace:
    """Cut `face` out of `image` into a `size` x `size` canonical crop.

    Args:
        image: (H, W, 3) uint8 RGB photo.
        face: a face found in `image` (photo pixel coordinates).
        size: crop side in pixels.

    Returns:
        The crop with its transform. Parts of the crop outside the photo are filled by
        reflection, which keeps a model's input free of black borders.
    """
    check_image_array(image)
    matrix = alignment_matrix(face.points5, size)
    crop = warp_to_crop(image, matrix, size)
    return AlignedFace(crop=crop, matrix=matrix, face=face.transformed(matrix),
                       photo_shape=image.shape[:2])


def warp_to_crop(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Resample `image` (H, W, C) through `matrix` into a (size, size, C) crop, without aliasing."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.5:
        # Shrink the photo's region first with area averaging: warpAffine alone would alias.
        x0, y0, x1, y1 = _footprint(cv2.invertAffineTransform(matrix), size, image.shape, pad=4)
        region = image[y0:y1, x0:x1]
        factor = 2.0 * scale
        small = cv2.resize(region, (max(1, round((x1 - x0) * factor)),
                                    max(1, round((y1 - y0) * factor))), interpolation=cv2.INTER_AREA)
        fx, fy = small.shape[1] / (x1 - x0), small.shape[0] / (y1 - y0)
        to_small = np.array([[fx, 0, -fx * x0], [0, fy, -fy * y0], [0, 0, 1]])
        matrix = (np.vstack([matrix, [0, 0, 1]]) @ np.linalg.inv(to_small))[:2]
        image = small
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101)


def paste_back(photo: np.ndarray, aligned: AlignedFace, edited_crop: np.ndarray,
               mask: np.ndarray | None = None) -> np.ndarray:
    """Carry the change made to an aligned crop back into the full-resolution photo.

    Only the *change* (edited minus original crop) is resampled, weighted by `mask`, so that an
    unchanged crop leaves the photo bit-identical, and every photo pixel where the warped mask is 0
    stays bit-identical whatever the edit.

    Args:
        photo: (H, W, 3) uint8 RGB, the photo `aligned` was cut from.
        aligned: the aligned face.
        edited_crop: (S, S, 3) uint8 RGB, the processed crop.
        mask: (S, S) float weights in [0, 1] in crop pixels; default: the feathered face mask.

    Returns:
        (H, W, 3) uint8 RGB, a new array.
    """
    check_image_array(photo, "photo")
    check_image_array(edited_crop, "edited_crop")
    if edited_crop.shape != aligned.crop.shape:
        raise ShapeError(f"edited_crop: expected shape {aligned.crop.shape}, "
                         f"got {edited_crop.shape}")
    if photo.shape[:2] != tuple(aligned.photo_shape):
        raise ShapeError(f"photo: expected size {tuple(aligned.photo_shape)} (the photo the face "
                         f"was aligned from), got {photo.shape[:2]}")
    if mask is None:
        from facedit.masks import default_paste_mask
        mask = default_paste_mask(aligned.face, aligned.size)
    delta = (edited_crop.astype(np.float32) - aligned.crop.astype(np.float32))
    delta *= np.asarray(mask, dtype=np.float32)[:, :, None]
    out = photo.copy()
    if not delta.any():
        return out
    x0, y0, x1, y1 = _footprint(aligned.inverse, aligned.size, photo.shape, pad=2)
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
    crop_to_roi = (shift @ np.vstack([aligned.inverse, [0, 0, 1]]))[:2]
    change = cv2.warpAffine(delta, crop_to_roi, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    roi = out[y0:y1, x0:x1]
    # Where the change is 0 this gives back the photo's own value exactly (uint8 -> float32 ->
    # + 0 -> round -> uint8), so the untouched pixels stay bit-identical without being picked out.
    change += roi
    np.rint(change, out=change)
    np.clip(change, 0, 255, out=change)
    roi[...] = change
    return out


def warp_mask_to_photo(aligned: AlignedFace, mask: np.ndarray) -> np.ndarray:
    """An (S, S) crop mask resampled into the photo: (H, W) float32 in [0, 1]."""
    h, w = aligned.photo_shape
    return cv2.warpAffine(np.asarray(mask, np.float32), aligned.inverse, (w, h),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _footprint(crop_to_photo: np.ndarray, size: int, shape, pad: int) -> tuple[int, int, int, int]:
    """Integer photo box (x0, y0, x1, y1) covering the crop square, clipped to the photo."""
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64)
    pts = corners @ crop_to_photo[:, :2].T + crop_to_photo[:, 2]
    h, w = shape[:2]
    x0 = int(np.clip(np.floor(pts[:, 0].min()) - pad, 0, w - 1))
    y0 = int(np.clip(np.floor(pts[:, 1].min()) - pad, 0, h - 1))
    x1 = int(np.clip(np.ceil(pts[:, 0].max()) + pad, x0 + 1, w))
    y1 = int(np.clip(np.ceil(pts[:, 1].max()) + pad, y0 + 1, h))
    return x0, y0, x1, y1


def detect_and_align(image: np.ndarray, detector, size: int = DEFAULT_SIZE,
                     all_faces: bool = False, label: str = "image") -> list[AlignedFace]:
    """Find the largest face (or every face) in a photo and align each; `NoFaceError` if none.

    Args:
        image: (H, W, 3) uint8 RGB photo.
        detector: a `facedit.faces.FaceDetector`.
    """
    from facedit.errors import NoFaceError

    faces = detector.detect(image, all_faces=all_faces)
    if not faces:
        raise NoFaceError(f"{label}: no face found")
    return [align(image, face, size) for face in faces]

"""facedit.align: the canonical crop is the same whatever the photo's size and rotation, and
paste-back carries only the change, leaving every pixel outside the mask bit-identical."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio as psnr

from facedit.align import (
    align,
    alignment_matrix,
    detect_and_align,
    paste_back,
    template_points,
    warp_mask_to_photo,
)
from facedit.errors import NoFaceError, ShapeError
from facedit.masks import default_paste_mask, feather, region_mask

SIZE = 256
SAME_CROP_DB = 28.0


def _rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    """`image` rotated about its centre on a canvas padded so that no corner is cut."""
    h, w = image.shape[:2]
    pad = int(np.ceil((np.hypot(h, w) - min(h, w)) / 2)) + 2
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    ph, pw = padded.shape[:2]
    matrix = cv2.getRotationMatrix2D((pw / 2, ph / 2), degrees, 1.0)
    return cv2.warpAffine(padded, matrix, (pw, ph), flags=cv2.INTER_CUBIC)


def _scaled(image: np.ndarray, factor: float) -> np.ndarray:
    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, (round(w * factor), round(h * factor)), interpolation=interp)


def test_template_points_scale_with_size():
    np.testing.assert_allclose(template_points(256), [[96, 115.2], [160, 115.2]])
    np.testing.assert_allclose(template_points(1024), template_points(256) * 4)


def test_astronaut_eyes_land_on_the_template(astronaut_aligned, detector):
    assert astronaut_aligned.crop.shape == (SIZE, SIZE, 3)
    assert astronaut_aligned.crop.dtype == np.uint8
    target = template_points(SIZE)
    np.testing.assert_allclose(astronaut_aligned.face.points5[:2], target, atol=2.0)
    # Found afresh in the crop, the eyes are where the transform says they are.
    found = detector.largest(astronaut_aligned.crop, "crop")
    np.testing.assert_allclose(found.points5[:2], target, atol=2.0)


@pytest.mark.parametrize("transform, amount", [
    (_rotated, 10.0), (_rotated, -10.0), (_scaled, 0.5), (_scaled, 2.0)],
    ids=["rotated+10", "rotated-10", "scaled0.5", "scaled2"])
def test_same_crop_from_rotated_or_scaled_photo(astronaut, astronaut_aligned, detector, transform,
                                                amount):
    photo = transform(astronaut, amount)
    aligned = align(photo, detector.largest(photo, "variant"), SIZE)
    np.testing.assert_allclose(aligned.face.points5[:2], template_points(SIZE), atol=2.0)
    assert psnr(astronaut_aligned.crop, aligned.crop) >= SAME_CROP_DB
    if transform is _scaled:  # a photo twice the size is half as enlarged in the crop
        assert aligned.scale == pytest.approx(astronaut_aligned.scale / amount, rel=0.03)


def test_matrix_maps_eyes_to_template(astronaut_face):
    matrix = alignment_matrix(astronaut_face.points5, 512)
    eyes = astronaut_face.points5[:2] @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(eyes, template_points(512), atol=1e-3)
    with pytest.raises(ShapeError, match=r"expected shape \(5, 2\), got \(4, 2\)"):
        alignment_matrix(np.zeros((4, 2)))


def test_detect_and_align_without_a_face_raises(detector):
    with pytest.raises(NoFaceError, match="flat.png: no face found"):
        detect_and_align(np.full((200, 200, 3), 90, np.uint8), detector, label="flat.png")


# -- paste-back -----------------------------------------------------------------------------------

def test_unchanged_crop_leaves_photo_bit_identical(astronaut, astronaut_aligned):
    out = paste_back(astronaut, astronaut_aligned, astronaut_aligned.crop.copy())
    assert out is not astronaut
    np.testing.assert_array_equal(out, astronaut)


def _warm(crop: np.ndarray) -> np.ndarray:
    edited = crop.astype(np.int16) + np.array([30, 10, -20], np.int16)
    return np.clip(edited, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("mask_kind", ["default", "feathered_face"])
def test_changed_crop_changes_only_inside_the_warped_mask(astronaut, astronaut_aligned, mask_kind):
    aligned = astronaut_aligned
    if mask_kind == "default":
        mask = default_paste_mask(aligned.face, SIZE)
    else:
        mask = feather(region_mask(aligned.face, "face", (SIZE, SIZE)), 6)
    out = paste_back(astronaut, aligned, _warm(aligned.crop), mask=mask)
    in_photo = warp_mask_to_photo(aligned, mask)
    outside, inside = in_photo == 0, in_photo > 0.99
    assert outside.mean() > 0.5 and inside.sum() > 2000
    np.testing.assert_array_equal(out[outside], astronaut[outside])
    changed = np.any(out != astronaut, axis=2)
    assert changed[inside].mean() > 0.99
    # Where the mask is 1, the photo took the edit: red up, blue down.
    diff = out[inside].astype(int) - astronaut[inside].astype(int)
    assert np.median(diff[:, 0]) >= 25 and np.median(diff[:, 2]) <= -15


def test_pasted_edit_survives_realignment(astronaut, astronaut_aligned):
    """Cut the same face out of the pasted photo: inside the mask it is the edited crop."""
    aligned = astronaut_aligned
    edited = _warm(aligned.crop)
    out = paste_back(astronaut, aligned, edited)
    again = align(out, aligned.face.transformed(aligned.inverse), SIZE)
    core = default_paste_mask(aligned.face, SIZE) > 0.99
    assert psnr(edited[core], again.crop[core]) >= 30


def test_paste_back_refuses_mismatched_inputs(astronaut, astronaut_aligned):
    with pytest.raises(ShapeError, match=r"edited_crop: expected shape \(256, 256, 3\)"):
        paste_back(astronaut, astronaut_aligned, np.zeros((128, 128, 3), np.uint8))
    with pytest.raises(ShapeError, match=r"photo: expected size \(512, 512\)"):
        paste_back(astronaut[:256], astronaut_aligned, astronaut_aligned.crop)

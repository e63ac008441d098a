"""Landmark morphing: exact ends, points moved where asked, shape errors."""
import numpy as np
import pytest

from facedit.errors import ShapeError
from facedit.morph import morph_frame, warp_to_shape


def _grid_points(size=64):
    g = np.linspace(16, 48, 5)
    return np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)


def test_warp_moves_a_feature_to_its_target():
    image = np.zeros((64, 64, 3), np.uint8)
    image[30:34, 30:34] = 255  # a bright square around (31.5, 31.5)
    pts = _grid_points()
    target = pts + np.array([6.0, 0.0])  # everything inside moves 6 px right
    out = warp_to_shape(image, pts, target)
    ys, xs = np.nonzero(out[..., 0] > 128)
    assert abs(xs.mean() - 37.5) < 1.0 and abs(ys.mean() - 31.5) < 1.0


def test_identity_warp_keeps_the_image():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    pts = _grid_points()
    assert np.abs(warp_to_shape(image, pts, pts).astype(int) - image).max() <= 1


def test_morph_ends_are_exact_and_middle_mixes():
    a = np.full((64, 64, 3), 40, np.uint8)
    b = np.full((64, 64, 3), 200, np.uint8)
    pts = _grid_points()
    assert np.array_equal(morph_frame(a, pts, b, pts + 2, 0.0), a)
    assert np.array_equal(morph_frame(a, pts, b, pts + 2, 1.0), b)
    assert abs(float(morph_frame(a, pts, b, pts, 0.5).mean()) - 120) < 1


def test_mismatched_inputs_are_shape_errors():
    pts = _grid_points()
    with pytest.raises(ShapeError):
        morph_frame(np.zeros((64, 64, 3), np.uint8), pts, np.zeros((32, 32, 3), np.uint8), pts, 0.5)

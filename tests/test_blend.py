"""Pure blending functions (facedit.blend)."""
from __future__ import annotations

import numpy as np
import pytest

from facedit.blend import limit_residual, luma, scale_chroma, transmitted

LUMA = np.array([0.299, 0.587, 0.114])


@pytest.mark.parametrize("amount", [0.0, 0.25, 0.5])
def test_scale_chroma_keeps_the_light_change_and_scales_the_colour_change(amount):
    residual = np.random.default_rng(0).normal(0, 20, (8, 8, 3)).astype(np.float32)
    out = scale_chroma(residual, amount)
    np.testing.assert_allclose(out @ LUMA, residual @ LUMA, atol=1e-4)
    colour = lambda r: r - (r @ LUMA)[..., None]  # noqa: E731
    np.testing.assert_allclose(colour(out), amount * colour(residual), atol=1e-4)
    assert out.dtype == np.float32 and out.shape == residual.shape


def test_scale_chroma_by_one_is_the_residual_and_by_zero_is_grey():
    residual = np.random.default_rng(1).normal(0, 20, (4, 4, 3)).astype(np.float32)
    assert scale_chroma(residual, 1.0) is residual
    grey = scale_chroma(residual, 0.0)
    np.testing.assert_allclose(grey[..., 0], grey[..., 1], atol=1e-4)
    np.testing.assert_allclose(grey[..., 1], grey[..., 2], atol=1e-4)


def test_scale_chroma_scales_the_light_change_by_light():
    residual = np.random.default_rng(2).normal(0, 20, (4, 4, 3)).astype(np.float32)
    out = scale_chroma(residual, 0.25, light=0.6)
    np.testing.assert_allclose(out @ LUMA, 0.6 * (residual @ LUMA), atol=1e-4)
    colour = lambda r: r - (r @ LUMA)[..., None]  # noqa: E731
    np.testing.assert_allclose(colour(out), 0.25 * colour(residual), atol=1e-4)


def test_limit_residual_moves_towards_the_target_and_never_past_it():
    crop = np.array([[100.0, 100.0, 100.0], [100.0, 100.0, 100.0]], np.float32)
    target = np.array([[160.0, 90.0, 100.0], [120.0, 120.0, 120.0]], np.float32)
    residual = np.array([[80.0, 30.0, 5.0], [10.0, -10.0, 40.0]], np.float32)
    out = limit_residual(residual, crop, target)
    # past the target: cut at it; away from it: nothing; towards it and short: kept
    np.testing.assert_array_equal(out, [[60.0, 0.0, 0.0], [10.0, 0.0, 20.0]])
    # lightening only: the same cuts on what lightens, a darkening passes (-10 away from 120)
    light = limit_residual(residual, crop, target, lightening_only=True)
    np.testing.assert_array_equal(light, [[60.0, 0.0, 0.0], [10.0, -10.0, 20.0]])


def test_transmitted_scales_each_pixel_by_its_share_of_light_and_keeps_its_hue():
    crop = np.array([[[200.0, 150.0, 100.0], [40.0, 30.0, 20.0]]], np.float32)
    residual = np.full_like(crop, -20.0)  # the same light change on a bright and a dark pixel
    out = transmitted(residual, crop, floor=0.0)
    share = -20.0 / luma(crop)
    np.testing.assert_allclose(out, crop * share[..., None], rtol=1e-5)
    lit = crop + out
    np.testing.assert_allclose(lit / lit.sum(axis=2, keepdims=True),
                               crop / crop.sum(axis=2, keepdims=True), atol=1e-6)
    # A change darker than the pixel itself stops at 5% of its light; none gives none.
    assert (crop + transmitted(np.full_like(crop, -500.0), crop) >= 0.04 * crop).all()
    assert not transmitted(np.zeros_like(crop), crop).any()

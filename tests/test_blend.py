"""Pure blending functions (facedit.blend)."""
from __future__ import annotations

import numpy as np
import pytest

from facedit.blend import (level_lightening, limit_residual, luma, remove_object, scale_chroma,
                           transmitted)

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


def test_level_lightening_gives_a_lens_back_the_light_it_took_and_no_more():
    crop = np.full((4, 8, 3), 100.0, np.float32)
    lens = np.zeros((4, 8), bool)
    lens[:, :4] = True
    cheeks = ~lens
    residual = np.full_like(crop, 100.0)  # the model lightens everything by 100
    residual[0, 7] = -30.0  # and darkens one pixel
    # A clear lens (as light as the cheeks): no lightening at all; the darkening passes.
    clear = level_lightening(residual, crop, lens, cheeks, 1.0)
    assert not (clear > 0).any() and (clear[0, 7] == -30.0).all()
    # A dark lens (40% of the cheeks' light) comes up to the cheeks' light, no further.
    dark = crop.copy()
    dark[lens] = 40.0
    out = level_lightening(residual, dark, lens, cheeks, 1.0)
    assert luma(dark + out)[lens].mean() == pytest.approx(100.0, abs=0.01)
    assert luma(dark + out)[lens].mean() == pytest.approx(luma(crop)[cheeks].mean(), abs=0.01)
    # A residual too weak to get there is kept whole; where the share does not apply, kept too.
    weak = np.full_like(crop, 10.0)
    np.testing.assert_array_equal(level_lightening(weak, dark, lens, cheeks, 1.0), weak)
    np.testing.assert_array_equal(
        level_lightening(residual, crop, lens, cheeks, 1.0, where=np.zeros((4, 8), bool)), residual)
    # No lens or no cheeks: nothing to compare, the residual passes.
    np.testing.assert_array_equal(
        level_lightening(residual, crop, np.zeros_like(lens), cheeks, 1.0), residual)


def test_remove_object_paints_out_thin_dark_lines_inside_its_region_only():
    crop = np.full((64, 64, 3), 180, np.uint8)
    crop[30:33, :] = 40  # a frame across the whole crop
    reference = np.full((64, 64, 3), 180.0, np.float32)  # the face without it
    region = np.zeros((64, 64), np.float32)
    region[20:44, 8:40] = 1.0
    keep = np.zeros((64, 64), np.float32)
    keep[20:44, 30:40] = 1.0  # an eye: never repainted
    out = remove_object(crop, reference, region, keep, grow=2)
    assert (out[31, 14:24] > 150).all()  # painted out in the region (its ends meet the line)
    np.testing.assert_array_equal(out[31, 30:40], crop[31, 30:40])  # kept
    np.testing.assert_array_equal(out[:, :8], crop[:, :8])  # outside: untouched, grown or not
    np.testing.assert_array_equal(out[:, 40:], crop[:, 40:])
    np.testing.assert_array_equal(remove_object(crop, reference, np.zeros_like(region), keep), crop)

"""facedit.masks: every region is a sensible, non-empty part of the aligned astronaut, and
`feather` is the linear ramp 1 - d/margin."""
from __future__ import annotations

import numpy as np
import pytest

from facedit.errors import ConfigError
from facedit.masks import REGIONS, default_paste_mask, feather, region_mask

SIZE = 256
INSIDE_FACE = ("eyes", "brows", "nose", "mouth", "chin", "forehead", "skin", "eye_band",
               "cheeks")
TOP_TO_BOTTOM = ("forehead", "brows", "eyes", "nose", "mouth", "chin")


@pytest.fixture(scope="module")
def masks(astronaut_aligned) -> dict[str, np.ndarray]:
    return {name: region_mask(astronaut_aligned.face, name, (SIZE, SIZE)) for name in REGIONS}


@pytest.mark.parametrize("name", sorted(REGIONS))
def test_region_is_a_nonempty_binary_mask_clear_of_the_border(masks, name):
    mask = masks[name]
    assert mask.shape == (SIZE, SIZE) and mask.dtype == np.float32
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert mask.sum() > 100
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    assert not border.any(), f"{name} touches the crop's border"


@pytest.mark.parametrize("name", INSIDE_FACE)
def test_facial_parts_lie_inside_the_face(masks, name):
    assert masks[name][masks["face"] == 0].sum() == 0


def test_face_and_hair_lie_inside_the_head_and_hair_is_above(masks):
    assert masks["face"][masks["head"] == 0].sum() == 0
    assert masks["hair"][masks["head"] == 0].sum() == 0
    hair_y = np.nonzero(masks["hair"])[0].mean()
    face_y = np.nonzero(masks["face"])[0].mean()
    assert hair_y < face_y - 30


def test_regions_run_from_forehead_to_chin(masks):
    centres_y = [np.nonzero(masks[name])[0].mean() for name in TOP_TO_BOTTOM]
    assert np.all(np.diff(centres_y) > 0), dict(zip(TOP_TO_BOTTOM, centres_y))
    for name in TOP_TO_BOTTOM:  # the aligned face is centred left to right
        assert abs(np.nonzero(masks[name])[1].mean() - SIZE / 2) < 10, name


def test_skin_excludes_eyes_brows_and_mouth(masks):
    for hole in ("eyes", "brows", "mouth"):
        assert (masks["skin"] * masks[hole]).sum() == 0, hole


def test_cheeks_lie_between_the_eyes_and_the_mouth_corners(masks):
    """Skin only, under the eyes and above the mouth's middle: what a smile lifts."""
    cheeks = masks["cheeks"]
    assert (cheeks * (1 - masks["skin"])).sum() == 0
    ys = np.nonzero(cheeks)[0]
    assert ys.min() > np.nonzero(masks["eyes"])[0].max()
    assert ys.max() < np.nonzero(masks["mouth"])[0].max()
    assert ys.mean() < np.nonzero(masks["mouth"])[0].mean()


def test_person_probability_cuts_the_hair(astronaut_aligned, masks):
    face = astronaut_aligned.face
    nobody = np.zeros((SIZE, SIZE), np.float32)
    everybody = np.ones((SIZE, SIZE), np.float32)
    assert region_mask(face, "hair", (SIZE, SIZE), person=nobody).sum() == 0
    np.testing.assert_array_equal(region_mask(face, "hair", (SIZE, SIZE), person=everybody),
                                  masks["hair"])
    # Only hair and head are cut; the face mask ignores the person probability.
    np.testing.assert_array_equal(region_mask(face, "face", (SIZE, SIZE), person=nobody),
                                  masks["face"])


def test_unknown_region_error_lists_the_valid_names(astronaut_aligned):
    with pytest.raises(ConfigError, match=r"unknown region 'beard'; expected one of .*mouth"):
        region_mask(astronaut_aligned.face, "beard", (SIZE, SIZE))


# -- feather --------------------------------------------------------------------------------------

def test_feather_is_one_inside_a_linear_ramp_then_zero():
    mask = np.zeros((100, 100), np.float32)
    mask[40:60, 40:60] = 1  # a square; rows 40..59
    soft = feather(mask, margin=10)
    assert soft.dtype == np.float32 and soft.shape == mask.shape
    np.testing.assert_array_equal(soft[40:60, 40:60], 1.0)
    # Straight out from the square's right edge (column 59): d pixels away -> 1 - d / 10.
    d = np.arange(1, 15)
    np.testing.assert_allclose(soft[50, 59 + d], np.clip(1 - d / 10, 0, 1), atol=1e-5)
    # Diagonally beyond the corner, the distance is Euclidean.
    np.testing.assert_allclose(soft[59 + 6, 59 + 6], 1 - np.hypot(6, 6) / 10, atol=1e-5)
    assert soft[mask == 0].max() < 1.0
    assert soft[:28].max() == 0 and soft[:, 72:].max() == 0


def test_feather_edge_cases():
    mask = np.zeros((20, 20), np.float32)
    mask[5:10, 5:10] = 0.7  # > 0.5 counts as inside
    np.testing.assert_array_equal(feather(mask, 0), (mask > 0.5).astype(np.float32))
    np.testing.assert_array_equal(feather(np.zeros((20, 20)), 5), np.zeros((20, 20)))
    assert feather(mask, 3)[7, 7] == 1.0


def test_default_paste_mask_covers_the_face_and_fades_at_the_border(astronaut_aligned, masks):
    weight = default_paste_mask(astronaut_aligned.face, SIZE)
    assert weight.shape == (SIZE, SIZE) and 0 <= weight.min() and weight.max() <= 1
    np.testing.assert_array_equal(weight[masks["face"] == 1], 1.0)
    border = np.concatenate([weight[0], weight[-1], weight[:, 0], weight[:, -1]])
    assert border.max() == 0

"""facedit.eyewear: added eyeglasses are a pair of glasses fitted to the eyes - two lenses apart at
the nose bridge, frames round them - not a band over the eyes."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from facedit.eyewear import (FRAME_GAIN, NOSE_BRIDGE, NOSE_GAP, TINT, eye_width, eyewear_masks,
                             eyewear_weight, frame_region, lens_and_cheeks, temple_arms)
from facedit.faces import EYE_LEFT_RING, EYE_RIGHT_RING, Face
from facedit.masks import feather, region_mask

SIZE = 256


@pytest.fixture(scope="module")
def face(astronaut_aligned):
    return astronaut_aligned.face


def _at(mask: np.ndarray, point: np.ndarray) -> float:
    x, y = np.rint(point).astype(int)
    return float(mask[y, x])


def test_lenses_cover_both_eyes_and_stay_inside_the_eye_band(face):
    glasses, frames = eyewear_masks(face, (SIZE, SIZE))
    for ring in (EYE_LEFT_RING, EYE_RIGHT_RING):
        eye = face.mesh[list(ring), :2]
        assert all(_at(glasses, p) == 1 for p in eye), "an eye pokes out of its lens"
    band = region_mask(face, "eye_band", (SIZE, SIZE))
    assert glasses.sum() < band.sum()  # a pair of glasses is no band
    assert not glasses[feather(band, 0.06 * SIZE) == 0].any()  # the band the editor feathers
    assert ((frames == 1) <= (glasses == 1)).all() and 0 < frames.sum() < 0.5 * glasses.sum()


def _turned(face: Face) -> Face:
    """The face turned to its left: everything right of the nose bridge squeezed to half its
    width (the far side), and the bridge, nearer the camera than the eyes, moved half an eye
    towards the far eye."""
    xy = face.mesh[:, :2].copy()
    x0 = xy[NOSE_BRIDGE, 0]
    xy[:, 0] = np.where(xy[:, 0] > x0, x0 + 0.5 * (xy[:, 0] - x0), xy[:, 0])
    xy[NOSE_BRIDGE, 0] += 0.5 * eye_width(face, EYE_LEFT_RING)
    return Face.from_points(xy)


@pytest.mark.parametrize("turned", [False, True])
def test_near_the_nose_bridge_there_is_only_the_bridge(face, turned):
    face = _turned(face) if turned else face
    glasses, frames = eyewear_masks(face, (SIZE, SIZE))
    p = face.points5
    u = (p[1] - p[0]) / np.hypot(*(p[1] - p[0]))
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    bridge = face.mesh[NOSE_BRIDGE, :2]
    along = np.abs((xx - bridge[0]) * u[0] + (yy - bridge[1]) * u[1])
    gap = along < NOSE_GAP * min(eye_width(face, EYE_LEFT_RING), eye_width(face, EYE_RIGHT_RING))
    assert glasses[gap].any(), "no bridge joins the lenses"
    np.testing.assert_array_equal(glasses[gap], frames[gap])  # all of it is frame, no lens


def test_weight_tints_the_lenses_darkens_the_frames_and_is_zero_elsewhere(face):
    glasses, _ = eyewear_masks(face, (SIZE, SIZE))
    w = eyewear_weight(face, SIZE)
    assert w.dtype == np.float32 and w.shape == (SIZE, SIZE)
    assert 0 <= w.min() and w.max() <= FRAME_GAIN + 1e-5 and w.max() > 0.9 * FRAME_GAIN
    for ring in (EYE_LEFT_RING, EYE_RIGHT_RING):  # the eye, mid-lens, shows through the tint
        assert _at(w, face.mesh[list(ring), :2].mean(axis=0)) == pytest.approx(TINT, abs=1e-3)
    far = np.ones_like(glasses)
    far[max(0, int(np.nonzero(glasses)[0].min()) - 8):int(np.nonzero(glasses)[0].max()) + 9] = 0
    assert not w[far == 1].any()


def _hull(face: Face) -> np.ndarray:
    hull = np.zeros((SIZE, SIZE), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(face.mesh[:, :2]).astype(np.int32)), 1)
    return hull


@pytest.mark.parametrize("turned", [False, True])
def test_temple_arms_run_from_the_lenses_outer_edges_to_the_faces_outline(face, turned):
    face = _turned(face) if turned else face
    arms = temple_arms(face, (SIZE, SIZE))
    glasses, _ = eyewear_masks(face, (SIZE, SIZE))
    assert arms.dtype == np.float32 and set(np.unique(arms)) == {0.0, 1.0}
    assert not arms[_hull(face) == 0].any()  # never off the face
    u = face.axes()[0]
    bridge = face.mesh[NOSE_BRIDGE, :2] @ u

    def along(mask):  # each pixel's distance along the eye line from the nose bridge
        ys, xs = np.nonzero(mask)
        return np.stack([xs, ys], 1) @ u - bridge

    along_arms, lens_along = along(arms), along(glasses)
    lengths = []
    for side in (-1, 1):  # one arm each side, outside its lens, reaching beyond it
        mine = side * along_arms[side * along_arms > 0]
        assert mine.size, "an arm is missing"
        outer = (side * lens_along).max()
        assert mine.max() > outer + 2 and mine.min() > 0.5 * outer  # from the lens, not the nose
        lengths.append(mine.max() - outer)
    if turned:  # the far side (squeezed, image-right) shows the shorter arm
        assert lengths[1] < lengths[0]


def test_the_weight_darkens_the_temple_arms_like_the_frames(face):
    arms = temple_arms(face, (SIZE, SIZE))
    glasses, _ = eyewear_masks(face, (SIZE, SIZE))
    w = eyewear_weight(face, SIZE)
    outside = (arms == 1) & (cv2.dilate(glasses, np.ones((7, 7), np.uint8)) == 0)
    assert outside.sum() > 10
    assert np.median(w[outside]) > 0.6 * FRAME_GAIN


def test_a_softer_photo_gets_softer_edges(face):
    sharp, soft = eyewear_weight(face, SIZE, scale=1.0), eyewear_weight(face, SIZE, scale=3.0)
    ramp = lambda w: int(((w > 0) & (w < 0.5 * TINT)).sum())  # noqa: E731
    assert ramp(soft) > ramp(sharp)
    assert (soft > 0).sum() > (sharp > 0).sum()


def test_tint_sets_the_lenses_and_leaves_the_frames(face):
    clear, dark = eyewear_weight(face, SIZE, tint=0.1), eyewear_weight(face, SIZE, tint=1.0)
    eye = face.mesh[list(EYE_LEFT_RING), :2].mean(axis=0)
    assert _at(clear, eye) == pytest.approx(0.1, abs=1e-3)
    assert _at(dark, eye) == pytest.approx(1.0, abs=1e-3)
    _, frames = eyewear_masks(face, (SIZE, SIZE))
    ys, xs = np.nonzero(frames)
    k = np.argmax(dark[ys, xs])  # the frames' darkest point is the same with either tint
    assert clear[ys[k], xs[k]] == pytest.approx(dark[ys[k], xs[k]], rel=0.05)


def test_frame_gain_sets_the_frames_and_leaves_the_lenses(face):
    light, heavy = (eyewear_weight(face, SIZE, frame_gain=g) for g in (1.0, 2.5))
    eye = face.mesh[list(EYE_LEFT_RING), :2].mean(axis=0)
    assert _at(light, eye) == pytest.approx(_at(heavy, eye), abs=1e-3)  # mid-lens: the tint
    assert light.max() <= 1.0 + 1e-5 and heavy.max() > 2.2


def test_lens_and_cheeks_are_the_skin_behind_the_lenses_and_the_cheeks_below_them(face):
    lenses, cheeks = lens_and_cheeks(face, (SIZE, SIZE))
    glasses, frames = eyewear_masks(face, (SIZE, SIZE))
    assert lenses.sum() > 200 and cheeks.sum() > 200
    assert not (lenses & cheeks).any()
    assert (glasses[lenses] == 1).all() and (frames[lenses] == 0).all()
    assert not (region_mask(face, "eyes", (SIZE, SIZE))[lenses] > 0).any()
    assert not (glasses[cheeks] > 0).any()
    down = face.axes()[1]
    ys, xs = np.nonzero(lenses)
    yc, xc = np.nonzero(cheeks)
    assert np.mean(np.stack([xc, yc], 1) @ down) > np.mean(np.stack([xs, ys], 1) @ down)


def test_worn_frames_are_looked_for_in_the_eye_band_and_round_the_fitted_pair(face):
    where = frame_region(face, (SIZE, SIZE))
    band = region_mask(face, "eye_band", (SIZE, SIZE))
    glasses, _ = eyewear_masks(face, (SIZE, SIZE))
    assert set(np.unique(where)) <= {0.0, 1.0}
    assert (where[band > 0] == 1).all() and (where[glasses > 0] == 1).all()
    assert where.sum() > band.sum()  # lower rims below the band
    assert where.sum() < 3 * band.sum()

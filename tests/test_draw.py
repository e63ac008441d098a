"""facedit.draw: overlays show the masks an edit would use, and grids tile pictures."""
from __future__ import annotations

import numpy as np

from facedit.draw import OVERLAY_COLOURS, draw_overlay, grid


def test_overlay_outlines_hair_only_where_the_person_is(astronaut, astronaut_face):
    shape = astronaut.shape[:2]
    everyone = draw_overlay(astronaut, [astronaut_face], person=np.ones(shape, np.float32),
                            regions=("hair",), points=False)
    assert np.any(everyone != astronaut, axis=2).sum() > 300  # an outline was drawn...
    assert np.all(everyone == OVERLAY_COLOURS["hair"], axis=2).sum() > 50  # ...in hair colour
    # With no person anywhere the hair mask is empty: the picture is only darkened.
    nobody = draw_overlay(astronaut, [astronaut_face], person=np.zeros(shape, np.float32),
                          regions=("hair",), points=False)
    np.testing.assert_array_equal(nobody, (astronaut * np.float32(0.35)).astype(np.uint8))


def test_overlay_marks_the_five_points(astronaut, astronaut_face):
    drawn = draw_overlay(astronaut, [astronaut_face], regions=())
    for x, y in np.rint(astronaut_face.points5).astype(int):
        np.testing.assert_array_equal(drawn[y, x], [255, 0, 255])


def test_grid_tiles_and_labels():
    tiles = [np.full((10, 20, 3), v, np.uint8) for v in (0, 80, 160)]
    out = grid(tiles, columns=2, labels=["a", "", "c"], cell=40, pad=2)
    assert out.shape == (2 * 42 + 2, 2 * 42 + 2, 3)
    assert out[2 + 20, 2 + 42 + 20].tolist() == [80, 80, 80]  # centre of tile 2: its colour
    assert out[-3, -3].tolist() == [255, 255, 255]  # the empty fourth cell stays white

"""Landmark morphing: exact ends, points moved where asked, shape errors."""
import numpy as np
import pytest

from facedit.errors import ShapeError
from facedit.morph import displacement_field, morph_frame, warp_by_field


def _grid_points(size=64):
    g = np.linspace(16, 48, 5)
    return np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)


def test_warp_moves_a_feature_to_its_target():
    image = np.zeros((64, 64, 3), np.uint8)
    image[30:34, 30:34] = 255  # a bright square around (31.5, 31.5)
    pts = _grid_points()
    target = pts + np.array([6.0, 0.0])  # everything inside moves 6 px right
    out = warp_by_field(image, displacement_field(pts, target, 64))
    ys, xs = np.nonzero(out[..., 0] > 128)
    assert abs(xs.mean() - 37.5) < 1.0 and abs(ys.mean() - 31.5) < 1.0


def test_identity_warp_keeps_the_image():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    pts = _grid_points()
    same = warp_by_field(image, displacement_field(pts, pts, 64))
    assert np.abs(same.astype(int) - image).max() <= 1


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


def _open_mouth(size=128):
    """A synthetic face mesh (478 points on a coarse grid) whose lip points draw an open mouth:
    red lips 6 px thick around a 12 px gap of white teeth, on skin."""
    from facedit.faces import (LOWER_LIP_INNER, LOWER_LIP_OUTER, UPPER_LIP_INNER,
                               UPPER_LIP_OUTER)

    g = np.linspace(8, size - 8, 8)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    away = grid[(np.abs(grid[:, 0] - 64) > 34) | (np.abs(grid[:, 1] - 70) > 22)]
    points = away[np.arange(478) % len(away)]  # every other point away from the mouth
    points[78], points[308] = (40, 70), (88, 70)  # the inner corners
    points[61], points[291] = (37, 70), (91, 70)  # the outer corners
    xs = np.linspace(44, 84, len(UPPER_LIP_INNER))
    for rows, y in ((UPPER_LIP_OUTER, 58), (UPPER_LIP_INNER, 64), (LOWER_LIP_INNER, 76),
                    (LOWER_LIP_OUTER, 82)):
        points[list(rows)] = np.stack([xs, np.full_like(xs, y)], 1)
    image = np.full((size, size, 3), (200, 160, 140), np.uint8)
    image[58:64, 40:89] = (170, 60, 70)
    image[76:82, 40:89] = (170, 60, 70)
    image[64:76, 44:85] = 250
    return image, points


def test_mouth_closing_brings_the_lips_together_and_moves_nothing_else():
    from facedit.faces import LOWER_LIP_INNER, UPPER_LIP_INNER
    from facedit.morph import LIPS_MEET, UPPER_SHARE, mouth_closing

    _, points = _open_mouth()
    shift = mouth_closing(points)
    moved = points + shift
    gap = moved[list(LOWER_LIP_INNER), 1] - moved[list(UPPER_LIP_INNER), 1]
    np.testing.assert_allclose(gap, 12 * (1 - LIPS_MEET), atol=1e-4)
    # The jaw does most of the closing: the lower lip moves further than the upper.
    np.testing.assert_allclose(shift[list(UPPER_LIP_INNER), 1], 12 * LIPS_MEET * UPPER_SHARE,
                               atol=1e-4)
    assert UPPER_SHARE < 0.5
    lips = np.abs(shift).sum(1) > 0
    assert lips.sum() == 40 and not shift[~lips].any()  # four rings of 9, four corners


def test_close_mouth_covers_the_teeth_with_lip():
    from facedit.morph import close_mouth, displacement_field, mouth_closing

    image, points = _open_mouth()
    shift = mouth_closing(points)
    field = displacement_field(points, points + shift, image.shape[0])
    teeth = (image[..., 1] > 240).sum()
    closed = close_mouth(image, points, field, shift)
    warped_only = close_mouth(image, points, field, shift, fill=0.0)
    assert (closed[..., 1] > 240).sum() < 0.05 * teeth
    assert (warped_only[..., 1] > 240).sum() < 0.5 * teeth, "the warp alone squeezes the teeth"
    # The lips meet: the middle row between them is lip-red, not white.
    assert closed[70, 50:80, 1].mean() < 150
    assert np.array_equal(close_mouth(image, points, 0 * field, 0 * shift, fill=0.0), image)


def test_mouth_closing_brings_a_smiles_upturned_corners_down():
    from facedit.faces import LOWER_LIP_INNER, UPPER_LIP_INNER
    from facedit.morph import FLATTEN, LIPS_MEET, MOUTH_CORNERS, UPPER_SHARE, mouth_closing

    _, points = _open_mouth()
    curve = (np.linspace(-1, 1, len(UPPER_LIP_INNER)) ** 2) * 6  # the ends 6 px above the middle
    for rows in (UPPER_LIP_INNER, LOWER_LIP_INNER):
        points[list(rows), 1] -= curve
    for inner, outer in MOUTH_CORNERS:
        points[[inner, outer], 1] -= 6
    moved = points + mouth_closing(points)
    meet = (moved[list(UPPER_LIP_INNER), 1] + moved[list(LOWER_LIP_INNER), 1]) / 2
    lift = meet[len(meet) // 2] - meet  # how far each column's meeting point sits above the middle
    np.testing.assert_allclose(lift, (1 - FLATTEN) * curve, atol=1e-4)
    assert lift[0] <= 0.6 * curve[0], "the closed lips' line is flatter than the smile's"
    middle = points[13, 1] + UPPER_SHARE * LIPS_MEET * (points[14, 1] - points[13, 1])
    for inner, outer in MOUTH_CORNERS:  # the corners come down towards the middle's line
        assert moved[inner, 1] - points[inner, 1] == pytest.approx(
            FLATTEN * (middle - points[inner, 1]), abs=1e-4)
        assert moved[inner, 1] > points[inner, 1]


def test_closed_lips_meet_in_a_soft_shadow_and_no_teeth_leak_into_them():
    from facedit.morph import close_mouth, displacement_field, mouth_closing

    image, points = _open_mouth()
    shift = mouth_closing(points)
    field = displacement_field(points, points + shift, image.shape[0])
    closed = close_mouth(image, points, field, shift).astype(float)
    moved = points + shift
    line = int(round(float((moved[13, 1] + moved[14, 1]) / 2)))  # where the middle column meets
    meet = closed[line - 1:line + 2, 52:76].mean()
    lips = closed[[line - 4, line - 3, line + 3, line + 4], 52:76].mean()
    assert meet < 0.9 * lips, "where the lips meet is darker than the lips"
    # Nothing of the white teeth shows anywhere around the closed mouth.
    assert closed[56:86, 44:85, 1].max() < 200


def test_morph_favours_the_crop_that_saw_a_region_less_foreshortened():
    a = np.full((64, 64, 3), 40, np.uint8)
    b = np.full((64, 64, 3), 200, np.uint8)
    pts = _grid_points()
    squeezed = pts.copy()
    squeezed[:, 0] = 32 + 0.5 * (pts[:, 0] - 32)  # b saw the middle at half the width
    plain = morph_frame(a, pts, b, squeezed, 0.5, detail_power=0)
    weighted = morph_frame(a, pts, b, squeezed, 0.5)
    middle = (slice(28, 36), slice(28, 36))
    assert abs(float(plain[middle].mean()) - 120) < 1
    assert float(weighted[middle].mean()) < 60, "the stretched view should give way"
    # Ends stay exact.
    assert np.array_equal(morph_frame(a, pts, b, squeezed, 0.0), a)
    assert np.array_equal(morph_frame(a, pts, b, squeezed, 1.0), b)


def test_source_area_of_a_uniform_stretch():
    from facedit.morph import source_area

    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    field = np.stack([0.5 * xx - xx, np.zeros_like(yy)], -1)  # reads at x / 2: a 2x stretch
    np.testing.assert_allclose(source_area(field), 0.5, atol=1e-5)


def test_harmonic_fill_keeps_known_cells_and_averages_the_rest():
    from facedit.morph import _harmonic_fill

    values = np.full((12, 12, 2), np.nan)
    values[5:7, 5:7] = (3.0, -2.0)
    filled = _harmonic_fill(values)
    np.testing.assert_allclose(filled[5:7, 5:7], np.broadcast_to((3.0, -2.0), (2, 2, 2)))
    assert not np.isnan(filled).any()
    assert np.all(filled[0] == 0) and np.all(filled[:, -1] == 0)
    neighbours = (filled[:-2, 1:-1] + filled[2:, 1:-1] + filled[1:-1, :-2] + filled[1:-1, 2:]) / 4
    unknown = np.isnan(values[1:-1, 1:-1])
    np.testing.assert_allclose(filled[1:-1, 1:-1][unknown], neighbours[unknown], atol=1e-9)


def test_smooth_outside_field_moves_the_face_and_fades_to_the_border():
    pts = _grid_points()
    field = displacement_field(pts, pts + (6.0, -4.0), 64, smooth_outside=True)
    np.testing.assert_allclose(field[30:34, 30:34], np.broadcast_to((-6.0, 4.0), (4, 4, 2)),
                               atol=1e-4)
    assert np.abs(field[0]).max() < 1e-6 and np.abs(field[:, -1]).max() < 1e-6
    # It fades evenly: along a row from the face to the border, the move never grows.
    row = np.abs(field[32, 48:, 0])
    assert np.all(np.diff(row) <= 1e-4)


def test_mirror_morph_gives_each_half_of_the_background_to_one_crop():
    a = np.zeros((64, 64, 3), np.uint8)
    a[:, :32] = 40  # what lies left of the face in a (hair, an ear), and right of it in b
    a[:, 32:] = 200
    b = np.ascontiguousarray(a[:, ::-1])
    pts = _grid_points()  # a frontal face in the middle: the same landmarks in both crops
    plain = morph_frame(a, pts, b, pts, 0.5)
    halves = morph_frame(a, pts, b, pts, 0.5, mirror=True)
    edge = (slice(20, 44), slice(0, 4))
    other_edge = (slice(20, 44), slice(60, 64))
    assert abs(float(plain[edge].mean()) - 120) < 1, "a plain mix doubles the two backgrounds"
    assert {round(float(halves[edge].mean())), round(float(halves[other_edge].mean()))} == {200}
    # b's half changes early and a's late; the ends stay exact.
    early = morph_frame(a, pts, b, pts, 0.25, mirror=True)
    assert float(early[edge].mean()) > 100 and float(early[other_edge].mean()) > 199
    assert np.array_equal(morph_frame(a, pts, b, pts, 0.0, mirror=True), a)
    assert np.array_equal(morph_frame(a, pts, b, pts, 1.0, mirror=True), b)


def _loose_mouth():
    """`_open_mouth` with the inner-lip landmarks fitted loosely, 3 px inside the opening (as
    the face mesh fits a wide smile): the teeth show above and below them."""
    from facedit.faces import LOWER_LIP_INNER, UPPER_LIP_INNER

    image, points = _open_mouth()
    points[list(UPPER_LIP_INNER), 1] += 3
    points[list(LOWER_LIP_INNER), 1] -= 3
    return image, points


def test_teeth_mask_finds_the_teeth_outside_a_loose_inner_lip_ring():
    from facedit.morph import teeth_mask

    image, points = _loose_mouth()
    teeth = teeth_mask(image, points)
    white = np.zeros(teeth.shape, bool)
    white[64:76, 44:85] = True
    assert teeth[white].mean() > 0.95, "the teeth above and below the ring are found"
    assert not teeth[:, :39].any() and not teeth[:, 90:].any(), "not past the inner corners"
    assert not teeth[:58].any() and not teeth[83:].any()
    assert teeth[58:64, 46:84].mean() < 0.05 and teeth[76:82, 46:84].mean() < 0.05, \
        "red lips are not teeth"


def test_fit_inner_lips_moves_the_inner_edges_out_to_the_teeth_and_no_further():
    from facedit.faces import LOWER_LIP_INNER, LOWER_LIP_OUTER, UPPER_LIP_INNER, UPPER_LIP_OUTER
    from facedit.morph import fit_inner_lips, teeth_mask

    image, points = _loose_mouth()
    fitted = fit_inner_lips(points, teeth_mask(image, points))
    np.testing.assert_allclose(fitted[list(UPPER_LIP_INNER), 1], 64, atol=1)
    np.testing.assert_allclose(fitted[list(LOWER_LIP_INNER), 1], 76, atol=1)
    assert (fitted[list(UPPER_LIP_INNER), 1] > points[list(UPPER_LIP_OUTER), 1]).all()
    assert (fitted[list(LOWER_LIP_INNER), 1] < points[list(LOWER_LIP_OUTER), 1]).all()
    untouched = np.ones(len(points), bool)
    untouched[list(UPPER_LIP_INNER) + list(LOWER_LIP_INNER)] = False
    assert np.array_equal(fitted[untouched], points[untouched])
    # A closed mouth (no teeth) keeps its landmarks.
    none = np.zeros(image.shape[:2], bool)
    assert np.array_equal(fit_inner_lips(points, none), points)


def test_mouth_closing_carries_the_mesh_points_between_the_lip_rings():
    from facedit.faces import LOWER_LIP_INNER, UPPER_LIP_INNER
    from facedit.morph import mouth_closing

    _, points = _open_mouth()
    upper_point, lower_point = 62, 96  # two mesh points not on the four rings
    points[upper_point], points[lower_point] = (64, 61), (64, 79)  # on the upper / lower lip
    shift = mouth_closing(points)
    # Half way between the middle column's inner (13, 14) and outer (0, 17) edges.
    np.testing.assert_allclose(shift[upper_point], (shift[13] + shift[0]) / 2, atol=1e-4)
    np.testing.assert_allclose(shift[lower_point], (shift[14] + shift[17]) / 2, atol=1e-4)
    assert shift[upper_point, 1] > 0 > shift[lower_point, 1]
    assert upper_point not in UPPER_LIP_INNER and lower_point not in LOWER_LIP_INNER


def test_closing_field_stays_sharp_where_the_lips_meet():
    from facedit.morph import closing_field, mouth_closing

    _, points = _open_mouth()
    shift = mouth_closing(points)
    field = closing_field(points, shift, 128)
    moved = points + shift
    line = float((moved[13, 1] + moved[14, 1]) / 2)
    above, below = int(np.floor(line)) - 1, int(np.ceil(line)) + 1
    # Two pixels apart, one reads the upper lip (up), the other the lower lip (down).
    assert field[above, 64, 1] < -0.8 * shift[13, 1]
    assert field[below, 64, 1] > 0.8 * -shift[14, 1]


def test_close_mouth_covers_teeth_that_show_outside_a_loose_inner_ring():
    from facedit.morph import close_mouth, closing_field, fit_inner_lips, mouth_closing, teeth_mask

    image, loose = _loose_mouth()
    teeth = teeth_mask(image, loose)
    points = fit_inner_lips(loose, teeth)
    shift = mouth_closing(points)
    closed = close_mouth(image, points, closing_field(points, shift, 128), shift, teeth=teeth)
    assert closed[56:86, 44:85, 1].max() < 200, "no white teeth left"


def _closed_mouth(size=128):
    """`_open_mouth` with the lips together (no teeth): the upper lip 58-70, the lower 70-82,
    their inner edges on one line at y 70, the left of each lip lit pale (lighter and less
    red than the other half, still darker than the skin)."""
    from facedit.faces import LOWER_LIP_INNER, UPPER_LIP_INNER

    image, points = _open_mouth(size)
    points[list(UPPER_LIP_INNER), 1] = 70
    points[list(LOWER_LIP_INNER), 1] = 70
    image[58:82, 40:89] = (170, 60, 70)
    image[58:82, 40:60] = (190, 140, 135)  # pale lips, the lesser part
    return image, points


def test_a_closed_mouths_pale_lips_are_not_taken_for_teeth():
    from facedit.morph import fit_inner_lips, mouth_opening, teeth_mask

    image, points = _closed_mouth()
    assert mouth_opening(points) == 0
    teeth = teeth_mask(image, points)
    assert teeth[58:69].sum() == 0 and teeth[72:82].sum() == 0, "only the closed ring's line"
    np.testing.assert_allclose(fit_inner_lips(points, teeth), points, atol=1)  # the line's pixel
    # Teeth lighter than the skin are found even where the mesh closed the ring over them (it
    # does on some small, blurry open smiles).
    image[64:76, 44:85] = 250
    teeth = teeth_mask(image, points)
    assert teeth[65:75, 46:83].mean() > 0.95


def test_lips_closed_already_get_no_extra_shadow():
    from facedit.morph import close_mouth, closing_field, mouth_closing

    image, points = _closed_mouth()
    shift = mouth_closing(points)
    closed = close_mouth(image, points, closing_field(points, shift, 128), shift)
    # The lips' line stays as light as the lips (no seam drawn on a mouth closed already).
    line = closed[69:72, 66:86].astype(float).mean()
    assert line > 0.95 * image[69:72, 66:86].astype(float).mean()

"""facedit.faces: detection, the 478-point mesh and its 5- and 68-point subsets, and detection
rates on the shared data sets (skipped when ../shared/data is absent)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from facedit.errors import NoFaceError, ShapeError
from facedit.faces import EYE_LEFT_RING, EYE_RIGHT_RING, Keypoint
from facedit.io import load_image

MIN_DETECTION_RATE = 0.98
SAMPLE = 200


def test_astronaut_has_one_confident_face(astronaut, detector, astronaut_face):
    faces = detector.detect(astronaut)
    assert len(faces) == 1
    assert astronaut_face.score > 0.8
    assert astronaut_face.mesh.shape == (478, 3) and astronaut_face.mesh.dtype == np.float32
    x0, y0, x1, y1 = astronaut_face.box
    # Her face is in the upper middle of the photo, about 100 px wide.
    assert 150 < x0 < x1 < 300 and 40 < y0 < y1 < 200 and 80 < x1 - x0 < 130


def test_points5_are_eye_ring_means_nose_and_mouth(astronaut_face):
    p = astronaut_face.points5
    xy = astronaut_face.mesh[:, :2]
    assert p.shape == (5, 2)
    np.testing.assert_allclose(p[Keypoint.EYE_LEFT], xy[list(EYE_LEFT_RING)].mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(p[Keypoint.EYE_RIGHT], xy[list(EYE_RIGHT_RING)].mean(axis=0),
                               atol=1e-4)
    # Image-left eye first; eyes above the nose tip, which is above the mouth corners.
    assert p[Keypoint.EYE_LEFT, 0] < p[Keypoint.NOSE, 0] < p[Keypoint.EYE_RIGHT, 0]
    assert p[Keypoint.MOUTH_LEFT, 0] < p[Keypoint.MOUTH_RIGHT, 0]
    assert max(p[:2, 1]) < p[Keypoint.NOSE, 1] < min(p[3:, 1])


def test_points68_follow_the_ibug_layout(astronaut_face):
    p = astronaut_face.points68
    assert p.shape == (68, 2) and p.dtype == np.float32
    jaw, brows, eyes, mouth = p[0:17], p[17:27], p[36:48], p[48:60]
    assert np.all(np.diff(jaw[:9, 1]) > -1)  # the jaw runs down from the left temple to the chin
    assert jaw[8, 1] == jaw[:, 1].max()  # point 8 is the chin
    assert brows[:, 1].max() < eyes[:, 1].min()
    assert eyes[:, 1].max() < mouth[:, 1].min()
    # Each eye's six points surround that eye's centre from points5.
    for ring, centre in ((p[36:42], astronaut_face.points5[0]), (p[42:48], astronaut_face.points5[1])):
        assert ring[:, 0].min() < centre[0] < ring[:, 0].max()
        assert ring[:, 1].min() < centre[1] < ring[:, 1].max()


def test_two_faces_side_by_side_largest_first(astronaut, detector):
    small = cv2.resize(astronaut, (341, 341), interpolation=cv2.INTER_AREA)
    canvas = np.full((512, 512 + 341, 3), 255, np.uint8)
    canvas[:341, :341] = small  # the smaller face on the left, so order is not left-to-right
    canvas[:, 341:] = astronaut
    faces = detector.detect(canvas, all_faces=True)
    assert len(faces) == 2
    assert faces[0].area > 1.5 * faces[1].area
    assert faces[0].points5[:, 0].min() > 341 > faces[1].points5[:, 0].max()
    assert len(detector.detect(canvas, all_faces=False)) == 1


@pytest.mark.parametrize("image", [np.full((256, 256, 3), 128, np.uint8), data.coffee()],
                         ids=["gray", "coffee"])
def test_no_face_gives_empty_list_and_clear_error(detector, image):
    assert detector.detect(image) == []
    with pytest.raises(NoFaceError, match="cup.png: no face found"):
        detector.largest(image, "cup.png")


def test_detect_refuses_a_non_rgb_uint8_array(detector, astronaut):
    with pytest.raises(ShapeError, match="expected dtype uint8, got float32"):
        detector.detect(astronaut.astype(np.float32))
    with pytest.raises(ShapeError, match=r"expected shape \(H, W, 3\)"):
        detector.detect(astronaut[:, :, 0])


def test_transformed_maps_points_and_box(astronaut_face):
    matrix = np.array([[2.0, 0.0, 10.0], [0.0, 2.0, -5.0]])
    moved = astronaut_face.transformed(matrix)
    np.testing.assert_allclose(moved.mesh[:, :2], astronaut_face.mesh[:, :2] * 2 + [10, -5],
                               rtol=1e-5)
    np.testing.assert_allclose(moved.mesh[:, 2], astronaut_face.mesh[:, 2] * 2, rtol=1e-5)
    np.testing.assert_allclose(moved.area, astronaut_face.area * 4, rtol=1e-5)


# -- detection rate on the shared data (../shared/data) -------------------------------------------

def _detection_rate(detector, files) -> tuple[float, list[str]]:
    missed = [f.name for f in files if not detector.detect(load_image(f), all_faces=False)]
    return 1 - len(missed) / len(files), missed


@pytest.mark.shared_data
@pytest.mark.parametrize("folder, step", [("celeba/wild", 80), ("lfw", 5)])
def test_detection_rate_on_shared_data(shared_data, detector, folder, step):
    files = sorted((shared_data / folder).glob("*.jpg"))[::step][:SAMPLE]
    if len(files) < SAMPLE:
        pytest.skip(f"{shared_data / folder}: {len(files)} images, need {SAMPLE}")
    rate, missed = _detection_rate(detector, files)
    print(f"\ndetection rate {folder}: {rate:.1%} of {len(files)} (missed: {missed})")
    assert rate >= MIN_DETECTION_RATE, f"{folder}: {rate:.1%} detected; missed {missed}"

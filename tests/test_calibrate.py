"""The rule shared by the editor's search and the server's sliders."""
import numpy as np
import pytest

from facedit.calibrate import walk


def test_walk_interpolates_inside_the_first_bracket_that_reaches_the_target():
    steps = np.array([0.0, 1.0, 2.0, 3.0])
    assert walk(steps, [0.2, 0.4, 0.8, 0.9], 0.6) == (pytest.approx(1.5), 2)
    # Not monotonic: the first crossing wins, not the best one.
    assert walk(steps, [0.2, 0.7, 0.1, 0.9], 0.6) == (pytest.approx(0.8), 1)


def test_walk_goes_down_as_well_as_up_and_along_negative_steps():
    assert walk([0.0, -1.0, -2.0], [0.8, 0.5, 0.1], 0.3) == (pytest.approx(-1.5), 2)


def test_walk_reports_out_of_reach_and_already_there():
    assert walk([0.0, 1.0, 2.0], [0.2, 0.3, 0.4], 0.9) == (2.0, None)
    assert walk([0.5, 1.0], [0.6, 0.9], 0.6004) == (0.5, 0)


def test_walk_refuses_mismatched_paths():
    with pytest.raises(ValueError, match="equal"):
        walk([0.0, 1.0], [0.1], 0.5)


def test_out_of_reach_takes_the_nearest_reading_never_one_that_moved_away():
    # A removal whose readings rise (the model's 'no glasses' face reads as more glasses): no edit.
    assert walk([0.0, -1.0, -2.0, -3.0], [0.14, 0.16, 0.2, 0.27], 0.05) == (0.0, None)
    # A path that first nears the target and then turns away stops at its nearest point.
    assert walk([0.0, 1.0, 2.0, 3.0], [0.2, 0.6, 0.7, 0.5], 0.95) == (2.0, None)

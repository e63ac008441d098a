"""GIF and grid output: the documented frame counts, sizes and errors, read back from the files."""
import imageio.v3 as iio
import numpy as np
import pytest

from facedit.animate import save_gif, save_grid
from facedit.errors import ConfigError


def _frames(n: int, size: int = 16) -> list[np.ndarray]:
    """Flat grey frames, all different, so the GIF palette holds them exactly."""
    return [np.full((size, size + 4, 3), 20 * i, np.uint8) for i in range(n)]


@pytest.mark.parametrize("n, bounce, greys", [
    (5, True, [0, 20, 40, 60, 80, 60, 40, 20]),  # forth and back: 2n - 2, no repeated ends
    (5, False, [0, 20, 40, 60, 80]),
    (2, True, [0, 20]),  # two frames already loop without a jump
    (1, True, [0]),
])
def test_save_gif_frame_count_and_order(tmp_path, n, bounce, greys):
    path = save_gif(tmp_path / "a.gif", _frames(n), fps=10, bounce=bounce)
    frames = iio.imread(path, index=None)
    assert frames.shape == (len(greys), 16, 20, 3)
    assert frames[:, 0, 0, 0].tolist() == greys
    meta = iio.immeta(path, index=0)
    assert meta["loop"] == 0 and meta["duration"] == 100


def test_save_gif_refuses_no_frames(tmp_path):
    with pytest.raises(ConfigError, match="at least one frame"):
        save_gif(tmp_path / "a.gif", [])
    assert not (tmp_path / "a.gif").exists()


def test_save_gif_of_identical_frames_holds_one_frame(tmp_path):
    # The GIF writer merges repeated frames: a sweep of an edit that changed nothing is a still.
    path = save_gif(tmp_path / "still.gif", [np.zeros((8, 8, 3), np.uint8)] * 4)
    assert iio.imread(path, index=None).shape == (1, 8, 8, 3)


@pytest.mark.parametrize("n, columns, cell, shape", [
    (5, None, 40, (44, 5 * 42 + 2)),  # one row by default, 2 px gaps and border
    (5, 2, 40, (3 * 42 + 2, 2 * 42 + 2)),
    (3, None, None, (20, 3 * 18 + 2)),  # cell defaults to the first frame's height
])
def test_save_grid_size(tmp_path, n, columns, cell, shape):
    frames = _frames(n)
    path = save_grid(tmp_path / "grid.png", frames, columns=columns, cell=cell)
    image = iio.imread(path)
    assert image.shape == (*shape, 3)
    side = cell or 16
    # The second cell holds the second frame (grey 20), letterboxed in white.
    centre = image[2 + side // 2, 2 + (side + 2) + side // 2]
    assert centre.tolist() == [20, 20, 20]

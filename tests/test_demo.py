"""facedit.demo: the pictures `make demo` writes, and the warm tint it pastes back."""
from __future__ import annotations

import numpy as np
import pytest

from facedit.demo import main, run_demo, warm_tint
from facedit.errors import ShapeError
from facedit.io import load_image


def test_demo_writes_the_four_pictures(tmp_path, detector, astronaut):
    outputs = run_demo(tmp_path, detector)
    photo, crop = load_image(outputs.photo), load_image(outputs.crop)
    overlay, pasted = load_image(outputs.overlay), load_image(outputs.pasted)
    np.testing.assert_array_equal(photo, astronaut)
    assert crop.shape == (256, 256, 3)
    assert overlay.shape == pasted.shape == astronaut.shape
    changed = np.any(pasted != astronaut, axis=2)
    ys, xs = np.nonzero(changed)
    # The tint landed on her face (upper middle of the photo) and nowhere else.
    assert 2000 < changed.sum() < 20000
    assert 150 < xs.min() and xs.max() < 300 and 50 < ys.min() and ys.max() < 200
    assert (pasted[changed, 0].astype(int) - astronaut[changed, 0]).mean() > 5  # warmer


def test_demo_main_prints_the_paths(tmp_path, capsys):
    assert main(["--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[-1] for p in printed] == [
        "astronaut.png", "astronaut_crop.png", "astronaut_overlay.png", "astronaut_pasted.png",
        "astronaut_smile.png", "astronaut_less_smile.png", "astronaut_glasses_on.png",
        "astronaut_glasses_off.png", "astronaut_mirror.gif", "astronaut_grid.png"]
    assert all((tmp_path / p.rsplit("/", 1)[-1]).is_file() for p in printed)
    photo = load_image(tmp_path / "astronaut.png")
    # She already smiles and wears no glasses: those tasks leave the photo as it is; the others
    # change it, and only inside her head.
    for name in ("smile", "glasses_off"):
        np.testing.assert_array_equal(load_image(tmp_path / f"astronaut_{name}.png"), photo)
    for name in ("less_smile", "glasses_on"):
        changed = np.any(load_image(tmp_path / f"astronaut_{name}.png") != photo, axis=2)
        ys, xs = np.nonzero(changed)
        assert changed.sum() > 500 and 120 < xs.min() and xs.max() < 330 and ys.max() < 260


def test_warm_tint_follows_the_weight():
    crop = np.full((4, 4, 3), 100, np.uint8)
    weight = np.zeros((4, 4), np.float32)
    weight[0, 0], weight[0, 1] = 1.0, 0.5
    tinted = warm_tint(crop, weight, shift=(20, 0, -10))
    np.testing.assert_array_equal(tinted[0, 0], [120, 100, 90])
    np.testing.assert_array_equal(tinted[0, 1], [110, 100, 95])
    np.testing.assert_array_equal(tinted[1:], crop[1:])
    with pytest.raises(ShapeError, match=r"weight: expected shape \(4, 4\), got \(3, 3\)"):
        warm_tint(crop, np.zeros((3, 3)))

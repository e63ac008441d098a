"""The `facedit` command line: bad input is one line on stderr and exit status 2, never a traceback;
`facedit align DIR` aligns what it can, lists the rest, and resumes."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data

from facedit.align import template_points
from facedit.cli import main
from facedit.io import load_image, save_image


def _invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def _assert_one_line_error(result, expected_in_message: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("facedit: error: ") and expected_in_message in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize("name", ["empty", "text", "truncated", "bomb", "tiny", "no_face"])
def test_landmarks_on_a_bad_file_is_one_line_and_exit_2(bad_files, name):
    path, _ = bad_files[name]
    _assert_one_line_error(_invoke("landmarks", path), str(path))


def test_align_on_a_bad_single_file_is_one_line_and_exit_2(bad_files, tmp_path):
    path, _ = bad_files["truncated"]
    _assert_one_line_error(_invoke("align", path, "-o", tmp_path / "out"), "cannot decode")


def test_real_entry_point_prints_no_traceback(bad_files):
    path, _ = bad_files["text"]
    run = subprocess.run([sys.executable, "-m", "facedit", "landmarks", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip() == f"facedit: error: {path}: not an image file (or a format facedit " \
                                 f"does not read: use JPEG, PNG, WebP, BMP or TIFF)"
    assert run.stdout == ""


@pytest.fixture
def mixed_folder(tmp_path, astronaut):
    folder = tmp_path / "photos"
    save_image(folder / "astronaut.jpg", astronaut)
    save_image(folder / "coffee.png", data.coffee())
    (folder / "broken.jpg").write_bytes((folder / "astronaut.jpg").read_bytes()[:3000])
    return folder


def test_align_folder_aligns_good_lists_bad_and_resumes(mixed_folder, tmp_path, detector):
    out = tmp_path / "aligned"
    result = _invoke("align", mixed_folder, "-o", out)
    assert result.exit_code == 0, result.output
    assert "aligned 1 face(s) from 3 image(s)" in result.stdout

    crop = load_image(out / "astronaut.png")
    assert crop.shape == (256, 256, 3)
    np.testing.assert_allclose(detector.largest(crop).points5[:2], template_points(256), atol=2.0)
    assert sorted(p.name for p in out.iterdir()) == ["align_report.json", "astronaut.png"]

    report = json.loads((out / "align_report.json").read_text())
    assert (report["images"], report["aligned"], report["kept"]) == (3, 1, 0)
    reasons = {entry["file"]: entry["reason"] for entry in report["skipped"]}
    assert set(reasons) == {str(mixed_folder / "broken.jpg"), str(mixed_folder / "coffee.png")}
    assert "no face found" in reasons[str(mixed_folder / "coffee.png")]
    assert "cannot" in reasons[str(mixed_folder / "broken.jpg")]

    # A second run keeps the finished crop untouched and tries the failures again.
    stamp = (out / "astronaut.png").stat().st_mtime_ns
    again = _invoke("align", mixed_folder, "-o", out)
    assert again.exit_code == 0, again.output
    assert (out / "astronaut.png").stat().st_mtime_ns == stamp
    report = json.loads((out / "align_report.json").read_text())
    assert (report["aligned"], report["kept"], len(report["skipped"])) == (0, 1, 2)


def test_landmarks_prints_points_and_writes_overlay(tmp_path, astronaut, astronaut_face):
    photo = save_image(tmp_path / "astronaut.png", astronaut)
    overlay = tmp_path / "overlay.png"
    result = _invoke("landmarks", photo, "--overlay", overlay, "--no-segment")
    assert result.exit_code == 0, result.output
    faces = json.loads(result.stdout)
    assert len(faces) == 1
    np.testing.assert_allclose(faces[0]["points5"], astronaut_face.points5, atol=0.06)
    drawn = load_image(overlay)
    assert drawn.shape == astronaut.shape and (drawn != astronaut).any()


def test_version():
    result = _invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("facedit, version ")


def test_decoder_only_training_without_a_model_to_start_from_is_a_usage_error(tmp_path):
    result = _invoke("train", "model", "--run", tmp_path / "run", "--decoder-only")
    assert result.exit_code == 2 and "--decoder-only fine-tunes a trained model" in result.output


def test_arithmetic_term_needs_a_decoder_only_run_and_known_attributes(tmp_path):
    result = _invoke("train", "model", "--run", tmp_path / "run", "--arithmetic-weight", "0.1")
    assert result.exit_code == 2 and "give --decoder-only" in result.output
    result = _invoke("train", "model", "--run", tmp_path / "run", "--init", "builtin",
                     "--decoder-only", "--arithmetic-weight", "0.1",
                     "--arithmetic-attributes", "Smiling,Grin")
    assert result.exit_code == 2 and "not CelebA attributes: Grin" in result.output
    assert not (tmp_path / "run").exists()  # refused before anything was written
    assert not (tmp_path / "run").exists()

"""The pipeline's rules without models: competition file names (good and bad), the required
outputs of every characteristic combination (24 / 25), the gate's decisions, the post-processing
weights, and `pipeline check` / `pipeline zip` on hand-made result folders."""
from __future__ import annotations

import itertools
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from facedit.cli import main
from facedit.errors import ConfigError
from facedit.pipeline import gate
from facedit.pipeline.check import check_output, zip_output
from facedit.pipeline.names import (FIELDS, ImageCode, expected_count, parse_image_name,
                                    required_outputs, split_names)
from facedit.pipeline.regions import border_fade, foreground_weight
from facedit.translations import parse_translation_name

# -- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, bald", [
    ("0_0_0_0_0_0_0_0_0.png", False), ("2_2_1_1_1_1_3_1_1.jpg", False),
    ("1_0_1_0_1_0_4_1_2.png", True), ("1_0_1_0_1_0_4_1_0", True),
])
def test_good_image_names(name, bald):
    code = parse_image_name(name)
    assert code.bald is bald and code.name == name.split(".")[0]


@pytest.mark.parametrize("name, message", [
    ("holiday.png", "1 fields"),
    ("0_0_0_0_0_0_0_0.png", "8 fields"),
    ("0_0_0_0_0_0_0_0_0_0.png", "10 fields"),
    ("3_0_0_0_0_0_0_0_0.png", "Sk = '3'"),
    ("0_0_2_0_0_0_0_0_0.png", "Se = '2'"),
    ("0_0_0_0_0_0_5_0_0.png", "Hc = '5'"),
    ("0_0_0_0_0_0_1_0_2.png", "Hs = 2 (no hair) needs Hc = 4"),
    ("0_0_0_x_0_0_0_0_0.png", "C = 'x'"),
    ("0_0_0_0_0_0_0_0_-1.png", "Hs = '-1'"),
])
def test_bad_image_names_say_why(name, message):
    with pytest.raises(ConfigError) as info:
        parse_image_name(name)
    assert message in str(info.value) and "Sk_A_Se_C_P_B_Hc_D_Hs" in str(info.value)


def test_split_names_lists_bad_names_and_stem_clashes(tmp_path):
    paths = [tmp_path / n for n in ("0_0_0_0_0_0_0_0_0.png", "notes.png", "1_1_1_1_1_1_1_1_1.png",
                                    "1_1_1_1_1_1_1_1_1.jpg", "0_0_0_0_0_0_0_0_2.png")]
    good, bad = split_names(paths)
    assert [p.name for p, _ in good] == ["0_0_0_0_0_0_0_0_0.png"]
    assert sorted(b["file"] for b in bad) == ["0_0_0_0_0_0_0_0_2.png", "1_1_1_1_1_1_1_1_1.jpg",
                                              "1_1_1_1_1_1_1_1_1.png", "notes.png"]
    assert all(b["reason"] for b in bad)


# -- required outputs ---------------------------------------------------------------------------

def _all_codes():
    for values in itertools.product(range(3), range(3), range(2), range(2), range(2), range(2),
                                    range(5), range(2), range(3)):
        code = dict(zip(FIELDS, values))
        if code["Hs"] == 2 and code["Hc"] != 4:
            continue
        yield ImageCode(**code)


CURSOR_FILES = {f"{c}_{e}" for c in ("Be", "N", "Pn", "Bp", "Bn", "Ch") for e in ("min", "max")}


def _expected(code: ImageCode) -> set[str]:
    out = set(CURSOR_FILES)
    for c, values in (("Sk", 3), ("A", 3), ("Se", 2), ("B", 2), ("D", 2)):
        out |= {f"{c}_{v}" for v in range(values) if v != getattr(code, c)}
    if code.Hc == 4:
        out |= {f"Hc_{v}" for v in range(4)} | {"Hs_0", "Hs_1"}
    else:
        out |= {f"Hc_{v}" for v in range(4) if v != code.Hc}
        out |= {f"Hs_{v}" for v in range(2) if v != code.Hs} | {"bald"}
    return out


def test_required_outputs_for_every_combination():
    codes = list(_all_codes())
    assert len(codes) == 3 * 3 * 2 * 2 * 2 * 2 * 2 * (4 * 2 + 3)
    for code in codes:
        names = [v.name for v in required_outputs(code)]
        assert len(names) == len(set(names)) == expected_count(code) == (25 if code.bald else 24)
        assert set(names) == _expected(code), code
        for v in required_outputs(code):
            assert parse_translation_name(v.name).kind in ("cursor", "default")
            assert 0.0 < v.target < 1.0


def test_required_outputs_examples():
    assert [v.name for v in required_outputs(parse_image_name("1_2_0_0_0_1_2_0_1"))] == [
        "Sk_0", "Sk_2", "A_0", "A_1", "Se_1", "B_0", "D_1", "Be_min", "Be_max", "N_min",
        "N_max", "Pn_min", "Pn_max", "Bp_min", "Bp_max", "Bn_min", "Bn_max", "Ch_min", "Ch_max",
        "Hc_0", "Hc_1", "Hc_3", "Hs_0", "bald"]
    bald = {v.name: v for v in required_outputs(parse_image_name("0_0_1_0_0_0_4_0_2"))}
    assert {"Hc_0", "Hc_1", "Hc_2", "Hc_3", "Hs_0", "Hs_1"} <= set(bald) and "bald" not in bald
    assert (bald["Hc_1"].attribute, bald["Hc_1"].target) == ("blond_hair", 0.9)
    assert (bald["Be_min"].attribute, bald["Be_min"].target) == ("bags_under_eyes", 0.05)


# -- gate and weights ---------------------------------------------------------------------------

@pytest.mark.parametrize("reading, target, ok", [
    (0.51, 0.9, True), (0.49, 0.95, False), (0.49, 0.05, True), (0.5, 0.02, False),
    (0.45, 0.3, True), (0.55, 0.3, False), (0.69, 0.5, True), (0.29, 0.5, False),
])
def test_gate_meets_target(reading, target, ok):
    assert gate.meets_target(reading, target, tolerance=0.2) is ok


def test_retries_go_stronger_when_short_and_weaker_past_an_intermediate_target():
    assert gate.next_multiplier(1.0, 0.4, 0.9, 0.1, 1.5) == 1.5  # short of "present"
    assert gate.next_multiplier(1.5, 0.6, 0.05, 0.7, 1.5) == 2.25  # short of "absent"
    assert gate.next_multiplier(1.0, 0.05, 0.3, 0.9, 2.0) == 0.5  # went past 0.3
    assert gate.next_multiplier(1.0, 0.6, 0.3, 0.9, 2.0) == 2.0  # not there yet


def test_identity_drift_ignores_the_edit_direction():
    before = np.zeros(4)
    offset = np.array([1.0, 0, 0, 0])
    assert gate.identity_drift(before, 5 * offset, offset) == 0.0
    assert gate.identity_drift(before, np.array([3.0, 2, 0, 0]), offset) == pytest.approx(1.0)


def test_background_psnr():
    a = np.zeros((8, 8, 3), np.uint8)
    b = a.copy()
    b[0, 0] = 10
    bg = np.zeros((8, 8), bool)
    assert gate.background_psnr(a, b, bg) is None
    bg[:, :4] = True
    expected = 10 * np.log10(255 ** 2 / (300 / (32 * 3)))
    assert gate.background_psnr(a, b, bg) == pytest.approx(expected)
    bg[:] = False
    bg[:, 4:] = True
    assert gate.background_psnr(a, b, bg) is None  # the change is not in the background


def test_foreground_weight_is_zero_on_every_background_pixel():
    person = np.zeros((40, 40), np.float32)
    person[10:30, 10:30] = 0.9
    w = foreground_weight(person, 0.5, margin=4)
    assert (w[person <= 0.5] == 0).all() and w[20, 20] == 1.0 and 0 < w[11, 20] < 1
    assert (foreground_weight(np.ones((5, 5)), 0.5, 4) == 1).all()
    fade = border_fade(32, 4)
    assert fade[0].max() == 0 and fade[16, 16] == 1


# -- check and zip ------------------------------------------------------------------------------

def _png(path, size=64, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (size, size)).save(path, format="PNG")


def _valid_folder(root, size=64):
    for name in ("0_0_0_0_0_0_0_0_0", "1_0_1_0_1_0_4_1_2"):
        for v in required_outputs(parse_image_name(name)):
            _png(root / name / f"{v.name}.png", size)
    (root / "report.json").write_text("{}")
    (root / ".records").mkdir()
    return root


def test_check_accepts_a_valid_folder(tmp_path):
    root = _valid_folder(tmp_path / "out")
    result = check_output(root, size=64)
    assert result.ok and result.images == 2 and result.outputs == 49 and not result.lines()
    assert not check_output(root, size=512).ok  # the competition's size is 512


def test_check_lists_missing_extra_and_bad(tmp_path):
    root = _valid_folder(tmp_path / "out")
    (root / "0_0_0_0_0_0_0_0_0" / "Hc_1.png").unlink()
    _png(root / "0_0_0_0_0_0_0_0_0" / "Hc_0.png")  # an extra variation (its own colour)
    _png(root / "1_0_1_0_1_0_4_1_2" / "bald.png")  # bald inputs have no `bald` output
    _png(root / "1_0_1_0_1_0_4_1_2" / "Sk_0.png", size=32)
    _png(root / "1_0_1_0_1_0_4_1_2" / "Sk_2.png", mode="L")
    (root / "1_0_1_0_1_0_4_1_2" / "A_1.png").write_bytes(b"not a png")
    Image.new("RGB", (64, 64)).save(root / "1_0_1_0_1_0_4_1_2" / "A_2.png", format="JPEG")
    (root / "notes.txt").write_text("x")
    (root / "holiday").mkdir()
    result = check_output(root, size=64, data_dir=None)
    assert not result.ok
    assert result.missing == ["0_0_0_0_0_0_0_0_0/Hc_1.png"]
    assert set(result.extra) == {"notes.txt", "holiday/", "0_0_0_0_0_0_0_0_0/Hc_0.png",
                                 "1_0_1_0_1_0_4_1_2/bald.png"}
    bad = dict(result.bad)
    assert "expected 64x64, got 32x32" in bad["1_0_1_0_1_0_4_1_2/Sk_0.png"]
    assert "expected RGB, got L" in bad["1_0_1_0_1_0_4_1_2/Sk_2.png"]
    assert "unreadable" in bad["1_0_1_0_1_0_4_1_2/A_1.png"]
    assert "expected PNG, got JPEG" in bad["1_0_1_0_1_0_4_1_2/A_2.png"]


def test_check_with_data_dir_finds_missing_folders(tmp_path):
    root = _valid_folder(tmp_path / "out")
    data = tmp_path / "data"
    for name in ("0_0_0_0_0_0_0_0_0", "2_2_1_0_0_1_3_1_1", "1_0_1_0_1_0_4_1_2"):
        _png(data / f"{name}.png")
    result = check_output(root, data, size=64)
    assert result.missing == ["2_2_1_0_0_1_3_1_1/"] and not result.ok


def test_check_and_zip_commands(tmp_path):
    root = _valid_folder(tmp_path / "out")
    runner = CliRunner()
    ok = runner.invoke(main, ["pipeline", "check", str(root), "--size", "64"])
    assert ok.exit_code == 0 and "valid: 2 image folder(s), 49 good output(s)" in ok.output
    archive = runner.invoke(main, ["pipeline", "zip", str(root), "--size", "64"])
    assert archive.exit_code == 0, archive.output
    path = tmp_path / "out.zip"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert len(names) == 49 and "1_0_1_0_1_0_4_1_2/Hs_1.png" in names
    assert not any(n.startswith(".") or "report" in n for n in names)
    again = zip_output(root, tmp_path / "again.zip", size=64)
    assert again.read_bytes() == path.read_bytes()  # deterministic archive

    (root / "0_0_0_0_0_0_0_0_0" / "Sk_1.png").unlink()
    bad = runner.invoke(main, ["pipeline", "check", str(root), "--size", "64"])
    assert bad.exit_code == 2 and "missing: 0_0_0_0_0_0_0_0_0/Sk_1.png" in bad.output
    refused = runner.invoke(main, ["pipeline", "zip", str(root), "--size", "64"])
    assert refused.exit_code == 2 and "not a valid submission" in refused.output
    forced = runner.invoke(main, ["pipeline", "zip", str(root), "--size", "64", "--force"])
    assert forced.exit_code == 0


def test_hidden_files_are_not_inputs(tmp_path):
    paths = [tmp_path / "0_0_0_0_0_0_0_0_0.png", tmp_path / ".0_0_0_0_0_0_0_0_1.png.0a1b.part.png"]
    good, bad = split_names(paths)
    assert len(good) == 1 and bad == []

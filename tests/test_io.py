"""facedit.io: every image enters as upright (H, W, 3) uint8 RGB, bad files fail with one clear
ImageError, and saves never leave a partial file."""
from __future__ import annotations

import io
import os
import stat

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio as psnr

from facedit.align import align, template_points
from facedit.errors import ImageError
from facedit.io import atomic_output, list_images, load_image, save_image

EXIF_ORIENTATION = 0x0112


def _encode(image, fmt: str, **params) -> bytes:
    pil = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buffer = io.BytesIO()
    pil.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _variant(astronaut: np.ndarray, kind: str) -> tuple[bytes, np.ndarray, float]:
    """The astronaut encoded as `kind`: (file bytes, the RGB it must load as, PSNR floor in dB)."""
    if kind == "grayscale":
        gray = np.asarray(Image.fromarray(astronaut).convert("L"))
        return _encode(gray, "PNG"), np.repeat(gray[:, :, None], 3, axis=2), np.inf
    if kind == "cmyk":
        return _encode(Image.fromarray(astronaut).convert("CMYK"), "JPEG", quality=95), astronaut, 35
    if kind == "rgba":
        rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
        return _encode(rgba, "PNG"), astronaut, np.inf
    if kind == "gray16":
        gray = np.asarray(Image.fromarray(astronaut).convert("L"))
        wide = Image.fromarray(gray.astype(np.uint16) * 257)  # 8-bit v -> 16-bit v * 257
        return _encode(wide, "PNG"), np.repeat(gray[:, :, None], 3, axis=2), np.inf
    if kind == "rgb16":
        ok, png = cv2.imencode(".png", cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR).astype(np.uint16)
                               * 257)
        assert ok
        return png.tobytes(), astronaut, np.inf
    raise KeyError(kind)


VARIANTS = ("grayscale", "cmyk", "rgba", "gray16", "rgb16")


# -- bad files ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["empty", "text", "truncated", "bomb", "tiny"])
def test_bad_file_raises_one_line_image_error_naming_it(bad_files, name):
    path, _ = bad_files[name]
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message


def test_bomb_is_refused_from_its_header(bad_files):
    with pytest.raises(ImageError, match=r"20000x20000 is 400 megapixels, over the limit"):
        load_image(bad_files["bomb"][0])


def test_tiny_image_error_says_the_minimum(bad_files):
    with pytest.raises(ImageError, match=r"8x8 is too small.*at least 32"):
        load_image(bad_files["tiny"][0])


@pytest.mark.parametrize("source, match", [
    (b"", "empty"),
    (b"GIF89a but not really", "not an image"),
    (np.zeros((64, 64, 2), np.uint8), r"expected an array of shape"),
    (np.full((64, 64), np.nan, np.float32), "NaN"),
])
def test_bad_in_memory_source(source, match):
    with pytest.raises(ImageError, match=match):
        load_image(source)


def test_missing_file_and_folder_are_refused(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "absent.jpg")
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path)


# -- colour modes, bit depths, orientation --------------------------------------------------------

@pytest.mark.parametrize("kind", VARIANTS)
def test_variant_loads_as_rgb_uint8_with_right_values(astronaut, kind):
    encoded, expected, floor = _variant(astronaut, kind)
    image = load_image(encoded)
    assert image.shape == astronaut.shape and image.dtype == np.uint8
    if np.isinf(floor):
        np.testing.assert_array_equal(image, expected)
    else:
        assert psnr(expected, image) >= floor


@pytest.mark.parametrize("kind", VARIANTS)
def test_variant_is_still_detected_and_aligned(astronaut, astronaut_face, detector, kind):
    image = load_image(_variant(astronaut, kind)[0])
    face = detector.largest(image, kind)
    assert np.abs(face.points5 - astronaut_face.points5).max() < 2.0
    aligned = align(image, face, 256)
    np.testing.assert_allclose(aligned.face.points5[:2], template_points(256), atol=2.0)


def test_alpha_is_composited_on_white():
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :20, 3] = 255  # left half opaque red-ish, right half fully transparent
    rgba[:, 20:, 3] = 0
    image = load_image(_encode(rgba, "PNG"))
    np.testing.assert_array_equal(image[:, :20], np.broadcast_to([200, 0, 0], (40, 20, 3)))
    np.testing.assert_array_equal(image[:, 20:], np.full((40, 20, 3), 255))


def test_dark_16_bit_values_are_not_mistaken_for_8_bit():
    """A 16-bit PNG is scaled by 65535 even when all its values happen to be small."""
    gray = np.full((40, 40), 200, np.uint16)  # 200 / 65535 of full scale: nearly black
    assert load_image(_encode(Image.fromarray(gray), "PNG"))[0, 0, 0] == 1
    assert load_image(gray)[0, 0, 0] == 1


def test_exif_rotated_jpeg_comes_out_upright_and_aligns(astronaut, detector):
    # Stored rotated 90 degrees counter-clockwise; orientation 6 says "rotate 90 clockwise to view".
    stored = np.ascontiguousarray(np.rot90(astronaut, k=1))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    image = load_image(_encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert image.shape == astronaut.shape
    assert psnr(astronaut, image) >= 35  # equal up to JPEG loss
    aligned = align(image, detector.largest(image), 256)
    np.testing.assert_allclose(aligned.face.points5[:2], template_points(256), atol=2.0)


# -- saving ---------------------------------------------------------------------------------------

def test_save_and_load_png_round_trip(tmp_path, astronaut):
    path = save_image(tmp_path / "a.png", astronaut)
    np.testing.assert_array_equal(load_image(path), astronaut)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_saved_file_gets_the_ordinary_permissions(tmp_path, astronaut):
    old = os.umask(0o022)
    try:
        path = save_image(tmp_path / "shared.png", astronaut)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not the 0o600 of a temporary file


def test_atomic_output_leaves_nothing_when_the_writer_raises(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text('{"half": ')
            raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_the_old_file_whole(tmp_path, astronaut, monkeypatch):
    target = save_image(tmp_path / "photo.png", astronaut)
    before = target.read_bytes()

    def half_written(self, fp, *args, **kwargs):
        with open(fp, "wb") as handle:
            handle.write(b"\x89PNG\r\n\x1a\n partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(Image.Image, "save", half_written)
    with pytest.raises(OSError, match="No space left"):
        save_image(target, np.zeros((64, 64, 3), np.uint8))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["photo.png"]


def test_save_with_unknown_suffix_is_refused(tmp_path, astronaut):
    with pytest.raises(ImageError, match="unknown image suffix"):
        save_image(tmp_path / "photo.xyz", astronaut)
    assert list(tmp_path.iterdir()) == []


def test_list_images_keeps_image_files_sorted(tmp_path):
    for name in ("b.jpg", "A.PNG", "c.jpeg", "d.webp", "notes.txt", "e.tiff",
                 ".b.jpg.1a2b.part.jpg"):  # the last: left by a killed atomic write
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.jpg").mkdir()  # a folder named like an image is not an image
    assert [p.name for p in list_images(tmp_path)] == ["A.PNG", "b.jpg", "c.jpeg", "d.webp",
                                                        "e.tiff"]
    with pytest.raises(ImageError, match="not a folder"):
        list_images(tmp_path / "b.jpg")

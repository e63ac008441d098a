"""Reading and writing images: every photo enters facedit as an (H, W, 3) uint8 RGB array.

`load_image` accepts a path, raw bytes or an array; applies the EXIF orientation; converts grayscale,
palette, CMYK, alpha and 16-bit images to 8-bit RGB; and refuses decompression bombs and images too
small to hold a face. `save_image` and `atomic_output` never leave a partial file behind: they write
to a temporary file beside the target and rename it into place.
"""
from __future__ import annotations

import contextlib
import io as _io
import os
import secrets
from pathlib import Path
from typing import Iterator, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from facedit.errors import ImageError, ImageTooLargeError

ImageSource = Union[str, os.PathLike, bytes, bytearray, np.ndarray, Image.Image]

MAX_PIXELS = 64_000_000  # larger images are refused (decompression bombs)
MIN_SIDE = 32  # smaller images cannot hold a face worth editing
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
_SAVE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP",
                 ".tif": "TIFF", ".tiff": "TIFF", ".gif": "GIF"}


def load_image(source: ImageSource, *, max_pixels: int = MAX_PIXELS,
               min_side: int = MIN_SIDE) -> np.ndarray:
    """Load an image as RGB.

    Args:
        source: a file path, the encoded bytes of a file, a PIL image, or an array of shape
            (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) of dtype uint8 or uint16 (16-bit scale), or
            float (taken as [0, 1] when its maximum is at most 1, else as 0..255).
        max_pixels: images with more pixels than this are refused before they are decoded.
        min_side: images whose shorter side is below this are refused.

    Returns:
        (H, W, 3) uint8 array, RGB, upright (EXIF orientation applied).

    Raises:
        ImageError: the source is missing, unreadable, not an image, truncated, too large or too
            small. The message names the source.
    """
    label = _label(source)
    if isinstance(source, np.ndarray):
        image = _array_to_rgb(source, label)
    else:
        pil = _open(source, label)
        _check_size(pil.size, label, max_pixels, min_side)
        try:
            pil.load()
            pil = ImageOps.exif_transpose(pil)
        except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
            raise ImageError(f"{label}: cannot decode the image ({exc})") from None
        image = _pil_to_rgb(pil, label)
    _check_size((image.shape[1], image.shape[0]), label, max_pixels, min_side)
    return image


def _label(source: ImageSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    if isinstance(source, np.ndarray):
        return f"<array {tuple(source.shape)} {source.dtype}>"
    return f"<{type(source).__name__}>"


def _open(source: ImageSource, label: str) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageError(f"{label}: the data is empty")
        stream = _io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise ImageError(f"{label}: no such file")
        if not path.is_file():
            raise ImageError(f"{label}: not a file")
        if path.stat().st_size == 0:
            raise ImageError(f"{label}: the file is empty")
        stream = _io.BytesIO(path.read_bytes())
    else:
        raise ImageError(f"{label}: expected a path, bytes, a PIL image or an array")
    try:
        # The pixel limit is checked by us on the header; silence PIL's own bomb check here.
        with _bomb_check_disabled():
            return Image.open(stream)
    except UnidentifiedImageError:
        raise ImageError(f"{label}: not an image file (or a format facedit does not read: "
                         f"use JPEG, PNG, WebP, BMP or TIFF)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{label}: cannot read the image ({exc})") from None


@contextlib.contextmanager
def _bomb_check_disabled() -> Iterator[None]:
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _check_size(size: tuple[int, int], label: str, max_pixels: int, min_side: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageTooLargeError(f"{label}: {width}x{height} is {width * height / 1e6:.0f} megapixels, "
                         f"over the limit of {max_pixels / 1e6:.0f}; downscale it first")
    if min(width, height) < min_side:
        raise ImageError(f"{label}: {width}x{height} is too small; each side must be at least "
                         f"{min_side} pixels")


def _pil_to_rgb(pil: Image.Image, label: str) -> np.ndarray:
    if pil.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _array_to_rgb(np.asarray(pil), label)
    if pil.mode in ("RGBA", "LA", "PA") or (pil.mode == "P" and "transparency" in pil.info):
        return _array_to_rgb(np.asarray(pil.convert("RGBA")), label)
    return np.ascontiguousarray(np.asarray(pil.convert("RGB"), dtype=np.uint8))


def _array_to_rgb(array: np.ndarray, label: str) -> np.ndarray:
    """(H, W[, C]) uint8/uint16/int32/float array -> (H, W, 3) uint8; alpha composited on white."""
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ImageError(f"{label}: expected an array of shape (H, W), (H, W, 3) or (H, W, 4), "
                         f"got {tuple(a.shape)}")
    a = _to_unit_float(a, label) if a.dtype != np.uint8 else a
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.shape[2] == 4:
        rgb = a[:, :, :3].astype(np.float32)
        alpha = a[:, :, 3:].astype(np.float32) / (255.0 if a.dtype == np.uint8 else 1.0)
        white = 255.0 if a.dtype == np.uint8 else 1.0
        a = rgb * alpha + white * (1.0 - alpha)
    if a.dtype != np.uint8:
        scale = 1.0 if np.issubdtype(a.dtype, np.floating) and a.max(initial=0) > 1.0 else 255.0
        a = np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


def _to_unit_float(a: np.ndarray, label: str) -> np.ndarray:
    """Integer arrays of more than 8 bits and float arrays -> float32 in [0, 1]."""
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageError(f"{label}: the array holds NaN or infinite values")
        return np.clip(a.astype(np.float32), 0.0, 1.0) if a.max(initial=0) <= 1.0 else \
            np.clip(a.astype(np.float32) / 255.0, 0.0, 1.0)
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        if a.dtype == bool:
            top = 1.0
        elif a.dtype == np.uint16:
            top = 65535.0  # the dtype says 16 bits, even when every value is small (a dark image)
        else:  # wider integers (PIL's "I" mode) carry no depth: guess it from the values
            top = 65535.0 if a.max(initial=0) > 255 else 255.0
        return a.astype(np.float32) / top
    raise ImageError(f"{label}: unsupported dtype {a.dtype}")


def encode_image(image: np.ndarray, fmt: str = "PNG", quality: int = 95) -> bytes:
    """Encode an (H, W, 3) uint8 RGB array as PNG, JPEG or WebP bytes."""
    buffer = _io.BytesIO()
    params = {"quality": quality} if fmt.upper() in ("JPEG", "WEBP") else {}
    Image.fromarray(image).save(buffer, format=fmt.upper(), **params)
    return buffer.getvalue()


@contextlib.contextmanager
def atomic_output(path: Union[str, os.PathLike]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, else delete it.

    A reader never sees a partial file: either the old file, or the new complete one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _new_file_beside(target)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _new_file_beside(target: Path) -> Path:
    """A new empty hidden file next to `target`, with the mode an ordinary new file gets (0o666
    less the umask): mkstemp's 0o600 would leave every output readable by its owner only."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part{target.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:  # a name clash with another writer: draw a new name
            continue


def save_image(path: Union[str, os.PathLike], image: np.ndarray, quality: int = 95) -> Path:
    """Write an (H, W, 3) uint8 RGB array atomically; the format follows the suffix."""
    target = Path(path)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and
                                                               image.shape[2] not in (3, 4)):
        raise ImageError(f"{target}: can only save (H, W), (H, W, 3) or (H, W, 4) uint8 arrays, "
                         f"got {image.shape} {image.dtype}")
    fmt = _SAVE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ImageError(f"{target}: unknown image suffix {target.suffix!r}; use one of "
                         f"{', '.join(sorted(_SAVE_FORMATS))}")
    with atomic_output(target) as tmp:
        params = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
        Image.fromarray(image).save(tmp, format=fmt, **params)
    return target


def list_images(folder: Union[str, os.PathLike]) -> list[Path]:
    """The image files directly in `folder` (by suffix, hidden files skipped), sorted by name."""
    root = Path(folder)
    if not root.is_dir():
        raise ImageError(f"{root}: not a folder")
    # Hidden files are skipped: among them the `.NAME.part` files a killed atomic write leaves.
    return sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in IMAGE_SUFFIXES)

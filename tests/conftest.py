"""Shared fixtures: the public-domain astronaut, one detector for the session, a folder of broken
and unusual image files, and the location of ../shared/data (tests that need it skip without it)."""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from facedit.align import align
from facedit.errors import ImageError, NoFaceError
from facedit.faces import FaceDetector
from helpers import encode

SHARED_DATA = Path(os.environ.get("FACEDIT_SHARED_DATA")
                   or Path(__file__).resolve().parents[1].parent / "shared" / "data")


@pytest.fixture(scope="module")
def one_thread():
    """torch on one thread for a module's tests (tiny models need no parallelism, and the
    machine's two cores are often busy elsewhere); restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """(512, 512, 3) uint8 RGB, public domain; read-only so no test can spoil it for the others."""
    image = data.astronaut()
    image.setflags(write=False)
    return image


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="session")
def astronaut_face(astronaut, detector):
    return detector.largest(astronaut, "astronaut")


@pytest.fixture(scope="session")
def astronaut_aligned(astronaut, astronaut_face):
    return align(astronaut, astronaut_face, 256)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The root of ../shared/data (or $FACEDIT_SHARED_DATA); the test is skipped when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set FACEDIT_SHARED_DATA)")
    return SHARED_DATA


def _png_with_header_size(width: int, height: int) -> bytes:
    """A real small PNG whose IHDR claims `width` x `height` (CRC recomputed): a decompression
    bomb as far as the header goes."""
    png = bytearray(encode(np.zeros((8, 8, 3), np.uint8), "PNG"))
    start = png.index(b"IHDR")
    png[start + 4:start + 12] = struct.pack(">II", width, height)
    png[start + 17:start + 21] = struct.pack(">I", zlib.crc32(bytes(png[start:start + 17])))
    return bytes(png)


# name -> (file name, expected error type); the bytes are made by `_bad_bytes`.
BAD_FILES = {
    "empty": ("empty.jpg", ImageError),
    "text": ("notes.jpg", ImageError),
    "truncated": ("truncated.jpg", ImageError),
    "bomb": ("bomb.png", ImageError),
    "tiny": ("tiny.png", ImageError),
    "no_face": ("coffee.png", NoFaceError),
}


def _bad_bytes(name: str, astronaut: np.ndarray) -> bytes:
    if name == "empty":
        return b""
    if name == "text":
        return b"This is a shopping list, not a photograph.\n"
    if name == "truncated":
        jpeg = encode(astronaut, "JPEG", quality=90)
        return jpeg[:len(jpeg) // 2]
    if name == "bomb":
        return _png_with_header_size(20000, 20000)
    if name == "tiny":
        return encode(cv2.resize(astronaut, (8, 8), interpolation=cv2.INTER_AREA), "PNG")
    if name == "no_face":
        return encode(data.coffee(), "PNG")
    raise KeyError(name)


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory, astronaut) -> dict[str, tuple[Path, type]]:
    """name -> (path, expected error) for files that must be refused with a clear error."""
    folder = tmp_path_factory.mktemp("bad")
    files = {}
    for name, (file_name, error) in BAD_FILES.items():
        path = folder / file_name
        path.write_bytes(_bad_bytes(name, astronaut))
        files[name] = (path, error)
    return files

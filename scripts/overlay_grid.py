"""A grid of shared-data photos with their landmarks and region masks drawn on, to check by eye.

    python scripts/overlay_grid.py [--data ../shared/data] [--out outputs/overlay_grid.png]

Takes evenly spaced photos from CelebA wild crops, LFW and UTKFace (16 by default), finds every
face, darkens the background found by person segmentation, and draws the mesh, the 68 and 5 points
and the region outlines (`facedit.draw.draw_overlay`). The photos are small (89-250 px), so each is
upscaled to the cell size before drawing; faces are found on the original pixels. The grid shows
dataset images: write it to a git-ignored folder (outputs/) and never commit it.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np

from facedit.draw import draw_overlay, grid
from facedit.errors import FaceditError
from facedit.faces import FaceDetector
from facedit.io import load_image, save_image
from facedit.segmentation import PersonSegmenter

SETS = ("celeba/wild", "lfw", "utkface")
DEFAULT_DATA = Path(os.environ.get("FACEDIT_SHARED_DATA")
                    or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def sample_files(root: Path, count: int) -> list[Path]:
    """`count` photos spread over the sets, evenly spaced through each set's sorted file list."""
    per_set = [count // len(SETS) + (i < count % len(SETS)) for i in range(len(SETS))]
    chosen = []
    for name, n in zip(SETS, per_set):
        files = sorted((root / name).glob("*.jpg"))
        if not files:
            raise FaceditError(f"{root / name}: no .jpg files; is --data the shared data folder?")
        step = len(files) / n
        chosen += [files[int(i * step + step / 2)] for i in range(n)]
    return chosen


def overlay_one(path: Path, detector: FaceDetector, segmenter: PersonSegmenter,
                side: int) -> tuple[np.ndarray, str]:
    """The photo upscaled to `side` with its faces drawn on, and a label for the tile."""
    photo = load_image(path)
    faces = detector.detect(photo, all_faces=True)
    person = segmenter(photo)
    scale = side / max(photo.shape[:2])
    size = (round(photo.shape[1] * scale), round(photo.shape[0] * scale))
    big = cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC)
    big_person = cv2.resize(person, size, interpolation=cv2.INTER_LINEAR)
    to_big = np.array([[scale, 0, (scale - 1) / 2], [0, scale, (scale - 1) / 2]])
    drawn = draw_overlay(big, [f.transformed(to_big) for f in faces], person=big_person)
    scores = ",".join(f"{f.score:.2f}" for f in faces) or "no face"
    return drawn, f"{path.parent.name}/{path.stem[:10]} {scores}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=Path("outputs/overlay_grid.png"))
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--side", type=int, default=320, help="cell size in pixels")
    args = parser.parse_args(argv)

    # 1. choose the photos
    files = sample_files(args.data, args.count)
    # 2. draw each
    detector, segmenter = FaceDetector(), PersonSegmenter()
    tiles, labels = zip(*(overlay_one(path, detector, segmenter, args.side) for path in files))
    # 3. write the grid
    save_image(args.out, grid(list(tiles), columns=4, labels=list(labels), cell=args.side))
    print(args.out)


if __name__ == "__main__":
    main()

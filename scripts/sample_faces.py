"""Faces sampled from the built-in model, for the README (pictures of the model's own faces may be
committed; pictures of dataset faces may not).

    python scripts/sample_faces.py --out docs/model_samples.png [--count 16] [--seed 0]
    python scripts/sample_faces.py --edits --count 4 --out docs/sampled_edits.png

With --edits, each sampled face (decoded at 128 px, upscaled to a 384 px "photo") goes through
the demo's edits (facedit.demo.demo_edits): one row per face that the detector finds.

Codes are drawn from a Gaussian over the model's principal axes (the `pca_*` directions, each with
the training codes' standard deviation) around the training codes' mean, then decoded.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from facedit.animate import save_grid
from facedit.directions import DirectionSet
from facedit.models import WEIGHTS
from facedit.models.backend import load_backend


def sample_codes(directions: DirectionSet, count: int, seed: int) -> np.ndarray:
    mean = np.asarray(directions.info["latent_mean"], np.float32)
    axes = [n for n in directions.names if n.startswith("pca_")]
    rng = np.random.default_rng(seed)
    z = np.repeat(mean[None], count, axis=0)
    for name in axes:
        z += rng.normal(size=(count, 1)).astype(np.float32) * \
            np.float32(directions.meta[name]["scale"]) * directions[name][None]
    return z


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/model_samples.png"))
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--edits", action="store_true", help="Edit each sampled face.")
    args = parser.parse_args()
    model = load_backend("builtin")
    directions = DirectionSet.load(WEIGHTS / "vae" / "directions")
    faces = model.decode(sample_codes(directions, args.count, args.seed))
    tiles = [np.clip(np.rint(f), 0, 255).astype(np.uint8) for f in faces]
    if not args.edits:
        print(save_grid(args.out, tiles, columns=8))
        return
    from facedit.demo import demo_edits
    from facedit.edit import Editor
    from facedit.errors import NoFaceError

    editor = Editor.load()
    rows, labels = [], []
    for k, tile in enumerate(tiles):
        photo = cv2.resize(tile, (384, 384), interpolation=cv2.INTER_CUBIC)
        try:
            _, row, row_labels, _ = demo_edits(editor, photo, f"sample {k}")
        except NoFaceError:
            print(f"sample {k}: no face found, skipped")
            continue
        rows += row
        labels += row_labels
    print(save_grid(args.out, rows, columns=len(row_labels), labels=labels))


if __name__ == "__main__":
    main()

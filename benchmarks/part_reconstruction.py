"""A part's box as the whole-face model and as the part model reconstruct it (facedit.parts).

    .venv/bin/python benchmarks/part_reconstruction.py [--cache cache/prepared-128] [--n 500]
        [--part src/facedit/weights/mouth] [--face builtin] [--grid outputs/part_recon.png]
        [--out benchmarks/results_part_reconstruction.json]

--part takes any part model's folder (an eyes model: `facedit train model --part eyes --export
FOLDER`); give it its own --out.

The first N CelebA crops of the prepared test split (people never seen in training), the part's
box of each: of the photo, of the face model's reconstruction of the whole crop, and of the part
model's reconstruction of the box. Per model: mean PSNR and SSIM against the photo's box, and
sharpness (the variance of the Laplacian over the photos', 1.0 = as sharp as the photos). The
grid (rows: photo, face model, part model) goes to a git-ignored folder: dataset faces never
enter the repository.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from compare_reconstruction import reconstruct, sharpness


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("cache/prepared-128"))
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--part", type=Path, default=None,
                    help="part model folder [default: the shipped mouth]")
    ap.add_argument("--face", default="builtin", help="face model spec")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--grid", type=Path, default=Path("outputs/part_reconstruction.png"))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results_part_reconstruction.json"))
    args = ap.parse_args()

    import torch

    from facedit.data.dataset import PreparedSet
    from facedit.data.sources import CELEBA_CROPS
    from facedit.draw import grid
    from facedit.io import save_image
    from facedit.models import WEIGHTS
    from facedit.models.backend import load_backend
    from facedit.parts import load_part_backend
    from facedit.train.export import reconstruction_scores

    torch.set_num_threads(args.threads)
    test = PreparedSet.load(args.cache, "test").from_sources(CELEBA_CROPS)
    images = np.asarray(test.images[:args.n])
    part_folder = args.part or WEIGHTS / "mouth"
    part = load_part_backend(part_folder)
    photos = part.part.cut(images)
    t0 = time.perf_counter()
    face = part.part.cut(reconstruct(load_backend(args.face), images))
    t1 = time.perf_counter()
    ours = reconstruct(part, images)
    t2 = time.perf_counter()
    base = sharpness(photos)
    results = {}
    for name, rec, seconds in (("face model", face, t1 - t0), ("part model", ours, t2 - t1)):
        results[name] = {**reconstruction_scores(rec, photos),
                         "sharpness": round(sharpness(rec) / base, 4),
                         "ms_per_face": round(1000 * seconds / len(images), 2)}
    report = {"command": "python benchmarks/part_reconstruction.py " +
                         " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                                  if v is not None),
              "faces": len(images), "box": list(part.part.box), "part_model": str(part_folder),
              "face_model": args.face, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    k = min(10, len(images))
    save_image(args.grid, grid([*photos[:k], *face[:k], *ours[:k]], columns=k, cell=128))
    print(json.dumps(results, indent=1))
    print(f"grid: {args.grid}")


if __name__ == "__main__":
    main()

"""Reconstruction of held-out faces by several models, side by side in one run (issue 3).

    .venv/bin/python benchmarks/compare_reconstruction.py [--cache cache/prepared-128] [--n 500]
        [--model NAME=SPEC ...] [--out benchmarks/results_reconstruction.json]

Each model (a backend spec, see facedit.models.backend: `builtin`, `builtin:FOLDER`,
`deepest-vae:FILE`) encodes and decodes the same first N CelebA crops of the prepared test split
(people never seen in training). Measured per model: mean PSNR and SSIM, and sharpness: the
variance of the Laplacian of the reconstructions over that of the originals (1.0 = as sharp as the
photos; a blurry model scores well below); and attribute agreement: the share of the judge's 40
decisions (facedit's shipped classifier) that are the same on the reconstruction as on the photo
(what an edit in the latent space can build on: an attribute the reconstruction loses cannot be
edited); and the fixed pattern: the RMS (0-255 levels) of the mean, over all the faces, of the
fine detail (high-pass) of reconstruction minus photo. Errors that depend on the face average
out; a texture the decoder paints at the same place on every face (a grid) does not. Its map
goes to outputs/ beside the faces grid. The astronaut's reconstructions go to
docs/reconstruction_astronaut.png; a grid of test faces goes to outputs/ (git-ignored: dataset
faces never enter the repository).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch


def sharpness(images: np.ndarray) -> float:
    """Mean variance of the Laplacian of the grey (N, S, S, 3) uint8 images."""
    return float(np.mean([cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
                          for im in images]))


def fixed_pattern_map(rec: np.ndarray, images: np.ndarray) -> np.ndarray:
    """The mean over faces of the fine detail (`facedit.train.vae.high_pass`, the training's
    fixed-pattern term's) of the grey error rec - images, (S, S) grey levels: what the decoder
    gets wrong the same way on every face."""
    from facedit.train.vae import high_pass

    err = rec.astype(np.float32).mean(axis=3) - images.astype(np.float32).mean(axis=3)
    return high_pass(torch.from_numpy(err)[:, None]).mean(dim=0)[0].numpy()


def reconstruct(backend, images: np.ndarray, batch: int = 50) -> np.ndarray:
    out = [backend.decode(backend.encode(np.ascontiguousarray(images[i:i + batch])))
           for i in range(0, len(images), batch)]
    return np.clip(np.rint(np.concatenate(out)), 0, 255).astype(np.uint8)


def attribute_agreement(judge, rec: np.ndarray, images: np.ndarray, batch: int = 250) -> float:
    """Mean share of the judge's decisions (probability >= 0.5) equal on `rec` and `images`."""
    same = [(judge.score(rec[i:i + batch])[0] >= 0.5) == (judge.score(images[i:i + batch])[0] >= 0.5)
            for i in range(0, len(images), batch)]
    return float(np.concatenate(same).mean())


def measure(backend, images: np.ndarray, judge) -> tuple[dict, np.ndarray]:
    from facedit.train.export import reconstruction_scores

    start = time.perf_counter()
    rec = reconstruct(backend, images)
    seconds = time.perf_counter() - start
    scores = reconstruction_scores(rec, images)  # as the model cards measure them
    return {"psnr_db": round(scores["psnr_db"], 2), "ssim": round(scores["ssim"], 4),
            "sharpness_vs_photos": round(sharpness(rec) / sharpness(images), 3),
            "attribute_agreement": round(attribute_agreement(judge, rec, images), 4),
            "fixed_pattern_rms": round(float(np.sqrt(np.mean(
                fixed_pattern_map(rec, images) ** 2))), 3),
            "ms_per_face": round(1000 * seconds / len(images), 1)}, rec


def card_facts(spec: str) -> dict:
    """Training facts from the model's card, when it has one."""
    _, _, path = spec.partition(":")
    from facedit.models import WEIGHTS

    for card in ([WEIGHTS / "vae" / "model_card.json"] if not path else
                 [Path(path) / "model_card.json", Path(path + ".json")]):
        if card.is_file():
            c = json.loads(card.read_text())
            train = c.get("training", c)
            return {k: train[k] for k in ("steps", "seconds", "epochs_completed")
                    if k in train}
    return {}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=Path("cache/prepared-128"))
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--model", action="append", default=[],
                   help="NAME=SPEC, e.g. kit=deepest-vae:runs/cmp_kit/kit_vae.pt")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results_reconstruction.json"))
    p.add_argument("--astronaut-grid", type=Path, default=Path("docs/reconstruction_astronaut.png"))
    p.add_argument("--faces-grid", type=Path, default=Path("outputs/reconstruction_faces.png"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from skimage.data import astronaut

    from facedit.align import detect_and_align
    from facedit.animate import save_grid
    from facedit.data.dataset import PreparedSet
    from facedit.data.sources import CELEBA_CROPS
    from facedit.faces import FaceDetector
    from facedit.judge import Judge
    from facedit.models.backend import load_backend

    test = PreparedSet.load(args.cache, "test").from_sources(CELEBA_CROPS)
    images = np.ascontiguousarray(test.images[:args.n])
    face = detect_and_align(astronaut(), FaceDetector(), 128, False, "astronaut")[0].crop
    models = dict(m.split("=", 1) for m in args.model) or {"facedit": "builtin"}
    judge = Judge()
    results, astro_row, faces_rows, patterns = {}, [face], [images[:8]], []
    for name, spec in models.items():
        backend = load_backend(spec)
        metrics, rec = measure(backend, images, judge)
        results[name] = {"spec": spec, **metrics, **card_facts(spec)}
        print(name, results[name], flush=True)
        astro_row.append(reconstruct(backend, face[None])[0])
        faces_rows.append(rec[:8])
        patterns.append(np.clip(128 + 8 * fixed_pattern_map(rec, images), 0, 255).astype(np.uint8))
    labels = ["photo"] + list(models)
    pattern_grid = args.faces_grid.with_name(args.faces_grid.stem + "_fixed_pattern.png")
    save_grid(pattern_grid, [np.repeat(m[:, :, None], 3, 2) for m in patterns],
              labels=list(models), cell=256)
    save_grid(args.astronaut_grid, astro_row, labels=labels, cell=192)
    frames = [im for k in range(8) for im in (row[k] for row in faces_rows)]
    save_grid(args.faces_grid, frames, columns=len(faces_rows), cell=128,
              labels=labels * 8)
    report = {"command": "python benchmarks/compare_reconstruction.py " + " ".join(
                  f"--model {m}" for m in args.model) + f" --n {args.n}",
              "split": "prepared test split, CelebA crops (people never seen in training)",
              "faces": len(images), "models": results}
    args.out.write_text(json.dumps(report, indent=1))
    print(f"results: {args.out}; grids: {args.astronaut_grid}, {args.faces_grid}, "
          f"{pattern_grid}")


if __name__ == "__main__":
    main()

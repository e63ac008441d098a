"""How light the skin behind a pair of glasses is against the cheeks, on real photos and on the
model's decodings: the evidence for eyeglasses removal's `facedit.eyewear.LENS_LEVEL`.

For CelebA *val* photos with and without eyeglasses (their labels): the mean luma of the skin
the fitted lenses cover, eyes left out, over the cheeks' (`facedit.eyewear.lens_and_cheeks`), in

* the real crop;
* the model's decoding of it (`base`), and of its code at the removal's bound (step -3);
* for the photos with glasses, the shipped removal's output (calibrated to the judge's 0.05).

Real faces without glasses show where a removal should bring the lenses; the model's face at the
bound shows what adding its whole residual would do.

    .venv/bin/python benchmarks/lens_level.py [--data ../shared/data] [--n 60] [--threads 2]
        [--out benchmarks/results_lens_level.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def lens_over_cheeks(image: np.ndarray, lenses: np.ndarray, cheeks: np.ndarray) -> float:
    """Mean luma behind the lenses over the cheeks' mean luma."""
    from facedit.blend import luma

    light = luma(image)
    return float(light[lenses].mean() / max(light[cheeks].mean(), 1.0))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--n", type=int, default=60, help="photos with glasses, and as many without")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results_lens_level.json"))
    args = p.parse_args()

    import cv2
    import torch

    from facedit.blend import upsample_residual
    from facedit.edit import GLASSES, Editor
    from facedit.errors import FaceditError
    from facedit.eval.tasks import celeba_photos
    from facedit.eyewear import LENS_LEVEL, lens_and_cheeks
    from facedit.io import load_image

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    editor = Editor.load("builtin")
    size, bound = editor.blend_size, editor.attribute(GLASSES).max_step
    rows = {True: [], False: []}
    for photo in celeba_photos(args.data, "val"):
        wears = bool(photo.labels["Eyeglasses"])
        if len(rows[wears]) >= args.n:
            if all(len(r) >= args.n for r in rows.values()):
                break
            continue
        try:
            face = editor.encode(load_image(photo.path))[0]
        except FaceditError:
            continue
        lenses, cheeks = lens_and_cheeks(face.aligned.face, (size, size))
        if not lenses.any() or not cheeks.any():
            continue
        removed = editor.model.decode(editor.shift(face.latent, {GLASSES: -bound})[None])[0]
        row = {"photo": photo.path.name,
               "crop": lens_over_cheeks(face.aligned.crop, lenses, cheeks),
               "base": lens_over_cheeks(upsample_residual(face.base, size), lenses, cheeks),
               "bound": lens_over_cheeks(upsample_residual(removed, size), lenses, cheeks)}
        if wears:
            steps = editor.solve_steps(face, {GLASSES: 0.05})
            row["removed"] = lens_over_cheeks(editor.render(face, steps), lenses, cheeks)
        rows[wears].append(row)

    def summary(group: list[dict]) -> dict:
        out = {}
        for key in (k for k in group[0] if k != "photo"):
            values = [r[key] for r in group]
            out[key] = {"median": round(float(np.median(values)), 3),
                        "p10": round(float(np.percentile(values, 10)), 3),
                        "p90": round(float(np.percentile(values, 90)), 3)}
        return out

    result = {
        "what": "mean luma behind fitted lenses (eyes left out) over the cheeks', CelebA val",
        "command": "python benchmarks/lens_level.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "lens_level": LENS_LEVEL, "removal_bound": -bound,
        "with_glasses": {"photos": len(rows[True]), **summary(rows[True])},
        "without_glasses": {"photos": len(rows[False]), **summary(rows[False])},
    }
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

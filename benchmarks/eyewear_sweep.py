"""Added eyeglasses' lens tint and frame darkness, chosen on the validation split: each setting
runs the held-out evaluation's `eyeglasses+` task (`facedit.eval`, the whole photo path) on CelebA
photos of the *val* split, so the test split's figures stay unseen by the choice.

    .venv/bin/python benchmarks/eyewear_sweep.py [--data ../shared/data] [--n 300]
        [--settings 0.6:2.0,0.6:1.5] [--threads 2] [--probe-data cache/prepared-128]
        [--out benchmarks/results_eyewear_sweep.json] [--runs runs/eyewear_sweep]

Per setting TINT:GAIN (`Editor.glasses_tint`, `Editor.glasses_frame_gain`): the judge's
success, the independent probe's, the realism ratio (plain and matched) and the eye band's
statistics against real glasses wearers' (mean lightness, gradient, Laplacian). Reports and grids of each run go to --runs (git-ignored: dataset faces).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--settings", default="0.6:2.0", help="TINT:GAIN,... lens tint, frame gain")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--probe-data", type=Path, default=Path("cache/prepared-128"))
    p.add_argument("--out", type=Path, default=Path("benchmarks/results_eyewear_sweep.json"))
    p.add_argument("--runs", type=Path, default=Path("runs/eyewear_sweep"))
    args = p.parse_args()

    import cv2
    import torch

    from facedit.edit import Editor
    from facedit.eval.harness import EvalConfig, run_evaluation

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    editor = Editor.load("builtin")
    config = EvalConfig(edits="eyeglasses+", methods=("facedit",), n=args.n, split="val",
                        curve_photos=0, probe_data=str(args.probe_data))
    rows = []
    for tint, gain in (map(float, pair.split(":")) for pair in args.settings.split(",")):
        editor.glasses_tint, editor.glasses_frame_gain = tint, gain
        run = args.runs / f"tint{tint}_gain{gain}"
        report, _ = run_evaluation(args.data, run, config, grids_dir=run / "grids", editor=editor)
        r = report["results"]["eyeglasses_add"]["facedit"]
        real = r["realism"]
        rows.append({"tint": tint, "frame_gain": gain, "photos": r["photos"],
                     "success": round(r["success_rate"], 4),
                     "probe": round(r["probe"]["success_rate"], 4),
                     "realism": round(real["ratio"], 4),
                     "realism_matched": round(real["matched"]["ratio"], 4),
                     "by_group": {k: round(v, 4) for k, v in real["ratio_by_group"].items()},
                     "statistics": {k: real["statistics"][k] for k in
                                    ("L mean", "gradient mean", "laplacian std")}})
        print(json.dumps(rows[-1]))
    args.out.write_text(json.dumps({
        "command": "python benchmarks/eyewear_sweep.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "split": "val", "part_models": [m.part.name for m in editor.parts], "rows": rows},
        indent=1))
    print(args.out)


if __name__ == "__main__":
    main()

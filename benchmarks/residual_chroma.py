"""How much of the model's colour change should a form edit keep? (the `Attribute.chroma` table)

Runs facedit's edit (calibration, region blend, paste-back) on held-out CelebA photos with every
attribute's residual chroma forced to each of several shares, and reports the judge's success and
the realism of the edited region (overall, by feature group, and the region's colour statistics)
for each. Needs ../shared/data.

    .venv/bin/python benchmarks/residual_chroma.py --n 100 --amounts 1,0.5,0.25,0
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

OUT = Path("benchmarks/results_residual_chroma.json")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--n", type=int, default=100, help="photos per task (at most)")
    p.add_argument("--edits", default="smile+,eyeglasses")
    p.add_argument("--amounts", default="1,0.5,0.25,0", help="chroma shares to compare")
    p.add_argument("--model", default="builtin")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=OUT)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    import cv2
    import torch

    from facedit.edit import Editor
    from facedit.eval.harness import EvalConfig, evaluate

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    config = EvalConfig(edits=args.edits, methods=("facedit",), model=args.model, n=args.n,
                        curve_photos=0, identity=False)
    amounts = [float(a) for a in args.amounts.split(",")]
    results = {}
    for amount in amounts:
        editor = Editor.load(args.model, chroma=amount)
        report, _ = evaluate(args.data, config, editor=editor)
        for task, per in report["results"].items():
            r = per["facedit"]
            realism = r["realism"] or {}
            results.setdefault(task, {})[str(amount)] = {
                "success_rate": r["success_rate"], "realism_ratio": realism.get("ratio"),
                "realism_by_group": realism.get("ratio_by_group"),
                "region_statistics": realism.get("statistics"),
                "flip_rate_mean": r["preservation"]["flip_rate_mean"]}
        for task in results:
            row = results[task][str(amount)]
            print(f"{task} chroma {amount}: success {row['success_rate']:.2f}, "
                  f"realism {row['realism_ratio']:.2f}")
    out = {"command": f"python benchmarks/residual_chroma.py --n {args.n} --amounts "
                      f"{args.amounts} --model {args.model}",
           "photos": "CelebA wild photos, test split (people never seen in training)",
           "n": args.n, "model": args.model, "results": results}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()

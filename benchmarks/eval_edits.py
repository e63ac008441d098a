"""Held-out evaluation of the source tasks through the whole photo path (SPEC §5), with
`facedit.eval` - the same run as

    facedit eval ../shared/data --edits smile,eyeglasses,mirror \
        --methods facedit,noblend,baseline -o benchmarks/eval --grids outputs/eval_grids

    python benchmarks/eval_edits.py [--data ../shared/data] [--n 300] [--threads 1]
        [--out benchmarks/eval] [--grids outputs/eval_grids] [--probe-data cache/prepared-128]

Photos: CelebA wild photos of the test split (split by person, people unseen in training),
chosen by their CelebA labels: smile added to non-smiling faces, eyeglasses added to faces without
and removed from faces with them (all 73 such test faces), and each face morphed halfway into its
mirror image. The realism ratio's real references (never edited) are up to --refs faces of the
test and validation splits (people unseen in training; 141 wear eyeglasses) that have the
attribute and are not inputs. The report (json, html, plots) goes to --out, committed; the best /
worst grids and the per-photo rows show or name dataset faces and go to --grids, which is
git-ignored. With a prepared set (--probe-data, by default cache/prepared-128 when it exists) an
independent probe, which the editor never sees, judges success too (`facedit.eval.probe`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from facedit.eval.harness import EvalConfig, run_evaluation
from facedit.eval.report import markdown_table
from facedit.eval.tasks import ADD_TARGET, REMOVE_TARGET

EDITS = "smile,eyeglasses,mirror"
METHODS = "facedit,noblend,baseline"
PROBE_DATA = Path("cache/prepared-128")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--n", type=int, default=300, help="photos per task (at most)")
    p.add_argument("--edits", default=EDITS)
    p.add_argument("--methods", default=METHODS)
    p.add_argument("--model", default="builtin")
    p.add_argument("--out", type=Path, default=Path("benchmarks/eval"))
    p.add_argument("--grids", type=Path, default=Path("outputs/eval_grids"))
    p.add_argument("--curve-photos", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="test", choices=("test", "val"),
                   help="CelebA split: test for the figures, val to choose a setting on")
    p.add_argument("--refs", type=int, default=EvalConfig.refs,
                   help="real references per task, at most [default: %(default)s]")
    p.add_argument("--ref-splits", default=",".join(EvalConfig.ref_splits),
                   help="CelebA splits the references come from [default: %(default)s]")
    p.add_argument("--add-target", type=float, default=ADD_TARGET,
                   help="the judge's probability an addition aims for [default: %(default)s]")
    p.add_argument("--remove-target", type=float, default=REMOVE_TARGET,
                   help="the judge's probability a removal aims for [default: %(default)s]")
    p.add_argument("--probe-data", type=Path,
                   default=PROBE_DATA if PROBE_DATA.is_dir() else None,
                   help="prepared set for the independent probe judge [default: "
                        f"{PROBE_DATA} if it exists, else none]")
    p.add_argument("--no-probe", action="store_true", help="skip the independent probe")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    import cv2
    import torch

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    config = EvalConfig(edits=args.edits, methods=tuple(args.methods.split(",")),
                        model=args.model, n=args.n, seed=args.seed, split=args.split,
                        curve_photos=args.curve_photos, refs=args.refs,
                        ref_splits=tuple(args.ref_splits.split(",")),
                        probe_data=(None if args.no_probe or not args.probe_data
                                    else str(args.probe_data)),
                        add_target=args.add_target, remove_target=args.remove_target)
    report, written = run_evaluation(args.data, args.out, config, grids_dir=args.grids)
    print(markdown_table(report))
    print(f"wrote {written['json']}, {written['html']}; grids in {args.grids}")
    return report


if __name__ == "__main__":
    main()

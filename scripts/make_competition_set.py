"""Write a synthetic competition folder (`facedit.pipeline.synthetic`): astronaut variants named
by the first source's convention, for the pipeline's tests and benchmark.

    python scripts/make_competition_set.py OUT            # the 72-image full factorial
    python scripts/make_competition_set.py OUT --count 3  # a handful (2 non-bald, 1 bald)
"""
from __future__ import annotations

import argparse
from pathlib import Path

from facedit.pipeline.synthetic import factorial_names, handful, make_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=None,
                        help="A handful of images instead of the 72-image factorial.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    names = handful(args.count) if args.count else factorial_names()
    paths = make_set(args.out, names, args.seed, args.size)
    bald = sum(p.stem.split("_")[6] == "4" for p in paths)
    print(f"{len(paths)} images ({bald} bald) in {args.out}")


if __name__ == "__main__":
    main()

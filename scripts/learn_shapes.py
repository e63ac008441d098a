"""Add the landmark shapes of the shaped attributes to an existing directions folder.

    python scripts/learn_shapes.py [--data cache/prepared-128] [--directions src/facedit/weights/vae/directions]

`facedit directions learn` learns shapes along with the latent directions; this adds them to a
folder learned before shapes existed, without re-encoding the training set.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from facedit.data.dataset import PreparedSet
from facedit.directions import DirectionSet
from facedit.models import WEIGHTS
from facedit.paths import cache_dir
from facedit.train.directions import CELEBA_SOURCES, learn_shapes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=cache_dir() / "prepared-128")
    parser.add_argument("--directions", type=Path, default=WEIGHTS / "vae" / "directions")
    args = parser.parse_args()
    train = PreparedSet.load(args.data, "train").from_sources(CELEBA_SOURCES)
    ds = DirectionSet.load(args.directions)
    shapes = learn_shapes(train.mesh, train.attrs, train.images.shape[1])
    ds.shapes = {n: v for n, v in shapes.items() if n in ds}
    ds.info["shapes"] = {"method": "mean landmark difference, mouth-closed faces",
                         "celeba_train_images": len(train)}
    ds.save(args.directions)
    print(f"shapes for {', '.join(sorted(ds.shapes))}: {args.directions}")


if __name__ == "__main__":
    main()

"""The editing issue's grid of held-out photos: N CelebA test photos (people no model was trained
on) x the demo's edits (original, smile, less smile, glasses on, glasses off, mirror midpoint).
Dataset faces may not enter the repository: write it to a git-ignored folder and look at it.

    python scripts/heldout_grid.py [--data ../shared/data] [--count 16] [--wearers 4]
        [--model builtin] [--out outputs/heldout_grid.png]

--wearers: how many of the rows are photos labelled with eyeglasses (the first rows), so the
"glasses off" column removes some (the test split's order has few).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from facedit.animate import save_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--wearers", type=int, default=4,
                        help="rows whose photo is labelled with eyeglasses [default: 4]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="builtin", help="model spec, e.g. builtin:FOLDER")
    parser.add_argument("--out", type=Path, default=Path("outputs/heldout_grid.png"))
    args = parser.parse_args()
    from facedit.demo import demo_edits
    from facedit.edit import Editor
    from facedit.errors import FaceditError
    from facedit.eval.tasks import celeba_photos
    from facedit.io import load_image

    editor = Editor.load(args.model)
    photos = celeba_photos(args.data, "test", args.seed)
    wearers = min(args.wearers, args.count)
    rows, labels = [], []
    for wanted, count in ((True, wearers), (False, args.count - wearers)):
        done = 0
        for photo in photos:
            if done == count:
                break
            if bool(photo.labels.get("Eyeglasses")) != wanted:
                continue
            try:
                _, row, row_labels, _ = demo_edits(editor, load_image(photo.path), photo.path.name)
            except FaceditError as exc:
                print(f"{photo.path.name}: skipped ({exc})")
                continue
            rows += row
            labels += row_labels
            done += 1
    print(save_grid(args.out, rows, columns=len(row_labels), labels=labels, cell=160))


if __name__ == "__main__":
    main()

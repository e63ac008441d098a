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
import itertools
from pathlib import Path

from facedit.animate import save_grid


def edited_rows(editor, photos):
    """(grid row, its labels) of the demo's edits for each photo in turn; a photo that cannot be
    edited (no face, unreadable) is reported and skipped."""
    from facedit.demo import demo_edits
    from facedit.errors import FaceditError
    from facedit.io import load_image

    for photo in photos:
        try:
            _, row, labels, _ = demo_edits(editor, load_image(photo.path), photo.path.name)
        except FaceditError as exc:
            print(f"{photo.path.name}: skipped ({exc})")
            continue
        yield row, labels


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
    from facedit.edit import Editor
    from facedit.eval.tasks import celeba_photos

    editor = Editor.load(args.model)
    photos = celeba_photos(args.data, "test", args.seed)
    wearers = min(args.wearers, args.count)
    rows, labels = [], []
    for wears, count in ((True, wearers), (False, args.count - wearers)):
        group = (p for p in photos if bool(p.labels.get("Eyeglasses")) == wears)
        for row, row_labels in itertools.islice(edited_rows(editor, group), count):
            rows += row
            labels += row_labels
    print(save_grid(args.out, rows, columns=len(row_labels), labels=labels, cell=160))


if __name__ == "__main__":
    main()

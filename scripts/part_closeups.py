"""Close-ups of a part model's attribute (a smile for the mouth, eyeglasses for the eyes) added
to and removed from held-out photos, the face model alone against the face model with the part
model (facedit.parts) drawing inside its box. Dataset faces may not enter the repository: write
the grid to a git-ignored folder and look at it.

    python scripts/part_closeups.py PART_FOLDER [--data ../shared/data] [--count 8]
        [--out outputs/part_closeups.png]

Each row: the photo's box, the face model's edit, the part model's (label: raw step solved for
the judge's 0.95 / 0.05, and the judge's reading of the edited crop).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2


def closeup(crop, part):
    """The part's box of a crop, 192 px wide."""
    x0, y0, x1, y1 = part.pixels(crop.shape[0])
    return cv2.resize(crop[y0:y1, x0:x1], (192, 192), interpolation=cv2.INTER_CUBIC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", type=Path)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--count", type=int, default=8,
                        help="photos with and without the attribute")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("outputs/part_closeups.png"))
    args = parser.parse_args()
    from facedit.attributes import resolve
    from facedit.draw import grid
    from facedit.edit import Editor
    from facedit.errors import FaceditError
    from facedit.eval.tasks import celeba_photos
    from facedit.io import load_image, save_image
    from facedit.parts import load_part

    model = load_part(args.part)
    part, name = model.part, model.part.attributes[0]
    label = resolve(name).label
    plain = Editor.load("builtin", parts=())
    parted = Editor(plain.model, plain.directions, judge=plain.judge, detector=plain.detector,
                    parts=[model])
    tiles, labels, counts = [], [], {True: 0, False: 0}
    for photo in celeba_photos(args.data, "test", args.seed):
        has = photo.labels.get(label)
        if min(counts.values()) >= args.count:
            break
        if has is None or counts[has] >= args.count:
            continue
        target = {name: 0.05 if has else 0.95}
        try:
            image = load_image(photo.path)
            row = []
            for who, editor in (("face", plain), ("part", parted)):
                face = editor.encode(image)[0]
                result = editor.edit(image, target, faces=[face])
                row.append((closeup(result.crops[0], part),
                            f"{who} {result.steps[0][name]:+.2f} p{result.after[0][name]:.2f}"))
        except FaceditError as exc:
            print(f"{photo.path.name}: skipped ({exc})")
            continue
        counts[has] += 1
        tiles += [closeup(face.aligned.crop, part)] + [tile for tile, _ in row]
        labels += [label if has else f"no {label}"] + [text for _, text in row]
    save_image(args.out, grid(tiles, columns=6, labels=labels))
    print(args.out)


if __name__ == "__main__":
    main()

"""Mouth close-ups of held-out smiles added and removed, the face model alone against the face
model with a part model (facedit.parts) drawing the smile inside its box. Dataset faces may not
enter the repository: write the grid to a git-ignored folder and look at it.

    python scripts/part_closeups.py PART_FOLDER [--data ../shared/data] [--count 8]
        [--out outputs/part_closeups.png]

Each row: the photo's mouth, the face model's edit, the part model's (label: raw step solved
for the judge's 0.95 / 0.05, and the judge's reading of the edited crop).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2


def mouth(crop):
    s = crop.shape[0]
    box = crop[int(0.5 * s):int(0.95 * s), int(0.22 * s):int(0.78 * s)]
    return cv2.resize(box, (192, 154), interpolation=cv2.INTER_CUBIC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", type=Path)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--count", type=int, default=8, help="photos with and without a smile")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("outputs/part_closeups.png"))
    args = parser.parse_args()
    from facedit.draw import grid
    from facedit.edit import Editor
    from facedit.errors import FaceditError
    from facedit.eval.tasks import celeba_photos
    from facedit.io import load_image, save_image
    from facedit.parts import load_part

    plain = Editor.load("builtin", parts=())
    parted = Editor(plain.model, plain.directions, judge=plain.judge, detector=plain.detector,
                    parts=[load_part(args.part)])
    tiles, labels, counts = [], [], {True: 0, False: 0}
    for photo in celeba_photos(args.data, "test", args.seed):
        smiling = photo.labels.get("Smiling")
        if min(counts.values()) >= args.count:
            break
        if smiling is None or counts[smiling] >= args.count:
            continue
        target = {"smiling": 0.05 if smiling else 0.95}
        try:
            image = load_image(photo.path)
            row = []
            for name, editor in (("face", plain), ("part", parted)):
                face = editor.encode(image)[0]
                result = editor.edit(image, target, faces=[face])
                row.append((mouth(result.crops[0]), f"{name} {result.steps[0]['smiling']:+.2f} "
                                                   f"p{result.after[0]['smiling']:.2f}"))
        except FaceditError as exc:
            print(f"{photo.path.name}: skipped ({exc})")
            continue
        counts[smiling] += 1
        tiles += [mouth(face.aligned.crop)] + [tile for tile, _ in row]
        labels += ["smile" if smiling else "no smile"] + [label for _, label in row]
    save_image(args.out, grid(tiles, columns=6, labels=labels))
    print(args.out)


if __name__ == "__main__":
    main()

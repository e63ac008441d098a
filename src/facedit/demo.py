"""The demo `make demo` runs: align the bundled astronaut portrait and show each step as a picture.

    python -m facedit.demo --out outputs

Writes, and prints the paths of:

* `astronaut.png`: the photo as loaded;
* `astronaut_crop.png`: the aligned 256 px crop;
* `astronaut_overlay.png`: the photo with landmarks and region outlines;
* `astronaut_pasted.png`: the photo after a warm tint of the crop's skin was pasted back; nothing
  outside the paste mask changes;
* the main job on the shipped models: `astronaut_smile.png`, `astronaut_glasses_on.png`,
  `astronaut_glasses_off.png` (full photos), `astronaut_mirror.gif` (the face morphing into its
  mirror image) and `astronaut_grid.png` (original, smile, glasses on, glasses off, mirror
  midpoint, side by side around the face).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedit.align import AlignedFace, align, paste_back
from facedit.draw import draw_overlay
from facedit.errors import FaceditError, ShapeError
from facedit.faces import FaceDetector
from facedit.io import load_image, save_image
from facedit.masks import feather, region_mask

CROP_SIZE = 256
WARM = (18.0, 4.0, -14.0)  # RGB shift at full weight: a visible but gentle warm tint


@dataclass(frozen=True)
class DemoOutputs:
    """Paths of the pictures the demo wrote."""

    photo: Path
    crop: Path
    overlay: Path
    pasted: Path
    edits: tuple[Path, ...] = ()


def load_astronaut() -> np.ndarray:
    """The public-domain astronaut portrait from scikit-image: (512, 512, 3) uint8 RGB."""
    from skimage import data

    return load_image(data.astronaut())


def align_largest(photo: np.ndarray, detector: FaceDetector, size: int = CROP_SIZE) -> AlignedFace:
    """The photo's largest face in the canonical crop; `NoFaceError` when there is none."""
    return align(photo, detector.largest(photo, "astronaut"), size)


def warm_tint(crop: np.ndarray, weight: np.ndarray, shift=WARM) -> np.ndarray:
    """Shift the colour of `crop` by `shift` (RGB) in proportion to `weight`.

    Args:
        crop: (S, S, 3) uint8 RGB.
        weight: (S, S) float in [0, 1].
        shift: three RGB offsets applied where the weight is 1.
    Returns:
        (S, S, 3) uint8 RGB.
    """
    if weight.shape != crop.shape[:2]:
        raise ShapeError(f"weight: expected shape {crop.shape[:2]}, got {weight.shape}")
    tinted = crop.astype(np.float32) + weight[:, :, None] * np.asarray(shift, np.float32)
    return np.clip(np.rint(tinted), 0, 255).astype(np.uint8)


def tint_face(aligned: AlignedFace) -> np.ndarray:
    """The crop with its skin warmed: a stand-in edit that shows masks and the paste-back.

    A narrow feather, so that the eyes, brows and lips (holes in the skin mask) keep their colour."""
    skin = region_mask(aligned.face, "skin", (aligned.size, aligned.size))
    return warm_tint(aligned.crop, feather(skin, 0.015 * aligned.size))


def run_demo(out: Path, detector: FaceDetector | None = None,
             with_edits: bool = True) -> DemoOutputs:
    """Run every step and write the pictures into `out`."""
    # 1. load and align
    detector = detector or FaceDetector()
    photo = load_astronaut()
    aligned = align_largest(photo, detector)
    # 2. pictures of the alignment
    overlay = draw_overlay(photo, [aligned.face.transformed(aligned.inverse)])
    # 3. an edit of the crop, pasted back into the full photo
    pasted = paste_back(photo, aligned, tint_face(aligned))
    # 4. write
    out = Path(out)
    return DemoOutputs(photo=save_image(out / "astronaut.png", photo),
                       crop=save_image(out / "astronaut_crop.png", aligned.crop),
                       overlay=save_image(out / "astronaut_overlay.png", overlay),
                       pasted=save_image(out / "astronaut_pasted.png", pasted),
                       edits=run_edits(photo, out) if with_edits else ())


# (name, strengths, only_towards): each edit leaves a face that already meets it alone ("less
# smile" is at most 0.4: it never adds a smile to a face that has none); the astronaut already
# smiles, so "less smile" shows the smile direction at work on her.
DEMO_EDITS = (("smile", {"smiling": 0.95}, True), ("less_smile", {"smiling": 0.4}, True),
              ("glasses_on", {"eyeglasses": 0.95}, True), ("glasses_off", {"eyeglasses": 0.05}, True))


def demo_edits(editor, photo: np.ndarray, label: str = "photo"):
    """The demo's edits of the largest face of `photo`: (edited photos by name, grid tiles,
    tile labels, mirror frames). Tiles: the aligned crop, each edit's crop, the mirror midpoint."""
    face = editor.encode(photo, label=label)[0]
    photos, tiles, labels = {}, [face.aligned.crop], ["original"]
    for name, strengths, only_towards in DEMO_EDITS:
        result = editor.edit(photo, strengths, faces=[face], only_towards=only_towards)
        photos[name] = result.photo
        tiles.append(result.crops[0])
        labels.append(name.replace("_", " "))
    frames = editor.morph(face, editor.mirror_face(face), 9)
    tiles.append(frames[len(frames) // 2])
    labels.append("mirror midpoint")
    return photos, tiles, labels, frames


def run_edits(photo: np.ndarray, out: Path, editor=None) -> tuple[Path, ...]:
    """The main job on the shipped models: three edits, a mirror GIF and one grid."""
    from facedit.animate import save_gif, save_grid
    from facedit.edit import Editor

    editor = editor or Editor.load()
    photos, tiles, labels, frames = demo_edits(editor, photo, "astronaut")
    paths = [save_image(out / f"astronaut_{name}.png", edited) for name, edited in photos.items()]
    paths.append(save_gif(out / "astronaut_mirror.gif", frames))
    paths.append(save_grid(out / "astronaut_grid.png", tiles, labels=labels))
    return tuple(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facedit.demo",
                                     description="Align the astronaut and paste an edit back.")
    parser.add_argument("--out", type=Path, default=Path("outputs"),
                        help="folder for the pictures (default: outputs)")
    args = parser.parse_args(argv)
    try:
        outputs = run_demo(args.out)
    except FaceditError as exc:
        print(f"facedit.demo: error: {exc}", file=sys.stderr)
        return 2
    for path in (outputs.photo, outputs.crop, outputs.overlay, outputs.pasted, *outputs.edits):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The `facedit` command line. Thin: it parses options, calls the library, and reports.

Every `FaceditError` becomes one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from facedit import __version__
from facedit.errors import FaceditError


class _Group(click.Group):
    """A click group that turns facedit's own errors into one line and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FaceditError as exc:
            click.echo(f"facedit: error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facedit")
def main() -> None:
    """Edit the attributes of a face in a photo, changing nothing else."""


@main.command("align")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output folder for the aligned crops (PNG).")
@click.option("--size", default=256, show_default=True, type=click.IntRange(16, 2048),
              help="Side of the square crop in pixels.")
@click.option("--all-faces", is_flag=True, help="Align every face, not only the largest.")
def align_cmd(source: Path, out: Path, size: int, all_faces: bool) -> None:
    """Align the face(s) of a photo, or of every photo in a folder, to the canonical crop.

    Unreadable and faceless files are skipped and listed in OUT/align_report.json; the run goes on.
    Crops already in OUT are kept, so an interrupted run resumes where it stopped.
    """
    from facedit.batch import align_folder

    report = align_folder(source, out, size=size, all_faces=all_faces)
    click.echo(f"aligned {report['aligned']} face(s) from {report['images']} image(s) into {out}; "
               f"skipped {len(report['skipped'])} (see {out / 'align_report.json'})")


@main.command("landmarks")
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--overlay", type=click.Path(path_type=Path), help="Write the photo with the "
              "landmarks and region outlines drawn on it (PNG or JPEG).")
@click.option("--all-faces", is_flag=True, help="Every face, not only the largest.")
@click.option("--segment/--no-segment", default=True, show_default=True,
              help="Darken the background found by person segmentation in the overlay.")
def landmarks_cmd(photo: Path, overlay: Path | None, all_faces: bool, segment: bool) -> None:
    """Print the 5 key points of each face as JSON; optionally draw landmarks and masks."""
    from facedit.draw import draw_overlay
    from facedit.errors import NoFaceError
    from facedit.faces import FaceDetector
    from facedit.io import load_image, save_image

    image = load_image(photo)
    faces = FaceDetector().detect(image, all_faces=all_faces)
    if not faces:
        raise NoFaceError(f"{photo}: no face found")
    click.echo(json.dumps([{"box": [round(float(v), 1) for v in f.box],
                            "score": round(f.score, 3),
                            "points5": [[round(float(v), 1) for v in p] for p in f.points5]}
                           for f in faces], indent=1))
    if overlay is not None:
        person = None
        if segment:
            from facedit.segmentation import PersonSegmenter
            person = PersonSegmenter()(image)
        save_image(overlay, draw_overlay(image, faces, person=person))
        click.echo(f"overlay: {overlay}", err=True)


def run() -> None:  # pragma: no cover - console entry for `python -m facedit`
    sys.exit(main())


def _default_cache() -> Path:
    import os
    return Path(os.environ.get("FACEDIT_CACHE", Path.home() / ".cache" / "facedit"))


@main.group("data")
def data_group() -> None:
    """Prepare training data from the shared face datasets."""


@data_group.command("prepare")
@click.option("--data", "data_root", default="../shared/data", show_default=True,
              type=click.Path(path_type=Path), help="The shared data folder (CelebA, UTKFace).")
@click.option("--cache", type=click.Path(path_type=Path), default=None,
              help="Where the prepared set goes [default: $FACEDIT_CACHE/prepared-SIZE or "
                   "~/.cache/facedit/prepared-SIZE].")
@click.option("--size", default=128, show_default=True, type=click.IntRange(32, 512))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--limit", type=int, default=None, help="Only the first N records (for trials).")
def data_prepare_cmd(data_root: Path, cache: Path | None, size: int, workers: int,
                     limit: int | None) -> None:
    """Align CelebA and UTKFace into a labelled training set with a fixed person-level split.

    Resumable: finished chunks are kept. Faceless images are dropped and counted.
    """
    from facedit.data.prepare import prepare

    cache = cache or _default_cache() / f"prepared-{size}"
    summary = prepare(data_root, cache, size=size, workers=workers, limit=limit)
    click.echo(json.dumps(summary, indent=1))
    click.echo(f"prepared set: {cache}", err=True)


@main.group("train")
def train_group() -> None:
    """Train facedit's own models on a prepared set (resumable: rerun the same command)."""


def _train_options(fn):
    fn = click.option("--data", "cache", type=click.Path(path_type=Path), default=None,
                      help="Prepared set [default: $FACEDIT_CACHE/prepared-128].")(fn)
    fn = click.option("--run", "run_dir", type=click.Path(path_type=Path), required=True,
                      help="Run folder: checkpoints, log, grids. Reusing it resumes the run.")(fn)
    fn = click.option("--minutes", type=float, default=60.0, show_default=True,
                      help="Time budget of the whole run (resumed runs count earlier time).")(fn)
    fn = click.option("--threads", type=int, default=2, show_default=True)(fn)
    fn = click.option("--export", type=click.Path(path_type=Path), default=None,
                      help="When done, write the model folder here (safetensors + card).")(fn)
    return fn


@train_group.command("classifier")
@_train_options
def train_classifier_cmd(cache, run_dir, minutes, threads, export) -> None:
    """Train the attribute classifier (40 CelebA attributes + age)."""
    from facedit.train.classifier import train_classifier
    from facedit.train.export import export_classifier

    cache = cache or _default_cache() / "prepared-128"
    model = train_classifier(cache, run_dir, minutes=minutes, threads=threads)
    if export:
        card = export_classifier(model, cache, run_dir, export)
        click.echo(json.dumps(card["metrics"], indent=1))


@train_group.command("model")
@_train_options
@click.option("--kl-weight", type=float, default=0.05, show_default=True)
@click.option("--grad-weight", type=float, default=0.5, show_default=True)
def train_model_cmd(cache, run_dir, minutes, threads, export, kl_weight, grad_weight) -> None:
    """Train the face VAE (encoder/decoder at 128x128)."""
    from facedit.train.export import export_vae
    from facedit.train.vae import train_vae

    cache = cache or _default_cache() / "prepared-128"
    model = train_vae(cache, run_dir, minutes=minutes, threads=threads, kl_weight=kl_weight,
                      grad_weight=grad_weight)
    if export:
        card = export_vae(model, cache, run_dir, export)
        click.echo(json.dumps(card["metrics"], indent=1))

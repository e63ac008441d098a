"""The `facedit` command line. Thin: it parses options, calls the library, and reports.

Every `FaceditError` becomes one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import click

from facedit import __version__
from facedit.errors import FaceditError
from facedit.parts import PARTS


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
    from facedit.paths import cache_dir
    return cache_dir()


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
@click.option("--from-pickle", "pickles", multiple=True, type=click.Path(path_type=Path),
              help="Import the second source's kit pickles instead (hq_train.pkl, "
                   "hq_validation.pkl; repeatable) [default cache: .../prepared-kit-128].")
def data_prepare_cmd(data_root: Path, cache: Path | None, size: int, workers: int,
                     limit: int | None, pickles: tuple[Path, ...]) -> None:
    """Align CelebA and UTKFace into a labelled training set with a fixed person-level split.

    Resumable: finished chunks are kept. Faceless images are dropped and counted.
    With --from-pickle, the kit's CelebA-HQ pickles become the labelled set (read safely).
    """
    from facedit.data.prepare import prepare

    if pickles:
        from facedit.data.pickles import import_pickles

        if size != 128 or limit is not None:
            raise click.UsageError("--from-pickle imports the kit's 128 px crops as they are; "
                                   "--size and --limit do not apply")
        cache = cache or _default_cache() / "prepared-kit-128"
        click.echo(json.dumps(import_pickles(list(pickles), cache), indent=1))
        click.echo(f"prepared set: {cache}", err=True)
        return
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
@click.option("--input-size", type=int, default=64, show_default=True)
@click.option("--view", type=float, nargs=4, default=(0.125, 0.15, 0.875, 0.9), show_default=True,
              help="The part of the crop it looks at: x0 y0 x1 y1 as fractions.")
@click.option("--init", default=None,
              help="Warm-start from another run's state.pt, a classifier folder, or 'builtin' "
                   "(the shipped classifier).")
@click.option("--lr", type=float, default=2e-3, show_default=True)
@click.option("--swap-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of CelebA faces given another face's eye band with the other "
                   "Eyeglasses label, so eyeglasses stop predicting age, sex and make-up "
                   "(facedit.train.swap).")
def train_classifier_cmd(cache, run_dir, minutes, threads, export, input_size, view, init,
                         lr, swap_rate) -> None:
    """Train the attribute classifier (40 CelebA attributes + age)."""
    from facedit.models.classifier import ClassifierConfig
    from facedit.train.classifier import train_classifier
    from facedit.train.export import export_classifier

    cache = cache or _default_cache() / "prepared-128"
    config = ClassifierConfig(input_size=input_size, view=tuple(view))
    model = train_classifier(cache, run_dir, minutes=minutes, threads=threads, config=config,
                             init=init, lr=lr, swap_rate=swap_rate)
    if export:
        card = export_classifier(model, cache, run_dir, export)
        click.echo(json.dumps(card["metrics"], indent=1))


@train_group.command("model")
@_train_options
@click.option("--kl-weight", type=float, default=0.05, show_default=True)
@click.option("--grad-weight", type=float, default=0.5, show_default=True)
@click.option("--feature-weight", type=float, default=0.0, show_default=True,
              help="Weight of the perceptual term: the attribute classifier's feature maps.")
@click.option("--attribute-weight", type=float, default=0.0, show_default=True,
              help="Weight of the attribute term: the classifier's verdicts on the "
                   "reconstruction must match those on the input.")
@click.option("--judge", "judge_folder", type=click.Path(path_type=Path), default=None,
              help="Classifier folder for those terms [default: the shipped classifier].")
@click.option("--pattern-weight", type=float, default=0.0, show_default=True,
              help="Weight of the fixed-pattern term: the error's fine detail that is the same "
                   "on every face of a batch (a texture the decoder paints everywhere).")
@click.option("--judge-shift", type=int, default=0, show_default=True,
              help="Roll the reconstruction and the photo together by up to this many pixels "
                   "before the classifier's terms.")
@click.option("--init", default=None,
              help="Fine-tune a trained model instead of starting from scratch: 'builtin' (the "
                   "shipped VAE) or a model folder.")
@click.option("--adversarial-weight", type=float, default=0.0, show_default=True,
              help="Weight of a patch discriminator's term against blur "
                   "(facedit.train.adversarial).")
@click.option("--decoder-only", is_flag=True,
              help="Train the decoder alone (with --init): every face keeps its code, so the "
                   "attribute directions stay valid.")
@click.option("--arithmetic-weight", type=float, default=0.0, show_default=True,
              help="Weight of the linear-structure term (with --decoder-only): a code moved by "
                   "an attribute's mean-difference vector must decode to a face the classifier "
                   "reads as having it switched (facedit.train.arithmetic).")
@click.option("--arithmetic-attributes", default=None,
              help="CelebA attributes of that term, comma-separated; each face draws one of "
                   "them at random, so a name given twice is drawn twice as often "
                   "[default: Smiling,Eyeglasses,Male,Young,Blond_Hair].")
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--batch", type=click.IntRange(1, 4096), default=32, show_default=True)
@click.option("--part", type=click.Choice(sorted(PARTS)), default=None,
              help="Train a part model on this box of the crops (facedit.parts), not the "
                   "whole-face VAE.")
def train_model_cmd(cache, run_dir, minutes, threads, export, kl_weight, grad_weight,
                    pattern_weight, feature_weight, attribute_weight, judge_folder, judge_shift,
                    init, adversarial_weight, decoder_only, arithmetic_weight,
                    arithmetic_attributes, lr, batch, part) -> None:
    """Train the face VAE (encoder/decoder at 128x128), or a part model (--part)."""
    from facedit.models import WEIGHTS, builtin, vae_folder
    from facedit.models.classifier import AttributeClassifier, ClassifierConfig
    from facedit.models.store import load_model
    from facedit.models.vae import FaceVAE, VAEConfig
    from facedit.train.export import export_vae
    from facedit.train.vae import JudgeLoss, train_vae

    cache = cache or _default_cache() / "prepared-128"
    if arithmetic_weight and not decoder_only:
        raise click.UsageError("--arithmetic-weight trains the decoder alone: give --decoder-only")
    judge = arithmetic = None
    if feature_weight or attribute_weight or arithmetic_weight:
        classifier = load_model(judge_folder, AttributeClassifier, ClassifierConfig) \
            if judge_folder else builtin("classifier")
    if arithmetic_weight:
        from facedit.train.arithmetic import ARITHMETIC_ATTRIBUTES, ArithmeticLoss
        names = tuple(n.strip() for n in arithmetic_attributes.split(",") if n.strip()) \
            if arithmetic_attributes else ARITHMETIC_ATTRIBUTES
        try:
            arithmetic = ArithmeticLoss(classifier, arithmetic_weight, names)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--arithmetic-attributes") from None
    if feature_weight or attribute_weight:
        weights = (judge_folder or WEIGHTS / "classifier") / "model.safetensors"
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
        judge = JudgeLoss(classifier, feature_weight, attribute_weight,
                          source=f"{judge_folder or 'the shipped classifier'} (model.safetensors "
                                 f"sha256 {digest}...)", shift=judge_shift)
    if decoder_only and not init:
        raise click.UsageError("--decoder-only fine-tunes a trained model: give --init")
    if part and (feature_weight or attribute_weight or arithmetic_weight):
        raise click.UsageError("the classifier's terms read whole faces, not a part's box")
    model = None
    if init:
        model = load_model(vae_folder(init), FaceVAE, VAEConfig)
    elif part:
        from facedit.data.dataset import PreparedSet
        from facedit.models.vae import PART_CONFIG

        side = PARTS[part].side(PreparedSet.summary(cache)["size"])
        model = FaceVAE(dataclasses.replace(PART_CONFIG, size=side))
    adversary = None
    if adversarial_weight:
        from facedit.train.adversarial import Adversary
        adversary = Adversary(adversarial_weight)
    model = train_vae(cache, run_dir, minutes=minutes, threads=threads, kl_weight=kl_weight,
                      grad_weight=grad_weight, pattern_weight=pattern_weight, lr=lr, judge=judge,
                      model=model, init=init, adversary=adversary, decoder_only=decoder_only,
                      batch=batch, arithmetic=arithmetic, part=PARTS.get(part))
    if export:
        card = export_vae(model, cache, run_dir, export, part=PARTS.get(part))
        click.echo(json.dumps(card["metrics"], indent=1))


# -- editing -------------------------------------------------------------------------------------

_MODEL = click.option("--model", default="builtin", show_default=True,
                      help="Model: builtin, builtin:FOLDER, deepest-vae:CHECKPOINT, or "
                           "stylegan2:CHECKPOINT[,encoder=PATH][,steps=N].")


def _edit_options(fn):
    """Options shared by the editing commands."""
    for decorator in reversed([
        click.option("-o", "--out", type=click.Path(path_type=Path), default=None,
                     help="Edited photo (PNG/JPEG/WebP) [default: PHOTO_STEM_<edit>.png]."),
        _MODEL,
        click.option("--all-faces", is_flag=True, help="Edit every face, not only the largest."),
        click.option("--frames", default=10, show_default=True, type=click.IntRange(2, 100),
                     help="Frames of the GIF / grid."),
        click.option("--gif", type=click.Path(path_type=Path), default=None,
                     help="Also write an animation of the edit."),
        click.option("--grid", type=click.Path(path_type=Path), default=None,
                     help="Also write the frames side by side."),
        click.option("--crops", is_flag=True,
                     help="GIF and grid show the aligned face crop instead of the whole photo."),
    ]):
        fn = decorator(fn)
    return fn


def _load_photo(photo: Path):
    from facedit.io import load_image
    return load_image(photo)


def _editor(model: str):
    from facedit.edit import Editor
    return Editor.load(model)


def _write_frames(editor, photo, faces, sequences, gif, grid_path, frames_are_crops: bool,
                  tag: str, labels: list[str] | None = None):
    """GIF and/or grid of frame sequences (one per face): whole photos, or the first face's crops."""
    from facedit.animate import save_gif, save_grid

    if not (gif or grid_path):
        return
    frames = sequences[0] if frames_are_crops else [
        _fit512(f) for f in editor.paste_frames(photo, faces, sequences)]
    if gif:
        click.echo(f"gif: {save_gif(gif, frames)}")
    if grid_path:
        labels = labels or [f"{tag} {i / (len(frames) - 1):.2f}" for i in range(len(frames))]
        click.echo(f"grid: {save_grid(grid_path, frames, labels=labels, cell=256)}")


def _fit512(image):
    import cv2
    h, w = image.shape[:2]
    s = min(1.0, 512 / max(h, w))
    return image if s == 1.0 else cv2.resize(image, (round(w * s), round(h * s)),
                                             interpolation=cv2.INTER_AREA)


def _run_edit(photo: Path, strengths: dict, raw: bool, out, model, all_faces, frames, gif,
              grid, crops, tag: str, only_towards: bool = False,
              glasses_tint: float | None = None) -> None:
    from facedit.io import save_image

    editor = _editor(model)
    if glasses_tint is not None:
        editor.glasses_tint = glasses_tint
    editor.parse_strengths(strengths, raw)  # refuse bad values before any detection work
    image = _load_photo(photo)
    faces = editor.encode(image, all_faces=all_faces, label=str(photo))
    result = editor.edit(image, strengths, raw=raw, faces=faces, label=str(photo),
                         only_towards=only_towards)
    out = out or photo.with_name(f"{photo.stem}_{tag}.png")
    save_image(out, result.photo)
    for i, (steps, before, after) in enumerate(zip(result.steps, result.before, result.after)):
        parts = [f"{n}: {before.get(n, float('nan')):.2f} -> {after.get(n, float('nan')):.2f} "
                 f"(step {steps[n]:+.2f})" for n in steps]
        click.echo(f"face {i}: " + ("; ".join(parts) or "already as asked, left unchanged"))
    click.echo(f"photo: {out}")
    if gif or grid:
        sequences = [editor.sweep(f, steps, frames) for f, steps in zip(faces, result.steps)]
        _write_frames(editor, image, faces, sequences, gif, grid, crops, tag)


def _parse_attribute_args(args: list[str]) -> dict[str, str]:
    """`--smile 0.95 --eyeglasses=0.05` -> {"smile": "0.95", "eyeglasses": "0.05"}."""
    from facedit.errors import ConfigError

    out, i = {}, 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ConfigError(f"unexpected argument {arg!r}; attributes go as --NAME VALUE")
        name, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                raise ConfigError(f"--{name}: missing its value")
            value, i = args[i + 1], i + 1
        out[name] = value
        i += 1
    return out


@main.command("edit", context_settings={"ignore_unknown_options": True,
                                        "allow_extra_args": True})
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--raw", is_flag=True, help="Values are raw latent steps (in standard deviations "
              "along the direction), not target probabilities.")
@_edit_options
@click.pass_context
def edit_cmd(ctx, photo, raw, out, model, all_faces, frames, gif, grid, crops) -> None:
    """Edit attributes: `facedit edit PHOTO --smile 0.95 --eyeglasses 0.05 -o OUT`.

    Each --ATTRIBUTE VALUE asks for the judge's probability of that attribute after the edit
    (age: years). `facedit attributes` lists the names.
    """
    strengths = _parse_attribute_args(ctx.args)
    if not strengths:
        raise click.UsageError("name at least one attribute, e.g. --smile 0.95")
    _run_edit(photo, strengths, raw, out, model, all_faces, frames, gif, grid, crops, "edit")


def _preset_options(fn):
    """--preset facedit|deepest and --blend region|none (see facedit.presets)."""
    fn = click.option("--blend", type=click.Choice(["region", "none"]), default="region",
                      show_default=True, help="region: facedit's blending into the real face; "
                      "none: the model's whole decoded face (the kit's output).")(fn)
    return click.option("--preset", type=click.Choice(["facedit", "deepest"]), default="facedit",
                        show_default=True, help="deepest: the second source's kit sweep "
                        "(manipulate_attr / interpolate_lr) instead of facedit's task.")(fn)


def _run_preset(photo: Path, task: str, preset, blend, out, model, all_faces, frames, gif,
                grid, crops, tag: str, **kwargs) -> None:
    """smile / glasses / mirror with the kit's preset or without blending (facedit.presets)."""
    from facedit.io import save_image
    from facedit.presets import attribute_sweep, mirror_sweep

    editor = _editor(model)
    if "target" in kwargs:  # refuse a bad strength before any detection work, as _run_edit does
        editor.parse_strengths({task: kwargs["target"]}, raw=False)
    image = _load_photo(photo)
    faces = editor.encode(image, all_faces=all_faces, label=str(photo))
    sweep = (mirror_sweep(editor, faces, preset, blend, frames, **kwargs) if task == "mirror"
             else attribute_sweep(editor, faces, task, preset, blend, frames, **kwargs))
    out = out or photo.with_name(f"{photo.stem}_{tag}.png")
    save_image(out, editor.paste_frames(image, faces, sweep.last())[0])
    for line in sweep.lines:
        click.echo(line)
    click.echo(f"photo: {out}")
    _write_frames(editor, image, faces, sweep.shown(crops), gif, grid, crops, tag, sweep.labels)


@main.command("smile")
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--strength", default=0.95, show_default=True, type=float,
              help="Target probability of a smile.")
@_preset_options
@_edit_options
def smile_cmd(photo, strength, preset, blend, out, model, all_faces, frames, gif, grid,
              crops) -> None:
    """Make the person smile (the second source's first task); a smiling face is left as it is."""
    if preset != "facedit" or blend != "region":
        return _run_preset(photo, "smiling", preset, blend, out, model, all_faces, frames, gif,
                           grid, crops, "smile", target=strength)
    _run_edit(photo, {"smiling": strength}, False, out, model, all_faces, frames, gif, grid,
              crops, "smile", only_towards=True)


@main.command("glasses")
@click.argument("photo", type=click.Path(path_type=Path))
@click.option("--add/--remove", "add", default=True, help="Add or remove eyeglasses.")
@click.option("--tint", type=click.FloatRange(0.0, 1.0), default=None,
              help="Added lenses: 0 clear ... 1 dark (sunglasses) [default: 0.45, tinted].")
@_preset_options
@_edit_options
def glasses_cmd(photo, add, tint, preset, blend, out, model, all_faces, frames, gif, grid,
                crops) -> None:
    """Add or remove eyeglasses (the second source's second task); a face that already has (or
    lacks) them is left as it is."""
    if preset != "facedit" or blend != "region":
        return _run_preset(photo, "eyeglasses", preset, blend, out, model, all_faces, frames,
                           gif, grid, crops, "glasses_on" if add else "glasses_off",
                           target=0.95 if add else 0.05, remove=not add)
    _run_edit(photo, {"eyeglasses": 0.95 if add else 0.05}, False, out, model, all_faces,
              frames, gif, grid, crops, "glasses_on" if add else "glasses_off",
              only_towards=True, glasses_tint=tint)


_METHOD = click.option("--method", type=click.Choice(["warp", "latent"]), default="warp",
                       show_default=True, help="warp: landmark morph of the real photos (sharp); "
                       "latent: the model's interpolated codes as residuals.")


@main.command("mirror")
@click.argument("photo", type=click.Path(path_type=Path))
@_METHOD
@_preset_options
@_edit_options
def mirror_cmd(photo, method, preset, blend, out, model, all_faces, frames, gif, grid,
               crops) -> None:
    """Morph the face into its left-right mirror image (the second source's third task)."""
    from facedit.io import save_image

    if preset != "facedit" or blend != "region":
        return _run_preset(photo, "mirror", preset, blend, out, model, all_faces, frames, gif,
                           grid, crops, "mirror", method=method)
    editor = _editor(model)
    image = _load_photo(photo)
    faces = editor.encode(image, all_faces=all_faces, label=str(photo))
    sequences = [editor.morph(f, editor.mirror_face(f), frames, method) for f in faces]
    out = out or photo.with_name(f"{photo.stem}_mirror.png")
    save_image(out, editor.paste_frames(image, faces, [[q[-1]] for q in sequences])[0])
    click.echo(f"photo: {out}")
    _write_frames(editor, image, faces, sequences, gif, grid, crops, "mirror")


@main.command("interpolate")
@click.argument("photo_a", type=click.Path(path_type=Path))
@click.argument("photo_b", type=click.Path(path_type=Path))
@_METHOD
@_edit_options
def interpolate_cmd(photo_a, photo_b, method, out, model, all_faces, frames, gif, grid,
                    crops) -> None:
    """Morph the face of PHOTO_A into the face of PHOTO_B (in PHOTO_A's photo)."""
    from facedit.io import save_image

    if all_faces:
        raise click.UsageError("interpolate morphs the largest face of each photo; "
                               "--all-faces does not apply")
    editor = _editor(model)
    image = _load_photo(photo_a)
    a = editor.encode(image, label=str(photo_a))[0]
    b = editor.encode(_load_photo(photo_b), label=str(photo_b))[0]
    seq = editor.morph(a, b, frames, method)
    out = out or photo_a.with_name(f"{photo_a.stem}_to_{photo_b.stem}.png")
    save_image(out, editor.paste_frames(image, [a], [[seq[len(seq) // 2]]])[0])
    click.echo(f"photo (midpoint): {out}")
    _write_frames(editor, image, [a], [seq], gif, grid, crops, "morph")


@main.command("attributes")
@_MODEL
def attributes_cmd(model: str) -> None:
    """List the editable attributes with their groups and regions."""
    from facedit.attributes import ATTRIBUTES

    editor = _editor(model)
    for name in editor.directions.names:
        attr = ATTRIBUTES.get(name)
        meta = editor.directions.meta.get(name, {})
        group = attr.group if attr else meta.get("group", "custom")
        click.echo(f"{name:22s} {group:14s} regions={','.join(meta.get('regions', []))}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default serves this machine only.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@_MODEL
@click.option("--cache-faces", default=32, show_default=True, type=click.IntRange(1, 10000),
              help="Photos kept encoded in memory (least recently used leave first).")
def serve_cmd(host: str, port: int, model: str, cache_faces: int) -> None:
    """The browser editor and the REST API (OpenAPI schema at /docs and /openapi.json)."""
    import uvicorn

    from facedit.server import ServerConfig, create_app

    app = create_app(_editor(model), ServerConfig(model=model, cache_faces=cache_faces))
    click.echo(f"facedit editor on http://{host}:{port}/ (API: /v1, schema: /docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@train_group.command("baseline")
@_train_options
@click.option("--batch", type=int, default=32, show_default=True)
def train_baseline_cmd(cache, run_dir, minutes, threads, export, batch) -> None:
    """Retrain the second source's VAE (its layout, BCE + KL, Adam 1e-4) for comparison.

    --export writes it in the kit's own format (a torch state_dict file)."""
    from facedit.models.deepest import DeepestVAE
    from facedit.train.export import export_kit_checkpoint
    from facedit.train.vae import train_vae

    cache = cache or _default_cache() / "prepared-128"
    model = train_vae(cache, run_dir, minutes=minutes, threads=threads, batch=batch, lr=1e-4,
                      model=DeepestVAE(), loss="kit")
    if export:
        card = export_kit_checkpoint(model, cache, run_dir, export)
        click.echo(json.dumps(card["metrics"], indent=1))


@main.group("directions")
def directions_group() -> None:
    """Learn, add and list attribute directions."""


def _directions_out(model: str, out: Path | None) -> Path:
    """Where a directions command writes: --out, else the model's own directions folder; the
    shipped model's directions are never overwritten without an explicit --out."""
    from facedit.directions import directions_folder

    if out is None and model == "builtin":
        raise click.UsageError("give -o/--out: the shipped model's directions are not "
                               "overwritten by default")
    return out or directions_folder(model)


@directions_group.command("learn")
@click.option("--data", "cache", type=click.Path(path_type=Path), default=None,
              help="Prepared set [default: $FACEDIT_CACHE/prepared-128].")
@_MODEL
@click.option("--method", type=click.Choice(["mean", "svm"]), default="mean", show_default=True)
@click.option("--no-condition", is_flag=True, help="Do not orthogonalise to correlated "
              "protected attributes.")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None,
              help="Directions folder to write [default: the model's own; required for the "
                   "shipped model, e.g. src/facedit/weights/vae/directions].")
def directions_learn_cmd(cache, model, method, no_condition, out) -> None:
    """Learn every attribute's direction from the prepared set's labels."""
    from facedit.models.backend import load_backend
    from facedit.train.directions import learn_directions

    out = _directions_out(model, out)
    cache = cache or _default_cache() / "prepared-128"
    ds = learn_directions(load_backend(model), cache, method=method, condition=not no_condition)
    ds.save(out)
    click.echo(f"{len(ds.names)} directions: {out}")


@directions_group.command("import")
@click.argument("vectors", type=click.Path(path_type=Path))
@click.option("--model", required=True, help="The model the vectors belong to, e.g. "
              "deepest-vae:PATH.")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None,
              help="Directions folder to write [default: the model's own].")
def directions_import_cmd(vectors, model, out) -> None:
    """Import the kit's attribute vectors (hq_attr.pkl, read safely) as the model's directions."""
    from facedit.models.backend import load_backend
    from facedit.models.deepest import read_attribute_vectors

    out = _directions_out(model, out)
    ds = read_attribute_vectors(vectors, load_backend(model).latent_dim)
    ds.info["model"] = model
    ds.save(out)
    left = ds.info["left_out"]
    click.echo(f"{len(ds.names)} directions: {out}" +
               (f" (left out, zero or not finite: {', '.join(left)})" if left else ""))


def _stylegan2_backend(model: str, option: str = "--model"):
    """The backend of `model` when it is a StyleGAN2 (a W+ model that samples faces), else a
    usage error: the W-space commands mean nothing for the other models."""
    from facedit.models.backend import load_backend
    from facedit.models.stylegan2_backend import StyleGAN2Backend

    backend = load_backend(model)
    if not isinstance(backend, StyleGAN2Backend):
        raise click.UsageError(f"{option} {model!r} is not a StyleGAN2 model; give "
                               f"stylegan2:CHECKPOINT")
    return backend


@directions_group.command("import-boundaries")
@click.argument("boundaries", type=click.Path(path_type=Path))
@click.option("--model", required=True, help="The StyleGAN2 model, stylegan2:CHECKPOINT[,...].")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None,
              help="Directions folder to write [default: the model's own].")
def directions_import_boundaries_cmd(boundaries, model, out) -> None:
    """Import anycost-gan's boundary file ({'00_5_o_Clock_Shadow': (1, 512), ...}) as W+
    directions of a StyleGAN2 model."""
    from facedit.stylegan_directions import boundary_directions, read_boundaries

    out = _directions_out(model, out)
    backend = _stylegan2_backend(model)
    ds = boundary_directions(read_boundaries(boundaries), backend)
    ds.save(out)
    click.echo(f"{len(ds.names)} directions: {out}")


@directions_group.command("learn-generated")
@click.option("--model", required=True, help="A model that samples faces, stylegan2:CHECKPOINT.")
@click.option("--samples", default=2000, show_default=True, type=click.IntRange(20, 10**6))
@click.option("--ratio", default=0.1, show_default=True, type=click.FloatRange(0.01, 0.5),
              help="Share of most and least likely faces each boundary is fitted on.")
@click.option("--seed", default=0, show_default=True)
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None,
              help="Directions folder to write [default: the model's own].")
def directions_learn_generated_cmd(model, samples, ratio, seed, out) -> None:
    """InterFaceGAN in W: sample faces, score them with facedit's judge, fit a boundary per
    attribute."""
    from facedit.judge import Judge
    from facedit.stylegan_directions import learn_w_directions

    out = _directions_out(model, out)
    ds = learn_w_directions(_stylegan2_backend(model), Judge(), samples, ratio, seed=seed,
                            progress=True)
    ds.save(out)
    click.echo(f"{len(ds.names)} directions: {out}")


@directions_group.command("add")
@click.argument("name")
@click.option("--pos", type=click.Path(path_type=Path), required=True,
              help="Folder of photos that have the attribute.")
@click.option("--neg", type=click.Path(path_type=Path), required=True,
              help="Folder of photos that do not.")
@_MODEL
@click.option("--region", "regions", multiple=True, default=("head",), show_default=True,
              help="Region(s) the edit may change (see facedit.masks.REGIONS).")
def directions_add_cmd(name, pos, neg, model, regions) -> None:
    """Add a new attribute from example photos, orthogonal to the existing directions."""
    from facedit.custom import add_direction

    folder, meta = add_direction(name, pos, neg, model, regions)
    click.echo(f"added {name!r} ({meta['positives']} positive, {meta['negatives']} negative "
               f"photos) to {folder}")


# -- configuration, translations ------------------------------------------------------------------

def _config_options(fn):
    """--config FILE and --set section.key=value (repeatable), resolved by `_load_config`."""
    fn = click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                      help="Override one setting (repeatable), e.g. --set pipeline.workers=2.")(fn)
    fn = click.option("--config", "config_file", type=click.Path(path_type=Path), default=None,
                      help="YAML configuration file (see `facedit config show`).")(fn)
    return fn


def _load_config(config_file, overrides):
    from facedit.config import load_config
    return load_config(config_file, overrides)


@main.group("config")
def config_group() -> None:
    """The configuration of projection, translations, post-processing, gate and pipeline."""


@config_group.command("show")
@click.option("--comments/--no-comments", default=True, show_default=True,
              help="Explain each section and key in YAML comments.")
@_config_options
def config_show_cmd(comments, config_file, overrides) -> None:
    """Print the effective configuration (defaults, then --config, then --set) as YAML."""
    from facedit.config import to_yaml

    click.echo(to_yaml(_load_config(config_file, overrides), comments), nl=False)


@main.group("translation")
def translation_group() -> None:
    """Named latent offsets for the batch pipeline (cursor {c}_min/{c}_max, default {c}_{v},
    specific {c}_{new}_fr_{old}, and `bald`)."""


def _translations(config):
    from facedit.translations import load_translations, user_store

    return load_translations(config), user_store(config.pipeline.model,
                                                 config.translation.user_dir)


@translation_group.command("save", context_settings={"ignore_unknown_options": True,
                                                     "allow_extra_args": True})
@click.argument("name")
@click.option("--from-edit", "photo", type=click.Path(path_type=Path), required=True,
              help="Photo to edit; the translation is the edited minus the original latent.")
@click.option("--raw", is_flag=True, help="Values are raw latent steps, not target "
              "probabilities.")
@_config_options
@click.pass_context
def translation_save_cmd(ctx, name, photo, raw, config_file, overrides) -> None:
    """Save a translation from an edit: `facedit translation save Hc_1 --from-edit P --blond 0.9`.

    Stored in the user's translations of the configured model (pipeline.model); user
    translations take precedence over the shipped ones.
    """
    from facedit.pipeline.render import build_editor
    from facedit.translations import parse_translation_name, user_store

    parse_translation_name(name)  # a bad name fails before any model work
    strengths = _parse_attribute_args(ctx.args)
    if not strengths:
        raise click.UsageError("name at least one attribute, e.g. --blond_hair 0.9")
    config = _load_config(config_file, overrides)
    # The pipeline's own models (pipeline.model, .directions, .judge); calibration needs a judge.
    editor = build_editor(config.replace(gate={"enabled": not raw}))
    editor.parse_strengths(strengths, raw)
    image = _load_photo(photo)
    face = editor.encode(image, label=str(photo))[0]
    steps = editor.edit(image, strengths, raw=raw, faces=[face], label=str(photo)).steps[0]
    offset = editor.shift(face.latent, steps) - face.latent
    store = user_store(config.pipeline.model, config.translation.user_dir)
    store.save(name, offset, source=str(photo), steps={k: round(v, 4) for k, v in steps.items()})
    click.echo(f"saved {name} (norm {float((offset ** 2).sum() ** 0.5):.3f}, steps "
               f"{', '.join(f'{k} {v:+.2f}' for k, v in steps.items())}) in {store.folder}")


@translation_group.command("list")
@_config_options
def translation_list_cmd(config_file, overrides) -> None:
    """List every translation of the configured model: name, kind, origin, norm."""
    from facedit.translations import parse_translation_name

    translations, _ = _translations(_load_config(config_file, overrides))
    for name, (origin, vector) in translations.all().items():
        kind = parse_translation_name(name).kind
        click.echo(f"{name:12s} {kind:9s} {origin:8s} norm={float((vector ** 2).sum() ** 0.5):.3f}")


@translation_group.command("import")
@click.argument("folder", type=click.Path(path_type=Path))
@_config_options
def translation_import_cmd(folder, config_file, overrides) -> None:
    """Import the first source's translations (FOLDER/NAME.npy, W+ offsets of shape
    (1, 18, 512), named by the rules) into the configured StyleGAN2 model's user store."""
    from facedit.stylegan_directions import read_npy_translations
    from facedit.translations import user_store

    config = _load_config(config_file, overrides)
    backend = _stylegan2_backend(config.pipeline.model, "pipeline.model")
    table = read_npy_translations(folder, backend.n_latent, backend.style_dim)
    store = user_store(config.pipeline.model, config.translation.user_dir)
    for name, vector in table.items():
        store.save(name, vector, source=str(folder / f"{name}.npy"))
    click.echo(f"{len(table)} translations: {store.folder}")


@translation_group.command("show")
@click.argument("name")
@_config_options
def translation_show_cmd(name, config_file, overrides) -> None:
    """Print one translation as JSON: kind, origin, norm, metadata, the first values."""
    from facedit.errors import ConfigError
    from facedit.translations import parse_translation_name

    parsed = parse_translation_name(name)
    translations, store = _translations(_load_config(config_file, overrides))
    table = translations.all()
    if name not in table:
        raise ConfigError(f"no translation named {name!r}; `facedit translation list` shows them")
    origin, vector = table[name]
    click.echo(json.dumps({
        "name": name, "kind": parsed.kind, "characteristic": parsed.characteristic,
        "origin": origin, "dim": int(vector.shape[0]),
        "norm": round(float((vector ** 2).sum() ** 0.5), 4),
        "meta": store.meta(name) if origin == "user" else {},
        "head": [round(float(v), 4) for v in vector[:8]]}, indent=1))


@translation_group.command("delete")
@click.argument("name")
@_config_options
def translation_delete_cmd(name, config_file, overrides) -> None:
    """Delete a user translation (shipped ones cannot be deleted; a user one hides them)."""
    from facedit.translations import user_store

    config = _load_config(config_file, overrides)
    store = user_store(config.pipeline.model, config.translation.user_dir)
    store.delete(name)
    click.echo(f"deleted {name} from {store.folder}")


# -- the batch pipeline ---------------------------------------------------------------------------

@main.group("pipeline")
def pipeline_group() -> None:
    """The competition batch pipeline: every required variation of every image (SPEC §2)."""


@pipeline_group.command("run")
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True,
              help="Result folder: OUT/<image name>/<variation>.png, report.json, report.html.")
@click.option("--workers", type=click.IntRange(1, 1024), default=None,
              help="Worker processes (or Ray actors) [default: pipeline.workers].")
@click.option("--executor", type=click.Choice(["local", "ray"]), default=None,
              help="local processes or a Ray cluster [default: pipeline.executor].")
@click.option("--address", default=None, help="Ray cluster address [default: a local one].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_config_options
def pipeline_run_cmd(data_dir, out, workers, executor, address, quiet, config_file,
                     overrides) -> None:
    """Render every required output of every image named Sk_A_Se_C_P_B_Hc_D_Hs in DATA_DIR.

    Badly named files are listed and skipped. Rerunning the same command resumes: finished
    outputs are kept, and no partial file is ever left behind.
    """
    from facedit.pipeline.run import run_pipeline

    config = _load_config(config_file, overrides)
    given = {"workers": workers, "executor": executor, "address": address}
    config = config.replace(pipeline={k: v for k, v in given.items() if v is not None})
    report = run_pipeline(data_dir, out, config, progress=not quiet)
    g = report["gate"]
    for r in report["rejected"]:
        click.echo(f"skipped {r['file']}: {r['reason']}", err=True)
    click.echo(f"{report['images']} image(s), {report['outputs']} output(s) of "
               f"{report['expected_outputs']} required; gate: {g['passed']} passed, "
               f"{g['failed']} failed ({g['stand_ins']} stand-in copies); "
               f"{report['rendered_images']} rendered in {report['seconds']:.1f} s, "
               f"{report['kept_images']} kept; report: {out / 'report.html'}")


@pipeline_group.command("check")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
              help="The input folder: every input there must have its output folder.")
@click.option("--size", type=click.IntRange(1, 8192), default=512, show_default=True)
@click.pass_context
def pipeline_check_cmd(ctx, out, data_dir, size) -> None:
    """Validate a result folder: folders, names, counts, SIZE x SIZE RGB PNGs.

    Prints what is missing, extra or bad; exit status 2 when the folder is not valid.
    """
    from facedit.pipeline.check import check_output

    result = check_output(out, data_dir, size)
    for line in result.lines():
        click.echo(line)
    click.echo(f"{'valid' if result.ok else 'INVALID'}: {result.images} image folder(s), "
               f"{result.outputs} good output(s), {len(result.missing)} missing, "
               f"{len(result.extra)} extra, {len(result.bad)} bad")
    if not result.ok:
        ctx.exit(2)


@pipeline_group.command("zip")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("-o", "--archive", type=click.Path(path_type=Path), default=None,
              help="Archive path [default: OUT.zip].")
@click.option("--size", type=click.IntRange(1, 8192), default=512, show_default=True)
@click.option("--force", is_flag=True, help="Write the archive even if the check fails.")
def pipeline_zip_cmd(out, archive, size, force) -> None:
    """Write the submission archive of a checked result folder (<image>/<variation>.png)."""
    from facedit.pipeline.check import zip_output

    click.echo(f"archive: {zip_output(out, archive, size, force)}")


@main.command("eval")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--labels", type=click.Path(path_type=Path), default=None,
              help="CSV 'name,ATTRIBUTE,...' (1/-1) for a folder of photos [default: CelebA's "
                   "labels for the shared data folder, else the judge's reading of each input].")
@click.option("--edits", default="smile+,eyeglasses,mirror", show_default=True,
              help="Comma-separated: ATTR (add and remove), ATTR+ (add), ATTR- (remove), mirror.")
@click.option("--methods", default="facedit,noblend,baseline", show_default=True,
              help="Comma-separated methods: facedit, noblend, baseline, baseline-calibrated.")
@_MODEL
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Report folder (report.json, report.html, plots).")
@click.option("--grids", type=click.Path(path_type=Path), default=None,
              help="Folder for the best / worst grids and per-photo rows [default: OUT/grids]; "
                   "keep a dataset's faces out of the repository.")
@click.option("--n", default=300, show_default=True, type=click.IntRange(1, 100000),
              help="Input photos per task, at most.")
@click.option("--split", default="test", show_default=True,
              type=click.Choice(["train", "val", "test"]), help="CelebA split (shared data).")
@click.option("--curve-photos", default=16, show_default=True, type=click.IntRange(0, 10000),
              help="Photos per task for the success-vs-strength curves.")
@click.option("--refs", default=1000, show_default=True, type=click.IntRange(2, 100000),
              help="Real references per task (faces that have the attribute), at most.")
@click.option("--ref-splits", default="test,val", show_default=True,
              help="CelebA splits the real references come from (shared data).")
@click.option("--identity/--no-identity", default=True, show_default=True,
              help="Measure identity (needs: pip install 'facedit[eval]').")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="CPU threads for the models [default: torch's].")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--probe-data", type=click.Path(path_type=Path), default=None,
              help="A prepared set (`facedit data prepare`, e.g. cache/prepared-128) to train an "
                   "independent probe judge on, which the editor never sees [default: none, "
                   "no probe].")
@click.option("--add-target", default=0.95, show_default=True,
              type=click.FloatRange(0.5, 1.0, min_open=True, max_open=True),
              help="The judge's probability an addition's calibrated edit aims for.")
@click.option("--remove-target", default=0.05, show_default=True,
              type=click.FloatRange(0.0, 0.5, min_open=True, max_open=True),
              help="The judge's probability a removal's calibrated edit aims for.")
def eval_cmd(data, labels, edits, methods, model, out, grids, n, split, curve_photos, refs,
             ref_splits, identity, threads, seed, probe_data, add_target, remove_target) -> None:
    """Evaluate edits on a folder of photos: success, preservation, identity, locality,
    realism and speed of each method, side by side; writes OUT/report.json and report.html."""
    from facedit.eval.harness import EvalConfig, run_evaluation
    from facedit.eval.report import markdown_table

    if threads:
        import torch
        torch.set_num_threads(threads)
    config = EvalConfig(edits=edits, methods=tuple(m.strip() for m in methods.split(",")
                                                   if m.strip()),
                        model=model, n=n, split=split, seed=seed, curve_photos=curve_photos,
                        refs=refs, ref_splits=tuple(s.strip() for s in ref_splits.split(",")
                                                    if s.strip()),
                        identity=identity, probe_data=str(probe_data) if probe_data else None,
                        add_target=add_target, remove_target=remove_target)
    report, written = run_evaluation(data, out, config, labels=labels, grids_dir=grids)
    click.echo(markdown_table(report))
    skipped = report["photos"]["skipped"]
    if skipped:
        click.echo(f"skipped {len(skipped)} photo(s) (unreadable or no face): see "
                   f"{written['json']}")
    click.echo(f"identity model: {report['identity_model']}")
    click.echo(f"report: {written['html']}")

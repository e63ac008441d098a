"""The second source's two demo functions as presets of `smile`, `glasses` and `mirror`, with
facedit's blending on or off.

The kit's `manipulate_attr(img, attr, min, max)` shows 10 decodings of mu + f * attr, f in
linspace(min, max) (Smiling over (0, 5), Eyeglasses over (-1, 2)); its `interpolate_lr(img)` shows
10 decodings from mu(img) to mu(fliplr(img)). Both show the model's whole decoded face.

* preset "deepest": those sweeps. A raw step f along a direction is f x scale x unit direction;
  for the kit's imported vectors scale is the vector's length, so it is the kit's mu + f * attr
  exactly (`facedit.models.deepest.read_attribute_vectors`).
* preset "facedit": facedit's own task (the judge's calibrated strength; faces that already meet
  it left alone; the mirror by `--method`), the edit growing over the frames.
* blend "none": the model's decoded whole faces, as the kit shows them; blend "region": facedit's
  residual blending into the real crop inside the attribute's regions (`Editor.render`; for the
  mirror, `Editor.morph`).

Frames are blend-size uint8 crops per face (pasted into the photo); with blend "none" the model-size
decodings themselves are kept too, so `--crops` shows exactly what the kit shows.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facedit.blend import upsample_residual
from facedit.errors import ConfigError

PRESETS = ("facedit", "deepest")
BLENDS = ("region", "none")
KIT_FRAMES = 10
KIT_RANGES = {"smiling": (0.0, 5.0), "eyeglasses": (-1.0, 2.0)}  # the kit's manipulate_attr calls


def kit_factors(name: str, frames: int = KIT_FRAMES, remove: bool = False) -> np.ndarray:
    """The kit's factors f for attribute `name`: linspace(min, max, frames); `remove` flips their
    sign (the same sweep towards the attribute's absence). (frames,) float64"""
    if name not in KIT_RANGES:
        raise ConfigError(f"the deepest preset has ranges for {', '.join(KIT_RANGES)}, "
                          f"not {name!r}")
    lo, hi = KIT_RANGES[name]
    f = np.linspace(lo, hi, frames)
    return -f if remove else f


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in 0..255 -> uint8, rounded and clipped."""
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def manipulate_attr(model, mu: np.ndarray, attr: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """The kit's manipulate_attr: decodings of mu + f * attr for each f.

    model: a backend (`decode((B, D)) -> (B, S, S, 3)` float 0..255). mu, attr: (D,).
    Returns (F, S, S, 3) uint8.
    """
    latents = mu[None].astype(np.float32) + np.asarray(factors, np.float32)[:, None] * attr[None]
    return to_uint8(model.decode(latents.astype(np.float32)))


def interpolate_lr(model, mu: np.ndarray, mu_mirror: np.ndarray,
                   frames: int = KIT_FRAMES) -> np.ndarray:
    """The kit's interpolate_lr: decodings of (1 - t) mu + t mu_mirror, t in linspace(0, 1).

    mu: the code of a crop, mu_mirror: the code of the crop flipped left-right. (D,) each.
    Returns (frames, S, S, 3) uint8.
    """
    t = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None]
    return to_uint8(model.decode(((1 - t) * mu[None] + t * mu_mirror[None]).astype(np.float32)))


@dataclass
class Sweep:
    """crops[k]: face k's frames as blend-size uint8 crops (what is pasted into the photo).
    whole[k]: with blend "none", face k's model-size decodings (the kit's own output), else None.
    lines: one line per face saying what was done. labels: one per frame (the kit's f, or t)."""

    crops: list[list[np.ndarray]]
    whole: list[list[np.ndarray]] | None
    lines: list[str]
    labels: list[str] | None = None

    def last(self) -> list[list[np.ndarray]]:
        """Each face's final frame, as `Editor.paste_frames` takes them."""
        return [[seq[-1]] for seq in self.crops]

    def shown(self, crops: bool) -> list[list[np.ndarray]]:
        """The sequences a GIF or grid shows: the kit's own crops where there are any."""
        return self.whole if crops and self.whole is not None else self.crops


def _check(preset: str, blend: str, frames: int) -> None:
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    if blend not in BLENDS:
        raise ConfigError(f"unknown blend {blend!r}; expected one of {', '.join(BLENDS)}")
    if frames < 2:
        raise ConfigError(f"frames: expected at least 2, got {frames}")


def _enlarge(editor, whole: np.ndarray) -> list[np.ndarray]:
    """Model-size uint8 decodings -> blend-size uint8 crops (bicubic)."""
    return [to_uint8(upsample_residual(w.astype(np.float32), editor.blend_size)) for w in whole]


def _reading(editor, face, crop: np.ndarray, label: str) -> str:
    if editor.judge is None or (label != "age" and label not in editor.judge.attributes):
        return ""
    s = editor.model.size
    small = cv2.resize(crop, (s, s), interpolation=cv2.INTER_AREA) if crop.shape[0] != s else crop
    before, after = editor.judge.value(np.stack([face.small, small]), label)
    return f"; judge {before:.2f} -> {after:.2f}"


def attribute_sweep(editor, faces, name: str, preset: str = "deepest", blend: str = "region",
                    frames: int = KIT_FRAMES, target: float = 0.95,
                    remove: bool = False) -> Sweep:
    """Frames of an attribute edit of every face (`smile`, `glasses`).

    preset "deepest": raw steps f = `kit_factors(name, frames, remove)`; preset "facedit": the
    judge-calibrated step towards `target` (only for faces that do not meet it yet), grown from 0.
    """
    _check(preset, blend, frames)
    attr = editor.attribute(name)
    if attr.name not in editor.directions:
        raise ConfigError(f"attribute {attr.name!r} has no direction for this model")
    crops, whole, lines = [], [] if blend == "none" else None, []
    for i, face in enumerate(faces):
        if preset == "deepest":
            steps = [{attr.name: float(f)} for f in kit_factors(attr.name, frames, remove)]
            what = (f"{attr.name} f = {steps[0][attr.name]:+.2f} .. {steps[-1][attr.name]:+.2f} "
                    f"(the kit's manipulate_attr)")
        else:
            solved = editor.solve_steps(face, {attr.name: target}, only_towards=True)
            steps = [{n: float(t) * v for n, v in solved.items()}
                     for t in np.linspace(0.0, 1.0, frames)]
            what = (f"{attr.name} step {solved[attr.name]:+.2f} (judge target {target:.2f})"
                    if solved else f"{attr.name} already as asked, left unchanged")
        if blend == "region":
            seq = [editor.render(face, s) for s in steps]
        elif preset == "facedit" and not any(steps[-1].values()):
            seq = [face.aligned.crop.copy() for _ in steps]  # left alone: no decoding at all
            whole.append([face.small.copy() for _ in steps])
        else:
            factors = np.array([s.get(attr.name, 0.0) for s in steps])
            decoded = manipulate_attr(editor.model, face.latent, editor.directions.step(attr.name),
                                      factors)
            whole.append(list(decoded))
            seq = _enlarge(editor, decoded)
        crops.append(seq)
        lines.append(f"face {i}: {what}, {frames} frames, blend {blend}"
                     f"{_reading(editor, face, seq[-1], attr.label)}")
    labels = [f"f {f:+.2f}" for f in kit_factors(attr.name, frames, remove)] \
        if preset == "deepest" else None
    return Sweep(crops, whole, lines, labels)


def mirror_sweep(editor, faces, preset: str = "deepest", blend: str = "region",
                 frames: int = KIT_FRAMES, method: str = "warp") -> Sweep:
    """Frames from every face to its left-right mirror image (`mirror`).

    blend "none": the kit's interpolate_lr (decoded whole faces, whatever the preset); blend
    "region": `Editor.morph` with the latent method for the deepest preset (the kit's codes, as
    residuals on the real crops), with `method` for the facedit preset.
    """
    _check(preset, blend, frames)
    crops, whole, lines = [], [] if blend == "none" else None, []
    for i, face in enumerate(faces):
        mirrored = editor.mirror_face(face)
        if blend == "none":
            decoded = interpolate_lr(editor.model, face.latent, mirrored.latent, frames)
            whole.append(list(decoded))
            crops.append(_enlarge(editor, decoded))
            how = "the kit's interpolate_lr"
        else:
            used = "latent" if preset == "deepest" else method
            crops.append(editor.morph(face, mirrored, frames, used))
            how = f"morph method {used}"
        lines.append(f"face {i}: mirror over {frames} frames ({how}), blend {blend}")
    return Sweep(crops, whole, lines, [f"t {t:.2f}" for t in np.linspace(0.0, 1.0, frames)])

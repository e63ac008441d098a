"""Editing methods an evaluation compares, registered by name (`--methods`).

Each method edits one encoded face of a photo for a task and times its stages; all of them go
through the public `Editor` API, so a change to the editor shows up here unchanged.

* `facedit` - the user's `facedit smile` / `glasses --add/--remove` / `mirror`: a calibrated
  step (the judge's target probability, `only_towards`), the residual blended inside the
  attribute's region, pasted back; mirror: the landmark-warp midpoint of the face and its mirror;
* `noblend` - facedit's step, but the residual added to the whole crop and pasted under the
  default paste mask (no region blending); mirror: the latent-residual midpoint;
* `baseline` - the second source's edit: the whole face re-decoded from latent + k * v, v the
  class-mean difference (facedit's direction times its scale, one step = the class-mean gap),
  k = +-1.5, no residual, no region, pasted under the default paste mask; mirror: the decoding
  of the mean of the two codes;
* `baseline-calibrated` - the baseline with k calibrated per face by the judge (the smallest of
  12 steps up to 3 that reaches the target on the decoded face).

Stages (seconds): `edit` (finding the step / the mirror code), `blend` (decoding and putting the
change into the crop), `paste` (carrying it back into the photo). `align` and `encode` are
measured once per photo by the harness and shared by every method.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from facedit.align import paste_back
from facedit.errors import ConfigError

BASELINE_K = 1.5
BASELINE_K_MAX = 3.0
BASELINE_K_STEPS = 12
MIRROR_T = 0.5  # the midpoint of a face and its mirror image


@dataclass
class MethodOutput:
    """photo: (H, W, 3) uint8 edited photo. boundary: (S, S) float32 crop weight the change was
    blended under (its edge is where a seam would show). seconds: stage -> seconds."""

    photo: np.ndarray
    boundary: np.ndarray
    seconds: dict[str, float]
    info: dict = field(default_factory=dict)


@dataclass
class Method:
    """edit(editor, task, photo, face, shared) -> MethodOutput; sweep(editor, task, face,
    strengths) -> (B, S, S, 3) uint8 crops at `face`'s alignment (the strength curve).
    `shared` is one dict per (photo, task), so methods can reuse a solved step."""

    name: str
    description: str
    edit: Callable
    sweep: Callable


METHODS: dict[str, Method] = {}


def register(name: str, description: str, sweep: Callable):
    """Register an edit function under `name` (with its strength-sweep function)."""
    def wrap(fn):
        METHODS[name] = Method(name, description, fn, sweep)
        return fn
    return wrap


def get_methods(names) -> list[Method]:
    """The registered methods called `names`; ConfigError listing the valid names otherwise."""
    out = []
    for name in names:
        if name not in METHODS:
            raise ConfigError(f"--methods: unknown method {name!r}; known: {', '.join(METHODS)}")
        out.append(METHODS[name])
    if not out:
        raise ConfigError(f"--methods: expected at least one of {', '.join(METHODS)}")
    return out


class _Clock:
    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._t
        self._t = now

    def record(self, stage: str, seconds: float) -> None:
        """A stage timed elsewhere (a step solved once and shared by several methods)."""
        self.seconds[stage] = seconds
        self._t = time.perf_counter()


# -- strength sweeps (crops at the input's alignment) --------------------------------------------

def strengths_for(task, points: int) -> np.ndarray:
    """The strengths a curve is drawn over: raw steps 0..3 class-mean gaps (signed towards the
    target) for an attribute, morph positions 0..0.5 for mirror."""
    if task.is_mirror:
        return np.linspace(0.0, MIRROR_T, points)
    return np.linspace(0.0, BASELINE_K_MAX, points) * (1.0 if task.adds else -1.0)


def _sweep_residual(region: bool):
    def sweep(editor, task, face, strengths):
        if task.is_mirror:
            return _mirror_frames(editor, face, strengths, "warp" if region else "latent")
        if region:
            return np.stack([editor.render(face, {task.attribute: float(s)}) for s in strengths])
        return np.stack([_whole_residual(editor, face, {task.attribute: float(s)})
                         for s in strengths])
    return sweep


def _sweep_baseline(editor, task, face, strengths):
    if task.is_mirror:
        mirror = editor.mirror_face(face)
        latents = [(1 - t) * face.latent + t * mirror.latent for t in strengths]
    else:
        v = editor.directions.step(task.attribute)
        latents = [face.latent + np.float32(s) * v for s in strengths]
    return np.stack([_decoded_crop(editor, z) for z in latents])


def _mirror_frames(editor, face, ts, method: str) -> np.ndarray:
    """Frames of the morph into the mirror image at positions `ts`."""
    return np.stack(editor.morph_at(face, editor.mirror_face(face), ts, method))


# -- pieces --------------------------------------------------------------------------------------

def _decoded_crop(editor, latent: np.ndarray) -> np.ndarray:
    """The whole face decoded from `latent`, upscaled to the blend crop. (S, S, 3) uint8."""
    decoded = editor.model.decode(np.asarray(latent, np.float32)[None])[0]
    big = cv2.resize(np.clip(decoded, 0, 255), (editor.blend_size,) * 2,
                     interpolation=cv2.INTER_CUBIC)
    return np.clip(np.rint(big), 0, 255).astype(np.uint8)


def _whole_residual(editor, face, steps: dict) -> np.ndarray:
    """facedit's render of `steps` (shape warp, paint-out and all) with the residual on the whole
    crop instead of the attributes' regions. (S, S, 3) uint8."""
    return editor.render(face, steps, np.ones(face.aligned.crop.shape[:2], np.float32))


def _paste(photo, face, crop, mask=None) -> np.ndarray:
    return paste_back(photo, face.aligned, crop, mask)


def _steps(editor, task, face, shared: dict, clock: _Clock) -> dict:
    """facedit's calibrated step (the user's command), solved once per photo and task."""
    if "steps" not in shared:
        t0 = time.perf_counter()
        shared["steps"] = editor.solve_steps(face, {task.attribute: task.target},
                                             only_towards=True)
        shared["steps_seconds"] = time.perf_counter() - t0
    clock.record("edit", shared["steps_seconds"])
    return shared["steps"]


def _mirror(editor, face, shared: dict, clock: _Clock):
    if "mirror" not in shared:
        t0 = time.perf_counter()
        shared["mirror"] = editor.mirror_face(face)
        shared["mirror_seconds"] = time.perf_counter() - t0
    clock.record("edit", shared["mirror_seconds"])
    return shared["mirror"]


# -- the methods ---------------------------------------------------------------------------------

@register("facedit", "calibrated step, residual blended inside the attribute's region "
                     "(mirror: landmark-warp midpoint)", _sweep_residual(region=True))
def edit_facedit(editor, task, photo, face, shared) -> MethodOutput:
    clock = _Clock()
    if task.is_mirror:
        mirror = _mirror(editor, face, shared, clock)
        crop = editor.morph_at(face, mirror, [MIRROR_T], "warp")[0]
        clock.lap("blend")
        mask = editor.paste_mask(face)
        out = _paste(photo, face, crop, mask)
        clock.lap("paste")
        return MethodOutput(out, mask, clock.seconds)
    steps = _steps(editor, task, face, shared, clock)
    crop = editor.render(face, steps)
    clock.lap("blend")
    out = _paste(photo, face, crop, editor.paste_mask(face)) if any(steps.values()) \
        else photo.copy()
    clock.lap("paste")
    return MethodOutput(out, editor.weight(face, [task.attribute], steps=steps), clock.seconds,
                        {"step": float(steps.get(task.attribute, 0.0))})


@register("noblend", "facedit's step, whole-face residual under the default paste mask "
                     "(mirror: latent-residual midpoint)", _sweep_residual(region=False))
def edit_noblend(editor, task, photo, face, shared) -> MethodOutput:
    clock = _Clock()
    mask = editor.paste_mask(face)
    if task.is_mirror:
        mirror = _mirror(editor, face, shared, clock)
        crop = editor.morph_at(face, mirror, [MIRROR_T], "latent")[0]
        clock.lap("blend")
        out = _paste(photo, face, crop, mask)
        clock.lap("paste")
        return MethodOutput(out, mask, clock.seconds)
    steps = _steps(editor, task, face, shared, clock)
    crop = _whole_residual(editor, face, steps)
    clock.lap("blend")
    out = _paste(photo, face, crop, mask) if any(steps.values()) else photo.copy()
    clock.lap("paste")
    return MethodOutput(out, mask, clock.seconds, {"step": float(steps.get(task.attribute, 0.0))})


def _baseline(calibrate: bool):
    def edit(editor, task, photo, face, shared) -> MethodOutput:
        clock = _Clock()
        mask = editor.paste_mask(face)
        if task.is_mirror:
            mirror = _mirror(editor, face, shared, clock)
            latent, info = (1 - MIRROR_T) * face.latent + MIRROR_T * mirror.latent, {}
        else:
            v = editor.directions.step(task.attribute)
            k = calibrated_k(editor, task, face, v) if calibrate else \
                (BASELINE_K if task.adds else -BASELINE_K)
            latent, info = face.latent + np.float32(k) * v, {"k": k}
            clock.lap("edit")
        crop = _decoded_crop(editor, latent)
        clock.lap("blend")
        out = _paste(photo, face, crop, mask)
        clock.lap("paste")
        return MethodOutput(out, mask, clock.seconds, info)
    return edit


def calibrated_k(editor, task, face, vector: np.ndarray) -> float:
    """The smallest of BASELINE_K_STEPS factors up to BASELINE_K_MAX (signed) at which the judge
    reads the target on the baseline's decoded face; the largest when none does."""
    ks = np.linspace(0, BASELINE_K_MAX, BASELINE_K_STEPS + 1)[1:] * (1 if task.adds else -1)
    decoded = editor.model.decode(face.latent[None] + ks[:, None].astype(np.float32) * vector)
    p = editor.judge.value(np.clip(decoded, 0, 255), task.label)
    hit = np.flatnonzero(p >= task.target if task.adds else p <= task.target)
    return float(ks[hit[0]] if len(hit) else ks[-1])


register("baseline", "the second source's: whole face re-decoded from latent + 1.5 x class-mean "
                     "difference, no residual, no region (mirror: decoding of the mean code)",
         _sweep_baseline)(_baseline(calibrate=False))
register("baseline-calibrated", "the baseline with k calibrated per face by the judge",
         _sweep_baseline)(_baseline(calibrate=True))

"""The editing pipeline: photo in, edited photo out at its own resolution, nothing else changed.

    photo -> detect + align (blend-size crop) -> model-size crop -> encode -> latent
          -> + sum(step_i * scale_i * direction_i) -> decode -> residual (edited - unedited decode)
          -> added to the real crop inside the attributes' regions (feathered)
          -> paste the change back into the photo

Attributes with a learned shape (a smile curves the lips) also move the real crop's landmarks by
step * shape, inside their region: the crop and the unedited decoding are warped alike, so the
shape change keeps the photo's sharpness and the residual carries only what the warp cannot
(teeth, shading).

Strengths are asked for as the judge's target probability (`{"smiling": 0.95}`), solved per face
by a short search along the direction, or as raw steps (`raw=True`) in standard deviations of the
training latents along the direction.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from facedit.align import AlignedFace, detect_and_align, paste_back
from facedit.attributes import ATTRIBUTES, Attribute, resolve
from facedit.blend import (apply_residual, crossfade, level_lightening, limit_residual,
                           region_weight, remove_object, scale_chroma, transmitted,
                           upsample_residual)
from facedit.calibrate import SAME, walk
from facedit.directions import DirectionSet
from facedit.errors import ConfigError, check_image_array
from facedit.eyewear import (FRAME_GAIN, LENS_LEVEL, TINT, eyewear_weight, frame_region,
                             lens_and_cheeks)
from facedit.morph import (close_mouth, closing_field, displacement_field, fit_inner_lips,
                           morph_frame, mouth_closing, teeth_mask, warp_by_field)
from facedit.parts import compose
from facedit.paths import user_directions

MORPH_METHODS = ("warp", "latent")
GLASSES = "eyeglasses"  # added as a pair of glasses (`facedit.eyewear`), not a band
# Candidates per search round: a coarse walk over the whole range, then a finer one inside
# the bracket it found. 150 solves on 50 held-out photos: (8, 8) ends within 0.0014 of the
# target, (6, 4) within 0.0068, in 60% of the time. 200 solves on 40 others (smile 0.95 / 0.05,
# eyeglasses 0.95, young 0.2, blond 0.9): (4, 4) ends within 0.0037 of the targets it reaches
# ((6, 4): 0.0031), reaches 81 ((6, 4): 82), in 80-85% of the time.
CALIBRATION_POINTS = (4, 4)
# A removed smile closes the lips over the teeth and runs this share of the smile's shape
# backwards: the corners come down. A full step squeezes the mouth into a pucker (looked at on the
# astronaut and 6 held-out smiles).
UNCURVE = 0.3
AGE_RANGE = (1.0, 100.0)
# How far the frames' paint-out grows past the frame pixels it finds, as a share of the crop
# side (2 px at 256): a frame's soft edge left in inpaints a grey ghost of it.
PAINT_GROW = 1 / 128
RAW_STEP_LIMIT = 4.0  # raw steps may reach this many times an attribute's calibration bound


@dataclass
class EncodedFace:
    """One face of a photo, aligned and encoded once, ready for any number of edits.

    aligned: the blend-size crop and its transform. small: (s, s, 3) uint8 model-size crop.
    latent: (D,) float32. base: (s, s, 3) float32 decoding of `latent` (0..255).
    """

    aligned: AlignedFace
    small: np.ndarray
    latent: np.ndarray
    base: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)  # region weights, painted crops


@dataclass
class EditResult:
    """photo: (H, W, 3) uint8, the edited photo. crops: edited blend-size crops, one per face.
    steps: raw steps used per face. before/after: the judge's readings of the edited attributes."""

    photo: np.ndarray
    crops: list[np.ndarray]
    steps: list[dict[str, float]]
    before: list[dict[str, float]]
    after: list[dict[str, float]]


class Editor:
    """Edits faces in photos with a latent model, its directions and a judge.

    Example:
        >>> editor = Editor.load()                                   # doctest: +SKIP
        >>> result = editor.edit(photo, {"smile": 0.95})             # doctest: +SKIP
    """

    def __init__(self, model, directions: DirectionSet, judge=None, detector=None,
                 blend_size: int = 256, margin: float = 0.06, spec: str = "builtin",
                 chroma: float | None = None, glasses_tint: float = TINT, parts=()):
        from facedit.faces import FaceDetector

        if directions.dim != model.latent_dim:
            raise ConfigError(f"directions have {directions.dim} dimensions, the model's latent "
                              f"has {model.latent_dim}")
        for part in parts:
            if part.backend.size != model.size:
                raise ConfigError(f"the {part.part.name} part model cuts its box from "
                                  f"{part.backend.size} px crops, the model's are {model.size} px")
        self.model = model
        # Part models (`facedit.parts`): each draws its attributes inside its box of the crop.
        self.parts = list(parts)
        self.spec = spec  # the model spec it was loaded for (names its translation store)
        self.directions = directions
        self.judge = judge
        self.detector = detector or FaceDetector()
        self.blend_size = blend_size
        self.margin = margin  # feather width as a fraction of the crop side (21 px at 256... 512)
        # The share of the residual's colour change every edit keeps; None: each attribute's own.
        self.chroma = chroma
        self.glasses_tint = glasses_tint
        # How dark added eyeglasses' frames are, in shares of the model's residual (a setting
        # `benchmarks/eyewear_sweep.py` chooses; `facedit.eyewear.FRAME_GAIN`).
        self.glasses_frame_gain = FRAME_GAIN

    def with_glasses_tint(self, tint: float) -> "Editor":
        """A copy of this editor (sharing its model, directions and judge) whose added glasses
        have lenses of `tint`: for one request of a server that serves many at once."""
        editor = copy.copy(self)
        editor.glasses_tint = tint
        return editor

    @property
    def glasses_tint(self) -> float:
        """How dark added eyeglasses' lenses are: 0 clear ... 1 the model's whole darkening
        (sunglasses); the frames are as dark either way (`facedit.eyewear`)."""
        return self._glasses_tint

    @glasses_tint.setter
    def glasses_tint(self, value: float) -> None:
        if not 0.0 <= float(value) <= 1.0:  # NaN fails too
            raise ConfigError(f"glasses tint: expected 0 (clear) to 1 (dark), got {value}")
        self._glasses_tint = float(value)

    @classmethod
    def load(cls, model: str = "builtin", directions: Path | None = None, parts=None,
             **kwargs) -> "Editor":
        """An editor for a model spec (see `facedit.models.backend`) with its shipped directions.
        parts: part models (`facedit.parts.load_part`) [default: the shipped ones for the
        shipped model, none for any other]."""
        from facedit.directions import load_model_directions
        from facedit.judge import Judge
        from facedit.models.backend import load_backend
        from facedit.parts import shipped_parts

        backend = load_backend(model)
        ds = load_model_directions(model, directions)
        user = user_directions(model)
        if directions is None and (user / "directions.json").exists():
            extra = DirectionSet.load(user)
            for name, vector in zip(extra.names, extra.vectors):
                ds.add(name, vector, **extra.meta.get(name, {}))
        if parts is None:
            parts = shipped_parts() if model == "builtin" else ()
        return cls(backend, ds, judge=Judge(), spec=model, parts=parts, **kwargs)

    def attribute(self, name: str) -> Attribute:
        """The catalogue attribute `name`, or a custom one added with `facedit directions add`."""
        key = name.strip().lower()
        if key in self.directions and key not in ATTRIBUTES:
            meta = self.directions.meta.get(key, {})
            return Attribute(key, key, tuple(meta.get("regions", ("head",))), "custom",
                             float(meta.get("max_step", 3.0)))
        return resolve(name)

    # -- encoding -------------------------------------------------------------------------------

    def encode(self, photo: np.ndarray, all_faces: bool = False,
               label: str = "photo") -> list[EncodedFace]:
        """Align and encode the largest face (or all faces) of an (H, W, 3) uint8 RGB photo."""
        check_image_array(photo, label)
        aligned = detect_and_align(photo, self.detector, self.blend_size, all_faces, label)
        return self.encode_aligned(aligned)

    def encode_aligned(self, aligned: list[AlignedFace]) -> list[EncodedFace]:
        smalls = np.stack([self._to_model_size(a.crop) for a in aligned])
        latents = self.model.encode(smalls)
        bases = self.model.decode(latents)
        return [EncodedFace(a, s, z, b) for a, s, z, b in zip(aligned, smalls, latents, bases)]

    def _to_model_size(self, crop: np.ndarray) -> np.ndarray:
        s = self.model.size
        if crop.shape[0] == s:
            return crop
        return cv2.resize(crop, (s, s), interpolation=cv2.INTER_AREA)

    # -- strengths ------------------------------------------------------------------------------

    def parse_strengths(self, strengths: dict[str, float], raw: bool) -> dict[str, float]:
        """Validate `{attribute: value}`; returns `{canonical name: value}`."""
        out = {}
        for name, value in strengths.items():
            attr = self.attribute(name)
            if attr.name not in self.directions:
                raise ConfigError(f"attribute {attr.name!r} has no direction for this model")
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{name}: expected a number, got {value!r}") from None
            if not math.isfinite(v):
                raise ConfigError(f"{name}: expected a finite number, got {value!r}")
            if raw:
                limit = RAW_STEP_LIMIT * attr.max_step
                if abs(v) > limit:
                    raise ConfigError(f"{name}: raw step {v} is outside [-{limit}, {limit}]")
            elif attr.group == "custom":
                raise ConfigError(f"{name}: a custom attribute has no judge reading; edit it "
                                  f"with raw steps (--raw)")
            elif attr.name == "age" and not AGE_RANGE[0] <= v <= AGE_RANGE[1]:
                raise ConfigError(f"age: expected a target age in years in {list(AGE_RANGE)}, "
                                  f"got {v}")
            elif attr.name != "age" and not 0.0 <= v <= 1.0:
                raise ConfigError(f"{name}: expected a target probability in [0, 1], got {v} "
                                  f"(use --raw for latent steps)")
            if attr.name in out:
                raise ConfigError(f"{name}: {attr.name!r} is asked for twice")
            out[attr.name] = v
        return out

    def shift(self, latent: np.ndarray, steps: dict[str, float]) -> np.ndarray:
        """latent + sum(step * scale * direction). (D,) -> (D,)"""
        return self.directions.shift(latent, steps)

    def weight(self, face: EncodedFace, names, small: bool = False,
               steps: dict[str, float] | None = None) -> np.ndarray:
        """The feathered union of the named attributes' regions, at blend or model size.

        With `steps` that add eyeglasses, theirs is not the eye band but a pair of glasses
        (`facedit.eyewear`): the model's dark band cut to lenses and frames - unless the model
        draws frames of its own (`draws_frames`: a StyleGAN2 generator) or the face wears glasses
        already. Their removal keeps the eye band, where any frame may sit."""
        glasses = steps is not None and GLASSES in names and self._adds_eyewear(face, steps)
        regions = tuple(sorted({r for n in names if not (glasses and n == GLASSES)
                                for r in self.attribute(n).regions}))
        key = (regions, (self.glasses_tint, self.glasses_frame_gain) if glasses else None)
        if key not in face._cache:
            size = self.blend_size
            big = region_weight(face.aligned.face, regions, size, self.margin * size)
            if glasses:
                big = np.maximum(big, eyewear_weight(face.aligned.face, size, face.aligned.scale,
                                                     self.glasses_tint, self.glasses_frame_gain))
            s = self.model.size
            face._cache[key] = (big, cv2.resize(big, (s, s), interpolation=cv2.INTER_AREA))
        return face._cache[key][1 if small else 0]

    def _adds_eyewear(self, face: EncodedFace, steps: dict[str, float]) -> bool:
        """Whether `steps` add eyeglasses that `facedit.eyewear` cuts out of the model's band:
        not when the model draws frames of its own (a StyleGAN2 generator), nor on a face that
        wears glasses already (`_wears_glasses`): a fitted pair would sit over the worn one, a
        second pair of frames, so the model's change stays in the eye band, on their own."""
        return (steps.get(GLASSES, 0.0) > 0 and not getattr(self.model, "draws_frames", False)
                and not self._wears_glasses(face))

    def _wears_glasses(self, face: EncodedFace) -> bool:
        """Whether the judge reads the face as wearing eyeglasses (over 0.5); False without a
        judge (raw edits only)."""
        return (self.judge is not None
                and self._unedited_reading(face, self.attribute(GLASSES).label) > 0.5)

    def chroma_of(self, names) -> float:
        """The share of the residual's colour change an edit of the named attributes keeps: the
        editor's `chroma` if set, else the largest of theirs (`Attribute.chroma`), so a colour
        edit asked with a form edit keeps its colour."""
        if self.chroma is not None:
            return self.chroma
        return max((self.attribute(n).chroma for n in names), default=1.0)

    def _dimmed(self, steps: dict[str, float]) -> tuple[float, dict[str, float]]:
        """(share, the other steps) for an edit that adds attributes keeping only part of the
        residual's light change (`Attribute.add_light`; with several, the largest share): the
        residual of those attributes is what their steps add to the decoding of the other steps.
        (1.0, steps) when the edit adds none."""
        dimmed = [n for n, step in steps.items() if step > 0 and self.attribute(n).add_light < 1]
        if not dimmed:
            return 1.0, steps
        share = max(self.attribute(n).add_light for n in dimmed)
        return share, {n: step for n, step in steps.items() if n not in dimmed and step}

    def _decoded_rest(self, face: EncodedFace, rest: dict[str, float]) -> np.ndarray:
        """The model's decoding of the face moved by the (non-empty) steps `rest`; the last one
        is kept, which a calibration holding those steps fixed asks for again and again."""
        key = tuple(sorted(rest.items()))
        cached = face._cache.get("rest")
        if cached is None or cached[0] != key:
            cached = face._cache["rest"] = (key, self.decode(face, [rest])[0])
        return cached[1]

    def paste_mask(self, face: EncodedFace) -> np.ndarray:
        """The feathered face mask (S, S) that carries a crop's change back into the photo
        (`facedit.masks.default_paste_mask`), computed once per face."""
        if "paste_mask" not in face._cache:
            from facedit.masks import default_paste_mask

            face._cache["paste_mask"] = default_paste_mask(face.aligned.face, self.blend_size)
        return face._cache["paste_mask"]

    def solve_steps(self, face: EncodedFace, targets: dict[str, float],
                    only_towards: bool = False) -> dict[str, float]:
        """Raw steps that bring the judge's reading of each attribute to its target, one attribute
        after the other (each search holds the other steps fixed)."""
        if only_towards:  # targets above 0.5 mean "at least", below "at most": skip the met ones
            targets = self._unmet(face, targets)
        steps: dict[str, float] = {n: 0.0 for n in targets}
        # With several attributes, a second pass re-solves each with all the others in place,
        # since moving one attribute shifts the judge's reading of the others a little.
        for _ in range(1 if len(targets) == 1 else 2):
            for name, target in targets.items():
                others = {k: v for k, v in steps.items() if k != name and v}
                steps[name] = self._solve_one(face, self.attribute(name), target, others, targets)
        return steps

    def _unmet(self, face: EncodedFace, targets: dict[str, float]) -> dict[str, float]:
        """The targets the face does not meet yet (above 0.5 "at least", below "at most"). Glasses
        are worn or not: "at least" on a face that wears them (`_wears_glasses`) is met."""
        unmet = {}
        for name, target in targets.items():
            label = self.attribute(name).label
            now = self._unedited_reading(face, label)
            middle = 0.5 if label != "age" else now
            if name == GLASSES and target >= 0.5 and self._wears_glasses(face):
                continue
            if (target >= middle and now < target) or (target < middle and now > target):
                unmet[name] = target
        return unmet

    def _unedited_scores(self, face: EncodedFace) -> tuple[np.ndarray, np.ndarray]:
        """The judge's scores (probabilities (1, K), ages (1,)) of the face's own model-size crop,
        read once per face: what a render with no step gives (its residual is zero), and the
        "before" of an edit's readings."""
        if "scores" not in face._cache:
            face._cache["scores"] = self.judge.score(face.small[None])
        return face._cache["scores"]

    def _unedited_reading(self, face: EncodedFace, label: str) -> float:
        """The judge's reading of `label` (a probability, or age in years) on the face's crop."""
        return self._pick(*self._unedited_scores(face), 0, label)

    def _pick(self, probs: np.ndarray, ages: np.ndarray, i: int, label: str) -> float:
        """Crop i's reading of a judge label from the judge's scores."""
        return float(ages[i] if label == "age" else probs[i, self.judge.attributes.index(label)])

    def _solve_one(self, face: EncodedFace, attr: Attribute, target: float,
                   fixed: dict[str, float], names) -> float:
        label = attr.label
        current = float(self.judge.value(self.small_renders(face, [fixed], names), label)[0]) \
            if fixed else self._unedited_reading(face, label)
        if abs(current - target) < SAME:
            return 0.0
        sign = 1.0 if target > current else -1.0
        lo, hi, v_lo = 0.0, sign * attr.max_step, current
        step = 0.0
        for points in CALIBRATION_POINTS:
            path = np.linspace(lo, hi, points + 1)
            trials = [{**fixed, attr.name: float(c)} for c in path[1:]]
            values = np.r_[v_lo, self.judge.value(self.small_renders(face, trials, names), label)]
            step, k = walk(path, values, target)
            if k is None or k == 0:
                return step  # out of reach (the strongest allowed step), or already on target
            lo, hi, v_lo = float(path[k - 1]), float(path[k]), float(values[k - 1])
        return step

    def small_renders(self, face: EncodedFace, step_sets, names) -> np.ndarray:
        """Model-size blended crops (B, s, s, 3) float32 for several step sets, in one decode:
        what the judge reads during calibration (`names`: the attributes whose regions blend)."""
        decoded = self.decode(face, step_sets)
        out = []
        for steps, edited in zip(step_sets, decoded):
            crop, base = self._shaped_crop_and_base(face, steps, small=True)
            w = self.weight(face, names, small=True, steps=steps)[:, :, None]
            out.append(crop + self._residual(face, steps, names, edited, base, crop) * w)
        return np.clip(np.stack(out), 0, 255)

    def decode(self, face: EncodedFace, step_sets) -> np.ndarray:
        """The model's decodings (B, s, s, 3) float32 of the face's code moved by each step set.
        A part model's attributes (their addition, unless the part draws removals too:
        `Part.removal`) are drawn by the part model inside its box: there the decoding
        is the face model's for the other steps plus the part model's change (edited minus
        unedited box), feathered into the face model's whole edit at the box's edge. Each part
        adds its own correction to the face model's decoding, so overlapping boxes (the eye box
        reaches the mouth box's top) add both parts' changes, in whatever order."""
        whole = self.model.decode(np.stack([self.shift(face.latent, s) for s in step_sets]))
        decoded = whole.copy()
        for model in self.parts:
            own = [{n: v for n, v in s.items() if model.draws(n, v)} for s in step_sets]
            if not any(own):
                continue
            z, base = self._part_code(face, model)
            change = model.backend.decode(
                np.stack([model.directions.shift(z, steps) for steps in own])) - base
            rest = [{n: v for n, v in s.items() if not model.draws(n, v)} for s in step_sets]
            others = [i for i, r in enumerate(rest) if own[i] and any(r.values())]
            inner = dict(zip(others, self.model.decode(
                np.stack([self.shift(face.latent, rest[i]) for i in others]))) if others else {})
            for i, steps in enumerate(own):
                if steps:
                    below = model.part.cut(inner.get(i, face.base)[None])[0]
                    decoded[i] += compose(whole[i], below + change[i], model.part) - whole[i]
        return decoded

    def _part_code(self, face: EncodedFace, model) -> tuple[np.ndarray, np.ndarray]:
        """The part model's code (D,) of the face's box and its decoding, once per face."""
        key = ("part", model.part.name)
        if key not in face._cache:
            z = model.backend.encode(face.small[None])
            face._cache[key] = (z[0], model.backend.decode(z)[0])
        return face._cache[key]

    def _shaped_crop_and_base(self, face: EncodedFace, steps: dict[str, float],
                              small: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The real crop the residual goes onto (blend or model size) and the unedited decoding
        it is taken against, both float32 and warped by the steps' shapes (see `shape_field`)."""
        crop, base = self._base_crop(face, steps, small).astype(np.float32), face.base
        field = self.shape_field(face, steps)
        if field is not None:
            crop, base = warp_by_field(crop, field), warp_by_field(base, field)
        return crop, base

    def shape_field(self, face: EncodedFace, steps: dict[str, float]) -> np.ndarray | None:
        """The backward warp field (S, S, 2) at blend size that moves the face's landmarks by
        sum(step * shape) inside each attribute's feathered region; None when no asked attribute
        has a shape. Each attribute's unit field is computed once per face.

        Only steps that add an attribute warp here: a shape is learned as the attribute's arrival
        on a face without it, and run backwards on an open smile it squeezes the teeth. A smile's
        removal closes the lips first and then runs part of the shape back (`_close_mouth`)."""
        field = None
        for name, step in steps.items():
            if step <= 0 or name not in self.directions.shapes:
                continue
            unit = self._unit_shape(face, name)[0]
            field = step * unit if field is None else field + step * unit
        return field

    def _unit_shape(self, face: EncodedFace, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The backward warp field (S, S, 2) of raw step 1 of `name`'s shape (see
        `shape_field`) and the landmarks' displacement (N, 2) it makes, once per face."""
        key = ("shape", name)
        if key not in face._cache:
            size = self.blend_size
            w = self.weight(face, [name])
            points = face.aligned.face.mesh[:, :2]
            ix = np.clip(np.rint(points).astype(int), 0, size - 1)
            shift = self.directions.shapes[name] * size * w[ix[:, 1], ix[:, 0]][:, None]
            # Masked by the region weight: exactly nothing moves outside the region.
            face._cache[key] = (displacement_field(points, points + shift, size) * w[..., None],
                                shift)
        return face._cache[key]

    # -- rendering ------------------------------------------------------------------------------

    def render(self, face: EncodedFace, steps: dict[str, float],
               weight: np.ndarray | None = None) -> np.ndarray:
        """The blend-size crop with the edit of raw `steps` applied. (S, S, 3) uint8.

        weight: (S, S) where the residual goes [default: the attributes' feathered regions];
        all ones puts it on the whole crop (the evaluation's "no region blending")."""
        if not any(steps.values()):
            return face.aligned.crop.copy()
        edited = self.decode(face, [steps])[0]
        crop, base = self._shaped_crop_and_base(face, steps)
        asked = [n for n, step in steps.items() if step]
        residual = self._residual(face, steps, asked, edited, base, crop)
        return apply_residual(crop, residual,
                              self.weight(face, list(steps), steps=steps) if weight is None
                              else weight)

    def _residual(self, face: EncodedFace, steps: dict[str, float], names, edited: np.ndarray,
                  base: np.ndarray, crop: np.ndarray) -> np.ndarray:
        """What the edit adds to `crop` (float32, at the crop's size): the model's edited minus
        unedited decoding, its colour scaled by the named attributes' `chroma_of`; the light
        change of an added attribute that keeps only part of it (`_dimmed`: a smile) scaled by its
        share, that of the other steps kept whole.

        A smile's removal leaves the lips, which `_close_mouth` closed, to themselves: the
        model's blurry closed mouth on them would grey the lips and draw a second pair.

        After a paint-out (eyeglasses removal, `_base_crop`) the crop already lacks part of
        what the residual adds, so the residual is limited to never carry a pixel past the
        model's edited face (shifted by the photo's mean difference from its decoding): clear
        lenses, which the model decodes as dark ones, would otherwise come out glowing; and its
        lightening is scaled so the skin behind the lenses comes up to the cheeks' light, no
        further (`level_lightening`: clear lenses keep the eyes behind them). After
        the mouth's closing (smile removal) only its lightening is limited so: the model's
        unsmiling face lightens the teeth's and the smile's shadows, which the closed crop
        lacks already, and lit cheeks would glow; its darkening (the closed lips' line) stays."""
        size = crop.shape[0]
        chroma = self.chroma_of(names)
        share, rest = self._dimmed(steps)
        if share == 1.0:
            change = scale_chroma(edited - base, chroma)
        else:
            other = base  # the decoding of the other steps, warped like `base` (the steps' shapes)
            if rest:
                other, field = self._decoded_rest(face, rest), self.shape_field(face, steps)
                other = other if field is None else warp_by_field(other, field)
            change = scale_chroma(edited - other, chroma, share) \
                + scale_chroma(other - base, chroma)
        residual = upsample_residual(change, size)
        if self._adds_eyewear(face, steps):  # lenses and frames pass a share of the light under them
            lenses = self._lenses(face, size)
            residual[lenses] = transmitted(residual[lenses], crop[lenses])
        smile_removal = self._removal(steps, "smiling")
        if smile_removal:  # the closed real lips stay as they are (`_close_mouth`)
            keep = self._fade_in(smile_removal, "smiling") * self._lips_at(face, size)
            residual = residual * (1 - keep)[..., None]
        glasses_removal = self._removal(steps, GLASSES)
        if not (smile_removal or glasses_removal):
            return residual
        mask = self._paste_core(face, size)
        offset = (np.array(cv2.mean(crop, mask)[:3], np.float32)
                  - np.array(cv2.mean(upsample_residual(base, size), mask)[:3], np.float32))
        residual = limit_residual(residual, crop, upsample_residual(edited, size) + offset,
                                  lightening_only=not glasses_removal)
        if glasses_removal:  # the skin behind the lenses gets back only the light they took
            lenses, cheeks, band = self._lens_masks(face, size)
            residual = level_lightening(residual, crop, lenses, cheeks, LENS_LEVEL, where=band)
        return residual

    def _lips_at(self, face: EncodedFace, size: int) -> np.ndarray:
        """The lips' feathered region (the open mouth's outer edge) at blend or model size."""
        key = ("lips", size)
        if key not in face._cache:
            big = region_weight(face.aligned.face, ("mouth",), self.blend_size,
                                0.02 * self.blend_size)
            face._cache[key] = big if size == self.blend_size else cv2.resize(
                big, (size, size), interpolation=cv2.INTER_AREA)
        return face._cache[key]

    def _paste_mask_at(self, face: EncodedFace, size: int) -> np.ndarray:
        """`paste_mask` at blend or model size."""
        if size == self.blend_size:
            return self.paste_mask(face)
        key = ("paste_mask", size)
        if key not in face._cache:
            face._cache[key] = cv2.resize(self.paste_mask(face), (size, size),
                                          interpolation=cv2.INTER_AREA)
        return face._cache[key]

    def _lenses(self, face: EncodedFace, size: int) -> np.ndarray:
        """Where an added pair of glasses lies (its eyewear weight over 0; lenses, frames and
        bridge) at blend or model size: a (size, size) bool mask, computed once per face and
        tint (clear lenses leave only the frames)."""
        key = ("lenses", size, self.glasses_tint, self.glasses_frame_gain)
        if key not in face._cache:
            pair = self.weight(face, [GLASSES], small=size != self.blend_size,
                               steps={GLASSES: self.attribute(GLASSES).max_step})
            face._cache[key] = pair > 0
        return face._cache[key]

    def _lens_masks(self, face: EncodedFace, size: int) -> tuple[np.ndarray, ...]:
        """(lenses, cheeks, band) at blend or model size, computed once per face: bool masks of
        `facedit.eyewear.lens_and_cheeks` and of where a glasses removal changes the crop (its
        feathered eye band over 0), for `level_lightening`."""
        key = ("lens_masks", size)
        if key not in face._cache:
            s = self.blend_size
            masks = lens_and_cheeks(face.aligned.face, (s, s))
            if size != s:
                masks = tuple(cv2.resize(m.astype(np.uint8), (size, size),
                                         interpolation=cv2.INTER_NEAREST) > 0 for m in masks)
            band = self.weight(face, [GLASSES], small=size != s) > 0
            face._cache[key] = (*masks, band)
        return face._cache[key]

    def _paste_core(self, face: EncodedFace, size: int) -> np.ndarray:
        """Where `paste_mask` (at blend or model size) is over 0.5: a (size, size) uint8 0/1
        mask for `cv2.mean`."""
        key = ("paste_core", size)
        if key not in face._cache:
            face._cache[key] = (self._paste_mask_at(face, size) > 0.5).astype(np.uint8)
        return face._cache[key]

    def _removal(self, steps: dict[str, float], name: str) -> float:
        """How far the steps remove `name` (a positive raw step), 0 when they do not: eyeglasses
        and smile removals paint the crop first (`_base_crop`) and change the residual
        (`_residual`)."""
        return max(0.0, -steps.get(name, 0.0)) if name in self.directions else 0.0

    def _fade_in(self, removal: float, name: str) -> float:
        """0..1: a paint-out fades in over the first half of the removal range, so the edit
        grows smoothly from nothing instead of jumping at the smallest step."""
        return min(1.0, removal / (0.5 * self.attribute(name).max_step))

    def _base_crop(self, face: EncodedFace, steps: dict[str, float], small: bool = False):
        """The real crop the residual is added to: for eyeglasses removal with the frames
        painted out, for smile removal with the mouth closed (at blend or model size, uint8)."""
        crop = self._without_glasses(face, steps, small)
        removal = self._removal(steps, "smiling")
        if removal:
            crop = self._close_mouth(face, crop, removal)
        return crop

    def _without_glasses(self, face: EncodedFace, steps: dict[str, float], small: bool):
        """The real crop, for eyeglasses removal with the frames painted out (computed once per
        face, against the model's glasses-free face)."""
        removal = self._removal(steps, GLASSES)
        if not removal:
            return face.small if small else face.aligned.crop
        if "no_glasses" not in face._cache:
            from facedit.masks import region_mask

            size, f = self.blend_size, face.aligned.face
            step = {GLASSES: -self.attribute(GLASSES).max_step}
            reference = upsample_residual(self.model.decode(self.shift(face.latent, step)[None])[0],
                                          size)
            keep = np.maximum(region_mask(f, "eyes", (size, size)),
                              region_mask(f, "brows", (size, size)))
            # Where frames may be, inside what the removal may change (its feathered region);
            # each frame pixel and its soft edge (`PAINT_GROW`).
            where = frame_region(f, (size, size)) * (self.weight(face, [GLASSES]) > 0)
            painted = remove_object(face.aligned.crop, reference, where, keep,
                                    grow=max(1, round(PAINT_GROW * size)))
            face._cache["no_glasses"] = (painted, self._to_model_size(painted))
        amount = self._fade_in(removal, GLASSES)
        real = face.small if small else face.aligned.crop
        painted = face._cache["no_glasses"][1 if small else 0]
        if amount >= 1.0:
            return painted
        return apply_residual(real, painted.astype(np.float32) - real, amount)

    def _close_mouth(self, face: EncodedFace, crop: np.ndarray, removal: float) -> np.ndarray:
        """`crop` (blend or model size) with the lips brought together over the teeth, faded in
        with the removal, and the smile's shape run `UNCURVE` backwards (the corners come down)."""
        points, teeth, (closing, uncurve), (shift, uncurve_shift) = self._mouth_fields(
            face, crop.shape[0])
        amount, step = self._fade_in(removal, "smiling"), -UNCURVE * removal
        return close_mouth(crop, points, amount * closing + step * uncurve,
                           amount * shift + step * uncurve_shift, fill=amount, teeth=teeth)

    def _mouth_fields(self, face: EncodedFace, size: int):
        """(landmarks with the lips' inner edges fitted to the teeth, teeth mask, (closing field,
        uncurve field), (their landmark shifts)) at `size`, for `_close_mouth`: computed once
        per face at blend size, resized once for the model size."""
        key = ("mouth_closing", size)
        if key in face._cache:
            return face._cache[key]
        if size == self.blend_size:
            teeth = teeth_mask(face.aligned.crop, face.aligned.face.mesh[:, :2])
            points = fit_inner_lips(face.aligned.face.mesh[:, :2], teeth)
            shift = mouth_closing(points)
            inside = self.weight(face, ["smiling"])[..., None]  # nothing moves outside it
            closing = closing_field(points, shift, size) * inside
            uncurve, uncurve_shift = np.zeros_like(closing), np.zeros_like(shift)
            if "smiling" in self.directions.shapes:
                uncurve, uncurve_shift = self._unit_shape(face, "smiling")
            face._cache[key] = (points, teeth, (closing, uncurve), (shift, uncurve_shift))
        else:
            points, teeth, fields, shifts = self._mouth_fields(face, self.blend_size)
            scale = size / self.blend_size
            small_teeth = cv2.resize(np.float32(teeth), (size, size), interpolation=cv2.INTER_AREA)
            face._cache[key] = (points * scale, small_teeth, tuple(
                cv2.resize(f, (size, size), interpolation=cv2.INTER_LINEAR) * scale
                for f in fields), tuple(s * scale for s in shifts))
        return face._cache[key]

    def edit(self, photo: np.ndarray, strengths: dict[str, float], raw: bool = False,
             all_faces: bool = False, faces: list[EncodedFace] | None = None,
             label: str = "photo", only_towards: bool = False) -> EditResult:
        """Edit the largest face (or every face) of `photo`.

        Args:
            photo: (H, W, 3) uint8 RGB.
            strengths: {attribute: target probability in [0, 1]} (age: target years), or raw
                steps with `raw=True`.
            faces: already encoded faces of this photo (skips detection and encoding).
            only_towards: a target above 0.5 means "at least", below 0.5 "at most": a face that
                already meets it is left as it is (adding a smile never removes one).
        """
        # 1. check inputs
        check_image_array(photo, label)
        wanted = self.parse_strengths(strengths, raw)
        if not raw and self.judge is None:
            raise ConfigError("calibrated strengths need a judge; pass raw=True for raw steps")
        # 2. align and encode
        faces = faces if faces is not None else self.encode(photo, all_faces, label)
        # 3. solve the steps, 4. render each face, 5. paste the changes back
        out, crops, steps_used = photo.copy(), [], []
        for face in faces:
            steps = dict(wanted) if raw else self.solve_steps(face, wanted, only_towards)
            crop = self.render(face, steps)
            if any(steps.values()):
                out = paste_back(out, face.aligned, crop, self.paste_mask(face))
            crops.append(crop)
            steps_used.append(steps)
        # 6. the judge's readings before and after
        before, after = self._readings(faces, crops, wanted)
        return EditResult(out, crops, steps_used, before, after)

    def _readings(self, faces, crops, wanted):
        # Custom attributes (raw steps only) have no reading: leave them out rather than fail.
        wanted = [n for n in wanted if self.judge is not None and
                  (n == "age" or self.attribute(n).label in self.judge.attributes)]
        if not wanted:
            return [{} for _ in faces], [{} for _ in faces]
        before = [self._as_readings(*self._unedited_scores(f), wanted)[0] for f in faces]
        return before, self.readings(np.stack([self._to_model_size(c) for c in crops]), wanted)

    def readings(self, small: np.ndarray, names) -> list[dict[str, float]]:
        """The judge's reading of each attribute in `names` (a probability; age in years) on each
        model-size crop of `small` (B, s, s, 3)."""
        return self._as_readings(*self.judge.score(small), names)

    def _as_readings(self, probs: np.ndarray, ages: np.ndarray, names) -> list[dict[str, float]]:
        labels = {n: self.attribute(n).label for n in names}
        return [{n: self._pick(probs, ages, i, labels[n]) for n in names}
                for i in range(len(probs))]

    def sweep(self, face: EncodedFace, steps: dict[str, float], frames: int) -> list[np.ndarray]:
        """Blend-size crops with the edit growing from nothing to `steps` over `frames` frames."""
        if frames < 2:
            raise ConfigError(f"frames: expected at least 2, got {frames}")
        return [self.render(face, {n: float(t) * v for n, v in steps.items()})
                for t in np.linspace(0.0, 1.0, frames)]

    # -- morphs ---------------------------------------------------------------------------------

    def mirror_face(self, face: EncodedFace) -> EncodedFace:
        """The face's left-right mirror image, encoded (its crop is the flipped crop); made once
        per face (a detection and an encode)."""
        if "mirror" not in face._cache:
            face._cache["mirror"] = self._mirrored(face)
        return face._cache["mirror"]

    def _mirrored(self, face: EncodedFace) -> EncodedFace:
        from facedit.align import AlignedFace

        size = face.aligned.size
        flip = np.array([[-1.0, 0.0, size - 1.0], [0.0, 1.0, 0.0]])
        flipped = np.ascontiguousarray(face.aligned.crop[:, ::-1])
        # The transform is mirrored too, so the crop stays the photo seen through the matrix.
        # The landmarks are found again on the mirrored crop: a mesh index then names the same
        # place in both crops (the image-left eye stays the image-left eye), which is what a
        # morph between them needs; the mirrored mesh is the fallback.
        matrix = flip @ np.vstack([face.aligned.matrix, [0.0, 0.0, 1.0]])
        found = self.detector.detect(flipped, all_faces=False)
        landmarks = found[0] if found else face.aligned.face.transformed(flip)
        mirrored = AlignedFace(flipped, matrix, landmarks, face.aligned.photo_shape)
        small = self._to_model_size(flipped)
        z = self.model.encode(small[None])[0]
        return EncodedFace(mirrored, small, z, self.model.decode(z[None])[0])

    def morph(self, a: EncodedFace, b: EncodedFace, frames: int = 10,
              method: str = "warp") -> list[np.ndarray]:
        """`frames` blend-size crops from face `a` to face `b`, both ends exact. uint8 each.

        method "warp": the in-between shape from the dense landmarks and the mixed appearance
        (sharp, no ghosting; see `facedit.morph`); when `b` is `mirror_face(a)`, outside the
        face each keeps one half of the frame (`morph_frame`'s `mirror`). "latent": the model's
        interpolated codes carried onto both real crops as residuals (the second source's latent
        interpolation)."""
        if frames < 2:
            raise ConfigError(f"frames: expected at least 2, got {frames}")
        return self.morph_at(a, b, np.linspace(0.0, 1.0, frames), method)

    def morph_at(self, a: EncodedFace, b: EncodedFace, ts, method: str = "warp"
                 ) -> list[np.ndarray]:
        """The morph's blend-size crops at positions `ts` in [0, 1] (see `morph`)."""
        if method not in MORPH_METHODS:
            raise ConfigError(f"unknown morph method {method!r}; expected one of "
                              f"{', '.join(MORPH_METHODS)}")
        ts = np.asarray(ts, np.float64)
        if method == "warp":
            pa, pb = a.aligned.face.mesh[:, :2], b.aligned.face.mesh[:, :2]
            mirror = a._cache.get("mirror") is b  # b came from `mirror_face(a)`
            return [morph_frame(a.aligned.crop, pa, b.aligned.crop, pb, float(t), mirror=mirror)
                    for t in ts]
        latents = np.stack([(1 - t) * a.latent + t * b.latent for t in ts]).astype(np.float32)
        decoded = self.model.decode(latents)
        out = []
        for t, dec in zip(ts, decoded):
            res_a = upsample_residual(dec - a.base, self.blend_size)
            res_b = upsample_residual(dec - b.base, self.blend_size)
            frame = crossfade(a.aligned.crop, b.aligned.crop, res_a, res_b, float(t))
            out.append(np.clip(np.rint(frame), 0, 255).astype(np.uint8))
        return out

    def paste_frames(self, photo: np.ndarray, faces: list[EncodedFace],
                     sequences: list[list[np.ndarray]]) -> list[np.ndarray]:
        """Photos of a frame sequence: frame i of every face's sequence pasted back into the photo
        under that face's head region. `sequences[k]` belongs to `faces[k]`."""
        if len(faces) != len(sequences) or len({len(q) for q in sequences}) > 1:
            raise ConfigError("paste_frames: one sequence per face, all of the same length")
        masks = [self.paste_mask(f) for f in faces]
        photos = []
        for i in range(len(sequences[0])):
            out = photo
            for face, seq, mask in zip(faces, sequences, masks):
                out = paste_back(out, face.aligned, seq[i], mask)
            photos.append(out)
        return photos

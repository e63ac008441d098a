"""One input image through the batch pipeline: every required variation rendered, post-processed,
judged, and encoded as PNG bytes. The same code runs in the driver, in local worker processes and
in Ray actors; it reads no files but the models, and writes none (the driver writes the results),
so a remote worker needs no shared file system.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from facedit.errors import FaceditError, ImageError, NoFaceError
from facedit.pipeline import gate
from facedit.pipeline.names import ImageCode, Variation, required_outputs
from facedit.pipeline.regions import (border_fade, domain_weight, foreground_weight,
                                      segmentation_weight)

REFERENCE_SIZE = 512  # the post-processing margins are given in pixels of a 512 px photo
# Characteristics whose edit can move a face part's outline; for the others (hair, skin, age, sex:
# parts the landmarks outline the same way before and after) the input's landmarks suffice.
SHAPE_CHARACTERISTICS = frozenset({"D", "Ch", "Pn", "Bn", "Bp", "N", "Be"})


@dataclass
class Job:
    """One image to render. offsets: {variation: (translation name, origin, (D,) vector)},
    resolved by the driver; skip: variations already on disk (rendered, not returned)."""

    stem: str
    file: str
    data: bytes
    code: ImageCode
    offsets: dict
    skip: frozenset = frozenset()


@dataclass
class ImageResult:
    """record: the image's report entry; files: {variation: PNG bytes} for the variations not
    skipped; steps: {step: {variation: PNG bytes}} when intermediate results are asked for."""

    stem: str
    record: dict
    files: dict[str, bytes] = field(default_factory=dict)
    steps: dict[str, dict[str, bytes]] = field(default_factory=dict)


def build_editor(config):
    """The `Editor` a pipeline configuration asks for (models loaded once, here)."""
    from pathlib import Path

    import torch

    from facedit.directions import load_model_directions
    from facedit.edit import Editor
    from facedit.models.backend import load_backend

    torch.set_num_threads(config.pipeline.threads)
    p = config.pipeline
    judge = None
    if config.gate.enabled:
        from facedit.judge import Judge
        judge = Judge(path=Path(p.judge)) if p.judge else Judge()
    return Editor(load_backend(p.model), load_model_directions(p.model, p.directions),
                  judge=judge, blend_size=p.blend_size)


def encode_png(image: np.ndarray, level: int) -> bytes:
    """(H, W, 3) uint8 RGB -> PNG bytes (libpng through OpenCV: faster than PIL's encoder)."""
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(image[:, :, ::-1]),
                              [cv2.IMWRITE_PNG_COMPRESSION, int(level)])
    if not ok:  # pragma: no cover - libpng does not fail on a valid array
        raise FaceditError("PNG encoding failed")
    return buffer.tobytes()


def prepare_photo(data: bytes, size: int, label: str) -> tuple[np.ndarray, list[int] | None]:
    """Decode an input and bring it to (size, size, 3) uint8 RGB; also returns its original
    [width, height] when it had to be resized (None otherwise)."""
    from facedit.io import load_image

    try:
        image = load_image(bytes(data))
    except ImageError as exc:  # the message names "<N bytes>": name the file instead
        raise ImageError(f"{label}: {str(exc).split(': ', 1)[-1]}") from None
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image, None
    interp = cv2.INTER_AREA if max(h, w) > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interp), [w, h]


def keep_background(original: np.ndarray, edited: np.ndarray, weight: np.ndarray,
                    box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """original + weight * (edited - original), rounded; bit-identical wherever weight is 0.
    (H, W, 3) uint8 images, (H, W) float32 weight; `box` (x0, y0, x1, y1) bounds where `edited`
    may differ from `original` (only that part is computed)."""
    x0, y0, x1, y1 = box or (0, 0, original.shape[1], original.shape[0])
    o, e = original[y0:y1, x0:x1].astype(np.float32), edited[y0:y1, x0:x1].astype(np.float32)
    out = original.copy()
    out[y0:y1, x0:x1] = np.clip(np.rint(o + (e - o) * weight[y0:y1, x0:x1, None]), 0, 255)
    return out


class Renderer:
    """Renders jobs with one editor (model, directions, judge, detector) and one segmenter.

    Example:
        >>> result = Renderer(config).process(job)      # doctest: +SKIP
    """

    def __init__(self, config, editor=None, segmenter=None):
        from facedit.segmentation import PersonSegmenter

        self.config = config
        self.editor = editor or build_editor(config)
        self.segmenter = segmenter or PersonSegmenter()

    # -- one image ------------------------------------------------------------------------------

    def process(self, job: Job) -> ImageResult:
        cfg = self.config
        # 1. decode and size the input
        record = {"image": job.stem, "file": job.file, "code": job.code.name,
                  "bald": job.code.bald, "resized_from": None, "status": "ok", "outputs": []}
        try:
            photo, record["resized_from"] = prepare_photo(job.data, cfg.pipeline.size, job.file)
        except ImageError as exc:  # listed by the driver; nothing to write
            record.update(status="unreadable", error=str(exc))
            return ImageResult(job.stem, record)
        variations = required_outputs(job.code)
        person = self.segmenter(photo)
        background = person <= cfg.postprocess.foreground_threshold
        # 2. align and encode once
        try:
            face = self._encode(photo, job.file)
        except NoFaceError as exc:
            record.update(status="no_face", error=str(exc))
            outputs = {v.name: photo for v in variations}
            record["outputs"] = [self._stand_in_entry(v, job, "no_face") for v in variations]
            return self._finish(job, record, outputs, {})
        # 3. render, judge and retry
        context = _Context(self, photo, face, person)
        finals, entries, steps = self._render_all(context, variations, job)
        # 4. identity and background checks
        self._checks(context, variations, job, finals, entries, background)
        record["outputs"] = [entries[v.name] for v in variations]
        return self._finish(job, record, finals, steps)

    def _encode(self, photo: np.ndarray, label: str):
        from facedit.edit import EncodedFace
        from facedit.pipeline.projection import refine_latent

        face = self.editor.encode(photo, label=label)[0]
        if self.config.projection.iterations:
            z = refine_latent(self.editor.model, face.small, face.latent, self.config.projection)
            face = EncodedFace(face.aligned, face.small, z, self.editor.model.decode(z[None])[0])
        return face

    def _render_all(self, ctx: "_Context", variations: list[Variation], job: Job):
        g = self.config.gate
        judged = g.enabled and self.editor.judge is not None
        attempts = 1 + (g.retries if judged else 0)
        pending = list(variations)
        finals, entries, steps = {}, {}, {}
        strength = {v.name: 1.0 for v in variations}
        start = {}  # the judge's reading of the input, per variation's attribute
        if judged:
            probs, _ = self.editor.judge.score(ctx.model_crop(ctx.photo)[None])
            start = {v.name: float(probs[0, c]) for v, c in zip(variations,
                                                                 self._columns(variations))}
        for attempt in range(attempts):
            latents = np.stack([ctx.face.latent + np.float32(strength[v.name]) *
                                job.offsets[v.name][2] for v in pending]).astype(np.float32)
            decoded = self.editor.model.decode(latents)
            rendered = [ctx.render(v, dec) for v, dec in
                        zip(pending, decoded)]
            readings = self._read(ctx, pending, [r[0] for r in rendered]) if judged else None
            still = []
            for i, (v, (image, stages)) in enumerate(zip(pending, rendered)):
                for step, img in stages.items():  # a retry replaces its earlier steps
                    steps.setdefault(step, {})[v.name] = img
                reading = None if readings is None else float(readings[i])
                passed = None if reading is None else gate.meets_target(reading, v.target,
                                                                        g.tolerance)
                entries[v.name] = self._entry(v, job, reading, passed, attempt + 1,
                                              strength[v.name], start.get(v.name))
                finals[v.name] = image
                if passed is False:
                    still.append(v)
                    strength[v.name] = gate.next_multiplier(strength[v.name], reading, v.target,
                                                            start[v.name], g.growth)
            pending = still
            if not pending:
                break
        for v in pending:  # failed every attempt
            entries[v.name]["flags"].append("gate_failed")
            if g.on_fail == "copy":
                finals[v.name] = ctx.photo
                entries[v.name]["stand_in"] = True
                entries[v.name]["flags"].append("stand_in")
        return finals, entries, steps

    def _read(self, ctx: "_Context", variations: list[Variation], images) -> np.ndarray:
        """The judge's reading of each variation's attribute on its output."""
        crops = np.stack([ctx.model_crop(img) for img in images])
        probs, _ = self.editor.judge.score(crops)
        return probs[np.arange(len(variations)), self._columns(variations)]

    def _columns(self, variations: list[Variation]) -> list[int]:
        """The judge's output column of each variation's attribute."""
        labels = self.editor.judge.attributes
        return [labels.index(self.editor.attribute(v.attribute).label) for v in variations]

    def _checks(self, ctx, variations, job, finals, entries, background) -> None:
        g = self.config.gate
        edited = [v for v in variations if not entries[v.name]["stand_in"]]
        if edited:
            crops = np.stack([ctx.model_crop(finals[v.name]) for v in edited])
            codes = self.editor.model.encode(crops)
            for v, z in zip(edited, codes):
                drift = gate.identity_drift(ctx.face.latent, z, job.offsets[v.name][2])
                entries[v.name]["identity_drift"] = round(drift, 4)
                if drift > g.identity_max:
                    entries[v.name]["flags"].append("identity")
        for v in variations:
            psnr = gate.background_psnr(ctx.photo, finals[v.name], background)
            entries[v.name]["background_psnr"] = None if psnr is None else round(psnr, 2)
            if psnr is not None and psnr < g.background_min_psnr:
                entries[v.name]["flags"].append("background")

    # -- records and bytes ----------------------------------------------------------------------

    @staticmethod
    def _entry(v: Variation, job: Job, reading, passed, attempts: int, multiplier: float,
               before: float | None = None) -> dict:
        name, origin, _ = job.offsets[v.name]
        return {"variation": v.name, "characteristic": v.characteristic, "translation": name,
                "origin": origin, "attribute": v.attribute, "target": v.target,
                "before": None if before is None else round(before, 4),
                "reading": None if reading is None else round(reading, 4), "passed": passed,
                "attempts": attempts, "multiplier": round(multiplier, 4), "stand_in": False,
                "identity_drift": None, "background_psnr": None, "flags": []}

    def _stand_in_entry(self, v: Variation, job: Job, flag: str) -> dict:
        entry = self._entry(v, job, None, False, 0, 0.0)
        entry.update(stand_in=True, flags=[flag, "stand_in"])
        return entry

    def _finish(self, job: Job, record: dict, finals: dict, steps: dict) -> ImageResult:
        level = self.config.pipeline.png_compression
        encoded: dict[int, bytes] = {}  # stand-ins share one array: encode it once
        files = {}
        for name, img in finals.items():
            if name not in job.skip:
                if id(img) not in encoded:
                    encoded[id(img)] = encode_png(img, level)
                files[name] = encoded[id(img)]
        step_files = {step: {name: encode_png(img, level) for name, img in images.items()}
                      for step, images in steps.items()}
        return ImageResult(job.stem, record, files, step_files)


class _Context:
    """One encoded image and its per-characteristic weights, shared by all its variations."""

    def __init__(self, renderer: Renderer, photo: np.ndarray, face, person: np.ndarray):
        cfg = renderer.config.postprocess
        self.renderer, self.photo, self.face = renderer, photo, face
        self.editor = renderer.editor
        self.size = face.aligned.size
        # Margins are given at 512 px of photo; the crop has its own scale.
        scale = float(np.sqrt(abs(np.linalg.det(face.aligned.matrix[:, :2]))))
        px = scale * photo.shape[0] / REFERENCE_SIZE
        self.domain_margin = cfg.domain_margin * px
        self.seg_margin = cfg.segmentation_margin * px
        self.fade = border_fade(self.size, 0.03 * self.size)
        self.foreground = foreground_weight(person, cfg.foreground_threshold,
                                            cfg.foreground_margin * photo.shape[0] /
                                            REFERENCE_SIZE)
        # The photo box a pasted crop can change: the crop's corners mapped back, plus a pixel.
        corners = np.array([[0, 0], [self.size, 0], [0, self.size], [self.size, self.size]])
        inv = face.aligned.inverse
        pts = corners @ inv[:, :2].T + inv[:, 2]
        h, w = photo.shape[:2]
        lo, hi = np.floor(pts.min(axis=0)) - 2, np.ceil(pts.max(axis=0)) + 2
        self.box = (int(np.clip(lo[0], 0, w)), int(np.clip(lo[1], 0, h)),
                    int(np.clip(hi[0], 0, w)), int(np.clip(hi[1], 0, h)))
        self._domain: dict[str, np.ndarray] = {}
        self._segment: dict[str, np.ndarray] = {}

    def model_crop(self, image: np.ndarray) -> np.ndarray:
        """The model-size aligned crop of a (size, size, 3) output, as the judge sees it."""
        from facedit.align import warp_to_crop

        s = self.editor.model.size
        crop = warp_to_crop(image, self.face.aligned.matrix, self.size)
        # INTER_AREA, as the editor shrinks the input's crop for the model
        return crop if s == self.size else cv2.resize(crop, (s, s), interpolation=cv2.INTER_AREA)

    def _domain_w(self, c: str) -> np.ndarray:
        if c not in self._domain:
            self._domain[c] = domain_weight(c, self.face.aligned.face, self.size,
                                            self.domain_margin)
        return self._domain[c]

    def _segment_w(self, c: str, crop: np.ndarray) -> np.ndarray:
        faces = [self.face.aligned.face]
        if self.renderer.config.postprocess.segment_output and c in SHAPE_CHARACTERISTICS:
            # Only the mesh: the edited face is where the input's face was, so the detector's
            # pass (half the cost) is skipped. None when the mesh finds no face.
            f = self.face.aligned.face
            found = self.editor.detector.mesh_in_box(crop, f.box, f.score)
            faces += [found] if found is not None else []
        elif c in self._segment:
            return self._segment[c]
        w = segmentation_weight(c, faces, self.size, self.seg_margin)
        if len(faces) == 1:
            self._segment[c] = w
        return w

    def render(self, v: Variation, decoded: np.ndarray):
        """(final (H, W, 3) uint8 photo, {step: photo after it} or {}) for one decoding."""
        from facedit.align import paste_back
        from facedit.blend import apply_residual, scale_chroma, upsample_residual

        cfg = self.renderer.config.postprocess
        crop = self.face.aligned.crop
        chroma = self.renderer.editor.chroma_of([v.attribute])
        residual = upsample_residual(scale_chroma(decoded - self.face.base, chroma), self.size)
        weight = np.ones((self.size, self.size), np.float32)
        current = apply_residual(crop, residual, weight)
        stages, fg = [("edit", current, False)], False
        for step in cfg.steps:  # crop-space steps multiply their weights, in the given order
            if step == "foreground":
                fg = True
            else:
                weight = weight * (self._domain_w(v.characteristic) if step == "domain" else
                                   self._segment_w(v.characteristic, current))
                current = apply_residual(crop, residual, weight)
            stages.append((step, current, fg))
        paste = lambda img, f: self._to_photo(  # noqa: E731
            paste_back(self.photo, self.face.aligned, img, self.fade), f)
        final = paste(current, fg)
        if not cfg.intermediate:
            return final, {}
        return final, {name: paste(img, f) for name, img, f in stages}

    def _to_photo(self, pasted: np.ndarray, foreground: bool) -> np.ndarray:
        return keep_background(self.photo, pasted, self.foreground, self.box) if foreground \
            else pasted

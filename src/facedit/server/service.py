"""What the API does, without HTTP: upload, render, sweep, morph, translations.

`EditService` holds the editor, the face cache and the limits; every method takes plain values
and returns arrays, bytes or dicts, and raises `FaceditError`s the app turns into 4xx answers.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from facedit.edit import AGE_RANGE, GLASSES, RAW_STEP_LIMIT
from facedit.errors import ConfigError, ImageTooLargeError
from facedit.server.cache import FaceCache, FaceSession, new_face_id
from facedit.server.calibration import measure_curve, step_for_target
from facedit.server.config import ServerConfig

MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "grid": "image/png"}
EXPORT_SIDE = 512  # GIF / grid frames of the whole photo are fitted into this square


def fit(image: np.ndarray, side: int | None) -> np.ndarray:
    """Downscale (H, W, 3) so its longer side is at most `side` (never upscales)."""
    h, w = image.shape[:2]
    if side is None or max(h, w) <= side:
        return image
    s = side / max(h, w)
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))),
                      interpolation=cv2.INTER_AREA)


def encode(image: np.ndarray, fmt: str) -> bytes:
    """PNG or JPEG bytes of an (H, W, 3) uint8 RGB array."""
    from facedit.io import encode_image

    return encode_image(image, "PNG" if fmt == "png" else "JPEG", quality=90)


def frames_bytes(frames: list[np.ndarray], fmt: str, tag: str) -> bytes:
    """A looping GIF or a labelled one-row grid (PNG) of RGB frames."""
    from facedit.animate import gif_bytes
    from facedit.draw import grid

    if fmt == "grid":
        labels = [f"{tag} {i / (len(frames) - 1):.2f}" for i in range(len(frames))]
        return encode(grid(frames, len(frames), labels=labels, cell=256), "png")
    return gif_bytes(frames)


class EditService:
    """The editor behind the API.

    Example:
        >>> service = EditService(Editor.load(), ServerConfig())     # doctest: +SKIP
        >>> session = service.upload(open("photo.jpg", "rb").read())  # doctest: +SKIP
        >>> jpeg = service.render(session.id, {"smile": 0.9})        # doctest: +SKIP
    """

    def __init__(self, editor, config: ServerConfig = ServerConfig()):
        self.editor = editor
        if config.model is None:  # the translation store and health name the editor's model
            config = dataclasses.replace(config, model=editor.spec)
        self.config = config
        self.cache = FaceCache(config.cache_faces, config.cache_bytes)

    # -- upload ---------------------------------------------------------------------------------

    def check_upload(self, data: bytes) -> None:
        """Refuse an upload over the byte limit before decoding it (the pixel limit is
        `load_image`'s, checked on the header before any decoding)."""
        limit = self.config.max_upload_bytes
        if len(data) > limit:
            raise ImageTooLargeError(f"upload: {len(data)} bytes is over the limit of {limit} "
                                     f"bytes; send a smaller file")

    def upload(self, data: bytes, name: str = "photo") -> FaceSession:
        """Decode, detect the largest face, align and encode it; cache it under a new id."""
        from facedit.io import load_image

        self.check_upload(data)
        photo = load_image(data, max_pixels=self.config.max_pixels)
        photo.setflags(write=False)
        label = "upload" if not name else f"upload {name[:80]!r}"
        face = self.editor.encode(photo, label=label)[0]
        session = FaceSession(new_face_id(), photo, face, self._readings(face.small), name[:80])
        self.cache.put(session)
        return session

    def _readings(self, small: np.ndarray) -> dict[str, float]:
        if self.editor.judge is None:
            return {}
        return self.editor.readings(small[None], self.calibrated_names())[0]

    def calibrated_names(self) -> list[str]:
        """Direction names that take a target probability (or age): judged catalogue ones."""
        judge = self.editor.judge
        if judge is None:
            return []
        names = []
        for name in self.editor.directions.names:
            attr = self.editor.attribute(name)
            if attr.group != "custom" and (attr.label == "age" or attr.label in judge.attributes):
                names.append(name)
        return names

    # -- attributes -----------------------------------------------------------------------------

    def attributes(self) -> list[dict]:
        calibrated = set(self.calibrated_names())
        out = []
        for name in self.editor.directions.names:
            attr = self.editor.attribute(name)
            cal = name in calibrated
            limit = RAW_STEP_LIMIT * attr.max_step
            out.append({
                "name": name, "label": attr.label, "group": attr.group,
                "regions": list(attr.regions), "calibrated": cal,
                "range": list(AGE_RANGE) if attr.label == "age" else [0.0, 1.0],
                "raw_range": [-limit, limit],
                "unit": "steps" if not cal else "years" if attr.label == "age" else "probability",
            })
        return out

    # -- edits ----------------------------------------------------------------------------------

    def editor_for(self, glasses_tint: float | None):
        """The editor a request renders with: the server's own, or a copy of it whose added
        glasses have lenses of `glasses_tint` (0 clear ... 1 dark)."""
        if glasses_tint is None or glasses_tint == self.editor.glasses_tint:
            return self.editor
        return self.editor.with_glasses_tint(glasses_tint)

    def steps(self, session: FaceSession, strengths: dict[str, float], raw: bool,
              editor=None) -> dict:
        """Raw steps for `strengths`: as given (raw), else read off each attribute's curve."""
        editor = editor or self.editor
        wanted = editor.parse_strengths(strengths, raw)
        if raw:
            return wanted
        if editor.judge is None:
            raise ConfigError("calibrated strengths need a judge; send raw steps (raw=true)")
        return {name: step_for_target(*self.curve(session, name, editor), target)
                for name, target in wanted.items()}

    def curve(self, session: FaceSession, name: str, editor=None) -> tuple[np.ndarray,
                                                                          np.ndarray]:
        """(steps, readings) of an attribute on the session's face, measured on first use (for
        eyeglasses, once per lens tint: a clearer lens reads weaker at the same step)."""
        editor = editor or self.editor
        key = _curve_key(name, editor)
        if key not in session.curves:
            session.curves[key] = measure_curve(editor, session.face, name)
        return session.curves[key]

    def expected(self, session: FaceSession, steps: dict[str, float],
                 editor=None) -> dict[str, float]:
        """The reading each calibrated attribute's curve predicts at its step: what a slider
        reaches when its target is out of the model's reach."""
        editor = editor or self.editor
        keys = {n: _curve_key(n, editor) for n in steps}
        return {n: float(np.interp(s, *session.curves[keys[n]])) for n, s in steps.items()
                if keys[n] in session.curves}

    def render(self, face_id: str, strengths: dict[str, float], raw: bool = False,
               view: str = "photo", max_side: int | None = None,
               glasses_tint: float | None = None) -> tuple[np.ndarray, dict, dict]:
        """(edited image (H, W, 3) uint8, raw steps used, expected readings): the whole photo
        or the face crop."""
        from facedit.align import paste_back

        session = self.cache.get(face_id)
        editor = self.editor_for(glasses_tint)
        steps = self.steps(session, strengths, raw, editor)
        expected = {} if raw else self.expected(session, steps, editor)
        crop = editor.render(session.face, steps)
        if view == "crop":
            return fit(crop, max_side), steps, expected
        photo = session.photo
        if any(steps.values()):
            photo = paste_back(photo, session.face.aligned, crop,
                               self.editor.paste_mask(session.face))
        return fit(photo, max_side), steps, expected

    def original(self, face_id: str, view: str = "photo", max_side: int | None = None):
        session = self.cache.get(face_id)
        image = session.face.aligned.crop if view == "crop" else session.photo
        return fit(image, max_side)

    def sweep(self, face_id: str, strengths: dict[str, float], raw: bool, frames: int,
              view: str, glasses_tint: float | None = None) -> list[np.ndarray]:
        """Frames of the edit growing from nothing to `strengths`."""
        self._check_frames(frames)
        session = self.cache.get(face_id)
        editor = self.editor_for(glasses_tint)
        steps = self.steps(session, strengths, raw, editor)
        if not any(steps.values()):
            raise ConfigError("sweep: the edit is empty (every step is 0); move a slider first")
        return self._frames(session, [editor.sweep(session.face, steps, frames)], view)

    def mirror(self, face_id: str, frames: int, method: str, view: str) -> list[np.ndarray]:
        """Frames of the face morphing into its own mirror image."""
        self._check_frames(frames)
        session = self.cache.get(face_id)
        mirror = self.editor.mirror_face(session.face)
        return self._frames(session, [self.editor.morph(session.face, mirror, frames,
                                                        method)], view)

    def interpolate(self, face_from: str, face_to: str, frames: int, method: str,
                    view: str) -> list[np.ndarray]:
        """Frames of one uploaded face morphing into another (in the first one's photo)."""
        self._check_frames(frames)
        a, b = self.cache.get(face_from), self.cache.get(face_to)
        return self._frames(a, [self.editor.morph(a.face, b.face, frames, method)], view)

    def _check_frames(self, frames: int) -> None:
        if not 2 <= frames <= self.config.max_frames:
            raise ConfigError(f"frames: expected 2..{self.config.max_frames}, got {frames}")

    def _frames(self, session: FaceSession, sequences, view: str) -> list[np.ndarray]:
        if view == "crop":
            return sequences[0]
        photos = self.editor.paste_frames(session.photo, [session.face], sequences)
        return [fit(p, EXPORT_SIDE) for p in photos]

    # -- translations ---------------------------------------------------------------------------

    def store(self):
        from facedit.translations import user_store

        return user_store(self.config.model, self.config.translations_dir)

    def translations(self) -> list[dict]:
        """Every translation of the model, shipped and the user's, by name."""
        from facedit.translations import (Translations, parse_translation_name,
                                          shipped_translations)

        user = {n: v for n, v in self.store().load().items()
                if v.shape[0] == self.editor.directions.dim}
        table = Translations(shipped_translations(self.editor.directions), user).all()
        return [{"name": n, "kind": parse_translation_name(n).kind, "origin": origin,
                 "norm": round(float(np.linalg.norm(v)), 4)} for n, (origin, v) in table.items()]

    def save_translation(self, name: str, face_id: str, strengths: dict[str, float],
                         raw: bool) -> dict:
        """Store the edit (edited minus original latent) under a name that follows the rules."""
        from facedit.translations import parse_translation_name

        kind = parse_translation_name(name).kind  # a bad name fails before any model work
        session = self.cache.get(face_id)
        steps = self.steps(session, strengths, raw)
        if not any(steps.values()):
            raise ConfigError("translation: the edit is empty (every step is 0); move a slider "
                              "first")
        offset = self.editor.shift(session.face.latent, steps) - session.face.latent
        self.store().save(name, offset, source=f"server upload {session.name}",
                          steps={k: round(v, 4) for k, v in steps.items()})
        return {"name": name, "kind": kind, "origin": "user",
                "norm": round(float(np.linalg.norm(offset)), 4),
                "steps": {k: round(v, 4) for k, v in steps.items()}}


def _curve_key(name: str, editor):
    """Where a session keeps an attribute's curve: eyeglasses' depends on the lens tint."""
    return (name, editor.glasses_tint) if name == GLASSES else name

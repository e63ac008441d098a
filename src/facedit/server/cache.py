"""The bounded face cache: photos uploaded once, aligned and encoded once, edited many times.

Each upload becomes a `FaceSession` under an unguessable id. The cache keeps at most `max_items`
sessions and `max_bytes` of photo pixels, dropping the least recently used first, so a server
that sees many uploads stays within a fixed memory budget.
"""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from facedit.errors import FaceditError


class UnknownFaceError(FaceditError):
    """A face id the cache does not hold (never uploaded, or dropped as least recently used)."""


@dataclass
class FaceSession:
    """One uploaded photo and its largest face, ready for edits.

    photo: (H, W, 3) uint8 RGB, read-only. face: the `EncodedFace`. readings: the judge's
    reading of each calibrated attribute on the unedited face (probability; age in years).
    curves: calibration curves per attribute (see `facedit.server.calibration`), filled on use.
    """

    id: str
    photo: np.ndarray
    face: object
    readings: dict[str, float]
    name: str = "photo"
    curves: dict = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        # The photo dominates; the crops, latents and curves are a few hundred kilobytes.
        return int(self.photo.nbytes) + 4 * int(self.face.aligned.crop.nbytes)


def new_face_id() -> str:
    """22 URL-safe characters (128 random bits): ids cannot be guessed or enumerated."""
    return secrets.token_urlsafe(16)


class FaceCache:
    """A thread-safe LRU map from face id to `FaceSession`, bounded in items and bytes."""

    def __init__(self, max_items: int, max_bytes: int):
        self.max_items, self.max_bytes = max_items, max_bytes
        self._items: OrderedDict[str, FaceSession] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, session: FaceSession) -> None:
        with self._lock:
            self._items[session.id] = session
            self._items.move_to_end(session.id)
            while len(self._items) > self.max_items or (
                    len(self._items) > 1 and self._bytes() > self.max_bytes):
                self._items.popitem(last=False)

    def get(self, face_id: str) -> FaceSession:
        with self._lock:
            session = self._items.get(face_id)
            if session is None:
                raise UnknownFaceError(f"unknown face id {face_id!r}: never uploaded, or dropped "
                                       f"from the cache of the {self.max_items} most recently "
                                       f"used photos; upload the photo again")
            self._items.move_to_end(face_id)
            return session

    def delete(self, face_id: str) -> None:
        with self._lock:
            if self._items.pop(face_id, None) is None:
                raise UnknownFaceError(f"unknown face id {face_id!r}")

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes()

    def _bytes(self) -> int:
        return sum(s.nbytes for s in self._items.values())

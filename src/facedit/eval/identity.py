"""Identity of a face across an edit: cosine similarity of face-recognition embeddings.

The model is dlib's face-recognition ResNet (`dlib_face_recognition_resnet_model_v1`, 128-d
embeddings, 99.38% on LFW; public-domain weights) with dlib's 5-point shape predictor for its
alignment, both shipped by the `face_recognition_models` package. They are an optional extra:

    pip install "facedit[eval]"        # dlib-bin (prebuilt dlib wheels) + face_recognition_models

Without them `load_identity` raises a `WeightsError` that says so; the evaluation then reports
identity as not measured. The embedding is found on facedit's own aligned crop, with the face's
box taken from facedit's landmarks (dlib's own detector misses some edited faces, and the
comparison must use the same face).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from facedit.errors import ShapeError, WeightsError

INSTALL_HINT = 'pip install "facedit[eval]" (dlib-bin and face_recognition_models)'
DLIB_SAME_PERSON = 0.6  # dlib's Euclidean distance threshold for "the same person"


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) embedding arrays -> (N,) in [-1, 1]; NaN rows
    (no embedding) stay NaN."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ShapeError(f"embeddings: expected two (N, D) arrays of one shape, got {x.shape} "
                         f"and {y.shape}")
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.sum(x * y, axis=1) / norms, -1.0, 1.0)


class DlibIdentity:
    """dlib's face-recognition ResNet on aligned crops.

    Example:
        >>> ident = load_identity()                                   # doctest: +SKIP
        >>> emb = ident.embed(crops, faces)   # (B, S, S, 3) uint8, B Face -> (B, 128)
    """

    name = "dlib_face_recognition_resnet_model_v1 (dlib ResNet-29, 128-d, face_recognition_models)"
    dim = 128

    def __init__(self, models_dir: Path):
        import dlib

        self._dlib = dlib
        self.shape = dlib.shape_predictor(str(models_dir / "shape_predictor_5_face_landmarks.dat"))
        self.net = dlib.face_recognition_model_v1(
            str(models_dir / "dlib_face_recognition_resnet_model_v1.dat"))

    def embed(self, crops: np.ndarray, faces) -> np.ndarray:
        """Embeddings (B, 128) of aligned crops (B, S, S, 3) uint8 RGB, each with its
        `facedit.faces.Face` in crop pixels."""
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[3] != 3 or crops.dtype != np.uint8:
            raise ShapeError(f"crops: expected (B, S, S, 3) uint8, got {crops.shape} "
                             f"{crops.dtype}")
        if len(faces) != len(crops):
            raise ShapeError(f"faces: expected {len(crops)} (one per crop), got {len(faces)}")
        out = np.empty((len(crops), self.dim))
        for i, (crop, face) in enumerate(zip(crops, faces)):
            # dlib's detector box: the 68 landmarks' extent, roughly (it excludes the forehead).
            x0, y0 = face.points68.min(axis=0)
            x1, y1 = face.points68.max(axis=0)
            rect = self._dlib.rectangle(int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))
            image = np.ascontiguousarray(crop)
            out[i] = np.asarray(self.net.compute_face_descriptor(image, self.shape(image, rect)))
        return out


def _models_dir() -> Path | None:
    # face_recognition_models' __init__ imports pkg_resources (gone from recent setuptools), so
    # the package is located without importing it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    return folder if folder.is_dir() else None


def load_identity(name: str = "dlib") -> DlibIdentity:
    """The identity model. Raises `WeightsError` with the install command when it is absent."""
    if name != "dlib":
        raise WeightsError(f"identity model {name!r}: unknown; expected 'dlib'")
    if importlib.util.find_spec("dlib") is None:
        raise WeightsError(f"identity: dlib is not installed; {INSTALL_HINT}")
    folder = _models_dir()
    if folder is None:
        raise WeightsError(f"identity: face_recognition_models is not installed; {INSTALL_HINT}")
    return DlibIdentity(folder)

"""Attribute directions in a model's latent space, and the files that hold them.

The maths are small pure numpy functions (after InterFaceGAN's `manipulator.py`):

* `mean_difference` - mean latent of faces with the attribute minus mean of faces without it
  (the second source's attribute vectors);
* `linear_boundary` - the unit normal of a linear classifier separating the two groups
  (InterFaceGAN);
* `orthogonalize` - a direction with the span of other directions projected out (InterFaceGAN's
  conditional manipulation), so moving along it leaves those attributes' scores unchanged;
* `pca_directions` - principal axes of the latents (unsupervised, GANSpace-like).

A `DirectionSet` is a named (K, D) array of unit vectors with per-direction metadata and bounds,
stored as `directions.safetensors` + `directions.json`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facedit.errors import ConfigError, ShapeError, WeightsError
from facedit.io import atomic_output


def _check_latents(latents: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    z = np.asarray(latents, dtype=np.float64)
    if z.ndim != 2:
        raise ShapeError(f"latents: expected shape (N, D), got {z.shape}")
    if labels is not None and np.asarray(labels).shape != (len(z),):
        raise ShapeError(f"labels: expected shape ({len(z)},), got {np.asarray(labels).shape}")
    return z


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v)
    if norm < 1e-12:
        raise ShapeError("direction has zero length")
    return v / norm


def mean_difference(latents: np.ndarray, labels: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Mean of `latents[labels]` minus mean of `latents[~labels]`.

    Args:
        latents: (N, D) codes. labels: (N,) bool, True where the attribute is present.
        normalize: return a unit vector (else the raw difference, as the second source stores it).
    Returns:
        (D,) float64.
    """
    z = _check_latents(latents, labels)
    pos = np.asarray(labels, bool)
    if pos.all() or not pos.any():
        raise ShapeError("labels: need examples both with and without the attribute")
    diff = z[pos].mean(axis=0) - z[~pos].mean(axis=0)
    return _unit(diff) if normalize else diff


def linear_boundary(latents: np.ndarray, labels: np.ndarray, c: float = 0.1,
                    max_samples: int = 5000, seed: int = 0) -> np.ndarray:
    """Unit normal of a linear SVM separating `labels` in latent space, pointing to True. (D,)

    Fitted on at most `max_samples` random rows (a boundary in 500 dimensions is well defined by
    a few thousand examples; all 20k take ~25 s per attribute on 2 CPU cores)."""
    from sklearn.svm import LinearSVC

    z = _check_latents(latents, labels)
    y = np.asarray(labels, bool)
    if y.all() or not y.any():
        raise ShapeError("labels: need examples both with and without the attribute")
    if len(z) > max_samples:
        keep = np.random.default_rng(seed).choice(len(z), max_samples, replace=False)
        z, y = z[keep], y[keep]
    svm = LinearSVC(C=c, class_weight="balanced", dual=False, max_iter=2000).fit(z, y)
    return _unit(svm.coef_[0].astype(np.float64))


def orthogonalize(direction: np.ndarray, others: np.ndarray) -> np.ndarray:
    """`direction` with the span of `others` (K, D) removed, renormalised to unit length. (D,)"""
    d = np.asarray(direction, dtype=np.float64)
    o = np.atleast_2d(np.asarray(others, dtype=np.float64))
    if o.size == 0:
        return _unit(d)
    if o.shape[1] != d.shape[0]:
        raise ShapeError(f"others: expected shape (K, {d.shape[0]}), got {o.shape}")
    q, _ = np.linalg.qr(o.T)  # orthonormal basis of the span, (D, K)
    return _unit(d - q @ (q.T @ d))


def pca_directions(latents: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `k` principal axes (k, D) (unit, sign fixed so the largest entry is positive)
    and the standard deviation of the latents along each (k,)."""
    z = _check_latents(latents)
    centred = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:k] * np.sign(vt[:k][np.arange(min(k, len(vt))), np.abs(vt[:k]).argmax(axis=1)])[:, None]
    return axes, s[:k] / np.sqrt(max(1, len(z) - 1))


def correlated(labels: np.ndarray, target: int, threshold: float = 0.25) -> list[int]:
    """Columns of the (N, K) +1/-1/0 label table whose correlation with column `target` has
    magnitude >= `threshold` (rows with unknown labels ignored)."""
    table = np.asarray(labels, dtype=np.float64)
    out = []
    for j in range(table.shape[1]):
        if j == target:
            continue
        known = (table[:, j] != 0) & (table[:, target] != 0)
        if known.sum() < 10:
            continue
        a, b = table[known, target], table[known, j]
        if a.std() == 0 or b.std() == 0:
            continue
        if abs(np.corrcoef(a, b)[0, 1]) >= threshold:
            out.append(j)
    return out


@dataclass
class DirectionSet:
    """Named unit directions (K, D) with metadata per direction (method, source label, bounds...).

    shapes: for attributes that change the face's shape (a smile curves the lips), the landmarks'
    displacement per raw step, (478, 2) in fractions of the aligned crop's side; the editor warps
    the real crop by it, so the shape change keeps the photo's own sharpness.
    """

    names: list[str]
    vectors: np.ndarray
    meta: dict[str, dict] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    shapes: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or len(self.names) != len(self.vectors):
            raise ShapeError(f"vectors: expected ({len(self.names)}, D), got {self.vectors.shape}")
        if len(set(self.names)) != len(self.names):
            raise ConfigError("direction names must be unique")
        self.shapes = {n: np.asarray(v, dtype=np.float32) for n, v in self.shapes.items()}
        for name, shift in self.shapes.items():
            if name not in self.names or shift.ndim != 2 or shift.shape[1] != 2:
                raise ShapeError(f"shape of {name!r}: expected a known name and (N, 2), got "
                                 f"{shift.shape}")

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.names:
            raise ConfigError(f"unknown attribute {name!r}; known: {', '.join(self.names)}")
        return self.vectors[self.names.index(name)]

    def step(self, name: str) -> np.ndarray:
        """The latent move of raw step 1 along `name`: its unit direction times its `scale`
        (for mean-difference directions, the class-mean difference itself). (D,) float32"""
        scale = np.float32(self.meta.get(name, {}).get("scale", 1.0))
        return scale * self[name]

    def shift(self, latent: np.ndarray, steps: dict[str, float]) -> np.ndarray:
        """latent + sum(step * scale * direction) over the raw `steps`. (D,) -> (D,) float32"""
        z = np.asarray(latent, np.float32).copy()
        for name, step in steps.items():
            z += np.float32(step) * self.step(name)
        return z

    def add(self, name: str, vector: np.ndarray, **meta) -> None:
        if name in self.names:
            self.vectors[self.names.index(name)] = vector
        else:
            self.names.append(name)
            self.vectors = np.vstack([self.vectors, np.asarray(vector, np.float32)[None]])
        self.meta[name] = meta

    def save(self, folder: Path) -> Path:
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_output(folder / "directions.safetensors") as tmp:
            tensors = {"vectors": np.ascontiguousarray(self.vectors)}
            tensors.update({f"shape.{n}": np.ascontiguousarray(v) for n, v in self.shapes.items()})
            save_file(tensors, str(tmp))
        with atomic_output(folder / "directions.json") as tmp:
            tmp.write_text(json.dumps({"names": self.names, "meta": self.meta,
                                       "info": self.info}, indent=1))
        return folder

    @classmethod
    def load(cls, folder: Path) -> "DirectionSet":
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = Path(folder)
        for name in ("directions.json", "directions.safetensors"):
            if not (folder / name).is_file():
                raise WeightsError(f"{folder / name}: missing")
        try:
            index = json.loads((folder / "directions.json").read_text())
            tensors = load_file(str(folder / "directions.safetensors"))
            vectors = tensors["vectors"]
        except (SafetensorError, OSError, ValueError, KeyError) as exc:
            raise WeightsError(f"{folder}: corrupt directions ({exc})") from None
        shapes = {k[len("shape."):]: v for k, v in tensors.items() if k.startswith("shape.")}
        return cls(list(index["names"]), vectors, index.get("meta", {}), index.get("info", {}),
                   shapes)


def directions_folder(model_spec: str = "builtin") -> Path:
    """Where a model's directions live: beside the shipped or `builtin:FOLDER` weights, in a
    model folder that has a `directions` subfolder, else in facedit's per-model user folder, keyed
    by the model's file path (`facedit directions learn/import --model SPEC` write there)."""
    from facedit.models import vae_folder
    from facedit.paths import model_dir, model_key

    name, _, path = model_spec.partition(":")
    if name == "builtin":
        return vae_folder(path) / "directions"
    path = path.split(",")[0]  # options do not change the model's latent space
    if path and (Path(path) / "directions" / "directions.json").is_file():
        return Path(path) / "directions"
    return model_dir(model_key(model_spec)) / "directions"


def load_model_directions(model_spec: str = "builtin",
                          folder: str | Path | None = None) -> "DirectionSet":
    """The `DirectionSet` of a model spec (or of an explicit `folder`), with a clear message
    saying how to make them when the model has none yet."""
    folder = Path(folder) if folder is not None else directions_folder(model_spec)
    if not (folder / "directions.json").is_file():
        raise ConfigError(
            f"model {model_spec!r} has no attribute directions (looked in {folder}); make them "
            f"with `facedit directions learn --model {model_spec}` or `facedit directions import`")
    return DirectionSet.load(folder)

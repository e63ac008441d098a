"""Directions and translations for StyleGAN2 models.

* anycost-gan's boundaries: `torch.save({"{idx:02d}_{Attr}": (1, 512) tensor})` (InterFaceGAN
  normals in W for the 40 CelebA attributes, `idx` the attribute's CelebA index);
  `boundary_directions` turns them into a facedit `DirectionSet` over W+ (the same unit W
  direction on every layer);
* the first source's translations: one `.npy` per translation, named by its rules
  (`Hc_1.npy`, `A_0_fr_1.npy`, `Be_max.npy`; see `facedit.translations`), each a (1, 18, 512)
  W+ offset; `read_npy_translations` loads a folder of them, checked, as flat (D,) offsets;
* facedit's own learning in W (InterFaceGAN's recipe): sample faces from the generator, score
  them with facedit's judge, fit a linear boundary between the most and the least likely faces
  of each attribute (`learn_w_directions`).

A direction's `scale` (the latent move of raw step 1) is, as for facedit's own model, the class
gap: how far apart the mean codes of faces with and without the attribute lie along it, here
faces the judge reads as having it (probability >= 0.5; age: over 40 vs under 30) or not. Where
no such split exists (anycost-gan's boundaries come without faces), it is the standard deviation
of sampled W codes along the direction. Both are multiplied by sqrt(n_latent), since the W+
vector spreads a unit W direction over the layers.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from facedit.data.sources import CELEBA_ATTRIBUTES
from facedit.directions import DirectionSet, linear_boundary
from facedit.errors import ConfigError, ShapeError, WeightsError

BOUNDARY_KEY = re.compile(r"(\d{2})_(\w+)")


def read_boundaries(path: str | Path) -> dict[str, np.ndarray]:
    """anycost-gan's boundary file -> {CelebA attribute: (style_dim,) float32}."""
    from facedit.models.stylegan2 import read_checkpoint

    raw = read_checkpoint(path)
    out = {}
    for key, value in raw.items():
        m = BOUNDARY_KEY.fullmatch(str(key))
        if not m or m.group(2) not in CELEBA_ATTRIBUTES:
            raise WeightsError(f"{path}: boundary key {key!r} is not '{{idx:02d}}_{{attr}}' with a "
                               f"CelebA attribute")
        v = np.asarray(value, np.float32)
        if v.ndim not in (1, 2) or (v.ndim == 2 and v.shape[0] != 1):
            raise ShapeError(f"{path}: boundary {key!r} has shape {list(v.shape)}, expected "
                             f"[1, style_dim]")
        out[m.group(2)] = v.reshape(-1)
    if not out:
        raise WeightsError(f"{path}: no boundaries in the file")
    dims = {v.shape[0] for v in out.values()}
    if len(dims) > 1:
        raise ShapeError(f"{path}: boundaries of different sizes {sorted(dims)}")
    return out


def tile_w(vectors: np.ndarray, n_latent: int) -> np.ndarray:
    """(K, style_dim) unit W directions -> (K, n_latent * style_dim) unit W+ directions."""
    v = np.asarray(vectors, np.float64)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    return (np.repeat(v[:, None], n_latent, 1).reshape(len(v), -1) / np.sqrt(n_latent))


def w_scales(backend, w_vectors: np.ndarray, n: int = 2000, seed: int = 1) -> np.ndarray:
    """The scale of each unit W direction: std of sampled W codes along it times
    sqrt(n_latent). (K,)"""
    w = backend.sample_w(n, seed, truncation=1.0).astype(np.float64)
    unit = w_vectors / np.linalg.norm(w_vectors, axis=1, keepdims=True)
    return (w @ unit.T).std(axis=0) * np.sqrt(backend.n_latent)


def class_gap(w: np.ndarray, present: np.ndarray, absent: np.ndarray, w_vector: np.ndarray,
              n_latent: int, minimum: int = 5) -> float | None:
    """The W+ scale of a W direction from labelled samples: the distance between the mean W
    codes of the `present` and the `absent` faces along it, times sqrt(n_latent); None when
    either group has fewer than `minimum` faces."""
    if present.sum() < minimum or absent.sum() < minimum:
        return None
    unit = np.asarray(w_vector, np.float64) / np.linalg.norm(w_vector)
    gap = abs((w[present].mean(axis=0) - w[absent].mean(axis=0)) @ unit)
    return float(gap * np.sqrt(n_latent))


def boundary_directions(boundaries: dict[str, np.ndarray], backend) -> DirectionSet:
    """A `DirectionSet` over the backend's W+ from anycost-gan's boundaries."""
    labels = sorted(boundaries, key=CELEBA_ATTRIBUTES.index)
    w = np.stack([boundaries[k] for k in labels])
    if w.shape[1] != backend.style_dim:
        raise ShapeError(f"boundaries have {w.shape[1]} dimensions, the generator's W has "
                         f"{backend.style_dim}")
    scales = w_scales(backend, w)
    meta = {k.lower(): {"method": "anycost-boundary", "label": k, "space": "w",
                        "scale": float(s), "scale_from": "std"} for k, s in zip(labels, scales)}
    return DirectionSet([k.lower() for k in labels], tile_w(w, backend.n_latent), meta,
                        {"source": "anycost-gan boundaries", "model": backend.name})


def read_npy_translations(folder: str | Path, n_latent: int, style_dim: int = 512
                          ) -> dict[str, np.ndarray]:
    """Every `NAME.npy` in `folder` as {NAME: (n_latent * style_dim,) float32}; names must follow
    the translation rules; (1, n, d), (n, d), (1, d) and (d,) arrays are accepted (a W offset is
    applied on every layer)."""
    from facedit.translations import parse_translation_name

    folder = Path(folder)
    files = sorted(folder.glob("*.npy")) if folder.is_dir() else []
    if not files:
        raise ConfigError(f"{folder}: no .npy translations found")
    out = {}
    for path in files:
        parse_translation_name(path.stem)
        try:
            v = np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{path}: not a readable .npy array ({exc})") from None
        if v.shape in ((1, n_latent, style_dim), (n_latent, style_dim)):
            v = v.reshape(-1)
        elif v.shape in ((1, style_dim), (style_dim,)):
            v = np.tile(v.reshape(-1), n_latent)
        else:
            raise ShapeError(f"{path}: expected shape (1, {n_latent}, {style_dim}) or "
                             f"(1, {style_dim}), got {v.shape}")
        if not np.isfinite(v).all():
            raise ShapeError(f"{path}: holds non-finite values")
        out[path.stem] = v
    return out


def apply_translation(latents: np.ndarray, translation: np.ndarray,
                      strength: float = 1.0) -> np.ndarray:
    """latents (B, D) + strength * translation (D,) -> (B, D) float32."""
    z = np.asarray(latents, np.float32)
    t = np.asarray(translation, np.float32).reshape(-1)
    if z.ndim != 2 or z.shape[1] != t.shape[0]:
        raise ShapeError(f"translation: expected ({z.shape[-1]},) for latents {z.shape}, got "
                         f"{t.shape}")
    return z + np.float32(strength) * t


def learn_w_directions(backend, judge, samples: int = 2000, ratio: float = 0.1,
                       batch: int = 16, seed: int = 0, progress: bool = False) -> DirectionSet:
    """InterFaceGAN in W: render `samples` faces, score them with `judge`, fit a linear boundary
    between the top and bottom `ratio` of each attribute's scores (age: of the predicted years).

    Faces are rendered through the backend (in facedit's crop frame, at its size), as the editor
    will see them."""
    from tqdm import tqdm

    if samples < 20 or not 0 < ratio <= 0.5:
        raise ConfigError(f"samples >= 20 and ratio in (0, 0.5] expected, got {samples}, {ratio}")
    w = backend.sample_w(samples, seed)
    probs, ages = [], []
    for i in tqdm(range(0, samples, batch), desc="score", unit="batch", disable=not progress):
        crops = np.clip(np.rint(backend.decode(backend.w_to_latents(w[i:i + batch]))), 0, 255)
        p, a = judge.score(crops.astype(np.uint8))
        probs.append(p)
        ages.append(a)
    scores = np.concatenate(probs)
    table = {label: scores[:, j] for j, label in enumerate(judge.attributes)}
    table["age"] = np.concatenate(ages)
    k = max(2, int(round(ratio * samples)))
    names, vectors, meta = [], [], {}
    for label, s in table.items():
        order = np.argsort(s)
        chosen = np.concatenate([order[:k], order[-k:]])
        labels = np.arange(len(chosen)) >= k
        if s[order[-k:]].min() - s[order[:k]].max() <= 0:
            continue  # the judge cannot tell the generator's faces apart on this attribute
        vectors.append(linear_boundary(w[chosen], labels, seed=seed))
        names.append(label.lower())
        meta[label.lower()] = {"method": "interfacegan-w", "label": label, "space": "w",
                               "samples": samples, "ratio": ratio,
                               "score_gap": float(s[order[-k:]].mean() - s[order[:k]].mean())}
    if not names:
        raise ConfigError("no attribute separated the sampled faces; sample more faces")
    w_vectors = np.stack(vectors)
    gaps = {}
    for name, vector in zip(names, w_vectors):
        s = table[meta[name]["label"]]
        present, absent = (s > 40, s < 30) if name == "age" else (s >= 0.5, s < 0.5)
        gaps[name] = class_gap(w, present, absent, vector, backend.n_latent)
    # The std of sampled codes (a mapping pass over 2,000 codes) only where no class gap exists.
    no_gap = [k for k, n in enumerate(names) if gaps[n] is None]
    spreads = dict(zip(no_gap, w_scales(backend, w_vectors[no_gap]))) if no_gap else {}
    for k, name in enumerate(names):
        gap = gaps[name]
        meta[name].update(scale=float(spreads[k]) if gap is None else gap,
                          scale_from="std" if gap is None else "class gap")
    return DirectionSet(names, tile_w(w_vectors, backend.n_latent), meta,
                        {"source": "facedit learn-w", "model": backend.name})

"""Learning a model's attribute directions from labelled latents (`facedit directions learn`).

Every CelebA attribute gets a direction from the train split's codes (method: mean difference,
or the normal of a linear SVM); `age` gets the ridge-regression direction of UTKFace ages. With
`condition=True` each direction is made orthogonal to the directions of the protected attributes
that correlate with it in the labels (InterFaceGAN's conditional manipulation), so that e.g. adding
a smile does not also change sex or age. `scale` is the gap between the mean codes of faces with
and without the attribute along the direction: raw steps are in those units (step 1 = the average
difference). Mean difference is the default: an SVM normal in this latent space points along
directions of little variance, to which the decoder barely responds. The first `PCA_COUNT` principal axes of the codes are
added as unsupervised directions `pca_00`... (GANSpace-like), and the codes' mean is kept in
the set's info (for sampling faces from the model).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from facedit.attributes import ATTRIBUTES
from facedit.data.dataset import PreparedSet, has_landmarks
from facedit.data.sources import CELEBA_ATTRIBUTES
from facedit.directions import (DirectionSet, correlated, linear_boundary, mean_difference,
                                orthogonalize, pca_directions)
from facedit.errors import ConfigError

METHODS = {"mean": mean_difference, "svm": linear_boundary}
# Prepared sources with CelebA's 40 labels (`celeba_hq_kit`: the kit's pickles, imported).
CELEBA_SOURCES = ("celeba_aligned", "celeba_wild", "celeba_hq_kit")
PCA_COUNT = 20
# Attributes an edit of something else should leave alone (conditioning set).
PROTECTED = ("Male", "Young", "Pale_Skin", "Eyeglasses", "Smiling", "Bald", "Wearing_Hat",
             "Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair", "No_Beard", "Heavy_Makeup")


# Attributes with a shape of their own: their landmarks' mean displacement is learned too, and the
# editor warps the real crop by it (sharp) while the model's residual adds the appearance. Only
# shapes inside the face: moving the face's outline (chubby, double chin, oval face) over the
# background drags the background with it and leaves an edge along the jaw.
SHAPED = ("Smiling", "Big_Lips", "Big_Nose", "Pointy_Nose", "Narrow_Eyes", "High_Cheekbones")


def learn_shapes(mesh: np.ndarray, attrs: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Per shaped attribute, the mean landmarks of faces with it minus those without, among faces
    with the mouth closed (an open mouth is the model's to draw: warping closed lips apart only
    stretches them), in fractions of the crop side. mesh: (N, 478, 2) crop pixels; attrs (N, 40)."""
    mesh = np.asarray(mesh, np.float32)
    closed = (attrs[:, CELEBA_ATTRIBUTES.index("Mouth_Slightly_Open")] < 0) & has_landmarks(mesh)
    shapes = {}
    for label in SHAPED:
        has = attrs[:, CELEBA_ATTRIBUTES.index(label)]
        pos, neg = closed & (has > 0), closed & (has < 0)
        if pos.sum() < 50 or neg.sum() < 50:
            continue
        shapes[label.lower()] = (mesh[pos].mean(axis=0) - mesh[neg].mean(axis=0)) / size
    return shapes


def encode_set(model, images: np.ndarray, batch: int = 128) -> np.ndarray:
    """Codes (N, D) of (N, S, S, 3) uint8 crops."""
    out = [model.encode(np.ascontiguousarray(images[i:i + batch]))
           for i in tqdm(range(0, len(images), batch), desc="encode", unit="batch")]
    return np.concatenate(out)


def age_direction(latents: np.ndarray, ages: np.ndarray, alpha: float = 10.0) -> np.ndarray:
    """Unit direction along which ridge-regressed age grows. (D,)"""
    from sklearn.linear_model import Ridge

    reg = Ridge(alpha=alpha).fit(latents, ages)
    w = reg.coef_.astype(np.float64)
    return w / np.linalg.norm(w)


def _gap(z: np.ndarray, pos: np.ndarray, neg: np.ndarray, d: np.ndarray) -> float:
    """How far apart the two groups' mean codes lie along `d`: the unit of raw steps, so step 1
    moves a face by the average difference between faces with and without the attribute."""
    return float(abs((z[pos].mean(axis=0) - z[neg].mean(axis=0)) @ d))


def _conditioned(d: np.ndarray, vectors: list, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """`d` orthogonal to `vectors`, unless that leaves too little of it (an attribute the labels
    cannot tell apart from the others): then `d` itself, conditioned on nothing."""
    if not vectors:
        return d, []
    q, _ = np.linalg.qr(np.stack(vectors).T)
    rest = d - q @ (q.T @ d)
    if np.linalg.norm(rest) < 0.2 * np.linalg.norm(d):
        return d, []
    return orthogonalize(d, np.stack(vectors)), names


def learn_directions(model, cache: Path, method: str = "mean", condition: bool = True,
                     threshold: float = 0.25) -> DirectionSet:
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    train = PreparedSet.load(cache, "train", in_memory=True)
    celeba = train.from_sources(CELEBA_SOURCES)
    if len(celeba) == 0:
        raise ConfigError(f"{cache}: no CelebA-labelled training faces (sources "
                          f"{', '.join(CELEBA_SOURCES)})")
    utk = train.subset(train.age >= 0)
    z = encode_set(model, celeba.images)
    raw = {}
    for j, label in enumerate(tqdm(CELEBA_ATTRIBUTES, desc=f"directions ({method})")):
        raw[label] = METHODS[method](z, celeba.attrs[:, j] > 0)
    if len(utk):  # a set without ages (the kit's CelebA-HQ pickles) gets no age direction
        z_utk = encode_set(model, utk.images)
        raw["age"] = age_direction(z_utk, utk.age)
    names, vectors, meta = [], [], {}
    for label, d in raw.items():
        others = []
        if condition and label != "age":
            j = CELEBA_ATTRIBUTES.index(label)
            others = [CELEBA_ATTRIBUTES[k] for k in correlated(celeba.attrs, j, threshold)
                      if CELEBA_ATTRIBUTES[k] in PROTECTED]
            d, others = _conditioned(d, [raw[o] for o in others], others)
        name = label.lower()
        names.append(name)
        vectors.append(d)
        meta[name] = {"label": label, "method": "ridge" if label == "age" else method,
                      "orthogonal_to": [o.lower() for o in others],
                      "scale": _gap(z_utk, utk.age > 40, utk.age < 30, d) if label == "age" else
                      _gap(z, celeba.attrs[:, CELEBA_ATTRIBUTES.index(label)] > 0,
                           celeba.attrs[:, CELEBA_ATTRIBUTES.index(label)] < 0, d),
                      "max_step": ATTRIBUTES[name].max_step,
                      "regions": list(ATTRIBUTES[name].regions), "group": ATTRIBUTES[name].group}
    # Unsupervised directions: the principal axes of the codes (raw steps only; no judge reading).
    axes, stds = pca_directions(z, PCA_COUNT)
    for k, (axis, std) in enumerate(zip(axes, stds)):
        name = f"pca_{k:02d}"
        names.append(name)
        vectors.append(axis)
        meta[name] = {"label": name, "method": "pca", "orthogonal_to": [], "scale": float(std),
                      "max_step": 3.0, "regions": ["head"], "group": "unsupervised"}
    info = {"model": getattr(model, "name", "?"), "method": method, "conditioned": condition,
            "correlation_threshold": threshold, "celeba_train_images": len(celeba),
            "utkface_train_images": len(utk), "latent_mean": z.mean(axis=0).round(5).tolist()}
    shapes = learn_shapes(celeba.mesh, celeba.attrs, celeba.images.shape[1])
    return DirectionSet(names, np.stack(vectors), meta, info, shapes)

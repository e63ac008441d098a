"""An independent judge for the evaluation (SPEC §6, lesson 2): a linear probe that the editor
never sees.

facedit's classifier is both the editor's calibration target and the harness's judge, so the
success it reports flatters the editor. The probe is a logistic regression on `region_features`
(HOG, colour layout and statistics of one face region: no part of the editor optimises against
them) of the prepared set's CelebA crops, trained on the train split; its balanced accuracy on
the validation split says how far to trust it. It is weaker than the classifier, but it cannot
have been optimised against.

    probe = train_probe(Path("cache/prepared-128"), "Eyeglasses", "eye_band")
    p = probe(crops, faces)  # (B,) P(Eyeglasses), NaN where the region is empty
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from facedit.errors import ConfigError, ShapeError
from facedit.eval.metrics import region_features
from facedit.faces import Face

MIN_PER_CLASS = 10  # examples with and without the label each split needs
REGULARISATION_C = 0.05  # sklearn's C (inverse L2 strength): 860 features, a few thousand rows


@dataclass
class Probe:
    """A logistic regression on `region_features` of one region, for one CelebA label.

    Attributes:
        label: the CelebA label it reads (e.g. "Eyeglasses").
        region: the `facedit.masks` region its features come from (e.g. "eye_band").
        size: side in pixels of the aligned crops it was trained on (the prepared set's).
        model: sklearn Pipeline, StandardScaler + LogisticRegression(class_weight="balanced").
        val_balanced_accuracy: balanced accuracy at 0.5 on the validation rows, in [0, 1]
            (0.5 is chance).
        train_count, val_count: rows it was trained / validated on (those whose region is not
            empty).
    """

    label: str
    region: str
    size: int
    model: object
    val_balanced_accuracy: float
    train_count: int
    val_count: int

    def __call__(self, crops: np.ndarray, faces: Sequence) -> np.ndarray:
        """P(label) of aligned crops.

        Args:
            crops: (B, S, S, 3) uint8 RGB aligned crops; read at the probe's `size` (resized
                first when S differs, their faces scaled alike).
            faces: B `facedit.faces.Face`, each in its crop's pixels.
        Returns:
            (B,) float64 probabilities; NaN where the region is empty.
        """
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[3] != 3 or crops.shape[1] != crops.shape[2]:
            raise ShapeError(f"crops: expected (B, S, S, 3), got {crops.shape}")
        if len(crops) and crops.shape[1] != self.size:
            s = self.size / crops.shape[1]
            crops = np.stack([cv2.resize(c, (self.size, self.size), interpolation=cv2.INTER_AREA)
                              for c in crops])
            faces = [f.transformed(np.array([[s, 0, 0], [0, s, 0]])) for f in faces]
        feats = region_features(crops, faces, self.region)
        ok = np.isfinite(feats).all(axis=1)
        p = np.full(len(feats), np.nan)
        if ok.any():
            p[ok] = self.model.predict_proba(feats[ok])[:, 1]
        return p


def train_probe(cache: Path, label: str, region: str, samples: int = 4000) -> Probe:
    """Train a probe for `label` on `region` from a prepared set's CelebA rows.

    Args:
        cache: a prepared-set folder (`facedit data prepare`): images.npy (N, S, S, 3) uint8,
            mesh.npy (N, 478, 2) crop pixels, labels.npz, summary.json.
        label: a CelebA label (`facedit.data.sources.CELEBA_ATTRIBUTES`).
        region: a `facedit.masks` region name.
        samples: at most this many evenly spaced rows of each split (train, val); only these
            rows' images are read.
    Raises:
        ConfigError: no prepared set in `cache`, an unknown label, or a split with fewer than
            `MIN_PER_CLASS` rows with or without the label.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from facedit.data.dataset import PreparedSet
    from facedit.data.sources import CELEBA_ATTRIBUTES, CELEBA_CROPS, SPLITS

    cache = Path(cache)
    if label not in CELEBA_ATTRIBUTES:
        raise ConfigError(f"probe: {label!r} is not a CelebA label")
    if not all((cache / f).is_file() for f in ("summary.json", "images.npy", "mesh.npy",
                                               "labels.npz")):
        raise ConfigError(f"--probe-data: {cache} holds no prepared set (summary.json, images.npy, "
                          f"mesh.npy, labels.npz); run `facedit data prepare` first")
    # The whole set memory-mapped; only the sampled rows' images are read (loading a split
    # would copy all of its images into memory).
    full = PreparedSet.load(cache)
    j = CELEBA_ATTRIBUTES.index(label)
    known = np.isin(full.source, CELEBA_CROPS) & (full.attrs[:, j] != 0)
    sets = {}
    for split in ("train", "val"):
        rows = np.flatnonzero(known & (full.split == SPLITS.index(split)))
        idx = rows[np.linspace(0, len(rows) - 1, min(samples, len(rows))).astype(int)]
        feats = region_features(np.asarray(full.images[idx]),
                                [Face.from_points(m) for m in full.mesh[idx]], region)
        ok = np.isfinite(feats).all(axis=1)  # an empty region (a face seen from the side)
        y = full.attrs[idx[ok], j] > 0
        if min(y.sum(), (~y).sum()) < MIN_PER_CLASS:
            raise ConfigError(f"--probe-data: {cache}'s {split} split has {int(y.sum())} CelebA "
                              f"faces with {label} and {int((~y).sum())} without (region "
                              f"{region} visible); the probe needs at least {MIN_PER_CLASS} of "
                              f"each")
        sets[split] = (feats[ok], y)
    model = make_pipeline(StandardScaler(),
                          LogisticRegression(C=REGULARISATION_C, max_iter=3000,
                                             class_weight="balanced"))
    model.fit(*sets["train"])
    x_val, y_val = sets["val"]
    return Probe(label, region, int(full.images.shape[1]), model,
                 float(balanced_accuracy_score(y_val, model.predict(x_val))),
                 len(sets["train"][1]), len(y_val))

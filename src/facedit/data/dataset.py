"""The prepared training set (see `facedit.data.prepare`), loaded for training and evaluation."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedit.data.sources import SPLITS
from facedit.errors import ConfigError


def has_landmarks(mesh: np.ndarray) -> np.ndarray:
    """(N,) bool: rows of an (N, 478, 2) mesh that hold landmarks (the kit's imported crops carry
    none: all zeros)."""
    mesh = np.asarray(mesh)
    return np.abs(mesh).reshape(len(mesh), -1).max(axis=1) > 0


@dataclass
class PreparedSet:
    """Aligned crops and labels of one split (or all).

    images: (N, S, S, 3) uint8 RGB (memory-mapped). attrs: (N, 40) int8 +1/-1/0.
    age: (N,) float32, -1 unknown. mesh: (N, 478, 2) float16 crop pixels.
    split: (N,) int8, the row's index in `SPLITS`.
    """

    images: np.ndarray
    mesh: np.ndarray
    attrs: np.ndarray
    age: np.ndarray
    gender: np.ndarray
    source: np.ndarray
    name: np.ndarray
    split: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def load(cls, cache: Path, split: str | None = None, in_memory: bool = False) -> "PreparedSet":
        cache = Path(cache)
        if not (cache / "summary.json").is_file():
            raise ConfigError(f"{cache}: no prepared set here; run `facedit data prepare` first")
        images = np.load(cache / "images.npy", mmap_mode=None if in_memory else "r")
        mesh = np.load(cache / "mesh.npy")
        labels = np.load(cache / "labels.npz")
        if split is None:
            idx = np.arange(len(images))
        elif split in SPLITS:
            idx = np.flatnonzero(labels["split"] == SPLITS.index(split))
        else:
            raise ConfigError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        return cls(images=images[idx] if in_memory or split else images, mesh=mesh[idx],
                   attrs=labels["attrs"][idx], age=labels["age"][idx],
                   gender=labels["gender"][idx], source=labels["source"][idx],
                   name=labels["name"][idx], split=labels["split"][idx])

    def subset(self, keep: np.ndarray) -> "PreparedSet":
        """The rows where the (N,) bool `keep` is True."""
        idx = np.flatnonzero(keep)
        return PreparedSet(self.images[idx], self.mesh[idx], self.attrs[idx], self.age[idx],
                           self.gender[idx], self.source[idx], self.name[idx], self.split[idx])

    def from_sources(self, sources: tuple[str, ...]) -> "PreparedSet":
        """Only the rows of the given sources (e.g. ("celeba_aligned", "celeba_wild"))."""
        return self.subset(np.isin(self.source, sources))

    @staticmethod
    def summary(cache: Path) -> dict:
        return json.loads((Path(cache) / "summary.json").read_text())

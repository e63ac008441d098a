"""`facedit data prepare --from-pickle`: the second source's CelebA-HQ pickles as a prepared set.

The kit ships `hq_train.pkl` and `hq_validation.pkl`, each a dict with

    'img':  a sequence of N images, (128, 128, 3) uint8 RGB, aligned by the kit (dlib landmarks,
            eyes level, crop 256 resized to 128);
    'attr': a sequence of N rows of 40 values, -1/+1, in list_attr_celeba order.

They are read with facedit's restricted unpickler (never plain `pickle.load`) and written in the
layout of `facedit.data.prepare` (images.npy, mesh.npy, labels.npz, summary.json), so that
`facedit.data.dataset.PreparedSet` loads them: source `celeba_hq_kit`, split from the file name
(`train`, `val` for `validation`, `test`), no ages. The kit's crops come without landmarks:
mesh.npy holds zeros and the summary says so.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from facedit.data.prepare import MESH_POINTS, write_set
from facedit.data.sources import SPLITS
from facedit.errors import ConfigError, ShapeError

SOURCE = "celeba_hq_kit"
SIZE = 128
_SPLIT_WORDS = {"train": "train", "validation": "val", "valid": "val", "val": "val",
                "test": "test"}


def split_of_file(path: Path) -> str:
    """The split a kit pickle's name says: hq_train.pkl -> train, hq_validation.pkl -> val."""
    words = Path(path).stem.lower().replace("-", "_").split("_")
    found = {_SPLIT_WORDS[w] for w in words if w in _SPLIT_WORDS}
    if len(found) != 1:
        raise ConfigError(f"{path}: cannot tell its split from the name; expected one of "
                          f"train, validation (val) or test in it, like hq_train.pkl")
    return found.pop()


def read_kit_pickle(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 128, 128, 3) uint8 and attributes (N, 40) int8 +1/-1 of one kit pickle."""
    from facedit import safepickle

    data = safepickle.load(path)
    if not isinstance(data, dict) or not {"img", "attr"} <= set(data):
        keys = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise ConfigError(f"{path}: expected a dict with 'img' and 'attr', got {keys}")
    if not len(data["img"]):
        raise ShapeError(f"{path}: 'img' holds no images")
    try:
        images = data["img"] if isinstance(data["img"], np.ndarray) else \
            np.stack([np.asarray(im) for im in data["img"]])
        attrs = np.asarray(data["attr"]).reshape(len(data["attr"]), -1)
    except (ValueError, TypeError) as exc:
        raise ShapeError(f"{path}: 'img' or 'attr' is not a sequence of equal-shaped arrays "
                         f"({exc})") from None
    if images.ndim != 4 or images.shape[1:] != (SIZE, SIZE, 3) or images.dtype != np.uint8:
        raise ShapeError(f"{path}: 'img': expected (N, {SIZE}, {SIZE}, 3) uint8 images, got "
                         f"{images.shape} {images.dtype}")
    if attrs.shape != (len(images), 40):
        raise ShapeError(f"{path}: 'attr': expected ({len(images)}, 40) values (one row of 40 "
                         f"per image), got {attrs.shape}")
    if not np.isin(attrs, (-1, 1)).all():
        bad = np.unique(attrs[~np.isin(attrs, (-1, 1))])[:5]
        raise ShapeError(f"{path}: 'attr': expected only -1 and +1, found {bad.tolist()}")
    return images, attrs.astype(np.int8)


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_pickles(files: list[Path], cache: Path) -> dict:
    """Write the kit pickles `files` as one prepared set in `cache`; returns its summary.

    Re-running replaces an earlier import in `cache`; a set made by `facedit data prepare` from
    the shared data is never overwritten.
    """
    # 1. check inputs
    files = [Path(f) for f in files]
    if not files:
        raise ConfigError("no pickle given: --from-pickle hq_train.pkl [--from-pickle ...]")
    cache = Path(cache)
    summary_file = cache / "summary.json"
    if summary_file.is_file() and "imported_from" not in json.loads(summary_file.read_text()):
        raise ConfigError(f"{cache}: already holds a prepared set made from the shared data; "
                          f"give another --cache for the imported pickles")
    splits = [split_of_file(f) for f in files]
    # 2. read every pickle (restricted unpickler)
    parts = [read_kit_pickle(f) for f in files]
    # 3. write the set: images, empty landmarks, labels, then the summary that makes it loadable
    n = sum(len(images) for images, _ in parts)
    cache.mkdir(parents=True, exist_ok=True)
    summary_file.unlink(missing_ok=True)  # the set is incomplete until the new summary is written
    names = [f"{f.stem}/{i:06d}" for f, (images, _) in zip(files, parts)
             for i in range(len(images))]
    labels = {
        "attrs": np.concatenate([a for _, a in parts]).reshape(-1, 40),
        "age": np.full(n, -1.0, np.float32),
        "gender": np.full(n, -1, np.int8),
        "race": np.full(n, -1, np.int8),
        "split": np.concatenate([np.full(len(im), SPLITS.index(s), np.int8)
                                 for (im, _), s in zip(parts, splits)]),
        "source": np.array([SOURCE] * n),
        "name": np.array(names),
    }
    by_split = {s: int(sum(len(im) for (im, _), t in zip(parts, splits) if t == s))
                for s in SPLITS}
    summary = {"size": SIZE, "records": n, "kept": n, "dropped_faceless_or_unreadable": 0,
               "by_source": {SOURCE: {"records": n, "kept": n, **by_split}},
               "imported_from": [{"file": f.name, "split": s, "images": len(im),
                                  "sha256": _fingerprint(f)}
                                 for f, s, (im, _) in zip(files, splits, parts)],
               "alignment": "the kit's own (dlib 68 landmarks, eyes level), not facedit.align",
               "mesh": "none in the pickles: mesh.npy holds zeros"}
    chunks = ((images, np.zeros((len(images), MESH_POINTS, 2), np.float16))
              for images, _ in parts)  # the pickles carry no landmarks
    return write_set(cache, chunks, n, SIZE, labels, summary)

"""New attributes from a few example photos (`facedit directions add`).

The direction is the mean difference of the codes of photos with and without the attribute, made
orthogonal to every existing direction, so the new edit does not move the known attributes. It is
stored in the user's directions folder for the model and merged with the shipped ones on load.
Custom attributes are edited with raw steps (the judge has no reading for them).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from facedit.directions import DirectionSet, mean_difference, orthogonalize
from facedit.errors import ConfigError, FaceditError
from facedit.masks import REGIONS
from facedit.paths import user_directions

MIN_EXAMPLES = 3


def _codes(editor, folder: Path) -> tuple[np.ndarray, list[str]]:
    from facedit.io import list_images, load_image

    codes, skipped = [], []
    for path in tqdm(list_images(folder), desc=f"encode {folder.name}", unit="img"):
        try:
            codes.append(editor.encode(load_image(path), label=str(path))[0].latent)
        except FaceditError as exc:
            skipped.append(str(exc))
    if len(codes) < MIN_EXAMPLES:
        raise ConfigError(f"{folder}: need at least {MIN_EXAMPLES} photos with a face, found "
                          f"{len(codes)}")
    return np.stack(codes), skipped


def add_direction(name: str, pos: Path, neg: Path, model: str = "builtin",
                  regions=("head",)) -> tuple[Path, dict]:
    from facedit.attributes import ALIASES, ATTRIBUTES
    from facedit.edit import Editor

    key = name.strip().lower()
    if not key.replace("_", "").isalnum():
        raise ConfigError(f"attribute name {name!r}: use letters, digits and underscores")
    if key in ATTRIBUTES or key in ALIASES:
        raise ConfigError(f"{name!r} is a built-in attribute; choose another name")
    for r in regions:
        if r not in REGIONS:
            raise ConfigError(f"unknown region {r!r}; expected one of {', '.join(sorted(REGIONS))}")
    editor = Editor.load(model)
    z_pos, skipped_pos = _codes(editor, Path(pos))
    z_neg, skipped_neg = _codes(editor, Path(neg))
    z = np.concatenate([z_pos, z_neg])
    labels = np.array([True] * len(z_pos) + [False] * len(z_neg))
    # Orthogonal to every other direction (an earlier version of this one excluded).
    others = [v for n, v in zip(editor.directions.names, editor.directions.vectors) if n != key]
    d = orthogonalize(mean_difference(z, labels), np.array(others).reshape(-1, z.shape[1]))
    meta = {"label": key, "method": "mean+orthogonal", "orthogonal_to": "all",
            "scale": float(np.std(z @ d)) or 1.0, "max_step": 3.0, "regions": list(regions),
            "group": "custom", "positives": len(z_pos), "negatives": len(z_neg),
            "skipped": skipped_pos + skipped_neg}
    folder = user_directions(model)
    user = DirectionSet.load(folder) if (folder / "directions.json").exists() else \
        DirectionSet([], np.zeros((0, z.shape[1]), np.float32))
    user.add(key, d, **meta)
    user.save(folder)
    return folder, meta

"""Where facedit keeps user data and caches (never hard-coded: environment first)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$FACEDIT_CACHE, else ~/.cache/facedit: prepared training sets, projections."""
    return Path(os.environ.get("FACEDIT_CACHE", Path.home() / ".cache" / "facedit"))


def user_dir() -> Path:
    """$FACEDIT_HOME, else ~/.facedit: the user's own directions and translations."""
    return Path(os.environ.get("FACEDIT_HOME", Path.home() / ".facedit"))


def user_directions(model_spec: str) -> Path:
    """The folder of a user's added directions for one model."""
    return user_dir() / "directions" / _safe(model_spec)


def _safe(model_spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model_spec)


def model_dir(model_spec: str) -> Path:
    """The folder where facedit keeps what it learned or imported for a model that did not come
    with it (directions of a StyleGAN2 or Deepest-kit checkpoint, projection caches)."""
    return user_dir() / "models" / _safe(model_spec)


def model_key(model_spec: str) -> str:
    """A model's identity for its stored data: `name:RESOLVED_PATH`, without the options after
    the path (`stylegan2:G.pt,encoder=E.pt,steps=50` -> `stylegan2:/abs/G.pt`): options do not
    change the model's latent space, and the same file is the same model from any folder."""
    name, _, path = model_spec.partition(":")
    path = path.split(",")[0]
    return f"{name}:{Path(path).resolve()}" if path else name

"""facedit's models. Nothing loads at import; `builtin(name)` loads a shipped model on first use."""
from __future__ import annotations

import functools
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


def model_folder(kind: str, path: str | None = None) -> Path:
    """A model folder of `kind` ("vae" or "classifier"): the shipped one for None, "" or
    "builtin", else `path`."""
    return WEIGHTS / kind if path in (None, "", "builtin") else Path(path)


def vae_folder(path: str | None = None) -> Path:
    """A VAE model folder: the shipped one for None, "" or "builtin", else `path`."""
    return model_folder("vae", path)


@functools.lru_cache(maxsize=None)
def builtin(name: str):
    """The shipped model `name` ("vae" or "classifier"), in eval mode on the CPU."""
    from facedit.errors import WeightsError
    from facedit.models.classifier import AttributeClassifier, ClassifierConfig
    from facedit.models.store import load_model
    from facedit.models.vae import FaceVAE, VAEConfig

    kinds = {"vae": (FaceVAE, VAEConfig), "classifier": (AttributeClassifier, ClassifierConfig)}
    if name not in kinds:
        raise WeightsError(f"unknown built-in model {name!r}; expected one of {', '.join(kinds)}")
    return load_model(WEIGHTS / name, *kinds[name])

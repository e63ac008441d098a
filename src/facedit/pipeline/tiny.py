"""Tiny random-weight models for tests and dry runs of the pipeline: a 32 px, 24-dimensional VAE,
a 32 px attribute classifier and random orthonormal directions for every attribute the
characteristics use, saved as ordinary model folders (so workers load them like real ones).

    >>> overrides = make_tiny_models(folder)       # doctest: +SKIP
    >>> config = load_config(overrides=overrides)  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

LATENT = 24


def characteristic_attributes() -> list[str]:
    from facedit.attributes import CHARACTERISTICS, CURSORS

    return sorted({a for values in CHARACTERISTICS.values() for a, _ in values.values()} |
                  {a for a, _, _ in CURSORS.values()})


def make_tiny_models(folder: str | Path, seed: int = 0) -> list[str]:
    """Write vae/, vae/directions/ and classifier/ under `folder`; returns the `--set` overrides
    that point a pipeline configuration at them."""
    import torch

    from facedit.directions import DirectionSet
    from facedit.models.classifier import AttributeClassifier, ClassifierConfig
    from facedit.models.store import save_model
    from facedit.models.vae import FaceVAE, VAEConfig

    folder = Path(folder)
    vae_config = VAEConfig(size=32, latent=LATENT, enc_channels=(8, 8, 16), dec_channels=(16, 8),
                           dec_extra=(0, 0))
    clf_config = ClassifierConfig(input_size=32, channels=(8, 16))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        vae = FaceVAE(vae_config)
        with torch.no_grad():  # codes of about unit scale, as a trained VAE's are
            vae.fc_mu.weight.mul_(25.0)
            vae.fc_mu.bias.mul_(25.0)
        clf = AttributeClassifier(clf_config)
    card = {"note": "random weights, for tests only"}
    save_model(folder / "vae", vae, vae_config, card, half=False)
    save_model(folder / "classifier", clf, clf_config, card, half=False)
    names = characteristic_attributes()
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(LATENT, len(names))))
    DirectionSet(names, q.T, {n: {"scale": 1.0} for n in names}).save(folder / "vae" /
                                                                       "directions")
    return [f"pipeline.model=builtin:{folder / 'vae'}",
            f"pipeline.judge={folder / 'classifier'}",
            "pipeline.blend_size=64"]

"""Model backends: anything that maps aligned crops to latent codes and back.

A backend has `size` (the crop side it works at), `latent_dim`, `encode(crops) -> latents` and
`decode(latents) -> images`, on numpy batches:

* crops: (B, S, S, 3) uint8 RGB aligned crops (facedit.align's canonical crop at S pixels);
* latents: (B, D) float32;
* images: (B, S, S, 3) float32 RGB in 0..255 (float, so residuals keep their precision).

Backends are registered by name; `load_backend("builtin")` gives facedit's shipped VAE,
`load_backend("builtin:PATH")` a VAE model folder trained by `facedit train model`,
`part:FOLDER` a part model (`facedit.parts`; it decodes its box, not the crop),
`deepest-vae:PATH` a checkpoint of the second source's kit VAE and
`stylegan2:PATH[,encoder=PATH]` a StyleGAN2 generator (anycost-gan or rosinality format). Each
factory imports its module only when asked for.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from facedit.errors import ConfigError, ShapeError

BACKENDS: dict[str, Callable[[str | None], object]] = {}


def backend(name: str):
    """Register a backend factory `fn(path_or_None) -> backend` under `name`."""
    def register(fn):
        BACKENDS[name] = fn
        return fn
    return register


def load_backend(spec: str = "builtin"):
    """A backend from a spec `NAME` or `NAME:PATH`."""
    name, _, path = spec.partition(":")
    if name not in BACKENDS:
        raise ConfigError(f"unknown model {name!r}; expected one of {', '.join(sorted(BACKENDS))} "
                          f"(as NAME or NAME:PATH)")
    return BACKENDS[name](path or None)


def check_crops(crops: np.ndarray, size: int) -> None:
    """Refuse anything but (B, size, size, 3) uint8 crops, with the shape it got."""
    if crops.ndim != 4 or crops.shape[1:] != (size, size, 3) or crops.dtype != np.uint8:
        raise ShapeError(f"crops: expected (B, {size}, {size}, 3) uint8, got "
                         f"{tuple(crops.shape)} {crops.dtype}")


class TorchVAEBackend:
    """A torch VAE with `encode(x) -> (mu, logvar)` and `decode(z)`, images in [0, 1].
    Encoding uses the mean, never a sample, so the same crop always gets the same code.

    The model is put in channels-last memory layout (in place), which oneDNN's CPU convolutions
    prefer: the built-in VAE decodes a face in 6.2 instead of 10.1 ms on one thread, with
    outputs equal to 4e-7; the crops arrive in that layout already (an (H, W, 3) array seen as
    (3, H, W)), and the decodings leave in it."""

    draws_frames = False  # its eyeglasses are a blurry band (`Editor` cuts them to a pair)

    def __init__(self, model: torch.nn.Module, size: int, latent_dim: int, name: str):
        self.model = model.eval().to(memory_format=torch.channels_last)
        self.size = size
        self.latent_dim = latent_dim
        self.name = name

    @torch.no_grad()
    def encode(self, crops: np.ndarray) -> np.ndarray:
        check_crops(crops, self.size)
        x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float() / 255.0
        return self.model.encode(x)[0].numpy().astype(np.float32)

    @torch.no_grad()
    def decode(self, latents: np.ndarray) -> np.ndarray:
        z = np.asarray(latents, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ShapeError(f"latents: expected (B, {self.latent_dim}), got {z.shape}")
        out = self.model.decode(torch.from_numpy(z))
        return (out.permute(0, 2, 3, 1) * 255.0).numpy()


@backend("builtin")
def _builtin(path: str | None) -> TorchVAEBackend:
    from facedit.models import builtin
    from facedit.models.store import load_model
    from facedit.models.vae import FaceVAE, VAEConfig

    model = load_model(Path(path), FaceVAE, VAEConfig) if path else builtin("vae")
    return TorchVAEBackend(model, model.config.size, model.config.latent,
                           f"builtin:{path}" if path else "builtin")


@backend("part")
def _part(path: str | None):
    from facedit.parts import load_part_backend

    if not path:
        raise ConfigError("part: give the part model's folder, as part:FOLDER")
    return load_part_backend(path)


@backend("deepest-vae")
def _deepest(path: str | None):
    from facedit.models.deepest import load_deepest_backend

    return load_deepest_backend(path)


@backend("stylegan2")
def _stylegan2(path: str | None):
    from facedit.models.stylegan2_backend import StyleGAN2Backend

    return StyleGAN2Backend.from_spec(path)

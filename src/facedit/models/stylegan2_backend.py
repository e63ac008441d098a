"""A StyleGAN2 checkpoint as a facedit model backend: `--model stylegan2:PATH[,key=value...]`.

Options after the checkpoint path, comma-separated:

    encoder=PATH     anycost-gan's ResNet-50 encoder checkpoint (start codes; else the mean W)
    steps=N          projection steps after the encoder (0 = encoder only; default 0 with an
                     encoder, 100 without); results cached by image hash
    optimizer=NAME   adam (default) or lbfgs
    channels=R       anycost-gan preview: the first R of every layer's channels (0 < R <= 1)
    res=R            anycost-gan preview: stop at R px (a power of two <= the checkpoint's size)
    size=S           the aligned crop side facedit hands the model (default min(res, 256))
    eye_y=F          the generator's eye line as a fraction of the crop height (default FFHQ's)
    truncation=F     psi for sampled faces (direction learning), default 0.7

Alignment: facedit's canonical crop puts the eyes at (0.375, 0.45) and (0.625, 0.45). FFHQ's
alignment (the StyleGAN2 face models') has the same scale -- the side is 4 eye distances, or
3.6 eye-to-mouth distances when that is larger, as facedit's rule with its mouth ratio 1.1 --
but centres the crop 0.1 eye-to-mouth distances below the eye midpoint, which puts the eyes at
y = 0.5 - 0.1 * 0.25 / 0.9 = 0.472. The backend shifts crops down by (eye_y - 0.45) of the side
before encoding and its renders back up after decoding, so facedit's masks and paste-back stay
in facedit's frame while the generator sees FFHQ-aligned faces.

Latents are W+ flattened: (B, n_latent * style_dim), e.g. 18 x 512 = 9216 at 1024 px.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from facedit.align import EYE_Y
from facedit.errors import ConfigError, ShapeError
from facedit.models.stylegan2 import load_generator, to_numpy_images

FFHQ_EYE_Y = 0.5 - 0.1 * 0.25 / 0.9
SPEC_KEYS = ("encoder", "steps", "optimizer", "channels", "res", "size", "eye_y", "truncation")


@dataclass(frozen=True)
class StyleGAN2Spec:
    checkpoint: str
    encoder: str | None = None
    steps: int | None = None
    optimizer: str = "adam"
    channels: float = 1.0
    res: int | None = None
    size: int | None = None
    eye_y: float = FFHQ_EYE_Y
    truncation: float = 0.7

    @classmethod
    def parse(cls, text: str | None) -> "StyleGAN2Spec":
        """`PATH[,key=value...]` -> a spec; unknown keys and bad values are one-line errors."""
        if not text:
            raise ConfigError("stylegan2: give a checkpoint, as stylegan2:PATH[,encoder=PATH]")
        path, *options = text.split(",")
        kwargs = {}
        types = {"encoder": str, "steps": int, "optimizer": str, "channels": float, "res": int,
                 "size": int, "eye_y": float, "truncation": float}
        for option in options:
            key, eq, value = option.partition("=")
            key = key.strip()
            if not eq or key not in SPEC_KEYS:
                raise ConfigError(f"stylegan2: unknown option {option!r}; expected key=value "
                                  f"with key one of {', '.join(SPEC_KEYS)}")
            try:
                kwargs[key] = types[key](value.strip())
            except ValueError:
                raise ConfigError(f"stylegan2: {key}: expected {types[key].__name__}, got "
                                  f"{value!r}") from None
        return cls(path.strip(), **kwargs)


class StyleGAN2Backend:
    """encode: (B, S, S, 3) uint8 facedit-aligned crops -> (B, n_latent * style_dim) W+;
    decode: the reverse, (B, S, S, 3) float32 0..255."""

    draws_frames = True  # its eyeglasses have frames of their own (`Editor` keeps their shape)

    def __init__(self, generator, latent_avg: torch.Tensor, encoder=None,
                 spec: StyleGAN2Spec | None = None, name: str = "stylegan2", features=None):
        from facedit.stylegan_projection import ProjectionConfig

        self.generator = generator
        self.latent_avg = latent_avg
        self.encoder = encoder
        self.spec = spec or StyleGAN2Spec("")
        cfg = generator.config
        self.n_latent, self.style_dim = cfg.n_latent, cfg.style_dim
        self.latent_dim = cfg.n_latent * cfg.style_dim
        self.res = self.spec.res or cfg.size
        if self.res > cfg.size or self.res < 8 or math.log2(self.res) % 1:
            raise ConfigError(f"stylegan2: res: expected a power of two in [8, {cfg.size}], got "
                              f"{self.res}")
        generator.sub_channels(self.spec.channels)  # validates the ratio
        self.size = self.spec.size or min(self.res, 256)
        if encoder is not None and encoder.config.n_style != self.n_latent:
            raise ConfigError(f"stylegan2: the encoder predicts {encoder.config.n_style} styles, "
                              f"the generator takes {self.n_latent}")
        steps = self.spec.steps if self.spec.steps is not None else (0 if encoder else 100)
        self.projection = ProjectionConfig(steps=steps, optimizer=self.spec.optimizer)
        self.name = name
        self._features = features  # perceptual features; facedit's classifier when first needed

    @classmethod
    def from_spec(cls, text: str | None) -> "StyleGAN2Backend":
        from facedit.models.stylegan2_encoder import load_encoder

        spec = StyleGAN2Spec.parse(text)
        loaded = load_generator(spec.checkpoint)
        encoder = load_encoder(spec.encoder) if spec.encoder else None
        return cls(loaded.generator, loaded.latent_avg, encoder, spec, f"stylegan2:{text}")

    # -- frames and conversions -----------------------------------------------------------------

    def _shift(self, images: np.ndarray, direction: int) -> np.ndarray:
        """Move content down (+1, facedit -> generator frame) or up (-1) by the eye-line gap,
        in whole pixels, repeating the edge rows."""
        dy = int(round((self.spec.eye_y - EYE_Y) * images.shape[1])) * direction
        if dy == 0:
            return images
        if dy > 0:
            return np.concatenate([np.repeat(images[:, :1], dy, 1), images[:, :-dy]], 1)
        return np.concatenate([images[:, -dy:], np.repeat(images[:, -1:], -dy, 1)], 1)

    def _resize(self, images: np.ndarray, side: int) -> np.ndarray:
        if images.shape[1] == side:
            return images
        interp = cv2.INTER_AREA if images.shape[1] > side else cv2.INTER_LINEAR
        return np.stack([cv2.resize(im, (side, side), interpolation=interp) for im in images])

    def _to_tensor(self, crops: np.ndarray, side: int) -> torch.Tensor:
        """(B, S, S, 3) 0..255 in facedit's frame -> (B, 3, side, side) in [-1, 1], generator
        frame."""
        x = self._resize(self._shift(np.asarray(crops, np.float32), +1), side)
        return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2) / 127.5 - 1

    def render(self, w_plus: torch.Tensor) -> torch.Tensor:
        """(B, n_latent, style_dim) -> (B, 3, res, res) in [-1, 1], differentiable."""
        return self.generator(w_plus, self.spec.channels, self.res)

    def check_latents(self, latents: np.ndarray) -> np.ndarray:
        z = np.asarray(latents, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ShapeError(f"latents: expected (B, {self.latent_dim}) (W+ {self.n_latent} x "
                             f"{self.style_dim} flattened), got {z.shape}")
        return z

    # -- the backend interface ------------------------------------------------------------------

    @torch.no_grad()
    def decode(self, latents: np.ndarray, batch: int = 4) -> np.ndarray:
        z = self.check_latents(latents)
        out = []
        for i in range(0, len(z), batch):
            w = torch.from_numpy(z[i:i + batch]).view(-1, self.n_latent, self.style_dim)
            img = to_numpy_images(self.render(w))
            out.append(self._shift(self._resize(np.ascontiguousarray(img), self.size), -1))
        return np.concatenate(out).astype(np.float32)

    def encode(self, crops: np.ndarray) -> np.ndarray:
        from facedit.models.backend import check_crops

        check_crops(crops, self.size)
        start = self.start_codes(crops)
        if self.projection.steps == 0:
            return start.reshape(len(crops), -1).numpy()
        return np.stack([self._project_one(c, s) for c, s in zip(crops, start)])

    @torch.no_grad()
    def start_codes(self, crops: np.ndarray) -> torch.Tensor:
        """The encoder's W+ for each crop, or the mean W on every layer. (B, n_latent, d)"""
        if self.encoder is None:
            return self.latent_avg.view(1, 1, -1).repeat(len(crops), self.n_latent, 1)
        from facedit.models.stylegan2_encoder import INPUT_SIZE

        return self.encoder(self._to_tensor(crops, INPUT_SIZE))

    def _project_one(self, crop: np.ndarray, start: torch.Tensor) -> np.ndarray:
        from facedit.paths import model_dir, model_key
        from facedit.stylegan_projection import (ProjectionCache, cache_key, classifier_features,
                                                 project)

        s = self.spec
        settings = {**self.projection.to_dict(), "channels": s.channels, "res": self.res,
                    "eye_y": s.eye_y, "encoder": s.encoder}
        cache = ProjectionCache(model_dir(model_key(f"stylegan2:{s.checkpoint}")) /
                                "projections")
        key = cache_key(crop, settings)
        hit = cache.get(key)
        if hit is not None and hit.shape == (self.latent_dim,):
            return hit
        if self._features is None:
            self._features = classifier_features()
        result = project(self.render, self._to_tensor(crop[None], self.res), start[None],
                         self.projection, self._features)
        flat = result.latents.reshape(-1).astype(np.float32)
        cache.put(key, flat)
        return flat

    # -- sampling (direction learning) ----------------------------------------------------------

    @torch.no_grad()
    def sample_w(self, n: int, seed: int = 0, truncation: float | None = None) -> np.ndarray:
        """W codes of `n` random faces, truncated towards the mean. (n, style_dim) float32"""
        psi = self.spec.truncation if truncation is None else truncation
        g = torch.Generator().manual_seed(seed)
        w = self.generator.mapping(torch.randn(n, self.style_dim, generator=g))
        return (self.latent_avg + psi * (w - self.latent_avg)).numpy()

    def w_to_latents(self, w: np.ndarray) -> np.ndarray:
        """(n, style_dim) W -> (n, latent_dim) W+ with the same code on every layer."""
        w = np.asarray(w, np.float32)
        return np.repeat(w[:, None], self.n_latent, 1).reshape(len(w), -1)

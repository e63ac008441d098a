"""Projection of an image into a StyleGAN2's W+ space (SPEC §2 "Projection"): start from the
encoder's code (or the mean W), then optimise W+ with Adam or L-BFGS on

    mse_weight * MSE(image, target) + perceptual_weight * feature distance
    + encoder_weight * |w - w_start|^2

The feature distance uses facedit's own attribute classifier (`AttributeClassifier.features`):
each stage's feature maps, unit-normalised over channels as LPIPS does, compared by MSE. No LPIPS
weights exist here, and the classifier already knows what matters on a face.

Results are cached by a hash of the target image and the settings
(`facedit.paths.model_dir(spec)/projections/<hash>.npy`), so a photo is projected once.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from facedit.errors import ConfigError, ShapeError

OPTIMIZERS = ("adam", "lbfgs")


@dataclass(frozen=True)
class ProjectionConfig:
    steps: int = 100  # 0: the start code as it is (encoder only)
    optimizer: str = "adam"
    lr: float = 0.02  # Adam; L-BFGS uses lr 1 with a line search
    mse_weight: float = 1.0
    perceptual_weight: float = 0.05
    encoder_weight: float = 0.0  # pull towards the start code
    patience: int = 25  # early stop after this many steps without a 0.1% improvement

    def __post_init__(self):
        if self.steps < 0:
            raise ConfigError(f"steps: expected >= 0, got {self.steps}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got "
                              f"{self.optimizer!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Projection:
    """latents: (B, n_latent, style_dim) float32. losses: the loss after each step (first entry:
    at the start). steps: steps taken (fewer than asked after an early stop)."""

    latents: np.ndarray
    losses: list[float] = field(default_factory=list)
    steps: int = 0


def classifier_features(model=None):
    """A function (B, 3, H, W) images in [0, 1] -> list of feature maps, from facedit's shipped
    attribute classifier (or `model`), frozen."""
    if model is None:
        from facedit.models import builtin

        model = builtin("classifier")
    model = model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.features


def feature_distance(features, a: torch.Tensor, b_feats: list[torch.Tensor]) -> torch.Tensor:
    """Mean over stages of the MSE between channel-normalised feature maps of `a` and the
    precomputed `b_feats`."""
    total = a.new_zeros(())
    for fa, fb in zip(features(a), b_feats):
        total = total + torch.mean((_unit(fa) - _unit(fb)) ** 2)
    return total / len(b_feats)


def _unit(f: torch.Tensor) -> torch.Tensor:
    return f / (f.norm(dim=1, keepdim=True) + 1e-8)


def project(render, target: torch.Tensor, start: torch.Tensor,
            config: ProjectionConfig = ProjectionConfig(), features=None,
            progress: bool = False) -> Projection:
    """Optimise W+ so `render(w)` matches `target`.

    Args:
        render: differentiable (B, n, d) W+ -> (B, 3, H, W) images in [-1, 1].
        target: (B, 3, H, W) in [-1, 1]. start: (B, n, d) starting W+.
        features: a `classifier_features()` function for the perceptual term (None: skipped).
        progress: a tqdm bar on stderr.
    """
    # 1. check inputs
    if target.ndim != 4 or target.shape[1] != 3:
        raise ShapeError(f"target: expected (B, 3, H, W), got {tuple(target.shape)}")
    if start.ndim != 3 or len(start) != len(target):
        raise ShapeError(f"start: expected ({len(target)}, n_latent, style_dim), got "
                         f"{tuple(start.shape)}")
    w0 = start.detach().float()
    if config.steps == 0:
        return Projection(w0.numpy().copy(), [], 0)
    # 2. the loss
    target = target.detach().float()
    use_feats = features is not None and config.perceptual_weight > 0
    with torch.no_grad():
        t_feats = features((target + 1) / 2) if use_feats else []

    def loss_of(w: torch.Tensor) -> torch.Tensor:
        out = render(w)
        loss = config.mse_weight * torch.mean((out - target) ** 2)
        if use_feats:
            loss = loss + config.perceptual_weight * feature_distance(
                features, (out.clamp(-1, 1) + 1) / 2, t_feats)
        if config.encoder_weight:
            loss = loss + config.encoder_weight * torch.mean((w - w0) ** 2)
        return loss

    # 3. optimise, keeping the best code evaluated (the loss of each evaluation comes with its
    # gradient, so no step pays for a second forward pass)
    from tqdm import tqdm

    w = w0.clone().requires_grad_(True)
    if config.optimizer == "lbfgs":
        opt = torch.optim.LBFGS([w], lr=1.0, max_iter=1, line_search_fn="strong_wolfe")
    else:
        opt = torch.optim.Adam([w], lr=config.lr)
    best = {"loss": math.inf, "w": w0.clone()}

    def closure():
        opt.zero_grad()
        loss = loss_of(w)
        loss.backward()
        if float(loss.detach()) < best["loss"]:
            best["loss"], best["w"] = float(loss.detach()), w.detach().clone()
        return loss

    losses, since, step = [], 0, 0
    with torch.enable_grad():
        bar = tqdm(range(config.steps), desc="project", unit="step", disable=not progress)
        for step in bar:
            before = best["loss"]
            losses.append(float(opt.step(closure).detach()))
            bar.set_postfix(loss=f"{best['loss']:.4g}")
            since = 0 if best["loss"] < before * (1 - 1e-3) else since + 1
            if since >= config.patience:
                break
        bar.close()
        with torch.no_grad():
            losses.append(float(loss_of(w)))
        if losses[-1] < best["loss"]:
            best["loss"], best["w"] = losses[-1], w.detach().clone()
    return Projection(best["w"].numpy(), losses, step + 1)


def cache_key(image: np.ndarray, settings: dict) -> str:
    """sha256 of the image's bytes, shape and the projection settings."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(image).tobytes())
    h.update(json.dumps({"shape": list(image.shape), **settings}, sort_keys=True).encode())
    return h.hexdigest()[:32]


class ProjectionCache:
    """W+ codes on disk, one `.npy` per key, written atomically."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def get(self, key: str) -> np.ndarray | None:
        path = self.folder / f"{key}.npy"
        if not path.is_file():
            return None
        try:
            return np.load(path)
        except (OSError, ValueError):
            return None  # a damaged entry is recomputed

    def put(self, key: str, latents: np.ndarray) -> Path:
        from facedit.io import atomic_output

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.npy"
        with atomic_output(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, np.asarray(latents, np.float32))
        return path

"""Projection refinement (SPEC §2 "Projection"): start from the encoder's code and optimise it so
the decoding matches the aligned crop, with a pull back towards the encoder's code.

The loss is pixel MSE plus an L1 on image gradients (a cheap stand-in for a perceptual loss: it
rewards sharp edges where plain MSE settles for blur) plus `regularizer * |z - z0|^2`.
"""
from __future__ import annotations

import numpy as np
import torch

from facedit.errors import ConfigError


def _gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., 1:, :] - x[..., :-1, :], x[..., :, 1:] - x[..., :, :-1]


def refine_latent(backend, small: np.ndarray, latent: np.ndarray, config) -> np.ndarray:
    """Refine one code. small: (S, S, 3) uint8 model-size crop; latent: (D,) float32;
    config: a `ProjectionConfig`. Returns (D,) float32 (the input itself when iterations is 0)."""
    if config.iterations == 0:
        return latent
    model = getattr(backend, "model", None)
    if model is None or not hasattr(model, "decode"):
        raise ConfigError(f"projection.iterations: the model {getattr(backend, 'name', '?')!r} "
                          f"has no differentiable decoder; set projection.iterations=0")
    target = torch.from_numpy(np.ascontiguousarray(small)).permute(2, 0, 1)[None].float() / 255.0
    z0 = torch.from_numpy(np.asarray(latent, np.float32))[None]
    z = z0.clone().requires_grad_(True)
    saved = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)

    def loss_fn() -> torch.Tensor:
        out = model.decode(z)
        loss = config.mse_weight * torch.mean((out - target) ** 2)
        if config.edge_weight:
            (oy, ox), (ty, tx) = _gradients(out), _gradients(target)
            loss = loss + config.edge_weight * (torch.mean(torch.abs(oy - ty)) +
                                                torch.mean(torch.abs(ox - tx)))
        return loss + config.regularizer * torch.mean((z - z0) ** 2)

    try:
        with torch.enable_grad():
            if config.optimizer == "lbfgs":
                opt = torch.optim.LBFGS([z], lr=config.lr, max_iter=config.iterations,
                                        line_search_fn="strong_wolfe")

                def closure():
                    opt.zero_grad()
                    loss = loss_fn()
                    loss.backward()
                    return loss
                opt.step(closure)
            else:
                opt = torch.optim.Adam([z], lr=config.lr)
                for _ in range(config.iterations):
                    opt.zero_grad()
                    loss_fn().backward()
                    opt.step()
    finally:
        for p, flag in zip(model.parameters(), saved):
            p.requires_grad_(flag)
    return z.detach()[0].numpy().astype(np.float32)

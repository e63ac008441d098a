"""What every training run shares: the run folder, resumable state, batches and the loss log.

A run folder holds `options.json` (the run's settings), `state.pt` (the resumable training state:
model and optimiser tensors, step, epoch, elapsed seconds - tensors only, loaded with
`weights_only=True`), `log.jsonl` (one line of losses per logging step) and per-epoch grids.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from facedit.io import atomic_output


class Run:
    """A training run's folder. Resumes from `state.pt` when it exists."""

    def __init__(self, folder: Path, options: dict):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.options = options
        with atomic_output(self.folder / "options.json") as tmp:
            tmp.write_text(json.dumps(options, indent=1, default=str))
        self.started = time.time()
        self.elapsed_before = 0.0
        self._last_save = time.time()

    @property
    def state_path(self) -> Path:
        return self.folder / "state.pt"

    def elapsed(self) -> float:
        return self.elapsed_before + time.time() - self.started

    def checkpoint(self, model, optim, epoch: int, step: int, force: bool = False,
                   every: float = 300.0, extra: Callable[[], dict] | None = None) -> None:
        """Save the resumable state if `force`, or if `every` seconds passed since the last save
        (`extra`: called only when saving, more state to keep, e.g. a discriminator's)."""
        if force or time.time() - self._last_save > every:
            self.save_state(model=model.state_dict(), optim=optim.state_dict(), epoch=epoch,
                            step=step, **(extra() if extra else {}))
            self._last_save = time.time()

    def save_state(self, **state) -> None:
        state["elapsed"] = self.elapsed()
        with atomic_output(self.state_path) as tmp:
            torch.save(state, tmp)

    def load_state(self) -> dict | None:
        if not self.state_path.exists():
            return None
        state = torch.load(self.state_path, map_location="cpu", weights_only=True)
        self.elapsed_before = float(state.get("elapsed", 0.0))
        self.started = time.time()
        return state

    def log(self, **row) -> None:
        with open(self.folder / "log.jsonl", "a") as fh:
            fh.write(json.dumps({k: (round(v, 6) if isinstance(v, float) else v)
                                 for k, v in row.items()}) + "\n")


def frozen(module: torch.nn.Module) -> torch.nn.Module:
    """`module` in eval mode with no parameter taking gradients: a judge a loss reads through."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def to_tensor(images: np.ndarray, flip: np.ndarray | None = None) -> torch.Tensor:
    """(B, S, S, 3) uint8 -> (B, 3, S, S) float32 in [0, 1]; rows where `flip` is set mirrored."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)
    if flip is not None and flip.any():
        f = torch.from_numpy(flip)
        x[f] = x[f].flip(-1)
    return x


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, 3, S, S) float in [0, 1] -> (B, S, S, 3) uint8."""
    return (x.detach().clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def epoch_batches(n: int, batch: int, rng: np.random.Generator):
    """Shuffled index batches covering `n` items once (the last partial batch dropped)."""
    order = rng.permutation(n)
    for i in range(0, n - batch + 1, batch):
        yield np.sort(order[i:i + batch])


def reached(step: int, max_steps: int | None) -> bool:
    """Whether a step limit is set and reached (tests run a fixed number of steps)."""
    return max_steps is not None and step >= max_steps

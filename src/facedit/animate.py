"""GIF and grid output for frame sequences (edits at several strengths, morphs)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from facedit.draw import grid
from facedit.errors import ConfigError
from facedit.io import atomic_output, save_image


def gif_bytes(frames: Sequence[np.ndarray], fps: float = 8.0, bounce: bool = True) -> bytes:
    """RGB uint8 frames as the bytes of a looping GIF. With `bounce` the sequence plays forth and
    back, so the loop has no jump."""
    import imageio.v3 as iio

    if len(frames) < 1:
        raise ConfigError("a GIF needs at least one frame")
    seq = list(frames) + (list(frames[-2:0:-1]) if bounce and len(frames) > 2 else [])
    return iio.imwrite("<bytes>", np.stack(seq), extension=".gif", duration=1000.0 / fps, loop=0)


def save_gif(path: Path, frames: Sequence[np.ndarray], fps: float = 8.0,
             bounce: bool = True) -> Path:
    """Write `gif_bytes(frames, fps, bounce)` to `path` (atomically)."""
    data = gif_bytes(frames, fps, bounce)
    with atomic_output(path) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)


def save_grid(path: Path, frames: Sequence[np.ndarray], columns: int | None = None,
              labels: Sequence[str] | None = None, cell: int | None = None) -> Path:
    """Write frames side by side (one row by default) as one image."""
    columns = columns or len(frames)
    return save_image(path, grid(list(frames), columns, labels=labels, cell=cell))

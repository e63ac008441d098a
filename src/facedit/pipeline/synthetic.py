"""A synthetic competition folder from the public-domain astronaut, named by the first source's
convention `Sk_A_Se_C_P_B_Hc_D_Hs.png`, for the pipeline's tests and benchmark
(`scripts/make_competition_set.py` writes one).

The full factorial crosses skin tone Sk (0, 1, 2) x age A (0, 1, 2) x sex Se (0, 1) x four hair
states {(Hc 0, Hs 0), (Hc 1, Hs 1), (Hc 3, Hs 0), (Hc 4 bald, Hs 2)} = 3 x 3 x 2 x 4 = 72 images,
18 of them bald (25 outputs each) and 54 not (24 each): 1,746 required outputs. The other fields
alternate so both values of each occur: B = i mod 2, D = (i div 2) mod 2, C = (i div 3) mod 2,
P = (i div 5) mod 2, for the image's index i in that order.

Each image is a distinct variant of the astronaut, so no two inputs are identical: a crop around
the face (scale 0.72-0.95 of the side, shifted while keeping the face inside), an optional
left-right flip, and colour jitter (brightness, contrast, saturation, a slight hue turn), resized
to 512 x 512. Everything is drawn from a seeded generator: the same seed gives the same bytes.
The labels are names only: the astronaut does not have these characteristics.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np

HAIR_STATES = ((0, 0), (1, 1), (3, 0), (4, 2))
FACE_BOX = (174, 68, 278, 172)  # the astronaut's face, x0 y0 x1 y1 (MediaPipe), with margin below


def factorial_names() -> list[str]:
    """The 72 names of the full factorial, in a fixed order."""
    names = []
    for i, (sk, a, se, (hc, hs)) in enumerate(itertools.product(range(3), range(3), range(2),
                                                               HAIR_STATES)):
        b, d, c, p = i % 2, (i // 2) % 2, (i // 3) % 2, (i // 5) % 2
        names.append(f"{sk}_{a}_{se}_{c}_{p}_{b}_{hc}_{d}_{hs}")
    return names


def handful(count: int) -> list[str]:
    """`count` names for tests: alternately non-bald and bald, starting with a non-bald one."""
    names = factorial_names()
    plain = [n for n in names if n.split("_")[6] != "4"]
    bald = [n for n in names if n.split("_")[6] == "4"]
    picked = []
    for i in range(count):
        pool = plain if i % 3 != 2 else bald
        picked.append(pool[(i * 7) % len(pool)])
    return list(dict.fromkeys(picked))


def variant(image: np.ndarray, rng: np.random.Generator, size: int = 512) -> np.ndarray:
    """A crop / shift / flip / colour-jitter variant of `image` (H, W, 3) uint8 RGB, keeping the
    face box inside, resized to (size, size, 3) uint8."""
    h, w = image.shape[:2]
    side = int(round(min(h, w) * rng.uniform(0.72, 0.95)))
    x0f, y0f, x1f, y1f = FACE_BOX
    # the crop must contain the face with a margin: choose its corner in the allowed range
    lo_x, hi_x = max(0, x1f + 30 - side), min(w - side, x0f - 30)
    lo_y, hi_y = max(0, y1f + 40 - side), min(h - side, max(0, y0f - 40))
    x = int(rng.integers(lo_x, max(lo_x, hi_x) + 1))
    y = int(rng.integers(lo_y, max(lo_y, hi_y) + 1))
    out = image[y:y + side, x:x + side]
    out = cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA if side > size
                     else cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    hsv = cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-4, 4)) % 180
    hsv[..., 1] *= rng.uniform(0.8, 1.2)
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    mean = out.mean()
    out = (out - mean) * rng.uniform(0.85, 1.15) + mean * rng.uniform(0.85, 1.15)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def make_set(out: str | Path, names: list[str], seed: int = 0, size: int = 512) -> list[Path]:
    """Write one astronaut variant per name into `out` as NAME.png; returns the paths."""
    from skimage import data

    from facedit.io import save_image

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = data.astronaut()
    paths = []
    for i, name in enumerate(names):
        rng = np.random.default_rng([seed, i])
        paths.append(save_image(out / f"{name}.png", variant(source, rng, size)))
    return paths

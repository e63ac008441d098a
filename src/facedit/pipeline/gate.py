"""The quality gate's decisions, as pure functions: does a judge reading meet a target, how much
did the identity drift, how much did the background change."""
from __future__ import annotations

import math

import cv2
import numpy as np

PRESENT, ABSENT = 0.75, 0.25  # targets at or beyond these ask for presence / absence


def meets_target(reading: float, target: float, tolerance: float) -> bool:
    """A target of at least 0.75 asks for the attribute (reading >= 0.5), one of at most 0.25 for
    its absence (reading < 0.5); an intermediate target (Sk 1: 0.3, A 1: 0.5) asks for a reading
    within `tolerance` of it.

    >>> meets_target(0.62, 0.9, 0.2), meets_target(0.45, 0.05, 0.2), meets_target(0.75, 0.5, 0.2)
    (True, True, False)
    """
    if target >= PRESENT:
        return reading >= 0.5
    if target <= ABSENT:
        return reading < 0.5
    return abs(reading - target) <= tolerance


def next_multiplier(multiplier: float, reading: float, target: float, before: float,
                    growth: float) -> float:
    """The strength of the next attempt after a failed one: stronger (x growth) while the reading
    is still short of the target, weaker (/ growth) when it went past an intermediate target.

    >>> next_multiplier(1.0, 0.3, 0.9, 0.2, 1.5), next_multiplier(1.0, 0.05, 0.3, 0.9, 1.5)
    (1.5, 0.6666666666666666)
    """
    intermediate = ABSENT < target < PRESENT
    overshot = intermediate and (target - reading) * (target - before) < 0
    return multiplier / growth if overshot else multiplier * growth


def identity_drift(before: np.ndarray, after: np.ndarray, offset: np.ndarray) -> float:
    """RMS per dimension of the change of a face's code that is *not* along the edit's offset:
    (D,) codes of the input and of the re-encoded output, (D,) offset."""
    d = np.asarray(after, np.float64) - np.asarray(before, np.float64)
    u = np.asarray(offset, np.float64)
    n = np.linalg.norm(u)
    if n > 0:
        u = u / n
        d = d - (d @ u) * u
    return float(np.linalg.norm(d) / math.sqrt(len(d)))


def background_psnr(before: np.ndarray, after: np.ndarray, background: np.ndarray) -> float | None:
    """PSNR in dB between two (H, W, 3) uint8 images over the (H, W) boolean `background`;
    None when there is no background or it is bit-identical (infinite PSNR)."""
    count = int(np.count_nonzero(background))
    if count == 0:
        return None
    d = cv2.absdiff(before, after)
    diff = cv2.bitwise_and(d, d, mask=background.astype(np.uint8))
    if not diff.any():
        return None
    mse = float(np.sum(diff.astype(np.float64) ** 2)) / (count * before.shape[2])
    return 10.0 * math.log10(255.0 ** 2 / mse)

"""The one rule that turns a target reading into a raw step along a direction: walk from where the
face is now towards the target, stop at the first reading that reaches it, and interpolate
linearly inside that bracket; when no reading reaches it, the walked step whose reading is
nearest the target (never a step that only makes the reading worse).

`Editor.solve_steps` walks a coarse path and then a finer one inside the bracket; the server reads
a curve measured once per face. Both call `walk`, so a slider and a command line edit agree.
"""
from __future__ import annotations

import numpy as np

SAME = 1e-3  # readings this close to the target count as on it


def walk(steps, values, target: float) -> tuple[float, int | None]:
    """Where a path of readings first reaches `target`.

    Args:
        steps: (N,) raw steps of a path that starts at the current position (steps[0]) and moves
            away from it in one direction.
        values: (N,) the judge's reading at each step; values[0] is the current reading.
        target: the reading asked for.
    Returns:
        (step, k): k is the first index whose reading is at or past the target (on the far side
        from values[0]) and step is interpolated between points k - 1 and k; (steps[0], 0) when
        the current reading is already on the target; (the step whose reading is nearest the
        target, None) when no point reaches it: the farthest step on a path that moves towards
        the target, the current position (no edit) on one that only moves away from it.

    >>> walk(np.array([0., 1., 2.]), np.array([.3, .5, .9]), .7)
    (1.5, 2)
    >>> walk(np.array([0., -1., -2.]), np.array([.3, .25, .2]), .05)
    (-2.0, None)
    """
    steps, values = np.asarray(steps, np.float64), np.asarray(values, np.float64)
    if steps.shape != values.shape or steps.ndim != 1 or len(steps) == 0:
        raise ValueError(f"steps and values: expected equal non-empty (N,) shapes, got "
                         f"{steps.shape} and {values.shape}")
    if abs(values[0] - target) < SAME:
        return float(steps[0]), 0
    sign = 1.0 if target > values[0] else -1.0
    reached = np.flatnonzero((values[1:] - target) * sign >= 0)
    if len(reached) == 0:
        gap = np.abs(values - target)
        nearest = len(gap) - 1 - int(np.argmin(gap[::-1]))  # the farthest of equally near points
        return float(steps[nearest]), None
    k = int(reached[0]) + 1
    v0, v1 = values[k - 1], values[k]
    frac = 0.0 if v1 == v0 else float(np.clip((target - v0) / (v1 - v0), 0.0, 1.0))
    return float(steps[k - 1] + frac * (steps[k] - steps[k - 1])), k

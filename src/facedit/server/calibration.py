"""Calibrated strengths fast enough for a slider.

`Editor.solve_steps` searches the raw step for a target probability with 17 decodes per target:
right for one edit, too slow for a slider that asks for a new target every few milliseconds. The
server measures the judge's reading along an attribute's direction once per face (`CURVE_POINTS`
steps from -max to +max in one decode) and reads the step of any later target off that curve,
with the same rule as `Editor.solve_steps` (`facedit.calibrate.walk`): the first crossing of the
target walking from step 0 towards it, linearly interpolated, or the strongest step when the
target is out of reach.

Each attribute's curve is measured with the other attributes at zero, so while several sliders
are moved each is calibrated on its own (the Editor's second pass over interactions is skipped).
"""
from __future__ import annotations

import numpy as np

from facedit.calibrate import SAME, walk

CURVE_POINTS = 17  # odd: step 0 is on the curve; 8 steps each way


def step_for_target(steps: np.ndarray, values: np.ndarray, target: float) -> float:
    """The raw step whose reading reaches `target` on a measured curve.

    Args:
        steps: (N,) ascending raw steps, one of them 0.
        values: (N,) the judge's reading at each step.
        target: the reading asked for.
    Returns:
        the step, linearly interpolated inside the first bracket that crosses the target when
        walking from step 0 towards it; the last step in that direction if none does.

    >>> step_for_target(np.array([-2., -1., 0., 1., 2.]), np.array([.1, .2, .3, .5, .9]), .7)
    1.5
    """
    steps, values = np.asarray(steps, np.float64), np.asarray(values, np.float64)
    if steps.shape != values.shape or steps.ndim != 1:
        raise ValueError(f"steps and values: expected equal (N,) shapes, got {steps.shape} and "
                         f"{values.shape}")
    zero = int(np.argmin(np.abs(steps)))
    if abs(values[zero] - target) < SAME:
        return 0.0
    towards = slice(zero, None) if target > values[zero] else slice(zero, None, -1)
    return walk(steps[towards], values[towards], target)[0]


def measure_curve(editor, face, name: str, points: int = CURVE_POINTS) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
    """(steps, readings) of attribute `name` on an encoded face: `points` raw steps from
    -max_step to +max_step, each decoded, blended into the model-size crop and judged."""
    attr = editor.attribute(name)
    steps = np.linspace(-attr.max_step, attr.max_step, points)
    trials = [{attr.name: float(s)} for s in steps]
    # Same renders as the Editor's own search (its blend and eyeglasses paint-out included).
    crops = editor.small_renders(face, trials, [attr.name])
    return steps, np.asarray(editor.judge.value(crops, attr.label), np.float64)

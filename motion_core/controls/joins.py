"""Smoother joins (issue 23, item 6): no pop where timeline segments meet or where `extend` continues a motion.

At a join the model's motion can jump: the step from frame b - 1 to frame b is larger than the steps around it
(measured: up to 1.4-1.7x the 95th percentile of the steps inside the segments). The velocity the motion
should have there is the mean of the steps just before and just after; the excess of the join's step over it
is taken out of the join and spread over the `radius` frames on each side with a cosine ease, so every joint's
path stays continuous and its velocity changes smoothly. Then the frames within `radius` of the join are
blended (cosine weight, 1 at the join) towards a Gaussian-smoothed copy (sigma 1.5 frames), which damps a pop
spread over two or three frames as well. For `extend` (``keep_before``) the frames of the motion being
continued stay as they are and the new frames absorb the whole excess.

`smooth_joins_joints` works on joint arrays; `smooth_joins` on a `Motion`, re-solving its rotations on its own
offsets (the correction bends bones by well under a millimetre; the rigid solve takes that out), so
FK(rotations) still equals the joints.
"""
from __future__ import annotations

import numpy as np

from motion_core.formats.motion import Motion

__all__ = ["smooth_joins", "smooth_joins_joints", "join_step_ratio", "JOIN_RADIUS"]

SOFTEN_SIGMA = 1.5  # frames: the Gaussian the frames right at a join are blended towards
JOIN_RADIUS = 6     # frames on each side of a join over which the excess step is spread (0.3 s at 20 fps)


def _ease(count: int, radius: int) -> np.ndarray:
    """Weights 1 at k = 0 falling to 0 at k = radius (cosine), for k = 0 .. count - 1."""
    k = np.arange(count)
    return np.where(k < radius, 0.5 * (1.0 + np.cos(np.pi * k / radius)), 0.0)


def smooth_joins_joints(joints, joins, radius: int = JOIN_RADIUS, keep_before: int = 0,
                        margin: int = 2) -> np.ndarray:
    """Joints (T, J, 3) with the largest step within `margin` frames of each join (the model switches prompts
    at a latent boundary, up to 2 frames from the segment's first frame) brought to the mean of its
    neighbouring steps; frames before `keep_before` are not changed."""
    x = np.array(joints, dtype=np.float64)
    num = len(x)
    step = np.linalg.norm(np.diff(x, axis=0), axis=-1).max(axis=1) if num > 1 else np.zeros(0)
    for join in sorted(int(b) for b in joins):
        low, high = max(2, keep_before, join - margin), min(num - 2, join + margin)
        if high < low:
            continue
        b = low + int(np.argmax(step[low - 1:high]))        # step[b - 1]: the step into frame b
        if b < 2 or b > num - 2 or b < keep_before:
            continue
        expected = 0.5 * ((x[b - 1] - x[b - 2]) + (x[b + 1] - x[b]))
        excess = (x[b] - x[b - 1]) - expected                       # (J, 3)
        after = _ease(num - b, radius)[:, None, None]
        if b > keep_before:     # both sides share the correction
            before = _ease(b - keep_before, radius)[::-1][:, None, None]
            x[keep_before:b] += 0.5 * before * excess
            x[b:] -= 0.5 * after * excess
        else:                   # the frames before are kept: the new ones take all of it
            x[b:] -= after * excess
        x = _soften(x, b, radius, keep_before)
    return x


def _soften(x: np.ndarray, b: int, radius: int, keep_before: int, sigma: float = SOFTEN_SIGMA) -> np.ndarray:
    """Blend the frames within `radius` of frame b towards a Gaussian-smoothed copy (weight 1 at b, easing
    to 0 at the window's ends): a pop spread over several frames is damped too."""
    low, high = max(keep_before, b - radius), min(len(x), b + radius + 1)
    if high - low < 3:
        return x
    reach = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    lo, hi = max(0, low - reach), min(len(x), high + reach)
    padded = np.concatenate([np.repeat(x[lo:lo + 1], reach, 0), x[lo:hi], np.repeat(x[hi - 1:hi], reach, 0)])
    smooth = np.stack([np.tensordot(kernel, padded[i:i + 2 * reach + 1], axes=(0, 0))
                       for i in range(hi - lo)])[low - lo:high - lo]
    weight = _ease(radius + 1, radius + 1)[np.abs(np.arange(low, high) - b)][:, None, None]
    if keep_before and low == keep_before:   # the first new frame still follows the kept ones
        weight[0] = 0.0
    x = x.copy()
    x[low:high] += weight * (smooth - x[low:high])
    return x


def smooth_joins(motion: Motion, joins, radius: int = JOIN_RADIUS) -> Motion:
    """`motion` with smoothed joins (frame indices where a new segment starts); rotations re-solved."""
    joins = [int(b) for b in joins]
    if not joins:
        return motion
    joints = smooth_joins_joints(motion.joints, joins, radius)
    result = Motion.from_joints(joints, motion.skeleton, fps=motion.fps, meta=motion.meta, offsets=motion.offsets)
    result.meta["smooth_joins"] = 1
    return result


def join_step_ratio(joints, joins, margin: int = 2) -> dict:
    """How big the steps at the joins are against those inside the segments.

    A step is the largest joint displacement between two frames. ``join_step``: the largest step ending within
    `margin` frames of a join; ``inside_p95``: the 95th percentile of all other steps; ``ratio``: their quotient.
    """
    joints = np.asarray(joints, dtype=np.float64)
    step = np.linalg.norm(np.diff(joints, axis=0), axis=-1).max(axis=1)      # step[t - 1]: frame t - 1 -> t
    near = np.zeros(len(step), dtype=bool)
    for b in joins:
        near[max(0, b - 1 - margin):max(0, b + margin)] = True
    inside = float(np.percentile(step[~near], 95))
    worst = float(step[near].max()) if near.any() else 0.0
    return {"join_step": worst, "inside_p95": inside, "ratio": worst / inside if inside > 0 else float("inf")}

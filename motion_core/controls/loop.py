"""Seamless loops (issue 23, item 5): the last frame flows into the first.

A cyclic motion (walk cycle, idle, dance) played on repeat restarts from its first frame, shifted by one
cycle's root travel. Relative to the root's ground position, the pose the motion would reach one frame after
its last (last + its last step) is compared with the first frame; that mismatch is removed linearly over the
whole clip (1/T of it per frame, far below a visible step), so the step from the last frame to the first
equals the motion's own last step. The horizontal root keeps its path: the travel per cycle is a constant
offset, ``meta["loop_offset_x"/"loop_offset_z"]`` (m), what a "repeat with offset" cycle modifier adds per
repeat. Facing is not changed: a motion that turns while it travels loops its pose, not its heading.
"""
from __future__ import annotations

import numpy as np

from motion_core.formats.motion import Motion

__all__ = ["loop_joints", "make_loop", "loop_step_ratio"]

_GROUND = np.array([1.0, 0.0, 1.0])


def loop_joints(joints) -> tuple[np.ndarray, np.ndarray]:
    """(looped joints (T, J, 3), root offset per cycle (3,), y = 0)."""
    x = np.array(joints, dtype=np.float64)
    num = len(x)
    if num < 3:
        return x, np.zeros(3)
    ground = x[:, :1] * _GROUND                     # (T, 1, 3) the root's ground position
    local = x - ground
    step = x[-1, 0] - x[-2, 0]
    offset = (x[-1, 0] + step - x[0, 0]) * _GROUND   # travel per cycle
    predicted = local[-1] + (local[-1] - local[-2])  # the pose one frame after the last
    mismatch = predicted - local[0]
    ramp = (np.arange(num) / num)[:, None, None]
    return ground + local - ramp * mismatch[None], offset


def make_loop(motion: Motion) -> Motion:
    """`motion` made seamless on repeat (see the module doc); rotations re-solved on its offsets."""
    joints, offset = loop_joints(motion.joints)
    result = Motion.from_joints(joints, motion.skeleton, fps=motion.fps, meta=motion.meta, offsets=motion.offsets)
    result.meta.update(loop=1, loop_offset_x=float(offset[0]), loop_offset_z=float(offset[2]))
    return result


def loop_step_ratio(joints, offset) -> dict:
    """The step from the last frame to the first of the next cycle (shifted by `offset`), against the 95th
    percentile of the steps inside the motion (a step: the largest joint displacement between two frames)."""
    x = np.asarray(joints, dtype=np.float64)
    inside = np.linalg.norm(np.diff(x, axis=0), axis=-1).max(axis=1)
    wrap = float(np.linalg.norm(x[0] + np.asarray(offset) - x[-1], axis=-1).max())
    p95 = float(np.percentile(inside, 95))
    return {"wrap_step": wrap, "inside_p95": p95, "ratio": wrap / p95 if p95 > 0 else float("inf")}

"""Loop takes (issue 23, item 5): a take generated with loop=True plays on repeat through Cycles modifiers.

The engine makes the motion seamless (its frame after the last is its first, shifted by the root travel per
cycle, recorded in ``meta["loop_offset_x"/"loop_offset_z"]``). Blender's Cycles modifier repeats the keys
from the first to the last key, the last key standing on the next cycle's first, so the take gets that frame
as one more key: `closed_loop` appends it. `add_cycles` then puts a Cycles modifier on every F-curve of
the action: location curves repeat with offset (the character travels on), all others plainly.
"""
from __future__ import annotations

import numpy as np

from . import keyframes
from .motion_io import MotionData


def closed_loop(motion) -> MotionData:
    """The motion with its first frame appended once more, moved by the loop's root offset."""
    meta = dict(getattr(motion, "meta", {}) or {})
    offset = np.array([float(meta.get("loop_offset_x", 0.0)), 0.0, float(meta.get("loop_offset_z", 0.0))])
    first = np.asarray(motion.rotations[0], dtype=np.float64)
    last = np.asarray(motion.rotations[-1], dtype=np.float64)
    sign = np.where((first * last).sum(-1, keepdims=True) < 0, -1.0, 1.0)   # no long-way-round at the wrap
    return MotionData(fps=motion.fps,
                      joints=np.concatenate([motion.joints, (motion.joints[0] + offset)[None]]),
                      rotations=np.concatenate([motion.rotations, (first * sign)[None]]),
                      root_translation=np.concatenate([motion.root_translation,
                                                       (motion.root_translation[0] + offset)[None]]),
                      offsets=motion.offsets, skeleton=motion.skeleton, meta=meta)


def action_fcurves(action) -> list:
    """Every F-curve of an action, layered (Blender 4.4+) or legacy."""
    if not keyframes.is_layered(action):
        return list(action.fcurves)
    return [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
            for fc in bag.fcurves]


def add_cycles(action) -> int:
    """Put a Cycles modifier on each F-curve of `action` (once); returns how many curves have one."""
    count = 0
    for fcurve in action_fcurves(action):
        modifier = next((m for m in fcurve.modifiers if m.type == "CYCLES"), None) or fcurve.modifiers.new("CYCLES")
        mode = "REPEAT_OFFSET" if fcurve.data_path.endswith("location") else "REPEAT"
        modifier.mode_before = modifier.mode_after = mode
        count += 1
    return count

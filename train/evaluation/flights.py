"""Counting a clip's hops and jumps: airborne phases of the feet, and how far the body travelled.

A counted prompt ("hops forward twice") is followed when the clip has that many airborne phases. Used by the
shipped model's tests and `benchmarks/counted_prompts.py`, on joints in the HumanML3D skeleton's order.
"""
from __future__ import annotations

import numpy as np

from motion_core.kinematics.skeleton import HUMANML3D

FEET = [HUMANML3D.joint_names.index(n) for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]


def flights(joints: np.ndarray, clearance: float = 0.03) -> int:
    """Airborne phases: every foot joint above the clip's usual lowest foot height + `clearance`, 2+ frames.

    The reference height is the 5th percentile of the lowest foot, not the minimum, so one frame of foot
    penetration does not lift the floor for the whole clip."""
    lowest = joints[:, FEET, 1].min(axis=1)
    airborne = lowest > np.percentile(lowest, 5) + clearance
    starts = airborne[1:] & airborne[:-1] & ~np.concatenate([[False], airborne[:-2]])
    return int(starts.sum())


def travel(joints: np.ndarray) -> float:
    """Horizontal distance (m) from the pelvis's first position to its last."""
    return float(np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]))


__all__ = ["flights", "travel", "FEET"]

"""Smoothness and contact metrics for judging transitions: joint jerk, foot skating, root continuity.

All functions take world joint positions (T, J, 3) in metres, y up, at `fps` frames per second, and return
SI units (m/s, m/s^2, m/s^3), so numbers compare across frame rates. Finite differences are taken between
consecutive frames; a difference "at frame t" is the one ending on frame t.

Typical use: `transition_report(joints, skeleton, fps, joins)` compares frames within +-0.5 s of the joins
between clips (or timeline segments) with the frames inside segments.
"""
from __future__ import annotations

import numpy as np

from motion_core.kinematics.skeleton import Skeleton

__all__ = ["joint_jerk", "peak_jerk", "foot_skating_speed", "foot_skating", "root_continuity",
           "near_joins_mask", "transition_report"]

CONTACT_HEIGHT = 0.05   # m above the lowest foot position: a foot this low is taken to be on the floor
SKATING_SPEED = 0.5     # m/s (2.5 cm per frame at 20 fps): a planted foot sliding faster than this skates


def _joints(joints) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[-1] != 3:
        raise ValueError(f"joints must have shape (T, J, 3), got {joints.shape}")
    return joints


def joint_jerk(joints, fps: float) -> np.ndarray:
    """(T - 3, J) magnitude of each joint's third time derivative (m/s^3); entry t is centred on t + 1.5."""
    joints = _joints(joints)
    if len(joints) < 4:
        return np.zeros((0, joints.shape[1]))
    return np.linalg.norm(np.diff(joints, n=3, axis=0), axis=-1) * fps ** 3


def peak_jerk(joints, fps: float, frames: np.ndarray | None = None) -> float:
    """Largest joint jerk (m/s^3), over all frames or the frames where the bool mask `frames` (T,) is True.

    A jerk sample counts for the mask when any of the four frames it spans is selected.
    """
    jerk = joint_jerk(joints, fps)
    if not len(jerk):
        return 0.0
    per_sample = jerk.max(axis=1)
    if frames is not None:
        per_sample = per_sample[_window_any(np.asarray(frames, dtype=bool), 4)]
    return float(per_sample.max()) if len(per_sample) else 0.0


def foot_skating_speed(joints, skeleton: Skeleton, fps: float, contact_height: float = CONTACT_HEIGHT
                       ) -> np.ndarray:
    """(T - 1,) worst horizontal speed (m/s) of a foot joint (ankles, toes) that is on the floor.

    A foot joint is on the floor during a step when it is below `contact_height` above the clip's lowest foot
    position at both ends of the step. 0 where no foot joint is on the floor. A foot that stays planted
    gives 0; sliding while planted (skating) gives its sliding speed.
    """
    joints = _joints(joints)
    feet = list(skeleton.left_foot) + list(skeleton.right_foot)
    positions = joints[:, feet]                                # (T, 4, 3)
    height = positions[..., 1] - positions[..., 1].min()
    low = height < contact_height
    contact = low[1:] & low[:-1]                              # (T - 1, 4)
    speed = np.linalg.norm(np.diff(positions[..., [0, 2]], axis=0), axis=-1) * fps
    return np.where(contact, speed, 0.0).max(axis=1, initial=0.0)


def foot_skating(joints, skeleton: Skeleton, fps: float, frames: np.ndarray | None = None,
                 contact_height: float = CONTACT_HEIGHT) -> dict[str, float]:
    """Summary of `foot_skating_speed` over all steps or those touching a frame selected by `frames`.

    ``mean``: average skating speed over steps with a foot on the floor (m/s); ``peak``: the worst step;
    ``contact_steps``: how many steps had a foot on the floor; ``skating_share``: the share of those steps
    in which a planted foot slides faster than `SKATING_SPEED` (visible skating, not jitter).
    """
    joints = _joints(joints)
    speed = foot_skating_speed(joints, skeleton, fps, contact_height)
    feet = list(skeleton.left_foot) + list(skeleton.right_foot)
    height = joints[:, feet, 1] - joints[:, feet, 1].min()
    any_contact = ((height[1:] < contact_height) & (height[:-1] < contact_height)).any(axis=1)
    if frames is not None:
        keep = _window_any(np.asarray(frames, dtype=bool), 2)
        speed, any_contact = speed[keep], any_contact[keep]
    steps = int(any_contact.sum())
    return {"mean": float(speed[any_contact].mean()) if steps else 0.0,
            "peak": float(speed.max(initial=0.0)), "contact_steps": steps,
            "skating_share": float((speed[any_contact] > SKATING_SPEED).mean()) if steps else 0.0}


def root_continuity(joints, fps: float, frames: np.ndarray | None = None) -> dict[str, float]:
    """How abruptly the root moves: the largest root speed (m/s) and change of root velocity (m/s^2).

    A teleport shows up as a huge speed, a sudden change of pace as a huge acceleration. Restricted to steps
    touching frames selected by `frames` (T,) when given.
    """
    root = _joints(joints)[:, 0]
    velocity = np.diff(root, axis=0) * fps                     # (T - 1, 3)
    speed = np.linalg.norm(velocity, axis=-1)
    accel = np.linalg.norm(np.diff(velocity, axis=0), axis=-1) * fps  # (T - 2,)
    if frames is not None:
        mask = np.asarray(frames, dtype=bool)
        speed, accel = speed[_window_any(mask, 2)], accel[_window_any(mask, 3)]
    return {"max_speed": float(speed.max(initial=0.0)), "max_accel": float(accel.max(initial=0.0))}


def near_joins_mask(num_frames: int, joins, radius: int) -> np.ndarray:
    """(T,) True for frames within `radius` frames of a join (a join at frame b is between b - 1 and b)."""
    mask = np.zeros(num_frames, dtype=bool)
    for join in joins:
        mask[max(0, int(join) - radius):min(num_frames, int(join) + radius)] = True
    return mask


def transition_report(joints, skeleton: Skeleton, fps: float, joins, radius_seconds: float = 0.5) -> dict:
    """Peak jerk, foot skating and root continuity near the joins (within +-radius) versus inside segments."""
    joints = _joints(joints)
    near = near_joins_mask(len(joints), joins, max(1, round(radius_seconds * fps)))
    report = {}
    for name, mask in (("joins", near), ("inside", ~near)):
        if not mask.any():
            continue
        report[name] = {"peak_jerk": peak_jerk(joints, fps, mask),
                        "foot_skating": foot_skating(joints, skeleton, fps, mask)["mean"],
                        **{f"root_{k}": v for k, v in root_continuity(joints, fps, mask).items()}}
    return report


def _window_any(mask: np.ndarray, width: int) -> np.ndarray:
    """(T - width + 1,) True where any frame of the `width`-frame window starting there is selected."""
    if len(mask) < width:
        return np.zeros(0, dtype=bool)
    counts = np.convolve(mask.astype(np.int64), np.ones(width, dtype=np.int64), mode="valid")
    return counts > 0

"""Geometry the per-action checks share: facing, travel, and joints seen from the body (joint positions (T, 22, 3)).

Conventions (HumanML3D): metres, y up; "left" is up x forward. Body-frame coordinates are (left, up, forward)
in the frame of the hips, so a trunk twist moves the shoulders and wrists in it while the legs stay put.
Arm coordinates are (outward, up, forward) from the arm's own shoulder, outward pointing away from the midline
on that arm's side, so one check serves both arms.
"""
from __future__ import annotations

import numpy as np

from motion_core.kinematics.skeleton import HUMANML3D

PELVIS, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 0, 1, 2, 4, 5, 7, 8
NECK, HEAD, L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST = 12, 15, 16, 17, 20, 21
SIDE = {"left": +1, "right": -1}
WRIST = {+1: L_WRIST, -1: R_WRIST}
SHOULDER = {+1: L_SHOULDER, -1: R_SHOULDER}
ANKLE = {+1: L_ANKLE, -1: R_ANKLE}
UP = np.array([0.0, 1.0, 0.0])


def _unit_horizontal(v: np.ndarray) -> np.ndarray:
    v = v.copy()
    v[..., 1] = 0.0
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-8)


def facing(joints: np.ndarray) -> np.ndarray:
    """Unit horizontal facing direction per frame (T, 3) from the hip and shoulder lines."""
    r_hip, l_hip, r_sho, l_sho = HUMANML3D.face_joints
    across = (joints[:, r_hip] - joints[:, l_hip]) + (joints[:, r_sho] - joints[:, l_sho])
    return _unit_horizontal(np.cross(UP, across))


def hip_facing(joints: np.ndarray) -> np.ndarray:
    """Facing of the hips alone (T, 3): the frame a trunk twist or a look turns against."""
    return _unit_horizontal(np.cross(UP, joints[:, R_HIP] - joints[:, L_HIP]))


def heading_change(joints: np.ndarray) -> float:
    """Unwrapped yaw change first -> last frame (radians); positive turns towards the character's left (+x)."""
    f = facing(joints)
    yaw = np.unwrap(np.arctan2(f[:, 0], f[:, 2]))
    return float(yaw[-1] - yaw[0])


def displacement(joints: np.ndarray) -> tuple[float, float]:
    """Net root travel (forward, leftward) in the character's initial frame."""
    f0 = facing(joints[:1])[0]
    left0 = np.cross(UP, f0)
    delta = joints[-1, PELVIS] - joints[0, PELVIS]
    delta[1] = 0.0
    return float(delta @ f0), float(delta @ left0)


def own_travel(joints: np.ndarray) -> tuple[float, float]:
    """Root travel (forward, leftward) summed step by step in the character's *current* facing: a walk that
    curves is still all forward, which its net displacement in the initial frame is not."""
    f = facing(joints)[:-1]
    left = np.cross(UP, f)
    step = np.diff(joints[:, PELVIS], axis=0)
    step[:, 1] = 0.0
    return float((step * f).sum()), float((step * left).sum())


def path_length(joints: np.ndarray) -> float:
    """Horizontal distance the pelvis covers along its path (m), a little smoothed against sway."""
    xz = joints[:, PELVIS][:, [0, 2]]
    step = max(len(xz) // 20, 1)
    return float(np.linalg.norm(np.diff(xz[::step], axis=0), axis=-1).sum())


def body(joints: np.ndarray, joint: int, origin: int = PELVIS) -> np.ndarray:
    """(T, 3) position of `joint` relative to `origin` as (left, up, forward) in the hips' frame."""
    forward = hip_facing(joints)
    left = np.cross(UP, forward)
    rel = joints[:, joint] - joints[:, origin]
    return np.stack([(rel * left).sum(-1), rel[:, 1], (rel * forward).sum(-1)], -1)


def arm(joints: np.ndarray, side: int) -> np.ndarray:
    """(T, 3) wrist of arm `side` (+1 left, -1 right) from its shoulder as (outward, up, forward)."""
    rel = body(joints, WRIST[side], SHOULDER[side])
    rel[:, 0] *= side
    return rel


def wrist_gap(joints: np.ndarray) -> np.ndarray:
    """(T,) distance between the wrists."""
    return np.linalg.norm(joints[:, L_WRIST] - joints[:, R_WRIST], axis=-1)


def twist(joints: np.ndarray) -> np.ndarray:
    """(T,) yaw of the shoulder line against the hip line (radians, + turns the chest to the left)."""
    hips, shoulders = hip_facing(joints), _unit_horizontal(np.cross(UP, joints[:, R_SHOULDER] - joints[:, L_SHOULDER]))
    left = np.cross(UP, hips)
    return np.arctan2((shoulders * left).sum(-1), (shoulders * hips).sum(-1))


def head_pitch(joints: np.ndarray) -> np.ndarray:
    """(T,) forward tilt of the neck -> head segment in the hips' frame (radians, + nods down)."""
    rel = body(joints, HEAD, NECK)
    return np.arctan2(rel[:, 2], rel[:, 1])


def trunk(joints: np.ndarray) -> np.ndarray:
    """(T, 3) neck relative to the pelvis in the hips' frame: leaning shows in its left / forward parts."""
    return body(joints, NECK, PELVIS)


def rise(x: np.ndarray) -> np.ndarray:
    """How far a height signal sits above its resting (20th percentile) level."""
    return x - np.percentile(x, 20)


def rest_level(x: np.ndarray) -> float:
    """The value a signal has at rest: clips start and end at rest, so the median of both ends' fifths."""
    k = max(len(x) // 5, 1)
    return float(np.median(np.concatenate([x[:k], x[-k:]])))


def swings(x: np.ndarray, amplitude: float) -> int:
    """How many times `x` reverses by more than `amplitude` (hysteresis), i.e. 2 per full oscillation."""
    count, direction, anchor = 0, 0, float(x[0])
    for value in x[1:]:
        delta = float(value) - anchor
        if direction >= 0 and delta < -amplitude or direction <= 0 and delta > amplitude:
            count += direction != 0
            direction = -1 if delta < 0 else 1
            anchor = float(value)
        elif direction * delta > 0:
            anchor = float(value)
    return count


def fraction(mask: np.ndarray) -> float:
    return float(np.mean(mask))

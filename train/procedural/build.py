"""Channels -> root line -> footholds -> pelvis -> full-body pose -> joint positions.

The order is what keeps the motion physical: the root line is integrated from velocities, feet are planted
on footholds taken from it (`gait`), the pelvis height is then capped so every planted foot stays within its
leg's reach (smoothly, with `smooth_below`), and only then are legs and arms solved by IK.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_core.kinematics.quaternion import qmul
from train.procedural.body import (DT, LEG, LEG_REACH, SIDES, STAND_HEIGHT, PoseTargets, axis_quat, euler_yxz,
                                   hip_offsets, solve_pose, yaw_quat)
from train.procedural.floor_layer import blend_feet, hand_targets, kneeling_support, knee_poles, relabel_contacts
from train.procedural.gait import FootTrack, plan_feet
from train.procedural.signal import smooth_above
from train.procedural.timeline import Channels

SPINE_CURVE = 0.05     # resting forward curvature per spine joint, radians
HANG = np.array([0.04, -0.50, 0.03])
CARRY = np.array([0.06, -0.28, 0.22])   # jogging/running forearm carriage


@dataclass
class BuiltMotion:
    joints: np.ndarray          # (T, 22, 3) world positions, y up, floor at 0
    local_rotations: np.ndarray  # (T, 22, 4)
    root_translation: np.ndarray  # (T, 3)
    feet: dict                  # side -> FootTrack
    yaw: np.ndarray             # (T,) heading


def root_line(ch: Channels) -> tuple[np.ndarray, np.ndarray]:
    """(xz (T, 2), yaw (T,)) integrated from heading-frame velocity and yaw rate, starting at the origin."""
    yaw = np.concatenate([[0.0], np.cumsum(ch.yaw_rate[:-1]) * DT])
    left = np.stack([np.cos(yaw), -np.sin(yaw)], -1)
    forward = np.stack([np.sin(yaw), np.cos(yaw)], -1)
    step = (ch.vel[:, :1] * left + ch.vel[:, 1:] * forward) * DT
    xz = np.concatenate([np.zeros((1, 2)), np.cumsum(step[:-1], 0)])
    return xz, yaw


def _pelvis_height(nominal: np.ndarray, pelvis_xz: np.ndarray, pelvis_rot: np.ndarray, feet: dict) -> np.ndarray:
    """Nominal height, lowered wherever a planted foot would otherwise be out of its leg's reach.

    Only the *deficit* below nominal is smoothed (never below the true deficit): frames far from a cap keep the
    nominal height exactly, so a jump's ballistic flight is not blurred.
    """
    cap = nominal.copy()
    hips = hip_offsets(pelvis_rot)
    for s, track in feet.items():
        planted = track.toe_contact | track.ankle_contact
        horizontal = np.linalg.norm(pelvis_xz + hips[s][:, [0, 2]] - track.ankle[:, [0, 2]], axis=-1)
        reach_y = np.sqrt(np.maximum(LEG_REACH[s] ** 2 - horizontal ** 2, 0.0))
        limit = track.ankle[:, 1] - hips[s][:, 1] + reach_y
        cap = np.where(planted, np.minimum(cap, limit), cap)
    return nominal - smooth_above(nominal - cap, 2)


def _arm_targets(ch: Channels, feet: dict, pelvis_xz: np.ndarray, yaw: np.ndarray):
    """Wrist targets and elbow poles (heading frame): hanging/carried arms swinging against the legs, blended
    into each action's own targets by its weight."""
    forward = np.stack([np.sin(yaw), np.cos(yaw)], -1)
    wrist, pole = {}, {}
    for s in SIDES:
        foot_ahead = ((feet[s].ankle[:, [0, 2]] - pelvis_xz) * forward).sum(-1)
        base = (1 - ch.arm_bend)[:, None] * HANG + ch.arm_bend[:, None] * CARRY
        base = base * np.array([s, 1.0, 1.0])
        base[:, 2] -= ch.arm_swing * np.clip(foot_ahead, -0.5, 0.5)
        wrist[s] = arc_blend(base, ch.arm_target[s], np.clip(ch.arm_weight[s], 0.0, 1.0), s)
        pole[s] = ch.arm_pole[s]
    return wrist, pole


def arc_blend(a: np.ndarray, b: np.ndarray, w: np.ndarray, side: int) -> np.ndarray:
    """Blend wrist targets (relative to the shoulder) along an arc swung out to the side and front.

    A straight line from a hanging hand to a raised one passes through the shoulder and would fold the arm
    up; blending direction and distance separately sweeps the arm around instead, as people raise arms.
    """
    w = w[:, None]
    la, lb = np.linalg.norm(a, axis=-1, keepdims=True), np.linalg.norm(b, axis=-1, keepdims=True)
    bulge = 4 * w * (1 - w) * np.array([0.6 * side, 0.0, 0.6])
    direction = (1 - w) * a / np.maximum(la, 1e-6) + w * b / np.maximum(lb, 1e-6) + bulge
    direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-6)
    return direction * ((1 - w) * la + w * lb)


def build_motion(raw: Channels, rng: np.random.Generator) -> BuiltMotion:
    ch = raw.smoothed()
    xz, yaw = root_line(ch)
    feet: dict[int, FootTrack] = blend_feet(ch, plan_feet(ch, xz, yaw, rng), xz, yaw)
    heading = yaw_quat(yaw)
    pelvis_rot = qmul(heading, axis_quat([1.0, 0.0, 0.0], ch.pelvis_pitch))
    left = np.stack([np.cos(yaw), -np.sin(yaw)], -1)
    forward = np.stack([np.sin(yaw), np.cos(yaw)], -1)
    pelvis_xz = xz + ch.shift[:, :1] * left + ch.shift[:, 1:] * forward
    height = _pelvis_height(STAND_HEIGHT + ch.height + ch.lift, pelvis_xz, pelvis_rot, feet)
    height, roll = kneeling_support(ch, height, pelvis_xz, pelvis_rot, xz, yaw)
    pelvis_rot = qmul(heading, qmul(axis_quat([0.0, 0.0, 1.0], roll), axis_quat([1.0, 0.0, 0.0], ch.pelvis_pitch)))
    pelvis = np.stack([pelvis_xz[:, 0], height, pelvis_xz[:, 1]], -1)
    wrist, elbow_pole = _arm_targets(ch, feet, pelvis_xz, yaw)
    spine = euler_yxz(ch.spine[:, 0] / 3, ch.spine[:, 1] / 3 + SPINE_CURVE - ch.pelvis_pitch / 3, ch.spine[:, 2] / 3)
    knee_pole = {s: feet[s].direction * np.array([1.0, 0.0, 1.0]) + np.array([0.0, 0.1, 0.0]) for s in SIDES}
    knee_pole = knee_poles(ch, knee_pole, yaw)
    targets = PoseTargets(pelvis, pelvis_rot, spine, ch.head_pitch, {s: feet[s].ankle for s in SIDES},
                          {s: feet[s].direction for s in SIDES}, knee_pole, heading, wrist, elbow_pole,
                          *hand_targets(ch, xz, yaw))
    local, joints = solve_pose(targets)
    relabel_contacts(ch, feet, joints, LEG)
    return BuiltMotion(joints, local, pelvis, feet, yaw)

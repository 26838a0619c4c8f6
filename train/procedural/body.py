"""The HumanML3D body as the generator poses it: rest offsets, a neutral posture, and leg/arm IK.

Everything is vectorised over frames. A pose is authored as *targets* (pelvis placement, spine bend, ankle
and wrist positions, where knees and elbows point); `solve_pose` turns the targets into local joint rotations
(w, x, y, z) on `HUMANML3D.rest_offsets`, so `motion_core.kinematics.rotations.forward_kinematics` reproduces every bone
length exactly. Each limb bone is aimed with the shortest swing from its parent's frame: joint *positions* are
all the HumanML3D representation keeps, and it re-derives rotations from them.

Rest pose: y up, facing +z, +x is the character's left, arms hanging, feet forward. Note that HumanML3D's rest
offsets put each shoulder *below* its collar and the head *in front of* the neck, so the neutral posture
below aims those bones to where real dataset poses have them (measured on HumanML3D motion 012314).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_core.kinematics.quaternion import qbetween, qfrom_axis_angle, qidentity, qinv, qmul, qrot
from motion_core.kinematics.rotations import forward_kinematics
from motion_core.kinematics.skeleton import HUMANML3D

SKELETON = HUMANML3D
OFFSETS = SKELETON.rest_offsets
PARENTS = SKELETON.parents
FPS = SKELETON.fps
DT = 1.0 / FPS
LEFT, RIGHT = 1, -1          # side sign: +x is the character's left
SIDES = (LEFT, RIGHT)

# (hip, knee, ankle, toe) and (collar, shoulder, elbow, wrist) joint indices per side.
LEG = {LEFT: (1, 4, 7, 10), RIGHT: (2, 5, 8, 11)}
ARM = {LEFT: (13, 16, 18, 20), RIGHT: (14, 17, 19, 21)}
SPINE = (3, 6, 9)
NECK, HEAD = 12, 15

_LEN = SKELETON.bone_lengths
THIGH = {s: _LEN[LEG[s][1]] for s in SIDES}
SHIN = {s: _LEN[LEG[s][2]] for s in SIDES}
FOOT = {s: _LEN[LEG[s][3]] for s in SIDES}
UPPER_ARM = {s: _LEN[ARM[s][2]] for s in SIDES}
FOREARM = {s: _LEN[ARM[s][3]] for s in SIDES}
ELBOW_MAX_FLEX = np.radians(145.0)       # the forearm folds no further onto the upper arm (flesh stops it)

# Standing foot: toes on the floor, the ankle raised by pitching the foot 22 degrees toe-down, which puts the
# ankle ~6 cm and the toe ~1 cm above the floor as in the dataset.
TOE_HEIGHT = 0.01
FOOT_PITCH = np.radians(22.0)
ANKLE_HEIGHT = {s: TOE_HEIGHT + FOOT[s] * np.sin(FOOT_PITCH) for s in SIDES}
LEG_REACH = {s: 0.995 * (THIGH[s] + SHIN[s]) for s in SIDES}    # never ask a leg to lock fully straight
STAND_HEIGHT = max(ANKLE_HEIGHT.values()) + 0.99 * min(THIGH[s] + SHIN[s] for s in SIDES)
HIP_WIDTH = 0.11             # feet under the hips when standing

# Neutral upper-body aims, in the parent joint's frame (x left, y up, z forward).
_HEAD_DIR = np.array([0.0, np.cos(np.radians(33)), np.sin(np.radians(33))])
_COLLAR_DIR = {s: np.array([0.2 * s, 0.95, 0.3]) for s in SIDES}
_UP, _DOWN, _FORWARD = np.array([0.0, 1.0, 0.0]), np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0])


def yaw_quat(yaw: np.ndarray) -> np.ndarray:
    return qfrom_axis_angle(np.broadcast_to(_UP, np.shape(yaw) + (3,)), yaw)


def axis_quat(axis, angle: np.ndarray) -> np.ndarray:
    return qfrom_axis_angle(np.broadcast_to(np.asarray(axis, float), np.shape(angle) + (3,)), angle)


def euler_yxz(yaw, pitch, roll) -> np.ndarray:
    """Heading twist about y, then forward bend about x (+ bends forward), then side lean about z."""
    return qmul(axis_quat(_UP, yaw), qmul(axis_quat([1.0, 0, 0], pitch), axis_quat(_FORWARD, roll)))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def two_bone(root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray,
             max_flex: float = np.pi):
    """(middle joint, end joint) positions of a two-bone limb from `root` reaching for `target`.

    The middle joint (knee, elbow) bends toward `pole`. Targets out of reach are pulled onto the reachable
    shell, so the limb straightens instead of breaking; callers keep stance feet reachable (see `gait`).
    Targets too close for a flexion of at most `max_flex` (radians, 0 = straight) are pushed out to it.
    """
    v = target - root
    d = np.linalg.norm(v, axis=-1, keepdims=True)
    u = v / np.maximum(d, 1e-9)
    near = np.sqrt(max(l1 * l1 + l2 * l2 + 2 * l1 * l2 * np.cos(max_flex), 0.0))
    d = np.clip(d, max(abs(l1 - l2), near) + 1e-3, 0.9995 * (l1 + l2))
    along = (l1 * l1 - l2 * l2 + d * d) / (2 * d)
    across = np.sqrt(np.maximum(l1 * l1 - along * along, 0.0))
    p = pole - (pole * u).sum(-1, keepdims=True) * u
    p = _unit(p)
    return root + along * u + across * p, root + d * u


def aim_local(parent_global: np.ndarray, rest_dir: np.ndarray, world_dir: np.ndarray) -> np.ndarray:
    """Local rotation swinging a bone from its rest direction onto `world_dir`, given the parent's rotation."""
    local_dir = qrot(qinv(parent_global), world_dir)
    return qbetween(np.broadcast_to(rest_dir, local_dir.shape), local_dir)


@dataclass
class PoseTargets:
    """Per-frame targets (T leading) from which `solve_pose` builds a full-body pose, in world coordinates."""
    pelvis_pos: np.ndarray            # (T, 3)
    pelvis_rot: np.ndarray            # (T, 4) yaw * lean
    spine_rot: np.ndarray             # (T, 4) local rotation given to each of spine1..3
    head_pitch: np.ndarray            # (T,) extra nod, radians (+ looks down)
    ankle: dict                       # side -> (T, 3) ankle targets
    foot_dir: dict                    # side -> (T, 3) unit direction ankle -> toe
    knee_pole: dict                   # side -> (T, 3)
    heading: np.ndarray               # (T, 4) yaw-only rotation the arm targets are expressed in
    wrist: dict                       # side -> (T, 3) wrist target relative to the shoulder, heading frame
    elbow_pole: dict                  # side -> (T, 3) elbow pole, heading frame
    wrist_world: dict | None = None   # side -> (T, 3) world wrist target (hands on the floor), blended in by
    wrist_world_weight: dict | None = None   # side -> (T,) weight of wrist_world over `wrist`


def solve_pose(t: PoseTargets) -> tuple[np.ndarray, np.ndarray]:
    """(local rotations (T, 22, 4), joint positions (T, 22, 3)) reaching the targets."""
    n = len(t.pelvis_pos)
    local = qidentity((n, SKELETON.num_joints), like=t.pelvis_pos)
    glob, pos = {0: t.pelvis_rot}, {0: t.pelvis_pos}
    local[:, 0] = t.pelvis_rot

    def place(j: int, rot: np.ndarray) -> None:
        p = PARENTS[j]
        local[:, j] = rot
        pos[j] = pos[p] + qrot(glob[p], OFFSETS[j])
        glob[j] = qmul(glob[p], rot)

    for j in SPINE:
        place(j, t.spine_rot)
    place(NECK, qmul(axis_quat([1.0, 0, 0], t.head_pitch), qbetween(_FORWARD, _HEAD_DIR)[None].repeat(n, 0)))
    for s in SIDES:
        collar, shoulder, elbow, _ = ARM[s]
        place(collar, np.broadcast_to(qbetween(_DOWN, _unit(_COLLAR_DIR[s])), (n, 4)).copy())
        shoulder_pos = pos[collar] + qrot(glob[collar], OFFSETS[shoulder])
        target = shoulder_pos + qrot(t.heading, t.wrist[s])
        if t.wrist_world is not None:     # a hand resting on the floor stays where it rests, wherever the body is
            w = t.wrist_world_weight[s][:, None]
            target = (1 - w) * target + w * t.wrist_world[s]
        elbow_pos, wrist_pos = two_bone(shoulder_pos, target, UPPER_ARM[s], FOREARM[s],
                                        qrot(t.heading, t.elbow_pole[s]), ELBOW_MAX_FLEX)
        place(shoulder, aim_local(glob[collar], _DOWN, elbow_pos - shoulder_pos))
        place(elbow, aim_local(glob[shoulder], _DOWN, wrist_pos - elbow_pos))
    for s in SIDES:
        hip, knee, ankle, _ = LEG[s]
        hip_pos = pos[0] + qrot(glob[0], OFFSETS[hip])
        knee_pos, ankle_pos = two_bone(hip_pos, t.ankle[s], THIGH[s], SHIN[s], t.knee_pole[s])
        place(hip, aim_local(glob[0], _DOWN, knee_pos - hip_pos))
        place(knee, aim_local(glob[hip], _DOWN, ankle_pos - knee_pos))
        place(ankle, aim_local(glob[knee], _FORWARD, t.foot_dir[s]))
    joints = forward_kinematics(local, t.pelvis_pos, OFFSETS, PARENTS)
    return local, joints


def hip_offsets(pelvis_rot: np.ndarray) -> dict:
    """side -> (T, 3) hip joint position relative to the pelvis."""
    return {s: qrot(pelvis_rot, np.broadcast_to(OFFSETS[LEG[s][0]], pelvis_rot.shape[:-1] + (3,))) for s in SIDES}


def foot_direction(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Unit ankle->toe direction for a foot turned to `yaw` and pitched toe-down by `pitch`."""
    return np.stack([np.sin(yaw) * np.cos(pitch), -np.sin(pitch), np.cos(yaw) * np.cos(pitch)], axis=-1)

"""From CMU's 31-bone skeleton to HumanML3D's 22 joints, and onto HumanML3D's body proportions.

Each HumanML3D joint is the end point of a CMU bone (the root for the pelvis), except the collars, which CMU
does not have: there the clavicle runs from the base of the neck to the shoulder, and the collar joint is taken
part of the way along it (`COLLAR_FRACTION`).

`retarget` then does what HumanML3D does with every clip: it keeps each bone's direction and replaces its
length with the target skeleton's (``HUMANML3D.bone_lengths``), scaling the root trajectory by the ratio of leg
lengths so that steps stay on the floor. The result is a forward kinematics of HumanML3D's skeleton, so bone
lengths are constant over time and equal to those of every other clip in the training set.
"""
from __future__ import annotations

import numpy as np

from motion_core.skeleton import HUMANML3D, Skeleton

# HumanML3D joint -> the CMU bone whose end point it is ("root": the CMU root itself).
CMU_TO_HUMANML3D = {
    "pelvis": "root",
    "left_hip": "lhipjoint", "right_hip": "rhipjoint",
    "spine1": "lowerback", "spine2": "upperback", "spine3": "thorax",
    "left_knee": "lfemur", "right_knee": "rfemur",
    "left_ankle": "ltibia", "right_ankle": "rtibia",
    "left_foot": "lfoot", "right_foot": "rfoot",
    "neck": "lowerneck", "head": "upperneck",
    "left_shoulder": "lclavicle", "right_shoulder": "rclavicle",
    "left_elbow": "lhumerus", "right_elbow": "rhumerus",
    "left_wrist": "lradius", "right_wrist": "rradius",
}
# Collars: a point on the clavicle (from its start, the end of thorax, towards the shoulder).
COLLARS = {"left_collar": ("thorax", "lclavicle"), "right_collar": ("thorax", "rclavicle")}
COLLAR_FRACTION = 0.4


def cmu_to_humanml3d(names: list[str], positions: np.ndarray, skeleton: Skeleton = HUMANML3D) -> np.ndarray:
    """(T, 22, 3) HumanML3D joints from CMU FK output (`names`, positions (T, N, 3)), same units and frame."""
    index = {n: k for k, n in enumerate(names)}
    missing = sorted({*CMU_TO_HUMANML3D.values(), *(b for pair in COLLARS.values() for b in pair)} - set(index))
    if missing:
        raise KeyError(f"the CMU skeleton lacks bones {', '.join(missing)}")
    out = np.zeros((positions.shape[0], skeleton.num_joints, 3))
    for j, joint in enumerate(skeleton.joint_names):
        if joint in COLLARS:
            start, end = (positions[:, index[b]] for b in COLLARS[joint])
            out[:, j] = start + COLLAR_FRACTION * (end - start)
        else:
            out[:, j] = positions[:, index[CMU_TO_HUMANML3D[joint]]]
    return out


def _leg_chains(skeleton: Skeleton) -> list[tuple[int, int, int]]:
    return [tuple(skeleton.index(f"{side}_{part}") for part in ("hip", "knee", "ankle")) for side in ("left", "right")]


def leg_length(joints: np.ndarray, skeleton: Skeleton = HUMANML3D) -> float:
    """Mean hip-knee-ankle length of both legs, from joints (T, J, 3) (median over frames)."""
    total = 0.0
    for chain in _leg_chains(skeleton):
        for a, b in zip(chain[:-1], chain[1:]):
            total += float(np.median(np.linalg.norm(joints[:, b] - joints[:, a], axis=-1)))
    return total / 2


def retarget(joints: np.ndarray, skeleton: Skeleton = HUMANML3D) -> np.ndarray:
    """Joints (T, J, 3) with `skeleton`'s bone lengths: bone directions kept, root trajectory scaled by the
    ratio of leg lengths (target / source)."""
    target_leg = sum(skeleton.bone_lengths[[k for chain in _leg_chains(skeleton) for k in chain[1:]]]) / 2
    scale = target_leg / leg_length(joints, skeleton)
    out = np.zeros_like(joints)
    out[:, 0] = joints[:, 0] * scale
    for j, parent in enumerate(skeleton.parents):
        if parent < 0:
            continue
        bone = joints[:, j] - joints[:, parent]
        norm = np.linalg.norm(bone, axis=-1, keepdims=True)
        direction = np.where(norm > 1e-9, bone / np.maximum(norm, 1e-9), skeleton.raw_offsets[j])
        out[:, j] = out[:, parent] + direction * skeleton.bone_lengths[j]
    return out

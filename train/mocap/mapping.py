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

from motion_core.kinematics.skeleton import HUMANML3D, Skeleton

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


# BVH conversions of CMU: HumanML3D joint -> the BVH joint whose origin it is, or (a, b, f): the point a
# fraction f of the way from joint a to joint b. One table per naming scheme; `bvh_to_humanml3d` picks the
# one whose joints the file has.
BVH_SCHEMES: dict[str, dict[str, str | tuple[str, str, float]]] = {
    # cgspeed's MotionBuilder-friendly conversions ("cmuconvert-mb2-*"): the clavicles start at Spine1, and
    # Neck sits on Spine1 (zero offset), so spine2 is taken between Spine and Spine1.
    "cgspeed_mb": {
        "pelvis": "Hips", "left_hip": "LeftUpLeg", "right_hip": "RightUpLeg",
        "spine1": "Spine", "spine2": ("Spine", "Spine1", 0.7), "spine3": "Spine1",
        "left_knee": "LeftLeg", "right_knee": "RightLeg", "left_ankle": "LeftFoot", "right_ankle": "RightFoot",
        "left_foot": "LeftToeBase", "right_foot": "RightToeBase", "neck": "Neck1", "head": "Head",
        "left_collar": ("Spine1", "LeftArm", COLLAR_FRACTION), "right_collar": ("Spine1", "RightArm", COLLAR_FRACTION),
        "left_shoulder": "LeftArm", "right_shoulder": "RightArm", "left_elbow": "LeftForeArm",
        "right_elbow": "RightForeArm", "left_wrist": "LeftHand", "right_wrist": "RightHand",
    },
    # cgspeed's 3ds Max-friendly conversions ("cmuconvert-max-*"): CMU's bones renamed one for one.
    "cgspeed_max": {
        "pelvis": "Hips", "left_hip": "LeftHip", "right_hip": "RightHip",
        "spine1": "Chest", "spine2": "Chest2", "spine3": "lowerneck",
        "left_knee": "LeftKnee", "right_knee": "RightKnee", "left_ankle": "LeftAnkle", "right_ankle": "RightAnkle",
        "left_foot": "LeftToe", "right_foot": "RightToe", "neck": "Neck", "head": "Head",
        "left_collar": ("LeftCollar", "LeftShoulder", COLLAR_FRACTION),
        "right_collar": ("RightCollar", "RightShoulder", COLLAR_FRACTION),
        "left_shoulder": "LeftShoulder", "right_shoulder": "RightShoulder", "left_elbow": "LeftElbow",
        "right_elbow": "RightElbow", "left_wrist": "LeftWrist", "right_wrist": "RightWrist",
    },
    # Reallusion Character Creator rig (DragonForgedTheArtist/IClone-CMU-Mocap)
    "cc_base": {
        "pelvis": "CC_Base_Hip", "left_hip": "CC_Base_L_Thigh", "right_hip": "CC_Base_R_Thigh",
        "spine1": "CC_Base_Waist", "spine2": "CC_Base_Spine01", "spine3": "CC_Base_Spine02",
        "left_knee": "CC_Base_L_Calf", "right_knee": "CC_Base_R_Calf", "left_ankle": "CC_Base_L_Foot",
        "right_ankle": "CC_Base_R_Foot", "left_foot": "CC_Base_L_ToeBase", "right_foot": "CC_Base_R_ToeBase",
        "neck": "CC_Base_NeckTwist01", "head": "CC_Base_Head", "left_collar": "CC_Base_L_Clavicle",
        "right_collar": "CC_Base_R_Clavicle", "left_shoulder": "CC_Base_L_Upperarm",
        "right_shoulder": "CC_Base_R_Upperarm", "left_elbow": "CC_Base_L_Forearm",
        "right_elbow": "CC_Base_R_Forearm", "left_wrist": "CC_Base_L_Hand", "right_wrist": "CC_Base_R_Hand",
    },
}


def _needed(table: dict) -> set[str]:
    return {n for v in table.values() for n in ((v,) if isinstance(v, str) else v[:2])}


def bvh_scheme(names: list[str]) -> str:
    """The name of the `BVH_SCHEMES` table a BVH's joint names match."""
    for scheme, table in BVH_SCHEMES.items():
        if _needed(table) <= set(names):
            return scheme
    raise KeyError(f"BVH joints match none of the known CMU conversions ({', '.join(BVH_SCHEMES)})")


def bvh_to_humanml3d(names: list[str], positions: np.ndarray, skeleton: Skeleton = HUMANML3D) -> np.ndarray:
    """(T, 22, 3) joints from a BVH's joint origins (T, N, 3) in any unit (retargeting removes the scale)."""
    table = BVH_SCHEMES[bvh_scheme(names)]
    index = {n: k for k, n in enumerate(names)}
    out = np.zeros((positions.shape[0], skeleton.num_joints, 3))
    for j, joint in enumerate(skeleton.joint_names):
        source = table[joint]
        if isinstance(source, str):
            out[:, j] = positions[:, index[source]]
        else:
            a, b, f = source
            out[:, j] = positions[:, index[a]] + f * (positions[:, index[b]] - positions[:, index[a]])
    return out

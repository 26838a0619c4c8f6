"""The two skeletons the motion representation knows: HumanML3D's 22-joint SMPL body and KIT-ML's 21 joints.

Coordinates follow HumanML3D: metres, y up, the character faces +z in its rest pose. For the SMPL body,
+x is the character's left; KIT-ML's data puts its right side on +x (its raw offsets say so).

`raw_offsets` are HumanML3D's unit bone directions (paramUtil's ``t2m_raw_offsets``/``kit_raw_offsets``):
HumanML3D re-targets every clip onto `raw_offsets * bone_lengths`, so a dataset motion is exactly a forward
kinematics of this rest pose (arms hanging down, feet forward). We use the same rest pose for rotations.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Skeleton:
    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]            # parent index per joint, -1 for the root
    raw_offsets: np.ndarray = field(repr=False)   # (J, 3) unit directions of each bone in the rest pose
    bone_lengths: np.ndarray = field(repr=False)  # (J,) metres, 0 for the root; a typical adult
    kinematic_chains: tuple[tuple[int, ...], ...] = ()
    left_foot: tuple[int, int] = (0, 0)           # (ankle, toe) joint indices, for foot contacts
    right_foot: tuple[int, int] = (0, 0)
    face_joints: tuple[int, int, int, int] = (0, 0, 0, 0)  # right hip, left hip, right shoulder, left shoulder
    mirror_pairs: tuple[tuple[int, int], ...] = ()         # (left, right) joints swapped by mirroring
    fps: float = 20.0

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def feature_dim(self) -> int:
        """Length of a HumanML3D-style feature vector for this skeleton (263 for 22 joints, 251 for 21)."""
        j = self.num_joints
        return 4 + (j - 1) * 3 + (j - 1) * 6 + j * 3 + 4

    @property
    def rest_offsets(self) -> np.ndarray:
        """(J, 3) offset of each joint from its parent in the rest pose, metres."""
        return self.raw_offsets * self.bone_lengths[:, None]

    @property
    def mirror_permutation(self) -> np.ndarray:
        """Index map that swaps left and right joints."""
        perm = np.arange(self.num_joints)
        for left, right in self.mirror_pairs:
            perm[left], perm[right] = right, left
        return perm

    def children(self, joint: int) -> list[int]:
        return [j for j, p in enumerate(self.parents) if p == joint]

    def index(self, name: str) -> int:
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise KeyError(f"skeleton {self.name!r} has no joint {name!r}; joints: {', '.join(self.joint_names)}") from None

    def rest_positions(self) -> np.ndarray:
        """(J, 3) world positions of the rest pose with the root at the origin."""
        offsets = self.rest_offsets
        pos = np.zeros((self.num_joints, 3))
        for j, p in enumerate(self.parents):
            if p >= 0:
                pos[j] = pos[p] + offsets[j]
        return pos


_SMPL_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
)

HUMANML3D = Skeleton(
    name="humanml3d",
    joint_names=_SMPL_NAMES,
    parents=(-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19),
    raw_offsets=np.array([
        [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
        [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
        [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0],
    ], dtype=np.float64),
    # HumanML3D's target skeleton, as read off the dataset's stored joints (constant to 5e-7 m in every frame).
    bone_lengths=np.array([
        0.0, 0.1031, 0.1099, 0.1316, 0.3936, 0.3902, 0.1432, 0.4324, 0.4256, 0.0574, 0.1434,
        0.1494, 0.2194, 0.1375, 0.1434, 0.1030, 0.1316, 0.1230, 0.2568, 0.2631, 0.2660, 0.2699,
    ]),
    kinematic_chains=((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15),
                      (9, 14, 17, 19, 21), (9, 13, 16, 18, 20)),
    left_foot=(7, 10),
    right_foot=(8, 11),
    face_joints=(2, 1, 17, 16),
    mirror_pairs=((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21)),
    fps=20.0,
)

KIT = Skeleton(
    name="kit",
    joint_names=(
        "root", "spine_lower", "spine_upper", "neck", "head",
        "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
        "right_hip", "right_knee", "right_ankle", "right_ball", "right_toe",
        "left_hip", "left_knee", "left_ankle", "left_ball", "left_toe",
    ),
    parents=(-1, 0, 1, 2, 3, 3, 5, 6, 3, 8, 9, 0, 11, 12, 13, 14, 0, 16, 17, 18, 19),
    raw_offsets=np.array([
        [0, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0],
        [-1, 0, 0], [0, -1, 0], [0, -1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1],
        [-1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1],
    ], dtype=np.float64),
    # KIT-ML stores millimetres; these are typical lengths in metres after its 1/1000 scaling.
    bone_lengths=np.array([
        0.0, 0.11, 0.22, 0.19, 0.22, 0.18, 0.28, 0.25, 0.18, 0.28, 0.25,
        0.10, 0.43, 0.42, 0.09, 0.06, 0.10, 0.43, 0.42, 0.09, 0.06,
    ]),
    kinematic_chains=((0, 11, 12, 13, 14, 15), (0, 16, 17, 18, 19, 20), (0, 1, 2, 3, 4),
                      (3, 5, 6, 7), (3, 8, 9, 10)),
    left_foot=(19, 20),
    right_foot=(14, 15),
    face_joints=(11, 16, 5, 8),
    mirror_pairs=((8, 5), (9, 6), (10, 7), (16, 11), (17, 12), (18, 13), (19, 14), (20, 15)),
    fps=12.5,
)

SKELETONS = {s.name: s for s in (HUMANML3D, KIT)}


def get_skeleton(name: str) -> Skeleton:
    try:
        return SKELETONS[name]
    except KeyError:
        raise KeyError(f"unknown skeleton {name!r}; known: {', '.join(SKELETONS)}") from None

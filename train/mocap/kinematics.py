"""Forward kinematics of an ASF skeleton driven by AMC channels: world positions of every bone's end.

Conventions (Acclaim ASF/AMC): a bone's ``axis`` C is its local frame in the world in the rest pose, as
Euler angles where the order string names the axes in the order the rotations are applied (``XYZ``: about
x first, then y, then z, i.e. C = Rz Ry Rx for column vectors). The AMC rotation M of a bone is given in that
local frame, composed in the order its dofs are listed (``rx ry rz``: M = Rz Ry Rx). In world terms the
bone's rotation relative to its rest pose is then C M C^-1, and it composes down the hierarchy:

    G_bone = G_parent  C M C^-1,     end_bone = end_parent + G_bone (length * direction)

The root is placed at its AMC translation (plus the ASF root position) with G_root = C_root M_root C_root^-1.
Positions come out in metres (CMU: y up, +x the subject's left in the rest pose).
"""
from __future__ import annotations

import numpy as np

from motion_core.formats.bvh import euler_to_matrix
from train.mocap.asf_amc import AmcMotion, AsfSkeleton

_AXIS_INDEX = {"x": 0, "y": 1, "z": 2}


def applied_order_matrix(angles: np.ndarray, order: str) -> np.ndarray:
    """(..., 3, 3) rotation that applies the rotations about `order`'s axes one after the other (fixed axes).

    `angles` (..., 3) radians, one per letter of `order`; ``"XYZ"`` gives Rz(z) @ Ry(y) @ Rx(x).
    """
    return euler_to_matrix(np.asarray(angles)[..., ::-1], order[::-1].upper())


def _motion_rotation(values: np.ndarray, dofs: tuple[str, ...], degrees: bool) -> np.ndarray:
    """(T, 3, 3) local rotation from a bone's AMC values (T, len(dofs)); translation/length dofs ignored."""
    rot = [(d, values[:, k]) for k, d in enumerate(dofs) if d in ("rx", "ry", "rz")]
    num_frames = values.shape[0]
    if not rot:
        return np.broadcast_to(np.eye(3), (num_frames, 3, 3))
    angles = np.stack([v for _, v in rot], axis=-1)
    if degrees:
        angles = np.radians(angles)
    order = "".join(d[1] for d, _ in rot).upper()
    if len(order) < 3:   # pad with zero rotations about the missing axes, applied last (they are identity)
        missing = "".join(a for a in "XYZ" if a not in order)
        angles = np.concatenate([angles, np.zeros((num_frames, len(missing)))], axis=-1)
        order += missing
    return applied_order_matrix(angles, order)


def forward_kinematics(skeleton: AsfSkeleton, motion: AmcMotion) -> tuple[list[str], np.ndarray]:
    """(names, positions): "root" then every bone in hierarchy order; positions (T, 1 + bones, 3) metres."""
    num_frames = motion.num_frames
    unit = skeleton.to_metres
    to_rad = np.pi / 180.0 if skeleton.degrees else 1.0

    root_values = motion.channels["root"]
    translation = np.tile(skeleton.root_position, (num_frames, 1)).astype(np.float64)
    root_angles = np.zeros((num_frames, 3))
    for k, channel in enumerate(skeleton.root_order):
        kind, axis = channel[0], _AXIS_INDEX[channel[1]]
        if kind == "t":
            translation[:, axis] += root_values[:, k]
        elif kind == "r":
            root_angles[:, axis] += root_values[:, k] * to_rad
    order = skeleton.root_axis_order
    c_root = applied_order_matrix(skeleton.root_orientation * to_rad, order)
    # The root's AMC angles are given per axis letter; apply them in the root's axis order.
    m_root = applied_order_matrix(root_angles[:, [_AXIS_INDEX[a.lower()] for a in order]], order)
    global_rot = {"root": c_root @ m_root @ c_root.T}
    positions = {"root": translation * unit}

    for bone in skeleton.bones.values():
        parent = bone.parent or "root"
        c = applied_order_matrix(bone.axis * to_rad, bone.axis_order)
        if bone.dofs:
            m = _motion_rotation(motion.channels[bone.name], bone.dofs, skeleton.degrees)
            local = c @ m @ c.T
            g = global_rot[parent] @ local
        else:
            g = global_rot[parent]
        global_rot[bone.name] = g
        offset = bone.direction * bone.length * unit
        positions[bone.name] = positions[parent] + np.einsum("tij,j->ti", g, offset)
    names = ["root", *skeleton.bones]
    return names, np.stack([positions[n] for n in names], axis=1)

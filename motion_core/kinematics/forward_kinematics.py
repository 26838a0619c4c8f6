"""Forward kinematics: world joint positions (and global rotations) from local joint rotations.

Rotations are (w, x, y, z) quaternions relative to the skeleton's rest pose; a joint's *local* rotation is
relative to its parent's global rotation, the root's is global. `forward_kinematics` takes numpy arrays or
torch tensors of any leading batch shape; `batch_forward_kinematics` is the fast float64 numpy path for clips
with their own offsets (every generated `Motion` rebuilds its joints with it). Both walk the tree with one
shared core (`_place_joints`). The inverse (positions -> rotations) is `motion_core.kinematics.rotations`.
"""
from __future__ import annotations

import numpy as np

from motion_core.kinematics import component_first as cf
from motion_core.kinematics.quaternion import qmul, qrot

__all__ = ["check_parents", "global_rotations", "forward_kinematics", "batch_forward_kinematics"]


def _stack(items, like):
    if isinstance(like, np.ndarray):
        return np.stack(items, axis=-2)
    import torch
    return torch.stack(items, dim=-2)


def _place_joints(parents: tuple[int, ...], root_position, local_rotation, offset, compose, rotate) -> list:
    """The tree walk both forward kinematics share: every joint's position, parents first.

    `local_rotation(j)` and `offset(j)` give joint j's local rotation and rest offset in the caller's layout,
    `compose(a, b)` and `rotate(q, v)` are that layout's quaternion product and rotation. A joint sits at its
    parent's position plus the parent's global rotation applied to its offset; its global rotation is the
    parent's composed with its local one (the root's local rotation is global).
    """
    rotations, positions = [local_rotation(0)], [root_position]
    for j in range(1, len(parents)):
        p = parents[j]
        positions.append(positions[p] + rotate(rotations[p], offset(j)))
        rotations.append(compose(rotations[p], local_rotation(j)))
    return positions


def check_parents(parents, num_joints: int) -> tuple[int, ...]:
    """`parents` as a tuple of ints, or a ValueError unless it lists `num_joints` joints, root (-1) first and
    every parent before its children (the order forward kinematics and the IK plan walk the tree in)."""
    parents = tuple(int(p) for p in parents)
    if len(parents) != num_joints:
        raise ValueError(f"parents has {len(parents)} entries but the rotations have {num_joints} joints")
    if parents[0] != -1 or any(not (0 <= p < j) for j, p in enumerate(parents[1:], start=1)):
        raise ValueError(f"parents must start with -1 (the root) and list each parent before its child: {parents}")
    return parents


def global_rotations(local_rotations, parents):
    """Global (world) rotations (..., J, 4) from local rotations (..., J, 4), composing parent-first."""
    parents = check_parents(parents, local_rotations.shape[-2])
    result = [local_rotations[..., 0, :]]
    for j in range(1, len(parents)):
        result.append(qmul(result[parents[j]], local_rotations[..., j, :]))
    return _stack(result, local_rotations)


def forward_kinematics(local_rotations, root_translation, offsets, parents):
    """World joint positions (..., T, J, 3).

    local_rotations: (..., T, J, 4) unit quaternions; root_translation: (..., T, 3) world position of the
    root joint; offsets: (J, 3) rest offset of each joint from its parent (the root's is ignored: the root
    sits at root_translation). Works on numpy arrays and (differentiably) on torch tensors.
    """
    num_joints = local_rotations.shape[-2]
    parents = check_parents(parents, num_joints)
    if tuple(offsets.shape) != (num_joints, 3):
        raise ValueError(f"offsets must be ({num_joints}, 3), got {tuple(offsets.shape)}")
    if tuple(root_translation.shape) != tuple(local_rotations.shape[:-2]) + (3,):
        raise ValueError(f"root_translation must be {tuple(local_rotations.shape[:-2]) + (3,)}, "
                         f"got {tuple(root_translation.shape)}")
    if isinstance(local_rotations, np.ndarray):
        offsets = np.asarray(offsets, dtype=local_rotations.dtype)
    positions = _place_joints(parents, root_translation, lambda j: local_rotations[..., j, :], lambda j: offsets[j],
                              qmul, qrot)
    return _stack(positions, local_rotations)


def batch_forward_kinematics(local_rotations: np.ndarray, root_translation: np.ndarray, offsets: np.ndarray,
                             parents) -> np.ndarray:
    """`forward_kinematics` of numpy clips, each with its own offsets: (B, T, J, 4), (B, T, 3), (B, J, 3) ->
    (B, T, J, 3) in float64 (also one clip: (T, J, 4), (T, 3), (J, 3) -> (T, J, 3)).

    Plain component-first numpy (no torch round trip per joint): this rebuilds every generated clip's joints
    from its rotations (`Motion`), so it must cost little next to the IK.
    """
    local = np.asarray(local_rotations, dtype=np.float64)
    single = local.ndim == 3
    clips = local[None] if single else local
    root = np.asarray(root_translation, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.float64)
    root, offsets = (root[None], offsets[None]) if single else (root, offsets)
    parents = check_parents(parents, clips.shape[-2])
    if clips.ndim != 4 or root.shape != clips.shape[:2] + (3,) or offsets.shape != (len(clips), clips.shape[2], 3):
        raise ValueError(f"expected rotations (B, T, J, 4), root (B, T, 3) and offsets (B, J, 3), got "
                         f"{local.shape}, {np.shape(root_translation)} and {np.shape(offsets)}")
    local = np.ascontiguousarray(clips.transpose(3, 2, 0, 1))      # (4, J, B, T)
    rest = np.ascontiguousarray(offsets.transpose(2, 1, 0))[..., None]   # (3, J, B, 1)
    positions = _place_joints(parents, root.transpose(2, 0, 1), lambda j: local[:, j], lambda j: rest[:, j],
                              cf.qmul, cf.qrot)
    pos = np.stack(positions, axis=1)                                # (3, J, B, T)
    positions = pos.transpose(2, 3, 1, 0)
    return positions[0] if single else positions

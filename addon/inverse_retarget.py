"""The inverse of `retarget`: a posed rig back to the engine's 22 joints, and Blender places to engine ground.

Pure numpy, no bpy. The Blender side (`rig_pose.py`) reads the mapped bones' posed heads (armature space);
`BodyFit` undoes exactly what the forward retarget does to a motion's root, so that a motion keyed with
``RetargetOptions(scale=fit.scale, origin=(0, 0))`` puts the engine's joints back where they were read:

* axes: the forward's ``motion_axes`` (motion y-up -> Blender z-up, the rig's facing, the object's rotation),
  transposed;
* scale: the forward's root scale for the engine's own body (rig leg length over the engine's);
* origin: the rig's rest hips head is the engine's (x, z) = (0, 0) at the pelvis height the rig's rest stance
  stands for (`retarget.standing_height`), which is what the forward does with origin (0, 0).

Joints the rig lacks (a two-bone spine, no toes) are filled in from their neighbours along the skeleton.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import qmath, retarget


@dataclass
class BodyFit:
    """How a rig's armature space maps onto the engine's coordinates (metres, y up, the engine's body)."""
    to_arm: np.ndarray        # (3, 3) engine axes -> armature space
    hips_rest: np.ndarray     # (3,) armature-space rest head of the hips bone
    scale: float              # armature units per engine metre
    standing: float           # the engine pelvis height the rig's rest hips stand for, metres (above the floor)

    def to_engine(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) armature-space points -> engine coordinates."""
        p = (np.asarray(points, np.float64) - self.hips_rest) / self.scale @ self.to_arm
        return p + np.array([0.0, self.standing, 0.0])

    def to_armature(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) engine coordinates -> armature space (the forward retarget's placement)."""
        p = np.asarray(points, np.float64) - np.array([0.0, self.standing, 0.0])
        return self.scale * p @ self.to_arm.T + self.hips_rest

    def ground(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) armature-space points -> (N, 2) engine ground (x, z); their height is dropped."""
        return self.to_engine(points)[..., [0, 2]]


def engine_body(skeleton) -> retarget.SourceMotion:
    """The engine's rest body as a one-frame SourceMotion (what the forward retarget measures scale on)."""
    j = skeleton.num_joints
    rotations = np.zeros((1, j, 4))
    rotations[..., 0] = 1.0
    return retarget.SourceMotion(20.0, rotations, np.zeros((1, 3)), np.asarray(skeleton.rest_offsets, np.float64),
                                 tuple(int(p) for p in skeleton.parents), tuple(skeleton.joint_names))


def body_fit(rig: retarget.RigRest, mapping: dict[str, str], skeleton, match_facing: bool = True) -> BodyFit:
    """The rig -> engine mapping for `rig` under `mapping` (joint -> bone); the hips must be mapped."""
    body = engine_body(skeleton)
    pelvis = body.joint_names[0]
    if pelvis not in mapping:
        raise ValueError(f"joint {pelvis!r} (the hips) is not mapped to a bone")
    to_arm = retarget.motion_axes(rig, mapping, match_facing)
    scale = retarget.root_scale(body, rig, mapping, to_arm)
    standing = retarget.standing_height(body, rig, mapping, to_arm, scale)
    return BodyFit(to_arm, rig.head(mapping[pelvis]).copy(), float(scale), standing)


def rig_joints(heads: dict[str, np.ndarray], fit: BodyFit, skeleton, tails=None) -> np.ndarray:
    """(T, 22, 3) armature-space heads ``{joint: (T, 3)}`` of the mapped bones in engine coordinates, joints
    the rig lacks filled in: still the rig's proportions. `tails` (same form, optional): the mapped bones'
    tails, where a missing end joint (a foot bone without a toe bone) is taken to be."""
    names = list(skeleton.joint_names)
    t = len(next(iter(heads.values())))

    def engine(points):
        return fit.to_engine(np.asarray(points, np.float64).reshape(t, 3))

    joints = np.full((t, len(names), 3), np.nan)
    for joint, points in heads.items():
        joints[:, names.index(joint)] = engine(points)
    ends = {}
    for joint, points in (tails or {}).items():
        child = _central_child(skeleton, names.index(joint))
        if child is not None and names[child] not in heads:
            ends[child] = engine(points)
    return fill_missing(joints, skeleton, ends)


def joints_from_heads(heads: dict[str, np.ndarray], rest_heads: dict[str, np.ndarray], fit: BodyFit,
                      skeleton, tails=None, rest_tails=None) -> np.ndarray:
    """(T, 22, 3) engine joints on the engine's body from the rig's posed and rest heads (armature space),
    and optionally its bones' tails (see `rig_joints`)."""
    posed = rig_joints(heads, fit, skeleton, tails)

    def one_frame(points):
        return None if points is None else {j: np.asarray(p, np.float64)[None] for j, p in points.items()}
    rest = rig_joints(one_frame(rest_heads), fit, skeleton, one_frame(rest_tails))[0]
    return on_engine_body(posed, rest, skeleton)


def _branches(skeleton) -> dict[int, tuple[int, int, int]]:
    """Joints with side branches (pelvis: hips, chest: collars) -> (central child, left child, right child)."""
    out = {}
    for j in range(skeleton.num_joints):
        children = [c for c, p in enumerate(skeleton.parents) if p == j]
        if len(children) == 3:
            names = [skeleton.joint_names[c] for c in children]
            left = children[[n.startswith("left") for n in names].index(True)]
            right = children[[n.startswith("right") for n in names].index(True)]
            out[j] = (_central_child(skeleton, j), left, right)
    return out


def _body_frame(joints: np.ndarray, j: int, branch: tuple[int, int, int]) -> np.ndarray:
    """(..., 3, 3) orthonormal frame of a branching joint: up to its central child, across its sides."""
    up = joints[..., branch[0], :] - joints[..., j, :]
    across = joints[..., branch[1], :] - joints[..., branch[2], :]
    u = up / np.linalg.norm(up, axis=-1, keepdims=True)
    a = across - np.sum(across * u, -1, keepdims=True) * u
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    return np.stack([a, u, np.cross(a, u)], axis=-1)


def on_engine_body(posed: np.ndarray, rest: np.ndarray, skeleton) -> np.ndarray:
    """(T, 22, 3) the rig's motion rebuilt on the engine's rest body: each bone keeps the rig's direction on
    every frame and takes the engine's length; the side branches (hips off the pelvis, collars off the chest)
    are rigid parts of the body whose layout is the rig's anatomy, not motion, so they take the engine's rest
    offset carried by the branching joint's turn from the rig's rest pose. The pelvis stays where it is."""
    offsets = np.asarray(skeleton.rest_offsets, np.float64)
    lengths = np.linalg.norm(offsets, axis=1)
    branches = _branches(skeleton)
    turns = {j: _body_frame(posed, j, b) @ _body_frame(rest, j, b).T for j, b in branches.items()}
    out = np.empty_like(posed)
    out[:, 0] = posed[:, 0]
    for j, p in enumerate(skeleton.parents):
        if p < 0:
            continue
        if p in branches and j != branches[p][0]:
            out[:, j] = out[:, p] + turns[p] @ offsets[j]
        else:
            bone = posed[:, j] - posed[:, p]
            out[:, j] = out[:, p] + lengths[j] * bone / np.maximum(np.linalg.norm(bone, axis=-1, keepdims=True), 1e-9)
    return out


def _central_child(skeleton, j: int) -> int | None:
    """The child a joint's bone points at (spine rather than hips, neck rather than collars), as retarget."""
    children = [c for c, p in enumerate(skeleton.parents) if p == j]
    if not children:
        return None
    offsets = np.asarray(skeleton.rest_offsets)
    return min(children, key=lambda c: abs(offsets[c, 0]))


def fill_missing(joints: np.ndarray, skeleton, ends=None) -> np.ndarray:
    """Joints left NaN (no bone) placed from their neighbours: between the nearest known ancestor and the
    nearest known joint down the central chain, at the engine's rest-length fractions (a rig with two spine
    bones gets its middle spine joint); a missing end joint (toe, head) at ``ends[j]`` (its parent bone's tail)
    when given, else following its parent's bone, turned as that bone turned from rest (its twist unknown)."""
    ends = ends or {}
    joints = np.array(joints, np.float64)
    parents = list(skeleton.parents)
    lengths = np.linalg.norm(np.asarray(skeleton.rest_offsets, np.float64), axis=1)
    known = ~np.isnan(joints[0, :, 0])
    if not known[0]:
        raise ValueError("the root joint (the hips) is needed to place the others")
    for j in range(len(parents)):          # parents come first, so every ancestor is placed by now
        if known[j]:
            continue
        chain, c = [j], _central_child(skeleton, j)
        while c is not None and not known[c]:
            chain.append(c)
            c = _central_child(skeleton, c)
        p = parents[j]
        if c is not None:     # inside a chain: a parent's tail is often the next *mapped* head, so not used
            total = sum(lengths[k] for k in chain) + lengths[c]
            w = lengths[j] / max(total, 1e-9)
            joints[:, j] = joints[:, p] + w * (joints[:, c] - joints[:, p])
        elif j in ends:
            joints[:, j] = ends[j]
        else:
            joints[:, j] = _follow_parent(joints, skeleton, j)
        known[j] = True
    return joints


def _follow_parent(joints: np.ndarray, skeleton, j: int) -> np.ndarray:
    """(T, 3) an end joint carried by its parent bone: the rest offset turned as the parent bone turned."""
    p = skeleton.parents[j]
    gp = skeleton.parents[p]
    offsets = np.asarray(skeleton.rest_offsets, np.float64)
    if gp < 0:
        return joints[:, p] + offsets[j]
    out = np.empty((joints.shape[0], 3))
    for t in range(joints.shape[0]):
        turn = qmath.rotation_between(offsets[p], joints[t, p] - joints[t, gp])
        out[t] = joints[t, p] + turn @ offsets[j]
    return out


def engine_frames(scene_frames, start_frame: float, scene_fps: float, engine_fps: float = 20.0) -> np.ndarray:
    """Scene frames -> engine frames counted from the start frame (the engine runs at 20 fps)."""
    return (np.asarray(scene_frames, np.float64) - start_frame) / scene_fps * engine_fps


def context_times(start_frame: float, scene_fps: float, frames: int, engine_fps: float = 20.0) -> np.ndarray:
    """Scene frames (fractional) of the `frames` engine frames just before the start frame: the last one is
    one engine frame before it, so the first new frame lands on the start frame itself."""
    k = np.arange(frames, 0, -1, dtype=np.float64)
    return start_frame - k * scene_fps / engine_fps


def frame_steps(joints: np.ndarray) -> np.ndarray:
    """(T-1,) largest joint displacement between consecutive frames of (T, J, 3) joints."""
    return np.linalg.norm(np.diff(joints, axis=0), axis=-1).max(axis=-1)

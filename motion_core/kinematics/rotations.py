"""Joint rotations from joint positions (inverse kinematics), and the front of the rotations concept.

Forward kinematics lives in `motion_core.kinematics.forward_kinematics` and is re-exported here.

Rotations are (w, x, y, z) quaternions relative to the skeleton's rest pose (``raw_offsets`` scaled by bone
lengths), in which every joint rotation is the identity. A joint's *local* rotation is relative to its
parent's global rotation; the root's local rotation is global.

Positions fix each bone's direction but not its twist about that direction, so `joints_to_rotations` solves
one global rotation per joint, parents first:

* joints with several children (pelvis, spine3) take the rotation that best maps all child offsets onto the
  measured ones (Kabsch). Their children span a plane, so the rotation is fully determined;
* joints with one child take the shortest swing from the parent's frame onto the bone, then a twist about
  the bone chosen from neighbouring joints (`motion_core.kinematics.twist_references`): the knee/elbow bend plane, the foot
  plane for straight legs, the hips/collar line for the spine. A reference only counts in proportion to
  how well it is defined (a straight limb has no bend plane), so the twist fades smoothly to the swing;
* leaves (feet, head, wrists) carry no direction information and keep their parent's frame.

Twist angles are unwrapped in time and quaternion signs made consistent frame to frame, so animation curves
never jump between q and -q or spin a limb by a full turn.

The inverse runs once per generated clip, so it is written for speed: everything that depends only on the
skeleton is worked out once (`motion_core.kinematics.ik_plan`), the quaternion algebra is plain numpy (`motion_core.kinematics.component_first`;
the torch-backed `motion_core.kinematics.quaternion` costs a conversion per call), every step covers all frames of all
clips of a batch at once, and Kabsch fits use Horn's quaternion method in closed form instead of one SVD per
frame (`motion_core.kinematics.rigid_fit`).
"""
from __future__ import annotations

import numpy as np

from motion_core.kinematics import component_first as cf
from motion_core.kinematics.forward_kinematics import batch_forward_kinematics, forward_kinematics, global_rotations
from motion_core.kinematics.ik_plan import IKPlan, ik_plan
from motion_core.kinematics.rigid_fit import kabsch_quaternion
from motion_core.kinematics.skeleton import Skeleton
from motion_core.kinematics.twist_references import ramp

__all__ = ["forward_kinematics", "global_rotations", "joints_to_rotations", "continuous_quaternions",
           "measured_offsets", "batch_forward_kinematics", "checked_joints"]


def continuous_quaternions(q: np.ndarray) -> np.ndarray:
    """Flip signs along the time axis (-3 of (..., T, J, 4)) so consecutive frames have a positive dot.

    q and -q are the same rotation, but interpolating (or differentiating) across a sign change sweeps a
    full turn; animation curves must not jump.
    """
    q = np.array(q, copy=True)
    dots = (q[..., 1:, :, :] * q[..., :-1, :, :]).sum(-1)
    signs = np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=-2)
    q[..., 1:, :, :] *= signs[..., None]
    return q


# --------------------------------------------------------------------------------------------------------
# Inverse: positions -> rotations. Internally component-first: joints (3, J, B, T) for B clips of T frames.
# --------------------------------------------------------------------------------------------------------

def _rigid_configuration(directions: np.ndarray) -> np.ndarray:
    """Mean shape (3, C, ...) of per-frame unit child directions (3, C, ..., T) that move rigidly together.

    Generalised Procrustes: rotate every frame onto the current estimate, average, renormalise, repeat.
    """
    shape = directions[..., 0]
    for _ in range(3):
        turn = kabsch_quaternion(directions, shape[..., None])
        shape = cf.unit(cf.qrot(turn[:, None], directions).mean(-1))
    return shape


def _measured_offsets(joints: np.ndarray, skeleton: Skeleton, plan: IKPlan) -> np.ndarray:
    """`measured_offsets` of clips (3, J, B, T) -> (3, J, B)."""
    lengths = np.zeros((skeleton.num_joints, joints.shape[2]))
    lengths[1:] = np.median(cf.norm(joints[:, 1:] - joints[:, plan.parents[1:]]), axis=-1)
    offsets = skeleton.raw_offsets.T[:, :, None] * lengths
    for parents, children in plan.branching_groups:                # (G,), (C, G)
        shape = _rigid_configuration(cf.unit(joints[:, children] - joints[:, None, parents]))
        measured = shape * lengths[children]                        # (3, C, G, B)
        upright = kabsch_quaternion(measured, offsets[:, children])
        offsets[:, children] = cf.qrot(upright[:, None], measured)
    return offsets


def measured_offsets(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """(J, 3) rest offsets fitted to a motion (T, J, 3), or (B, J, 3) for clips (B, T, J, 3): its median
    bone lengths, the skeleton's bone directions.

    Exception: the children of a branching joint (pelvis -> hips, spine1; spine3 -> neck, collars) move
    rigidly together, but at the angles of the captured body, not those of ``raw_offsets`` (HumanML3D's hips
    sit ~70 degrees apart, not 180). Those offsets take the measured configuration, turned to lie as close
    as possible to the raw directions, so one joint rotation reproduces all its children.
    """
    joints = checked_joints(joints, skeleton)
    clips = joints if joints.ndim == 4 else joints[None]
    offsets = _measured_offsets(np.ascontiguousarray(clips.transpose(3, 2, 0, 1)), skeleton, ik_plan(skeleton))
    offsets = np.ascontiguousarray(offsets.transpose(2, 1, 0))
    return offsets if joints.ndim == 4 else offsets[0]


def _rest_positions(offsets: np.ndarray, parents) -> np.ndarray:
    """(3, J, B) rest-pose positions (root at the origin) of offsets (3, J, B)."""
    pos = np.zeros_like(offsets)
    for j, p in enumerate(parents):
        if p >= 0:
            pos[:, j] = pos[:, p] + offsets[:, j]
    return pos


def _reference_vectors(plan: IKPlan, joints: np.ndarray, rest_positions: np.ndarray):
    """Every twist reference's measured vector (3, N + 1, B, T), reliability (N + 1, B, T) and rest vector
    (3, N + 1, B, 1). The last is the null reference that pads shorter priority lists: never reliable, so
    it changes no vote."""
    current, reliable, rest = [], [], []
    for ref in plan.references:
        vector, reliability = ref.vector(joints)
        current.append(vector)
        reliable.append(reliability)
        rest.append(ref.rest_vector(rest_positions))
    null = np.array([1.0, 0.0, 0.0])
    current.append(np.broadcast_to(null[:, None, None], (3,) + joints.shape[2:]))
    reliable.append(np.zeros(joints.shape[2:]))
    rest.append(np.broadcast_to(null[:, None], (3, joints.shape[2])))
    return np.stack(current, axis=1), np.stack(reliable), np.stack(rest, axis=1)[..., None]


def _twist_angle(bone: np.ndarray, swing: np.ndarray, slots: np.ndarray, references) -> np.ndarray:
    """Per-frame twists (K, B, T) (radians, about `bone` (3, K, B, T)) that turn the swung frames towards
    the references, whose ids by priority are `slots` (R, K).

    Each reference gives a world vector and its rest counterpart; the angle between the rest vector carried
    by `swing` and the measured vector, both projected off the bone, is that reference's vote. Votes are
    blended by priority and reliability; where nothing is reliable the twist fades to zero (pure swing).
    """
    all_current, all_reliable, all_rest = references
    votes_cos, votes_sin = np.zeros(bone.shape[1:]), np.zeros(bone.shape[1:])
    remaining = np.ones(bone.shape[1:])
    for ids in slots:
        current, reliable = all_current[:, ids], all_reliable[ids]
        carried = cf.qrot(swing, all_rest[:, ids])
        cur_perp = current - cf.dot(current, bone) * bone
        car_perp = carried - cf.dot(carried, bone) * bone
        # A vector nearly along the bone says nothing about roll about it.
        for vec, perp in ((current, cur_perp), (carried, car_perp)):
            reliable = reliable * ramp(cf.norm(perp) / np.maximum(cf.norm(vec), cf.TINY), 0.2, 0.5)
        angle = np.arctan2(cf.dot(cf.cross(car_perp, cur_perp), bone), cf.dot(car_perp, cur_perp))
        weight = remaining * reliable
        votes_cos += weight * np.cos(angle)
        votes_sin += weight * np.sin(angle)
        remaining = remaining * (1.0 - reliable)
    angle, confidence = np.arctan2(votes_sin, votes_cos), 1.0 - remaining
    return np.array([[_fill_unreliable(a, c) for a, c in zip(clip_angle, clip_confidence)]
                     for clip_angle, clip_confidence in zip(angle, confidence)]).reshape(angle.shape)


def _fill_unreliable(angle: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Continuous twist angles (T,) where low-confidence frames lean on their confident neighbours.

    A limb that straightens for a frame or two loses its bend plane; fading its twist to zero there would
    spin it back and forth. Instead the twist is interpolated in time between confident frames (and held
    before the first/after the last), and each frame blends its own vote in by its confidence.
    """
    sure = confidence >= 0.5
    if not sure.any():
        return confidence * angle     # never defined: stay near the pure swing
    frames = np.arange(len(angle))
    anchors = np.unwrap(angle[sure])
    guess = np.interp(frames, frames[sure], anchors)
    own = guess + (angle - guess + np.pi) % (2 * np.pi) - np.pi   # the frame's vote on the guess's branch
    return confidence * own + (1.0 - confidence) * guess


def _solve_global(joints: np.ndarray, offsets: np.ndarray, plan: IKPlan) -> np.ndarray:
    """Global rotations (4, J, B, T) of clips (3, J, B, T) with offsets (3, J, B), a tree level at a time.

    Each bone aims from where forward kinematics has *put* its joint (not where the input says it is) at
    the input child, so bone-length noise in predicted joints stays local instead of piling up along
    chains: a joint's error is its own bone's length mismatch, not the sum of its ancestors'.
    """
    num_joints = joints.shape[1]
    references = _reference_vectors(plan, joints, _rest_positions(offsets, plan.parents))
    glob = np.zeros((4, num_joints + 1) + joints.shape[2:])
    glob[0, num_joints] = 1.0   # the identity: the root's parent rotation
    placed = joints.copy()      # forward-kinematics positions, filled in parents first
    for level in plan.levels:
        for parents, children in level.branching:              # (G,), (C, G)
            # Least squares over the child positions (directions weighted by bone length).
            rest = offsets[:, children, :, None]                # (3, C, G, B, 1)
            current = joints[:, children] - placed[:, None, parents]
            glob[:, parents] = kabsch_quaternion(rest, cf.unit(current) * cf.norm(rest))
            placed[:, children] = placed[:, None, parents] + cf.qrot(glob[:, None, parents], rest)
        if len(level.aims):
            parent_rot = glob[:, plan.rotation_parents[level.aims]]
            bone = cf.unit(joints[:, level.aim_children] - placed[:, level.aims])
            rest = offsets[:, level.aim_children, :, None]
            swing = cf.qmul(cf.qbetween(cf.qrot(parent_rot, rest), bone), parent_rot)
            if len(level.twisted):      # joints without twist references keep zero twist: the swing itself
                twisted = level.twisted
                twist = _twist_angle(bone[:, twisted], swing[:, twisted], level.slots, references)
                swing[:, twisted] = cf.qmul(cf.qfrom_axis_angle(bone[:, twisted], twist), swing[:, twisted])
            glob[:, level.aims] = swing
            placed[:, level.placed] = placed[:, level.owners] + cf.qrot(glob[:, level.owners],
                                                                      offsets[:, level.placed, :, None])
        if len(level.leaves):   # a leaf has nothing to aim at: keep the parent's frame
            glob[:, level.leaves] = glob[:, plan.rotation_parents[level.leaves]]
    return glob[:, :num_joints]


def checked_joints(joints, skeleton: Skeleton) -> np.ndarray:
    """float64 joints (T, J, 3) or (B, T, J, 3), or a ValueError saying what is wrong with them."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim not in (3, 4) or joints.shape[-2:] != (skeleton.num_joints, 3):
        raise ValueError(f"joints must be (T, {skeleton.num_joints}, 3), or (B, T, {skeleton.num_joints}, 3) "
                         f"for a batch of clips, for skeleton {skeleton.name!r}, got {joints.shape}")
    if joints.ndim == 4 and joints.shape[0] == 0:
        raise ValueError("joints is a batch of no clips")
    if joints.shape[-3] == 0:
        raise ValueError("joints has no frames")
    finite = np.isfinite(joints).reshape(joints.shape[:-3] + (-1,)).all(-1)
    if not finite.all():
        where = f" (clips {np.flatnonzero(~finite).tolist()})" if joints.ndim == 4 else ""
        raise ValueError(f"joints contain NaN or infinite values{where}")
    return joints


def joints_to_rotations(joints: np.ndarray, skeleton: Skeleton, offsets: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local rotations that reproduce joint positions: (local_rotations (T, J, 4), root_translation (T, 3),
    offsets (J, 3)) for one clip (T, J, 3).

    A batch of equally long clips (B, T, J, 3) gives (B, T, J, 4), (B, T, 3), (B, J, 3): each clip as if
    solved alone (its own offsets; equal to ~1e-12), in one vectorised pass that costs less per clip.

    `offsets` use the skeleton's bone directions with this motion's own median bone lengths, so any body size
    works; `forward_kinematics(local_rotations, root_translation, offsets, skeleton.parents)` gives back the
    joints (exactly when the input is a rest-pose forward kinematics, as HumanML3D's data is; joints whose
    bone lengths vary from frame to frame, as predicted ones do, come back up to that variation, which is
    why `Motion` keeps the forward kinematics as its joints).

    `offsets` (J, 3), or (B, J, 3) for a batch: solve on this rest skeleton instead of the measured one (a
    continuation on the body of the motion it continues, or bone lengths measured on some of the frames).
    """
    joints = checked_joints(joints, skeleton)
    plan = ik_plan(skeleton)
    clips = joints if joints.ndim == 4 else joints[None]
    if offsets is not None:
        offsets = np.asarray(offsets, dtype=np.float64)
        offsets = np.broadcast_to(offsets, (len(clips),) + offsets.shape) if offsets.ndim == 2 else offsets
        if offsets.shape != (len(clips), skeleton.num_joints, 3) or not np.isfinite(offsets).all():
            raise ValueError(f"offsets must be finite, ({skeleton.num_joints}, 3) or one per clip "
                             f"({len(clips)}, {skeleton.num_joints}, 3), got {offsets.shape}")
    step = max(1, _CHUNK_FRAMES // clips.shape[1])
    parts = [_solve_clips(clips[i:i + step], skeleton, plan, None if offsets is None else offsets[i:i + step])
             for i in range(0, len(clips), step)]
    rotations, root, offsets = (np.concatenate(arrays) for arrays in zip(*parts))
    if joints.ndim == 3:
        return rotations[0], root[0], offsets[0]
    return rotations, root, offsets


# Clips are solved at most this many frames at a time, bounding the temporaries (~3 KB a frame) of a big
# batch; the time per clip stops improving well before (measured on 2 CPU cores: 10 ms per 196-frame clip
# alone, ~4 at 2,000 frames a pass, ~3 at 12,000).
_CHUNK_FRAMES = 16384


def _solve_clips(clips: np.ndarray, skeleton: Skeleton, plan: IKPlan, offsets: np.ndarray | None = None):
    """`joints_to_rotations` of checked clips (B, T, J, 3), in one vectorised pass; `offsets` (B, J, 3) or None
    (measured)."""
    joints = np.ascontiguousarray(clips.transpose(3, 2, 0, 1))           # (3, J, B, T)
    if offsets is None:
        offsets = _measured_offsets(joints, skeleton, plan)
    else:
        offsets = np.ascontiguousarray(offsets.transpose(2, 1, 0))       # (3, J, B)
    glob = _solve_global(joints, offsets, plan)
    local = glob.copy()
    local[:, 1:] = cf.qmul(cf.qconj(glob[:, plan.parents[1:]]), glob[:, 1:])
    return (continuous_quaternions(local.transpose(2, 3, 1, 0)),         # (B, T, J, 4)
            clips[:, :, 0].copy(), offsets.transpose(2, 1, 0).copy())

"""Joint rotations: forward kinematics and the inverse step from joint positions to local quaternions.

Rotations are (w, x, y, z) quaternions relative to the skeleton's rest pose (``raw_offsets`` scaled by bone
lengths), in which every joint rotation is the identity. A joint's *local* rotation is relative to its
parent's global rotation; the root's local rotation is global.

Positions fix each bone's direction but not its twist about that direction, so `joints_to_rotations` solves
one global rotation per joint, parents first:

* joints with several children (pelvis, spine3) take the rotation that best maps all child offsets onto the
  measured ones (Kabsch). Their children span a plane, so the rotation is fully determined;
* joints with one child take the shortest swing from the parent's frame onto the bone, then a twist about
  the bone chosen from neighbouring joints (`_TWIST_REFERENCES`): the knee/elbow bend plane, the foot
  plane for straight legs, the hips/collar line for the spine. A reference only counts in proportion to
  how well it is defined (a straight limb has no bend plane), so the twist fades smoothly to the swing;
* leaves (feet, head, wrists) carry no direction information and keep their parent's frame.

Twist angles are unwrapped in time and quaternion signs made consistent frame to frame, so animation curves
never jump between q and -q or spin a limb by a full turn.

The inverse runs once per generated clip, so it is written for speed: everything that depends only on the
skeleton is worked out once (`_plan`), the quaternion algebra is plain numpy (`motion_core.kinematics.component_first`;
the torch-backed `motion_core.kinematics.quaternion` costs a conversion per call), every step covers all frames of all
clips of a batch at once, and Kabsch fits use Horn's quaternion method in closed form instead of one SVD per
frame (`motion_core.kinematics.rigid_fit`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_core.kinematics import component_first as cf
from motion_core.kinematics.quaternion import qmul, qrot
from motion_core.kinematics.rigid_fit import kabsch_quaternion
from motion_core.kinematics.skeleton import Skeleton

__all__ = ["forward_kinematics", "global_rotations", "joints_to_rotations", "continuous_quaternions",
           "measured_offsets", "batch_forward_kinematics"]


# --------------------------------------------------------------------------------------------------------
# Forward kinematics (numpy or torch, any leading batch shape)
# --------------------------------------------------------------------------------------------------------

def _stack(items, like):
    if isinstance(like, np.ndarray):
        return np.stack(items, axis=-2)
    import torch
    return torch.stack(items, dim=-2)


def _check_parents(parents, num_joints: int) -> tuple[int, ...]:
    parents = tuple(int(p) for p in parents)
    if len(parents) != num_joints:
        raise ValueError(f"parents has {len(parents)} entries but the rotations have {num_joints} joints")
    if parents[0] != -1 or any(not (0 <= p < j) for j, p in enumerate(parents[1:], start=1)):
        raise ValueError(f"parents must start with -1 (the root) and list each parent before its child: {parents}")
    return parents


def global_rotations(local_rotations, parents):
    """Global (world) rotations (..., J, 4) from local rotations (..., J, 4), composing parent-first."""
    parents = _check_parents(parents, local_rotations.shape[-2])
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
    parents = _check_parents(parents, num_joints)
    if tuple(offsets.shape) != (num_joints, 3):
        raise ValueError(f"offsets must be ({num_joints}, 3), got {tuple(offsets.shape)}")
    if tuple(root_translation.shape) != tuple(local_rotations.shape[:-2]) + (3,):
        raise ValueError(f"root_translation must be {tuple(local_rotations.shape[:-2]) + (3,)}, "
                         f"got {tuple(root_translation.shape)}")
    if isinstance(local_rotations, np.ndarray):
        offsets = np.asarray(offsets, dtype=local_rotations.dtype)
    rotations = [local_rotations[..., 0, :]]
    positions = [root_translation]
    for j in range(1, num_joints):
        p = parents[j]
        positions.append(positions[p] + qrot(rotations[p], offsets[j]))
        rotations.append(qmul(rotations[p], local_rotations[..., j, :]))
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
    parents = _check_parents(parents, clips.shape[-2])
    if clips.ndim != 4 or root.shape != clips.shape[:2] + (3,) or offsets.shape != (len(clips), clips.shape[2], 3):
        raise ValueError(f"expected rotations (B, T, J, 4), root (B, T, 3) and offsets (B, J, 3), got "
                         f"{local.shape}, {np.shape(root_translation)} and {np.shape(offsets)}")
    local = np.ascontiguousarray(clips.transpose(3, 2, 0, 1))      # (4, J, B, T)
    rest = np.ascontiguousarray(offsets.transpose(2, 1, 0))[..., None]   # (3, J, B, 1)
    glob = np.empty_like(local)
    pos = np.empty((3,) + local.shape[1:])
    glob[:, 0], pos[:, 0] = local[:, 0], root.transpose(2, 0, 1)
    for j in range(1, len(parents)):
        p = parents[j]
        pos[:, j] = pos[:, p] + cf.qrot(glob[:, p], rest[:, j])
        glob[:, j] = cf.qmul(glob[:, p], local[:, j])
    positions = pos.transpose(2, 3, 1, 0)
    return positions[0] if single else positions


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
# Twist references: which neighbouring joints decide a bone's roll
# --------------------------------------------------------------------------------------------------------

def _ramp(x, lo: float, hi: float):
    """0 below lo, 1 above hi, linear between: how much to trust a reference whose quality is x."""
    return np.minimum(np.maximum((x - lo) / (hi - lo), 0.0), 1.0)


@dataclass(frozen=True)
class _Bend:
    """Normal of the plane through joints a -> b -> c (a knee or elbow bend axis, or the foot plane).

    `hinge` is its direction in the rest pose when the rest limb is straight and the plane is undefined there.
    """
    a: str
    b: str
    c: str
    hinge: tuple[float, float, float] | None = None

    def bind(self, skeleton: Skeleton) -> "_BoundBend":
        return _BoundBend(f"{self.a}->{self.b}->{self.c}", *(skeleton.index(n) for n in (self.a, self.b, self.c)),
                          None if self.hinge is None else np.asarray(self.hinge, dtype=np.float64))


@dataclass(frozen=True)
class _BoundBend:
    """A `_Bend` with joint indices of one skeleton."""
    name: str
    a: int
    b: int
    c: int
    hinge: np.ndarray | None

    def vector(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(normal (3, ...), reliability (...)) from positions (3, J, ...)."""
        a, b, c = pos[:, self.a], pos[:, self.b], pos[:, self.c]
        normal = cf.cross(cf.unit(b - a), cf.unit(c - b))
        # sin of the bend angle: below ~10 degrees the plane is numerical noise.
        return normal, _ramp(cf.norm(normal), np.sin(np.radians(10)), np.sin(np.radians(30)))

    def rest_vector(self, rest_positions: np.ndarray) -> np.ndarray:
        """(3, ...) the normal in rest poses (3, J, ...), or the hinge where the rest limb is straight."""
        normal, reliable = self.vector(rest_positions)
        defined = reliable > 0.5
        if self.hinge is None:
            if not defined.all():
                raise ValueError(f"bend {self.name} is straight in the rest pose; give a hinge axis")
            return normal
        return np.where(defined, normal, self.hinge.reshape((3,) + (1,) * defined.ndim))


@dataclass(frozen=True)
class _Across:
    """A weighted sum of left-minus-right lines (hips, collars): the body's across direction."""
    pairs: tuple[tuple[str, str, float], ...]

    def bind(self, skeleton: Skeleton) -> "_BoundAcross":
        return _BoundAcross(tuple((skeleton.index(left), skeleton.index(right), share)
                                  for left, right, share in self.pairs))


@dataclass(frozen=True)
class _BoundAcross:
    """An `_Across` with joint indices of one skeleton."""
    pairs: tuple[tuple[int, int, float], ...]

    def vector(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(direction (3, ...), reliability (...)) from positions (3, J, ...)."""
        total = sum(share * cf.unit(pos[:, left] - pos[:, right]) for left, right, share in self.pairs)
        return total, np.ones(total.shape[1:])

    def rest_vector(self, rest_positions: np.ndarray) -> np.ndarray:
        return self.vector(rest_positions)[0]


# Knees flex about +x in the rest pose (ankle moves back), elbows about -x (wrist moves forward). Candidates
# are listed by priority: later ones fill in where earlier ones are undefined (a straight leg's twist comes
# from the foot). Spine twist is shared between the hips' and collars' across lines.
def _LEG(hip: str, knee: str, ankle: str, toe: str) -> tuple:
    return _Bend(hip, knee, ankle, hinge=(1, 0, 0)), _Bend(knee, ankle, toe)


_TWIST_REFERENCES: dict[str, dict[str, tuple]] = {
    "humanml3d": {
        "left_hip": _LEG("left_hip", "left_knee", "left_ankle", "left_foot"),
        "right_hip": _LEG("right_hip", "right_knee", "right_ankle", "right_foot"),
        "left_shoulder": (_Bend("left_shoulder", "left_elbow", "left_wrist", hinge=(-1, 0, 0)),),
        "right_shoulder": (_Bend("right_shoulder", "right_elbow", "right_wrist", hinge=(-1, 0, 0)),),
        "spine1": (_Across((("left_hip", "right_hip", 2 / 3), ("left_collar", "right_collar", 1 / 3))),),
        "spine2": (_Across((("left_hip", "right_hip", 1 / 3), ("left_collar", "right_collar", 2 / 3))),),
    },
    "kit": {
        "left_hip": _LEG("left_hip", "left_knee", "left_ankle", "left_ball"),
        "right_hip": _LEG("right_hip", "right_knee", "right_ankle", "right_ball"),
        "left_shoulder": (_Bend("left_shoulder", "left_elbow", "left_wrist", hinge=(-1, 0, 0)),),
        "right_shoulder": (_Bend("right_shoulder", "right_elbow", "right_wrist", hinge=(-1, 0, 0)),),
        "spine_lower": (_Across((("left_hip", "right_hip", 2 / 3), ("left_shoulder", "right_shoulder", 1 / 3))),),
        "spine_upper": (_Across((("left_hip", "right_hip", 1 / 3), ("left_shoulder", "right_shoulder", 2 / 3))),),
    },
}


# --------------------------------------------------------------------------------------------------------
# Per-skeleton plan: everything the inverse needs that does not depend on the motion
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Level:
    """The joints at one depth of the tree, solved together: each needs only its parent's results."""
    branching: tuple[tuple[np.ndarray, np.ndarray], ...]   # (joints (G,), their children (C, G)) per child count
    aims: np.ndarray            # (K,) other joints with children: swing onto the (first) child's bone, twist
    aim_children: np.ndarray    # (K,) the child each aims at
    owners: np.ndarray          # (M,) each aiming joint once per child, and
    placed: np.ndarray          # (M,) that child: every child is placed by its parent's rotation
    twisted: np.ndarray         # positions within `aims` of the joints that have twist references
    slots: np.ndarray           # (R, len(twisted)) their reference ids by priority, padded with the null id
    leaves: np.ndarray          # (L,) joints without children: they keep their parent's frame


@dataclass(frozen=True)
class _Plan:
    parents: np.ndarray                 # (J,) parent index, -1 for the root
    rotation_parents: np.ndarray        # (J,) the same, but J for the root: the solver's identity slot
    references: tuple                   # every bound twist reference; id len(references) is the null one
    # Branching joints grouped by child count, as (joints (G,), their children (C, G)), so that each
    # group's offsets are fitted in one vectorised pass.
    branching_groups: tuple[tuple[np.ndarray, np.ndarray], ...]
    levels: tuple[_Level, ...]          # root first


def _is_branching(skeleton: Skeleton, joint: int) -> bool:
    """Several children spanning a plane: the joint's rotation is fixed by its children alone."""
    children = skeleton.children(joint)
    return len(children) > 1 and np.linalg.matrix_rank(skeleton.raw_offsets[children], tol=1e-6) >= 2


def _group_by_child_count(joints, children) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    by_count: dict[int, list[int]] = {}
    for j in joints:
        by_count.setdefault(len(children[j]), []).append(j)
    return tuple((np.array(group), np.array([children[j] for j in group]).T) for group in by_count.values())


def _build_plan(skeleton: Skeleton) -> _Plan:
    num_joints = skeleton.num_joints
    _check_parents(skeleton.parents, num_joints)     # parents before children: depths in one pass
    children = [skeleton.children(j) for j in range(num_joints)]
    branching = [_is_branching(skeleton, j) for j in range(num_joints)]
    table = _TWIST_REFERENCES.get(skeleton.name, {})
    references, reference_ids = [], []
    for name in skeleton.joint_names:
        reference_ids.append([len(references) + i for i in range(len(table.get(name, ())))])
        references.extend(ref.bind(skeleton) for ref in table.get(name, ()))
    depth = [0] * num_joints
    for j in range(1, num_joints):
        depth[j] = depth[skeleton.parents[j]] + 1
    levels = []
    for d in range(max(depth) + 1):
        at_depth = [j for j in range(num_joints) if depth[j] == d]
        aims = [j for j in at_depth if children[j] and not branching[j]]
        twisted = [k for k, j in enumerate(aims) if reference_ids[j]]
        priority = max((len(reference_ids[aims[k]]) for k in twisted), default=0)
        slots = [[(reference_ids[aims[k]] + [len(references)] * priority)[r] for k in twisted] for r in range(priority)]
        levels.append(_Level(
            branching=_group_by_child_count([j for j in at_depth if branching[j]], children),
            aims=np.array(aims, dtype=np.intp),
            aim_children=np.array([children[j][0] for j in aims], dtype=np.intp),
            owners=np.array([j for j in aims for _ in children[j]], dtype=np.intp),
            placed=np.array([c for j in aims for c in children[j]], dtype=np.intp),
            twisted=np.array(twisted, dtype=np.intp),
            slots=np.array(slots, dtype=np.intp).reshape(priority, len(twisted)),
            leaves=np.array([j for j in at_depth if not children[j]], dtype=np.intp)))
    parents = np.array(skeleton.parents)
    return _Plan(parents=parents, rotation_parents=np.where(parents < 0, num_joints, parents),
                 references=tuple(references),
                 branching_groups=_group_by_child_count([j for j in range(num_joints) if branching[j]], children),
                 levels=tuple(levels))


_PLANS: dict[int, tuple[Skeleton, _Plan]] = {}
_MAX_PLANS = 32


def _plan(skeleton: Skeleton) -> _Plan:
    """The skeleton's plan, built on first use.

    A Skeleton holds numpy arrays and so is not hashable: plans are cached by object identity, and the
    cache keeps the skeleton alive so its id cannot be reused by another object. Skeletons are treated as
    immutable (they are frozen dataclasses; editing their arrays in place would leave a stale plan).
    """
    hit = _PLANS.get(id(skeleton))
    if hit is not None and hit[0] is skeleton:
        return hit[1]
    plan = _build_plan(skeleton)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[id(skeleton)] = (skeleton, plan)
    return plan


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


def _measured_offsets(joints: np.ndarray, skeleton: Skeleton, plan: _Plan) -> np.ndarray:
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
    joints = _checked_joints(joints, skeleton)
    clips = joints if joints.ndim == 4 else joints[None]
    offsets = _measured_offsets(np.ascontiguousarray(clips.transpose(3, 2, 0, 1)), skeleton, _plan(skeleton))
    offsets = np.ascontiguousarray(offsets.transpose(2, 1, 0))
    return offsets if joints.ndim == 4 else offsets[0]


def _rest_positions(offsets: np.ndarray, parents) -> np.ndarray:
    """(3, J, B) rest-pose positions (root at the origin) of offsets (3, J, B)."""
    pos = np.zeros_like(offsets)
    for j, p in enumerate(parents):
        if p >= 0:
            pos[:, j] = pos[:, p] + offsets[:, j]
    return pos


def _reference_vectors(plan: _Plan, joints: np.ndarray, rest_positions: np.ndarray):
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
            reliable = reliable * _ramp(cf.norm(perp) / np.maximum(cf.norm(vec), cf.TINY), 0.2, 0.5)
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


def _solve_global(joints: np.ndarray, offsets: np.ndarray, plan: _Plan) -> np.ndarray:
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


def _checked_joints(joints, skeleton: Skeleton) -> np.ndarray:
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
    joints = _checked_joints(joints, skeleton)
    plan = _plan(skeleton)
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


def _solve_clips(clips: np.ndarray, skeleton: Skeleton, plan: _Plan, offsets: np.ndarray | None = None):
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

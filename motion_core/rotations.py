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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_core.quaternion import qbetween, qfrom_axis_angle, qfrom_matrix, qidentity, qinv, qmul, qrot
from motion_core.skeleton import Skeleton

__all__ = ["forward_kinematics", "global_rotations", "joints_to_rotations", "continuous_quaternions",
           "measured_offsets"]


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

@dataclass(frozen=True)
class _Bend:
    """Normal of the plane through joints a -> b -> c (a knee or elbow bend axis, or the foot plane).

    `hinge` is its direction in the rest pose when the rest limb is straight and the plane is undefined there.
    """
    a: str
    b: str
    c: str
    hinge: tuple[float, float, float] | None = None

    def vector(self, pos: np.ndarray, skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
        a, b, c = (pos[..., skeleton.index(n), :] for n in (self.a, self.b, self.c))
        u, v = _unit(b - a), _unit(c - b)
        normal = np.cross(u, v)
        # sin of the bend angle: below ~10 degrees the plane is numerical noise.
        return normal, _ramp(np.linalg.norm(normal, axis=-1), np.sin(np.radians(10)), np.sin(np.radians(30)))

    def rest_vector(self, rest_positions: np.ndarray, skeleton: Skeleton) -> np.ndarray:
        normal, reliable = self.vector(rest_positions, skeleton)
        if reliable > 0.5:
            return normal
        if self.hinge is None:
            raise ValueError(f"bend {self.a}->{self.b}->{self.c} is straight in the rest pose; give a hinge axis")
        return np.asarray(self.hinge, dtype=np.float64)


@dataclass(frozen=True)
class _Across:
    """A weighted sum of left-minus-right lines (hips, collars): the body's across direction."""
    pairs: tuple[tuple[str, str, float], ...]

    def vector(self, pos: np.ndarray, skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
        total = sum(share * _unit(pos[..., skeleton.index(left), :] - pos[..., skeleton.index(right), :])
                    for left, right, share in self.pairs)
        return total, np.ones(total.shape[:-1])

    def rest_vector(self, rest_positions: np.ndarray, skeleton: Skeleton) -> np.ndarray:
        return self.vector(rest_positions, skeleton)[0]


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
# Inverse: positions -> rotations
# --------------------------------------------------------------------------------------------------------

def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _ramp(x, lo: float, hi: float):
    """0 below lo, 1 above hi, linear between: how much to trust a reference whose quality is x."""
    return np.clip((np.asarray(x) - lo) / (hi - lo), 0.0, 1.0)


def _kabsch_matrix(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) R minimising sum_c |R source_c - target_c|^2 over points (..., C, 3)."""
    cov = np.einsum("...ci,...cj->...ij", target, source)
    u, _, vt = np.linalg.svd(cov)
    # Force a proper rotation (det +1): flip the least significant axis if SVD returned a reflection.
    det = np.sign(np.linalg.det(u @ vt))
    u[..., :, 2] *= det[..., None]
    return u @ vt


def _is_branching(skeleton: Skeleton, joint: int) -> bool:
    """Several children spanning a plane: the joint's rotation is fixed by its children alone."""
    children = skeleton.children(joint)
    return len(children) > 1 and np.linalg.matrix_rank(skeleton.raw_offsets[children], tol=1e-6) >= 2


def _rigid_configuration(directions: np.ndarray) -> np.ndarray:
    """Mean shape (C, 3) of per-frame unit child directions (T, C, 3) that move rigidly together.

    Generalised Procrustes: rotate every frame onto the current estimate, average, renormalise, repeat.
    """
    shape = directions[0]
    for _ in range(3):
        aligned = np.einsum("tij,tcj->tci", _kabsch_matrix(directions, shape[None]), directions)
        shape = _unit(aligned.mean(0))
    return shape


def measured_offsets(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """(J, 3) rest offsets fitted to a motion: its median bone lengths, the skeleton's bone directions.

    Exception: the children of a branching joint (pelvis -> hips, spine1; spine3 -> neck, collars) move
    rigidly together, but at the angles of the captured body, not those of ``raw_offsets`` (HumanML3D's hips
    sit ~70 degrees apart, not 180). Those offsets take the measured configuration, turned to lie as close
    as possible to the raw directions, so one joint rotation reproduces all its children.
    """
    parents = np.array(skeleton.parents)
    lengths = np.zeros(skeleton.num_joints)
    lengths[1:] = np.median(np.linalg.norm(joints[:, 1:] - joints[:, parents[1:]], axis=-1), axis=0)
    offsets = skeleton.raw_offsets * lengths[:, None]
    for j in range(skeleton.num_joints):
        if _is_branching(skeleton, j):
            children = skeleton.children(j)
            shape = _rigid_configuration(_unit(joints[:, children] - joints[:, j:j + 1]))
            upright = _kabsch_matrix(shape * lengths[children, None], offsets[children])
            offsets[children] = (shape @ upright.T) * lengths[children, None]
    return offsets


def _rest_positions(offsets: np.ndarray, parents) -> np.ndarray:
    pos = np.zeros_like(offsets)
    for j, p in enumerate(parents):
        if p >= 0:
            pos[j] = pos[p] + offsets[j]
    return pos


def _twist_angle(bone: np.ndarray, swing: np.ndarray, references, joints: np.ndarray,
                 rest_positions: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Per-frame twist (radians, about `bone`) that turns the swung frame towards the references.

    Each reference gives a world vector and its rest counterpart; the angle between the rest vector carried
    by `swing` and the measured vector, both projected off the bone, is that reference's vote. Votes are
    blended by priority and reliability; where nothing is reliable the twist fades to zero (pure swing).
    """
    votes = np.zeros(bone.shape[:-1] + (2,))
    remaining = np.ones(bone.shape[:-1])
    for ref in references:
        current, reliable = ref.vector(joints, skeleton)
        carried = qrot(swing, np.broadcast_to(ref.rest_vector(rest_positions, skeleton), current.shape).copy())
        cur_perp = current - (current * bone).sum(-1, keepdims=True) * bone
        car_perp = carried - (carried * bone).sum(-1, keepdims=True) * bone
        # A vector nearly along the bone says nothing about roll about it.
        for vec, perp in ((current, cur_perp), (carried, car_perp)):
            ratio = np.linalg.norm(perp, axis=-1) / np.maximum(np.linalg.norm(vec, axis=-1), 1e-12)
            reliable = reliable * _ramp(ratio, 0.2, 0.5)
        angle = np.arctan2((np.cross(car_perp, cur_perp) * bone).sum(-1), (car_perp * cur_perp).sum(-1))
        weight = remaining * reliable
        votes += weight[..., None] * np.stack((np.cos(angle), np.sin(angle)), axis=-1)
        remaining = remaining * (1.0 - reliable)
    return _fill_unreliable(np.arctan2(votes[..., 1], votes[..., 0]), 1.0 - remaining)


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


def _solve_global(joints: np.ndarray, skeleton: Skeleton, offsets: np.ndarray) -> np.ndarray:
    """Global rotations (T, J, 4), parents first.

    Each bone aims from where forward kinematics has *put* its joint (not where the input says it is) at
    the input child, so bone-length noise in predicted joints stays local instead of piling up along
    chains: a joint's error is its own bone's length mismatch, not the sum of its ancestors'.
    """
    num_frames, num_joints = joints.shape[:2]
    references = _TWIST_REFERENCES.get(skeleton.name, {})
    rest_positions = _rest_positions(offsets, skeleton.parents)
    glob = qidentity((num_frames, num_joints), like=joints)
    placed = joints.copy()      # forward-kinematics positions, filled in parents first
    for j in range(num_joints):
        children = skeleton.children(j)
        parent_rot = glob[:, skeleton.parents[j]] if j > 0 else qidentity(num_frames, like=joints)
        if not children:
            glob[:, j] = parent_rot   # a leaf has nothing to aim at: keep the parent's frame
            continue
        rest = offsets[children]
        current = joints[:, children] - placed[:, j:j + 1]
        if _is_branching(skeleton, j):
            # Least squares over the child positions (directions weighted by bone length).
            target = _unit(current) * np.linalg.norm(rest, axis=-1)[:, None]
            glob[:, j] = qfrom_matrix(_kabsch_matrix(np.broadcast_to(rest, target.shape), target))
        else:
            bone = _unit(current[:, 0])
            swing = qmul(qbetween(qrot(parent_rot, np.broadcast_to(rest[0], bone.shape).copy()), bone), parent_rot)
            twist = _twist_angle(bone, swing, references.get(skeleton.joint_names[j], ()), joints,
                                 rest_positions, skeleton)
            glob[:, j] = qmul(qfrom_axis_angle(bone, twist), swing)
        placed[:, children] = placed[:, j:j + 1] + qrot(glob[:, j, None], np.broadcast_to(rest, current.shape).copy())
    return glob


def joints_to_rotations(joints: np.ndarray, skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local rotations that reproduce joint positions: (local_rotations (T, J, 4), root_translation (T, 3),
    offsets (J, 3)).

    `offsets` use the skeleton's bone directions with this motion's own median bone lengths, so any body size
    works; `forward_kinematics(local_rotations, root_translation, offsets, skeleton.parents)` gives back the
    joints (exactly when the input is a rest-pose forward kinematics, as HumanML3D's data is).
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (skeleton.num_joints, 3):
        raise ValueError(f"joints must be (T, {skeleton.num_joints}, 3) for skeleton {skeleton.name!r}, "
                         f"got {joints.shape}")
    if joints.shape[0] == 0:
        raise ValueError("joints has no frames")
    if not np.isfinite(joints).all():
        raise ValueError("joints contain NaN or infinite values")
    offsets = measured_offsets(joints, skeleton)
    glob = _solve_global(joints, skeleton, offsets)
    parents = np.array(skeleton.parents)
    local = glob.copy()
    local[:, 1:] = qmul(qinv(glob[:, parents[1:]]), glob[:, 1:])
    return continuous_quaternions(local), joints[:, 0].copy(), offsets

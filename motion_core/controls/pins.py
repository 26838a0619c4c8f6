"""Key poses (issue 23, item 3): pin the whole pose, or some joints (effectors), at chosen frames.

A pin is ``{"frame": F, "joints": [[x, y, z] x J]}`` (the whole pose) or ``{"frame": F, "effectors":
{"left_wrist": [x, y, z], ...}}`` (named joints of the skeleton, `Skeleton.joint_names`), in the engine's world
coordinates (metres, y up; see `controls.path`), or a `PosePin`.

How (`apply_pins`), on the motion's rotations, so bone lengths never change and ``FK(rotations) == joints``:

1. at each pinned frame, the local rotations and the root position are fitted (damped least squares on the
   forward kinematics' Jacobian, `_fit_frame`) so the pinned joints reach their targets, starting from the
   frame's own pose so the joints nobody pinned move as little as they can. A whole-pose pin starts from the
   rotations the IK solves for the pinned pose on this motion's body (robust to a pose far from the frame's);
2. the change (per-joint rotation delta, root shift) is spread in time: between two pins closer than twice
   `FALLOFF_SECONDS` it is interpolated (slerp) from one to the other, elsewhere it fades with a cosine over
   `FALLOFF_SECONDS` on each side, so the motion eases into and out of the key pose without a pop.

A whole-pose pin also sets the take's body (bone lengths, `pinned_body`), so that pose can be met joint for
joint. The engine does not steer sampling towards pins (measured worse for foot skating: `generation.constraints`);
after the pins it re-plants the feet where the pins put them (`controls.pinned_feet`) and meets the pins again.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass

import numpy as np
from motion_core.formats.motion import Motion
from motion_core.kinematics import quaternion as Q
from motion_core.kinematics.forward_kinematics import forward_kinematics, global_rotations
from motion_core.kinematics.rigid_fit import kabsch_matrix
from motion_core.kinematics.skeleton import Skeleton, get_skeleton

__all__ = ["PosePin", "PinError", "parse_pins", "apply_pins", "pin_errors", "pin_targets", "pinned_body", "pin_reach",
           "FALLOFF_SECONDS", "MAX_PINS"]

FALLOFF_SECONDS = 0.5     # a key pose eases in and out over this long on each side
MAX_PINS = 1000
_POSE_PULL = 1e-3         # damping of a joint's turn per fitting step (m^2/rad^2): small steps, small changes
_ROOT_PULL = 1.0          # moving or turning the whole body is damped far more than bending a limb (per step; it
                          # still converges), so a wrist pin bends the arm and spine and leaves the planted legs be


class PinError(ValueError):
    """A pin the caller can fix (unknown joint, wrong shape, frame beyond the clip, not a number)."""


@dataclass(frozen=True)
class PosePin:
    """Joint `targets` {joint index: (x, y, z)} at `frame`; `whole` when every joint is given."""
    frame: int
    targets: tuple
    whole: bool = False

    def to_json(self, skeleton: Skeleton) -> dict:
        if self.whole:
            return {"frame": self.frame, "joints": [list(p) for _, p in sorted(self.targets)]}
        return {"frame": self.frame, "effectors": {skeleton.joint_names[j]: list(p) for j, p in self.targets}}


def _point(value, what: str) -> tuple:
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) != 3:
        raise PinError(f"{what} must be [x, y, z], got {repr(value)[:80]}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v):
            raise PinError(f"{what} must hold finite numbers, got {repr(value)[:80]}")
    return tuple(float(v) for v in value)


def _frame(value, what: str, num_frames: int | None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise PinError(f"{what}: frame must be a whole number >= 0, got {repr(value)[:40]}")
    if num_frames is not None and value >= num_frames:
        raise PinError(f"{what}: frame {value} is beyond the clip ({num_frames} frames, last frame {num_frames - 1})")
    return int(value)


def _parse_one(item, i: int, skeleton: Skeleton, num_frames: int | None) -> PosePin:
    if isinstance(item, PosePin):
        return PosePin(_frame(item.frame, f"pin {i}", num_frames), item.targets, item.whole)
    if not isinstance(item, dict) or "frame" not in item or len(set(item) & {"joints", "effectors"}) != 1:
        raise PinError(f'pin {i} must be {{"frame": F, "joints": [[x, y, z] x {skeleton.num_joints}]}} or '
                       f'{{"frame": F, "effectors": {{"<joint>": [x, y, z]}}}}, got {repr(item)[:80]}')
    frame = _frame(item["frame"], f"pin {i}", num_frames)
    if "joints" in item:
        joints = item["joints"]
        if not isinstance(joints, (list, tuple, np.ndarray)) or len(joints) != skeleton.num_joints:
            raise PinError(f"pin {i}: joints must be {skeleton.num_joints} [x, y, z] points (skeleton "
                           f"{skeleton.name!r}), got {repr(joints)[:60]}")
        targets = tuple((j, _point(p, f"pin {i} joint {j}")) for j, p in enumerate(joints))
        return PosePin(frame, targets, whole=True)
    effectors = item["effectors"]
    if not isinstance(effectors, dict) or not effectors:
        raise PinError(f"pin {i}: effectors must be a non-empty {{\"<joint name>\": [x, y, z]}} object")
    targets = []
    for name, point in effectors.items():
        if name not in skeleton.joint_names:
            raise PinError(f"pin {i}: unknown joint {name!r}; the {skeleton.name} skeleton's joints are "
                           f"{', '.join(skeleton.joint_names)}")
        targets.append((skeleton.joint_names.index(name), _point(point, f"pin {i} {name}")))
    return PosePin(frame, tuple(sorted(targets)))


def parse_pins(items, skeleton: Skeleton, num_frames: int | None = None) -> list[PosePin]:
    """`PosePin`s from their JSON form (or PosePins), sorted by frame; PinError for bad ones, two pins on one
    frame, or (with `num_frames`) a frame beyond the clip."""
    if isinstance(items, (dict, PosePin)) or not isinstance(items, (list, tuple)):
        raise PinError(f"pins must be a list of pins, got {type(items).__name__}")
    if len(items) > MAX_PINS:
        raise PinError(f"at most {MAX_PINS} pins, got {len(items)}")
    pins = sorted((_parse_one(item, i, skeleton, num_frames) for i, item in enumerate(items)), key=lambda p: p.frame)
    frames = [p.frame for p in pins]
    if len(set(frames)) != len(frames):
        raise PinError(f"two pins on one frame (frames {frames}); merge their joints into one pin")
    return pins


def pin_targets(pins: list[PosePin], num_frames: int, num_joints: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets (T, J, 3), pinned (T, J) bool): the pins as dense arrays (what guidance uses)."""
    targets = np.zeros((num_frames, num_joints, 3))
    pinned = np.zeros((num_frames, num_joints), dtype=bool)
    for pin in pins:
        for j, point in pin.targets:
            targets[pin.frame, j] = point
            pinned[pin.frame, j] = True
    return targets, pinned


# ---- fitting one frame -------------------------------------------------------------------------------------------

def _axis_angle_quat(v: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) of rotation vectors (..., 3), smooth at zero."""
    angle = np.sqrt((v * v).sum(-1, keepdims=True) + 1e-24)
    return np.concatenate((np.cos(angle / 2), np.sin(angle / 2) / angle * v), axis=-1)


def _descendants(parents) -> np.ndarray:
    """(J, J) bool: [k, d] when joint d lies below joint k (turning k moves d)."""
    below = np.zeros((len(parents), len(parents)), dtype=bool)
    for d in range(1, len(parents)):
        k = parents[d]
        while k >= 0:
            below[k, d] = True
            k = parents[k]
    return below


def _skew(v: np.ndarray) -> np.ndarray:
    x, y, z = v
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def _fit_frame(rotations: np.ndarray, root: np.ndarray, offsets: np.ndarray, parents, joints: list[int],
               goals: np.ndarray, iterations: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(local rotations (J, 4), root (3,)) from the given ones whose FK puts `joints` at `goals` (K, 3).

    Damped least squares (Levenberg-Marquardt) on the analytic Jacobian: turning joint k by a small world
    rotation w moves every joint d below it by w x (p_d - p_k); shifting the root moves all of them. Starting
    from the frame's pose and taking damped steps changes it as little as the goals need, and shifting the
    whole body is damped more than bending a limb, so an effector pin bends the limb that reaches it.
    """
    q, r = np.array(rotations, dtype=np.float64), np.array(root, dtype=np.float64)
    below = _descendants(parents)
    num = len(parents)
    damping = np.concatenate((np.full(3, _ROOT_PULL), np.full(3 * num - 3, _POSE_PULL), np.full(3, _ROOT_PULL)))
    for _ in range(iterations):
        pos = forward_kinematics(q[None], r[None], offsets, parents)[0]
        error = (pos[joints] - goals).reshape(-1)
        if np.abs(error).max() < 1e-5:
            break
        world = Q.qto_matrix(global_rotations(q, parents))
        jac = np.zeros((3 * len(joints), 3 * num + 3))
        for i, d in enumerate(joints):
            for k in np.flatnonzero(below[:, d]):
                jac[3 * i:3 * i + 3, 3 * k:3 * k + 3] = -_skew(pos[d] - pos[k]) @ world[k]
            jac[3 * i:3 * i + 3, 3 * num:] = np.eye(3)
        step = np.linalg.solve(jac.T @ jac + np.diag(damping), -jac.T @ error)
        q = Q.qnormalize(Q.qmul(q, _axis_angle_quat(step[:3 * num].reshape(num, 3))))
        r = r + step[3 * num:]
    return q, r


def _fitted(motion: Motion, pin: PosePin, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(local rotations (J, 4), root (3,)) of `motion`'s body meeting `pin` at its frame.

    An effector pin is fitted from the frame's own pose. A whole-pose pin is fitted from the IK of that pose on
    this body, which does not depend on the motion: the fit is kept (`_whole_pose_fit`), as the engine meets the
    same pins several times over (`generation.constraints.meet_pins`) and the fit is most of their cost."""
    if pin.whole:
        # keyed on the body to the micrometre: the same body comes back through float32 storage slightly changed
        q, root = _whole_pose_fit(pin, motion.skeleton.name, np.round(offsets, 6).tobytes())
        return q.copy(), root.copy()
    return _fit_frame(motion.rotations[pin.frame].astype(np.float64),
                      motion.root_translation[pin.frame].astype(np.float64), offsets, motion.skeleton.parents,
                      [j for j, _ in pin.targets], np.asarray([p for _, p in pin.targets]))


@functools.lru_cache(maxsize=64)
def _whole_pose_fit(pin: PosePin, skeleton_name: str, offsets_bytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    from motion_core.kinematics.rotations import joints_to_rotations
    skeleton = get_skeleton(skeleton_name)
    offsets = np.frombuffer(offsets_bytes, dtype=np.float64).reshape(skeleton.num_joints, 3).copy()
    pose = np.asarray([p for _, p in sorted(pin.targets)], dtype=np.float64)
    rotations, root = joints_to_rotations(pose[None], skeleton, offsets=offsets)[:2]
    return _fit_frame(rotations[0], root[0], offsets, skeleton.parents, list(range(skeleton.num_joints)), pose)


# ---- spreading in time ---------------------------------------------------------------------------------------------

def pinned_body(motion: Motion, pins: list[PosePin]) -> np.ndarray:
    """(J, 3) rest offsets for the pinned take: the motion's own, or, when whole poses are pinned, the body the
    pinned poses show: their bone lengths (median over them) and, where one joint has several children, the
    angles between those children. A whole pose fixes the body: another body's pose cannot be met joint for
    joint (bodies of different takes differ by cm per bone, and by degrees between hips or collars)."""
    offsets = motion.offsets.astype(np.float64)
    poses = [np.asarray([p for _, p in sorted(pin.targets)]) for pin in pins if pin.whole]
    if not poses:
        return offsets
    parents = np.asarray(motion.skeleton.parents)
    bones = np.stack([pose[1:] - pose[parents[1:]] for pose in poses])         # (P, J-1, 3)
    lengths = np.median(np.linalg.norm(bones, axis=-1), axis=0)
    directions = _unit(offsets[1:])
    for parent in np.unique(parents[1:]):
        children = np.flatnonzero(parents[1:] == parent)
        if len(children) > 1:
            # One rotation turns all of them: their rest directions must hold the pose's angles between them.
            # R takes the rest directions onto the posed ones, so v @ R is a posed direction in the rest frame.
            seen = [_unit(b[children]) @ kabsch_matrix(directions[children], _unit(b[children])) for b in bones]
            directions[children] = _unit(np.mean(seen, axis=0))
    return np.concatenate((offsets[:1], directions * lengths[:, None]))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _weights(num_frames: int, frames: list[int], radius: int, keep_before: int = 0) -> list[tuple[int, int, float]]:
    """Per frame (pin a, pin b, s): the change is slerp(change_a, change_b, s); b = -1 means "fade a by s".
    Frames before `keep_before` do not change; a pin closer to them eases in over the frames it has."""
    plan = []
    for t in range(num_frames):
        if t < keep_before:
            plan.append((0, -1, 0.0))
            continue
        after = next((k for k, f in enumerate(frames) if f >= t), None)
        before = next((k for k in range(len(frames) - 1, -1, -1) if frames[k] <= t), None)
        between = before is not None and after is not None and before != after
        if between and frames[after] - frames[before] <= 2 * radius:
            plan.append((before, after, (t - frames[before]) / (frames[after] - frames[before])))
            continue
        near = min((k for k in (before, after) if k is not None), key=lambda k: abs(frames[k] - t))
        gap = abs(frames[near] - t)
        reach = min(radius, frames[near] - keep_before) if t < frames[near] else radius
        plan.append((near, -1, 0.5 * (1 + math.cos(math.pi * gap / (reach + 1))) if gap <= reach else 0.0))
    return plan


def pin_reach(num_frames: int, pins: list[PosePin], fps: float, falloff_seconds: float = FALLOFF_SECONDS,
              keep_before: int = 0) -> np.ndarray:
    """(P, T) bool: the frames each pin's change reaches (its fade, and the span to a pin it is blended with)."""
    radius = max(1, int(round(falloff_seconds * fps)))
    reach = np.zeros((len(pins), num_frames), dtype=bool)
    for t, (a, b, s) in enumerate(_weights(num_frames, [p.frame for p in pins], radius, keep_before)):
        if b < 0:
            reach[a, t] = s > 0
        else:
            reach[a, t], reach[b, t] = s < 1, s > 0
    return reach


def apply_pins(motion: Motion, pins: list[PosePin], falloff_seconds: float = FALLOFF_SECONDS,
               keep_before: int = 0) -> Motion:
    """`motion` with every pin met (see the module doc); ``meta["pins"]`` records them (JSON).

    Frames before `keep_before` stay as they are (what `extend` continues), and so does the body: a whole pose
    is then met as closely as this body allows."""
    if not pins:
        return motion
    if any(p.frame < keep_before for p in pins):
        raise PinError(f"a pin falls on the frames kept as they are (before frame {keep_before})")
    parents = motion.skeleton.parents
    offsets = motion.offsets.astype(np.float64) if keep_before else pinned_body(motion, pins)
    own_q, own_root = motion.rotations.astype(np.float64), motion.root_translation.astype(np.float64)
    rot_deltas, root_deltas = [], []
    for pin in pins:
        q, root = _fitted(motion, pin, offsets)
        rot_deltas.append(Q.qmul(Q.qinv(own_q[pin.frame]), q))       # own * delta = fitted
        root_deltas.append(root - own_root[pin.frame])
    rot_deltas, root_deltas = np.stack(rot_deltas), np.stack(root_deltas)
    radius = max(1, int(round(falloff_seconds * motion.fps)))
    plan = np.asarray(_weights(motion.num_frames, [p.frame for p in pins], radius, keep_before))
    a, b, s = plan[:, 0].astype(int), plan[:, 1].astype(int), plan[:, 2]
    fade = b < 0
    start = np.where(fade[:, None, None], Q.qidentity((len(parents),), like=own_q)[None], rot_deltas[a])
    end = rot_deltas[np.where(fade, a, b)]
    delta = Q.qslerp(start, end, s[:, None].repeat(len(parents), 1))
    shift = (np.where(fade[:, None], 0.0, root_deltas[a]) * (1 - s[:, None])
             + root_deltas[np.where(fade, a, b)] * s[:, None])
    rotations = Q.qnormalize(Q.qmul(own_q, delta))
    root = own_root + shift
    meta = dict(motion.meta)
    meta["pins"] = json.dumps([p.to_json(motion.skeleton) for p in pins], separators=(",", ":"))
    joints = forward_kinematics(rotations, root, offsets, parents)
    return Motion(fps=motion.fps, joints=joints, rotations=rotations, root_translation=root,
                  offsets=offsets, skeleton=motion.skeleton, meta=meta)


def pin_errors(joints: np.ndarray, pins: list[PosePin]) -> list[float]:
    """Per pin, the largest distance (m) of a pinned joint from its target."""
    joints = np.asarray(joints, dtype=np.float64)
    return [max(float(np.linalg.norm(joints[p.frame, j] - np.asarray(point))) for j, point in p.targets) for p in pins]

"""Clean feet: lock planted feet in place with leg IK and keep the feet above the ground (issue 23, item 4).

The model predicts, beside the pose, four foot-contact channels (left ankle, left toe, right ankle, right toe;
the last 4 of the 263 HumanML3D features, see `motion_core.kinematics.representation`). Where a channel says a foot joint
is planted, this module holds that joint still:

0. settle: a body floating above the floor (or sunk into it) where it stands on it is set down on it, stair
   treads and a hop's raised foot told apart (`controls.floor_drift`);
1. contacts: a channel above 0.5 is a contact; one-frame gaps are filled and one-frame contacts dropped;
2. targets: during each contact run the joint's target is one fixed point (the run's mean position); over
   `BLEND_FRAMES` frames before and after the run the target eases (cosine) from the joint's own path to that
   point and back, so the foot settles and lifts off without a pop. Every foot target is then kept at or
   above the ground (y = 0, where the HumanML3D data puts the floor), which fixes ground penetration;
3. leg IK: hip stays, the knee and ankle are re-placed by two-bone IK (the thigh and shin keep their lengths,
   the knee stays in the leg's own bending plane), then the foot bone is turned towards the toe target (its
   length kept);
4. rotations: the edited joints are solved again on the motion's own rest offsets, so ``FK(rotations)`` still
   equals ``Motion.joints`` (issue 22). Only hips' children change: knees, ankles and toes (and their local
   rotations with their parents'); every other joint stays where it was, but for the settling's vertical shift.

Entry points take and return `Motion`s: `clean_feet(motion, contacts)` and `clean_feet_batch(motions,
contacts)` (one IK pass for a batch of equally long clips). `contacts_from_features(features)` reads the
channels. `keep_before` leaves the first frames untouched (what `extend` keeps of the motion it continues).
"""
from __future__ import annotations

import numpy as np

from motion_core.controls.floor_drift import hover_heights, true_runs
from motion_core.formats.motion import Motion
from motion_core.kinematics.skeleton import Skeleton

__all__ = ["clean_feet", "clean_feet_batch", "contacts_from_features", "clean_feet_joints", "foot_chains",
           "BLEND_FRAMES", "GROUND_HEIGHT", "CONTACT_THRESHOLD"]

BLEND_FRAMES = 4          # frames over which a lock eases in before a contact and out after it (0.2 s at 20 fps)
GROUND_HEIGHT = 0.0       # y of the floor in the HumanML3D frame (its data is put on the floor at y = 0)
CONTACT_THRESHOLD = 0.5   # a contact channel above this counts as a planted foot joint
MAX_DRIFT = 0.30          # m a planted joint may have slid in the model's motion before it is re-planted
LOW_HEIGHT = 0.05         # m above the ground: a foot joint this low next to a contact is held with it
_EPS = 1e-6


def contacts_from_features(features, skeleton: Skeleton) -> np.ndarray:
    """(..., T, 4) bool contacts (left ankle, left toe, right ankle, right toe) from un-normalised features."""
    from motion_core.kinematics.representation import feature_slices
    features = features.detach().cpu().numpy() if hasattr(features, "detach") else np.asarray(features)
    return features[..., feature_slices(skeleton).contacts] > CONTACT_THRESHOLD


def foot_chains(skeleton: Skeleton) -> list[tuple[int, int, int, int]]:
    """(hip, knee, ankle, toe) joint indices of the left and right leg, in the contact channels' order."""
    chains = []
    for ankle, toe in (skeleton.left_foot, skeleton.right_foot):
        knee = skeleton.parents[ankle]
        hip = skeleton.parents[knee]
        if skeleton.parents[toe] != ankle or knee < 0 or hip < 0:
            raise ValueError(f"skeleton {skeleton.name!r}: foot joints {ankle}, {toe} do not form a hip-knee-ankle-toe "
                             "chain")
        chains.append((hip, knee, ankle, toe))
    return chains


def _clean_runs(contact: np.ndarray) -> np.ndarray:
    """Fill one-frame gaps and drop one-frame contacts (decoder flicker)."""
    c = contact.copy()
    gaps = ~c[1:-1] & c[:-2] & c[2:]
    c[1:-1] |= gaps
    lone = c[1:-1] & ~c[:-2] & ~c[2:]
    c[1:-1] &= ~lone
    if len(c) > 1:
        c[0] &= c[1]
        c[-1] &= c[-2]
    return c


def _locked_targets(path: np.ndarray, contact: np.ndarray, blend: int, keep_before: int, low: float,
                    anchor: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(target (T, 3), locked (T,) 0/1): where one foot joint should be, and whether it is planted there.

    A contact run is held at the joint's position on the run's first frame (the foot stays where it lands), or
    on its first `anchor` frame when it has one (a pinned foot stays where the pin put it),
    widened by up to `blend` frames on each side in which the joint is still below `low` (a foot sliding in or
    out near the floor is planted, to the eye). Between two locks, the correction (target - own path) moves
    linearly from the one to the other over the swing, so the swing absorbs the slide over many frames
    instead of a pop; before the first and after the last lock it fades out over `blend` frames."""
    num = len(path)
    runs = []
    near_floor = path[:, 1] < low
    cores = _with_anchors(_split_drifting(path, true_runs(_clean_runs(contact)), blend), anchor)
    for core_start, core_stop in cores:
        start, stop = core_start, core_stop
        while start > max(0, core_start - blend) and near_floor[start - 1]:
            start -= 1
        while stop < min(num, core_stop + blend) and near_floor[stop]:
            stop += 1
        if runs and start <= runs[-1][1]:
            start = runs[-1][1]                  # widened runs never overlap
        if stop <= start:
            continue
        runs.append((start, stop, core_start))
    offset = np.zeros_like(path)
    locked = np.zeros(num, dtype=bool)
    for start, stop, core_start in runs:
        point = path[_anchor_frame(start, stop, core_start, keep_before, anchor)]
        offset[start:stop] = point - path[start:stop]
        offset[start:stop, 1] = 0.0     # only sliding is locked: the heel and toe still rise and fall
        locked[start:stop] = True
    for (_, prev_stop, _), (next_start, _, _) in zip(runs, runs[1:]):       # swings between two locks
        span = next_start - prev_stop + 1
        s = np.arange(1, span) / span
        offset[prev_stop:next_start] = (1 - s)[:, None] * offset[prev_stop - 1] + s[:, None] * offset[next_start]
    if runs:   # before the first lock and after the last one, the correction fades out
        first, last = runs[0][0], runs[-1][1]
        for frames, anchor in ((np.arange(max(0, first - blend), first), first),
                               (np.arange(last, min(num, last + blend)), last - 1)):
            w = 0.5 * (1.0 + np.cos(np.pi * np.abs(frames - anchor) / (blend + 1)))
            offset[frames] = w[:, None] * offset[anchor]
    target = path + offset
    target[:keep_before] = path[:keep_before]
    locked[:keep_before] = False
    return target, locked.astype(np.float64)


def _anchor_frame(start: int, stop: int, core_start: int, keep_before: int, anchor: np.ndarray | None) -> int:
    """The frame whose position a run [start, stop) is held at: a kept frame's, an anchor's, else its landing."""
    if start < keep_before <= stop:
        return max(core_start, keep_before - 1)
    if anchor is not None and anchor[start:stop].any():
        return start + int(np.flatnonzero(anchor[start:stop])[0])
    return core_start


def _with_anchors(runs: list[tuple[int, int]], anchor: np.ndarray | None) -> list[tuple[int, int]]:
    """`runs` plus a one-frame run at each anchor outside them: a pinned joint in the air is held where it is
    too, so the corrections of the swings around it pass through zero at the pin instead of moving it."""
    if anchor is None:
        return runs
    inside = np.zeros(len(anchor), dtype=bool)
    for start, stop in runs:
        inside[start:stop] = True
    extra = [(int(f), int(f) + 1) for f in np.flatnonzero(anchor & ~inside)]
    return sorted(runs + extra)


def _split_drifting(path: np.ndarray, runs, gap: int, max_drift: float = None) -> list[tuple[int, int]]:
    """Contact runs cut where the joint has slid more than `max_drift` (horizontally) from where the run
    began: a foot the body keeps travelling away from is re-planted rather than stretched after it, the slide
    spread over `gap` free frames."""
    max_drift = MAX_DRIFT if max_drift is None else max_drift
    out = []
    for start, stop in runs:
        while start < stop:
            drift = np.linalg.norm(path[start:stop, [0, 2]] - path[start, [0, 2]], axis=-1)
            beyond = np.flatnonzero(drift > max_drift)
            if not len(beyond):
                out.append((start, stop))
                break
            out.append((start, start + int(beyond[0])))
            start = start + int(beyond[0]) + gap
    return [(a, b) for a, b in out if b > a]


def _two_bone(hip, knee, ankle, goal, upper: float, lower: float):
    """Knee and ankle (T, 3) of a leg whose ankle reaches `goal` as closely as the bone lengths allow."""
    reach = goal - hip
    distance = np.linalg.norm(reach, axis=-1, keepdims=True)
    along = reach / np.maximum(distance, _EPS)
    distance = np.clip(distance, abs(upper - lower) + 1e-4, upper + lower - 1e-4)
    bend = knee - hip
    pole = bend - (bend * along).sum(-1, keepdims=True) * along
    pole_norm = np.linalg.norm(pole, axis=-1, keepdims=True)
    fallback = ankle - hip          # a straight leg has no bend plane: use the old ankle's side, else +z
    fallback = fallback - (fallback * along).sum(-1, keepdims=True) * along
    pole = np.where(pole_norm > 1e-5, pole, fallback)
    pole_norm = np.linalg.norm(pole, axis=-1, keepdims=True)
    forward = np.cross(along, np.array([1.0, 0.0, 0.0]))
    pole = np.where(pole_norm > 1e-5, pole, forward)
    pole = pole / np.maximum(np.linalg.norm(pole, axis=-1, keepdims=True), _EPS)
    cos_a = np.clip((upper ** 2 + distance ** 2 - lower ** 2) / (2.0 * upper * distance), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a ** 2)
    new_knee = hip + upper * (cos_a * along + sin_a * pole)
    new_ankle = hip + distance * along
    return new_knee, new_ankle


def _lift_toe(ankle: np.ndarray, toe: np.ndarray, length: float, ground: float) -> np.ndarray:
    """Toe positions kept at or above the ground, turning the foot bone about the ankle (length kept)."""
    below = toe[:, 1] < ground
    if not below.any():
        return toe
    a, t = ankle[below], toe[below]
    drop = np.clip(ground - a[:, 1], -length, length)            # vertical part of the bone to reach the ground
    flat = t[:, [0, 2]] - a[:, [0, 2]]
    flat_norm = np.linalg.norm(flat, axis=-1, keepdims=True)
    flat = np.where(flat_norm > 1e-6, flat / np.maximum(flat_norm, _EPS), np.array([0.0, 1.0]))
    horizontal = np.sqrt(np.maximum(length ** 2 - drop ** 2, 0.0))[:, None] * flat
    fixed = np.stack((a[:, 0] + horizontal[:, 0], a[:, 1] + np.maximum(drop, ground - a[:, 1]),
                      a[:, 2] + horizontal[:, 1]), axis=-1)
    out = toe.copy()
    out[below] = np.where((a[:, 1] >= ground)[:, None], fixed, t)   # an ankle below ground is the IK's to fix
    return out


def clean_feet_joints(joints: np.ndarray, contacts: np.ndarray, skeleton: Skeleton, offsets: np.ndarray,
                      blend: int = BLEND_FRAMES, ground: float = GROUND_HEIGHT, keep_before: int = 0,
                      low: float = LOW_HEIGHT, anchors: np.ndarray | None = None, settle: bool = True) -> np.ndarray:
    """Joints (T, J, 3) set down on the floor where they stand on it (`controls.floor_drift`; not with `settle`
    False), planted feet locked and feet kept above `ground`; see the module doc.

    `contacts` (T, 4) bool in channel order; `offsets` (J, 3) the rest offsets whose bone lengths the legs
    keep; frames before `keep_before` come back unchanged. `anchors` (T, 4) bool: frames whose position a
    contact run through them is held at (pinned feet, `controls.pinned_feet`), instead of where the run begins.
    """
    joints = np.array(joints, dtype=np.float64)
    contacts = np.asarray(contacts, dtype=bool)
    num = len(joints)
    if contacts.shape != (num, 4):
        raise ValueError(f"contacts must be (T, 4) = ({num}, 4), got {contacts.shape}")
    keep_before = int(np.clip(keep_before, 0, num))
    chains = foot_chains(skeleton)
    if settle:
        joints[:, :, 1] -= hover_heights(joints, contacts, [(a, t) for _, _, a, t in chains], keep_before)[:, None]
    lengths = np.linalg.norm(np.asarray(offsets, dtype=np.float64), axis=-1)
    free = slice(keep_before, num)
    anchor = np.zeros((num, 4), dtype=bool) if anchors is None else np.asarray(anchors, dtype=bool)
    for side, (hip, knee, ankle, toe) in enumerate(chains):
        ankle_goal, ankle_w = _locked_targets(joints[:, ankle], contacts[:, 2 * side], blend, keep_before,
                                              ground + low, anchor[:, 2 * side])
        toe_goal, toe_w = _locked_targets(joints[:, toe], contacts[:, 2 * side + 1], blend, keep_before,
                                          ground + low, anchor[:, 2 * side + 1])
        for goal in (ankle_goal, toe_goal):
            goal[free, 1] = np.maximum(goal[free, 1], ground)
        foot = lengths[toe]
        # An ankle that is not locked itself follows a locked toe: it stays one foot length from it.
        around_toe = toe_goal + foot * _unit(joints[:, ankle] - toe_goal)
        share = np.clip(toe_w - ankle_w, 0.0, 1.0)[:, None]
        ankle_goal = (1.0 - share) * ankle_goal + share * around_toe
        ankle_goal[free, 1] = np.maximum(ankle_goal[free, 1], ground)
        new_knee, new_ankle = _two_bone(joints[free, hip], joints[free, knee], joints[free, ankle],
                                        ankle_goal[free], lengths[knee], lengths[ankle])
        new_toe = new_ankle + foot * _unit(toe_goal[free] - new_ankle)
        new_toe = _lift_toe(new_ankle, new_toe, foot, ground)
        joints[free, knee], joints[free, ankle], joints[free, toe] = new_knee, new_ankle, new_toe
    return joints


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), _EPS)


def clean_feet_batch(motions: list[Motion], contacts, keep_before: int = 0, anchors=None,
                     **options) -> list[Motion]:
    """`clean_feet` for equally long motions with one batched rotation solve; contacts (and anchors) (B, T, 4)."""
    if not motions:
        return []
    contacts = np.asarray(contacts, dtype=bool)
    anchors = [None] * len(motions) if anchors is None else anchors
    skeleton = motions[0].skeleton
    joints = np.stack([clean_feet_joints(m.joints, c, skeleton, m.offsets, keep_before=keep_before, anchors=a,
                                         **options) for m, c, a in zip(motions, contacts, anchors)])
    offsets = np.stack([m.offsets for m in motions]).astype(np.float64)
    cleaned = Motion.batch_from_joints(joints, skeleton, motions[0].fps, [m.meta for m in motions],
                                       offsets=offsets)
    for motion in cleaned:
        motion.meta["foot_cleanup"] = 1
    return cleaned


def clean_feet(motion: Motion, contacts, keep_before: int = 0, **options) -> Motion:
    """`motion` with planted feet locked (contacts (T, 4) bool, channel order) and feet above the ground;
    its rotations re-solved on its own offsets so FK(rotations) equals its joints."""
    return clean_feet_batch([motion], np.asarray(contacts)[None], keep_before=keep_before, **options)[0]

"""Rule-based checks that a motion shows the action its caption asked for, on joint positions (T, 22, 3).

The procedural corpus labels every clip with its actions (meta.json); for a generated motion of such a caption
we test a physical signature of each action. Thresholds are deliberately loose: they separate "did it at all"
from "did something else", and the report gives the ground-truth pass rate next to the model's, which is the
calibration (a check the real data fails is a bad check, not a bad model).

Conventions (HumanML3D): metres, y up; joints 20/21 are the left/right wrists, 15 the head, 0 the pelvis,
7/8 the ankles. Facing comes from the hips and shoulders (`Skeleton.face_joints`); "left" is up x forward.
"""
from __future__ import annotations

import re

from typing import Callable

import numpy as np

from train.evaluation.body_frame import displacement, facing, heading_change, own_travel
from train.evaluation.gestures import GESTURE_CHECKS
from train.evaluation.whole_body import WHOLE_BODY_CHECKS

PELVIS, HEAD, L_WRIST, R_WRIST, L_ANKLE, R_ANKLE = 0, 15, 20, 21, 7, 8
JUMP_HEIGHT = 0.10          # pelvis peak above its typical height (m)
MIN_TRAVEL = 0.3            # net root displacement for locomotion (m)
MIN_SIDESTEP = 0.15
MIN_TURN = np.radians(30.0)          # the corpus turns 45-180 degrees; 45-degree turns must pass
MIN_SPIN = np.radians(180.0)
MIN_DROP = 0.15             # pelvis lowering for squat / sit (m)
KICK_HEIGHT = 0.25          # ankle rise above its standing height (m)
CLAP_DISTANCE = 0.25        # wrist joints this close at least once (m; palms touch at ~0.18)
PUNCH_MARGIN = 0.03         # the punching wrist reaches this much further forward than the other (m)

Check = Callable[[np.ndarray], bool]


def _forward(min_travel: float) -> Check:
    """Travel the way the body faces, counted along the path: the corpus's walks and runs may curve (the net
    displacement in the initial frame failed a quarter of its curved walks)."""
    def check(j):
        fwd, side = own_travel(j)
        return fwd > min_travel and fwd > abs(side)
    return check


def _backward(j) -> bool:
    fwd, side = displacement(j)
    return fwd < -MIN_TRAVEL and -fwd > abs(side)


def _sidestep(sign: int) -> Check:
    def check(j):
        fwd, side = displacement(j)
        return sign * side > MIN_SIDESTEP and abs(side) > abs(fwd)
    return check


def _turn(sign: int) -> Check:
    return lambda j: sign * heading_change(j) > MIN_TURN


def _jump(j) -> bool:
    """The pelvis peaks above its typical height and above where the clip starts and ends: a body that lies
    or crawls most of a clip has its standing start as a peak above its median, which is no jump."""
    height = j[:, PELVIS, 1]
    rest = max(float(np.median(height)), float(height[:3].mean()), float(height[-3:].mean()))
    return float(height.max()) - rest > JUMP_HEIGHT


def _jump_forward(j) -> bool:
    """Travel alone would pass a step forward: a jump forward must also leave the ground."""
    return _forward(MIN_TRAVEL / 2)(j) and _jump(j)


def _above_head_fraction(j, wrist: int) -> float:
    return float((j[:, wrist, 1] > j[:, HEAD, 1]).mean())


def _hand_up(side: str) -> Check:
    """One wrist above the head, for longer than the other one."""
    def check(j):
        left, right = _above_head_fraction(j, L_WRIST), _above_head_fraction(j, R_WRIST)
        return left > right and left > 0.1 if side == "left" else right > left and right > 0.1
    return check


def _both_hands_up(j) -> bool:
    return min(_above_head_fraction(j, L_WRIST), _above_head_fraction(j, R_WRIST)) > 0.1


def _lowers(j) -> bool:
    height = j[:, PELVIS, 1]
    return float(height[: max(len(height) // 5, 1)].mean() - height.min()) > MIN_DROP


def _rises(j) -> bool:
    height = j[:, PELVIS, 1]
    return float(height[-max(len(height) // 5, 1):].mean() - height[: max(len(height) // 5, 1)].mean()) > MIN_DROP


def _kick(side: str) -> Check:
    ankle, other = (L_ANKLE, R_ANKLE) if side == "left" else (R_ANKLE, L_ANKLE)

    def check(j):
        rise = j[:, ankle, 1] - np.median(j[:, ankle, 1])
        return float(rise.max()) > KICK_HEIGHT and rise.max() > (j[:, other, 1] - np.median(j[:, other, 1])).max()
    return check


def _punch(side: str) -> Check:
    wrist, other = (L_WRIST, R_WRIST) if side == "left" else (R_WRIST, L_WRIST)

    def reach(j, w):
        f = facing(j)
        return ((j[:, w] - j[:, PELVIS]) * f).sum(-1)

    # By a margin: with no margin any near-symmetric motion (a plank, a crawl) passed one side or the other.
    return lambda j: float(reach(j, wrist).max()) > float(reach(j, other).max()) + PUNCH_MARGIN


def _clap(j) -> bool:
    return float(np.linalg.norm(j[:, L_WRIST] - j[:, R_WRIST], axis=-1).min()) < CLAP_DISTANCE


def _bow(j) -> bool:
    above = j[:, HEAD, 1] - j[:, PELVIS, 1]
    return float(above[: max(len(above) // 5, 1)].mean() - above.min()) > MIN_DROP


ACTION_CHECKS: dict[str, Check] = {
    "walk": _forward(MIN_TRAVEL), "jog": _forward(2 * MIN_TRAVEL), "run": _forward(3 * MIN_TRAVEL),
    "sneak": _forward(MIN_TRAVEL / 2), "jump_forward": _jump_forward,
    "walk_backward": _backward,
    "sidestep_left": _sidestep(+1), "sidestep_right": _sidestep(-1),
    "turn_left": _turn(+1), "turn_right": _turn(-1), "spin": lambda j: abs(heading_change(j)) > MIN_SPIN,
    "jump_in_place": _jump,
    "wave_left": _hand_up("left"), "wave_right": _hand_up("right"), "wave_both": _both_hands_up,
    "raise_left": _hand_up("left"), "raise_right": _hand_up("right"), "raise_both": _both_hands_up,
    "squat": _lowers, "sit_down": _lowers, "stand_up": _rises,
    "kick_left": _kick("left"), "kick_right": _kick("right"),
    "punch_left": _punch("left"), "punch_right": _punch("right"),
    "clap": _clap, "bow": _bow,
}


def _jump_travel(sign: int, sideways: bool, min_travel: float = MIN_TRAVEL / 2) -> Check:
    """A jump that also travels: backward (sign -1, not sideways) or to the left (+1) / right (-1)."""
    def check(j):
        fwd, side = displacement(j)
        along = side if sideways else fwd
        return _jump(j) and sign * along > min_travel and abs(along) > abs(side if not sideways else fwd)
    return check


def _wrist_low(j) -> bool:
    """A hand comes down near the floor (picking up, putting down): below knee height (~0.5 m), reached from
    the feet: the head stays above 0.65 m (the corpus bends to 0.77 m), where lying, crawling or push-ups
    bring it down to the floor with the hands."""
    return float(j[:, [L_WRIST, R_WRIST], 1].min()) < 0.5 and float(j[:, HEAD, 1].min()) > 0.65


# Corpus v2 actions (issue 20) with a simple physical signature; the rest have no check (None).
ACTION_CHECKS.update({
    **{name: _forward(MIN_TRAVEL) for name in ("sprint", "march", "limp", "stagger", "walk_zigzag",
                                                "walk_stop_go")},
    "tiptoe": _forward(MIN_TRAVEL / 2), "jog_backward": _backward,
    "jump_backward": _jump_travel(-1, False), "jump_left": _jump_travel(+1, True),
    "jump_right": _jump_travel(-1, True), "long_jump": lambda j: _forward(1.0)(j) and _jump(j),
    "jump_over": _jump_forward, "tuck_jump": _jump, "jumping_jacks": _jump,
    "crouch": _lowers, "sit_ground": _lowers, "kneel_both": _lowers, "kneel_left": _lowers,
    "kneel_right": _lowers, "lunge_left": _lowers, "lunge_right": _lowers, "get_up_ground": _rises,
    "reach_up_left": _hand_up("left"), "reach_up_right": _hand_up("right"), "reach_up_both": _both_hands_up,
    "cheer": _both_hands_up, "stretch_up": _both_hands_up, "pick_up": _wrist_low, "put_down": _wrist_low,
    "hook_left": _punch("left"), "hook_right": _punch("right"),
    "side_kick_left": _kick("left"), "side_kick_right": _kick("right"),
    "roundhouse_kick_left": _kick("left"), "roundhouse_kick_right": _kick("right"), "soccer_kick": _kick("right"),
    "toe_touches": _bow,
})
# Every other corpus action (issue 21): gestures, combat, sports and look checks, then whole-body ones.
ACTION_CHECKS.update(GESTURE_CHECKS)
ACTION_CHECKS.update(WHOLE_BODY_CHECKS)


def check_action(label: str, joints: np.ndarray) -> bool | None:
    """Whether `joints` (T, 22, 3) shows `label`; None when there is no check for that label."""
    check = ACTION_CHECKS.get(label)
    if check is None:
        return None
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3) or len(joints) < 2:
        raise ValueError(f"joints must be (T>=2, 22, 3), got {joints.shape}")
    return bool(check(joints))


_NAMED_SIDE = re.compile(r"\b(?:left|right)(?:wards?)?\b|clockwise")   # "counterclockwise" too


def mirrored(label: str) -> str | None:
    """The same action on the other side ("kick_left" -> "kick_right"); None for an action with no side."""
    for side, other in (("_left", "_right"), ("_right", "_left")):
        if label.endswith(side):
            return label[: -len(side)] + other
    return None


def check_prompted_action(label: str, prompt: str, joints: np.ndarray) -> bool | None:
    """`check_action` held to what the prompt asks: a sided action asked for without a side ("a person hurls a
    roundhouse kick", the corpus's own captions leave the side out at times) passes on either side."""
    passed = check_action(label, joints)
    other = mirrored(label)
    if passed or other not in ACTION_CHECKS or _NAMED_SIDE.search(prompt.lower()):
        return passed
    return check_action(other, joints)


def window_labels(meta_clip: dict, first: int, stop: int) -> list[str]:
    """Action labels of a caption window [first, stop) that holds exactly one segment (with its overlay).

    Windows spanning several actions are skipped ([]): their net displacement or turn mixes the actions.
    """
    segments = [s for s in meta_clip.get("segments", [])
                if s["start_frame"] < stop and s["end_frame"] > first]
    if len(segments) != 1:
        return []
    segment = segments[0]
    labels = [segment["action"]]
    overlay = segment.get("params", {}).get("overlay")
    if overlay:
        labels.append(overlay["action"])
    return labels


def pass_rates(results: list[tuple[str, bool]]) -> dict[str, dict]:
    """{label: {"n": count, "pass_rate": fraction}} from (label, passed) pairs."""
    table: dict[str, list[bool]] = {}
    for label, passed in results:
        table.setdefault(label, []).append(passed)
    return {label: {"n": len(v), "pass_rate": float(np.mean(v))} for label, v in sorted(table.items())}

"""Checks of the upper-body actions (gestures, combat, sports swings), on joint positions (T, 22, 3).

Each check tests the physical signature a viewer would look for: where a wrist goes relative to its
shoulder (`body_frame.arm`), whether the two hands move together, in which order a swing passes its stations.
Sided checks take the acting side (+1 left, -1 right) and also ask that the other arm does less, so "point
left" fails a right-handed point. Thresholds were set on the corpus's ground truth (tests/test_action_coverage.py)
with margin, loose enough for a model's looser motions.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from train.evaluation.body_frame import (ANKLE, HEAD, L_SHOULDER, L_WRIST, PELVIS, R_SHOULDER, R_WRIST, WRIST, arm,
                                         body, fraction, head_pitch, heading_change, rest_level, swings, trunk,
                                         twist, wrist_gap)

Check = Callable[[np.ndarray], bool]


def _hand_to_head(j: np.ndarray, side: int) -> np.ndarray:
    """(T, 3) wrist relative to the head in the hips' frame (left, up, forward)."""
    return body(j, WRIST[side], HEAD)


def _near_head(j: np.ndarray, side: int, radius: float = 0.25) -> np.ndarray:
    return np.linalg.norm(_hand_to_head(j, side), axis=-1) < radius


def _first_then(first: np.ndarray, then: np.ndarray) -> bool:
    """Some frame satisfies `first` and a later one `then` (a swing passing its stations in order)."""
    if not first.any():
        return False
    return bool(then[int(np.argmax(first)) + 1:].any())


def point(side: int) -> Check:
    """The arm held out straight in front at shoulder height, further than the other arm reaches."""
    def check(j):
        a, o = arm(j, side), arm(j, -side)
        return fraction((a[:, 2] > 0.35) & (np.abs(a[:, 1]) < 0.2)) > 0.25 and a[:, 2].max() > o[:, 2].max() + 0.1
    return check


def reach_side(side: int) -> Check:
    """The arm held out sideways at shoulder height while the other one is not."""
    def check(j):
        a, o = arm(j, side), arm(j, -side)
        return fraction((a[:, 0] > 0.35) & (np.abs(a[:, 1]) < 0.2) & (a[:, 0] > o[:, 0] + 0.15)) > 0.25
    return check


def scratch_head(side: int) -> Check:
    """This hand at the head, level with it or above, for a while; the other hand stays away."""
    def check(j):
        at_head = _near_head(j, side) & (_hand_to_head(j, side)[:, 1] > -0.1)
        return fraction(at_head) > 0.25 and fraction(_near_head(j, -side, 0.3)) < 0.1
    return check


def drink(side: int) -> Check:
    """This hand brought up in front of the mouth (near the head, below its top), the other one not."""
    def check(j):
        rel = _hand_to_head(j, side)
        at_mouth = (np.linalg.norm(rel, axis=-1) < 0.28) & (rel[:, 2] > -0.02)
        return fraction(at_mouth) > 0.15 and fraction(_near_head(j, -side, 0.3)) < 0.1
    return check


def throw_overhand(side: int) -> Check:
    """Wound up behind and above the shoulder, then the wrist travels fast to in front."""
    def check(j):
        a = arm(j, side)
        speed = np.linalg.norm(np.diff(j[:, WRIST[side]], axis=0), axis=-1).max() * 20.0
        return _first_then((a[:, 2] < -0.08) & (a[:, 1] > -0.05), a[:, 2] > 0.2) and speed > 2.0
    return check


def throw_underhand(side: int) -> Check:
    """Swung back low behind the hip, then forward and up in front."""
    def check(j):
        a = arm(j, side)
        return _first_then((a[:, 2] < -0.05) & (a[:, 1] < -0.3), (a[:, 2] > 0.3) & (a[:, 1] > -0.25))
    return check


def arm_stretch(side: int) -> Check:
    """The arm pulled across the chest: its wrist well past the midline."""
    return lambda j: fraction(arm(j, side)[:, 0] < -0.25) > 0.3


def salute(j: np.ndarray) -> bool:
    """The right hand at the forehead for a while, the left one down."""
    rel = _hand_to_head(j, -1)
    return fraction(_near_head(j, -1) & (rel[:, 1] > -0.12)) > 0.25 and fraction(_near_head(j, +1, 0.3)) < 0.1


def _still(j: np.ndarray) -> bool:
    """Standing where it stood: no travel, no turn, no jump or dip of the pelvis, both feet on the floor
    (gestures made on the spot)."""
    height = j[:, PELVIS, 1]
    travel = np.linalg.norm((j[-1, PELVIS] - j[0, PELVIS])[[0, 2]])
    feet_down = max(np.ptp(j[:, ankle, 1]) for ankle in ANKLE.values()) < 0.06
    return travel < 0.3 and np.ptp(height) < 0.08 and feet_down and abs(heading_change(j)) < 0.5


def _both(j: np.ndarray, condition: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return condition(arm(j, +1)) & condition(arm(j, -1))


def shrug(j: np.ndarray) -> bool:
    """Both forearms open out and forward at the waist at once (palms up), neither arm raised."""
    opened = _both(j, lambda a: (a[:, 0] > 0.18) & (a[:, 2] > 0.21) & (a[:, 1] > -0.4) & (a[:, 1] < -0.15))
    raised = _both(j, lambda a: a[:, 1] > 0.1)
    return fraction(opened) > 0.1 and not raised.any() and _still(j)


def catch(j: np.ndarray) -> bool:
    """Both hands out in front, together, then drawn in."""
    out = _both(j, lambda a: a[:, 2] > 0.3) & (wrist_gap(j) < 0.4)
    return _first_then(out, _both(j, lambda a: (a[:, 2] < 0.25) & (a[:, 1] > -0.35)))


def reach_forward(j: np.ndarray) -> bool:
    """Both arms held out in front for a while."""
    return fraction(_both(j, lambda a: (a[:, 2] > 0.38) & (np.abs(a[:, 1]) < 0.25))) > 0.25


def carry(j: np.ndarray) -> bool:
    """Both hands held together in front of the belly for most of the clip."""
    held = _both(j, lambda a: (a[:, 2] > 0.12) & (a[:, 1] > -0.42) & (a[:, 1] < -0.05)) & (wrist_gap(j) < 0.55)
    return fraction(held) > 0.4


def _lean(j: np.ndarray) -> np.ndarray:
    """(T,) forward lean of the trunk against its resting lean (m of neck travel)."""
    forward = trunk(j)[:, 2]
    return forward - rest_level(forward)


def _reach(j: np.ndarray) -> np.ndarray:
    """(T,) how far the *less* extended hand is in front of its shoulder while both are raised to the chest."""
    a, o = arm(j, +1), arm(j, -1)
    reach = np.minimum(a[:, 2], o[:, 2])
    return np.where((a[:, 1] > -0.32) & (o[:, 1] > -0.32), reach, -1.0)


def push(j: np.ndarray) -> bool:
    """Both hands driven forward at chest height with the body leaning into them, never leaning back."""
    reach, lean = _reach(j), _lean(j)
    far = reach > 0.38
    planted = j[:, PELVIS, 1].max() - np.median(j[:, PELVIS, 1]) < 0.08      # a jump's arm swing is no push
    return far.any() and lean[far].max() > 0.04 and lean.min() > -0.03 and planted


def pull(j: np.ndarray) -> bool:
    """Both hands out in front, then drawn in to the chest with the body leaning back."""
    reach, lean = _reach(j), _lean(j)
    drawn = (reach > 0.05) & (reach < 0.3) & (lean < -0.025)
    return _first_then(reach > 0.36, drawn)


def _arms_out(j: np.ndarray, out: float = 0.3) -> np.ndarray:
    return _both(j, lambda a: a[:, 0] > out)


def arm_circles(j: np.ndarray) -> bool:
    """Both arms out to the sides, the wrists circling (moving forward and back repeatedly), the chest square."""
    if fraction(_arms_out(j)) < 0.4:
        return False
    return min(swings(arm(j, s)[:, 2], 0.08) for s in (+1, -1)) >= 4 and np.ptp(twist(j)) < 0.5


def dance_arm_waves(j: np.ndarray) -> bool:
    """Both arms out to the sides rising and falling in turn (one up while the other is down)."""
    if fraction(_arms_out(j, 0.25)) < 0.4:
        return False
    return swings(arm(j, +1)[:, 1] - arm(j, -1)[:, 1], 0.12) >= 3


def cross_arms(j: np.ndarray) -> bool:
    """The forearms folded across the chest: each wrist past the other one's side, in front of the body."""
    crossed = body(j, L_WRIST)[:, 0] - body(j, R_WRIST)[:, 0] < 0.05
    in_front = _both(j, lambda a: (a[:, 2] > 0.05) & (a[:, 1] > -0.4))
    return fraction(crossed & in_front) > 0.3


def hands_on_hips(j: np.ndarray) -> bool:
    """Both hands at the waist, at the sides, not in front (raised from hanging, elbows out)."""
    on_hips = _both(j, lambda a: (a[:, 1] > -0.43) & (a[:, 1] < -0.2) & (a[:, 0] > 0.02) & (np.abs(a[:, 2]) < 0.15))
    return fraction(on_hips) > 0.35


def nod(j: np.ndarray) -> bool:
    """The head tips forward and back at least twice while the trunk stays put."""
    return swings(head_pitch(j), 0.12) >= 3 and np.ptp(trunk(j)[:, 2]) < 0.2 and _still(j)


def shake_head(j: np.ndarray) -> bool:
    """Head and chest turn left and right of the hips repeatedly, by a little, with the arms down."""
    turned = twist(j)
    return swings(turned, 0.12) >= 3 and np.ptp(turned) < 0.8 and _arms_hang(j)


def uppercut(side: int) -> Check:
    """The fist comes up from low to in front of the chin (not out to the side, never behind the shoulder),
    higher than the other hand goes."""
    def check(j):
        a, o = arm(j, side), arm(j, -side)
        strike = (a[:, 1] > 0.05) & (a[:, 2] > 0.15) & (a[:, 0] < 0.05)
        return _first_then(a[:, 1] < -0.2, strike) and a[:, 1].max() > o[:, 1].max() + 0.05 and a[:, 2].min() > -0.1
    return check


def block(j: np.ndarray) -> bool:
    """Both forearms up in front of the face (above the shoulders, short of raised overhead)."""
    up = _both(j, lambda a: (a[:, 1] > 0.02) & (a[:, 1] < 0.4) & (a[:, 2] > 0.05))
    return fraction(up) > 0.25


def boxing_stance(j: np.ndarray) -> bool:
    """Guard up (both fists in front of the chest) most of the clip, no strike, bouncing on the knees."""
    guard = _both(j, lambda a: (a[:, 2] > 0.08) & (a[:, 1] > -0.2) & (a[:, 1] < 0.2) & (a[:, 0] < 0.1))
    strike = max(arm(j, s)[:, 2].max() for s in (+1, -1)) > 0.42
    return fraction(guard) > 0.5 and not strike and swings(j[:, PELVIS, 1], 0.015) >= 3


def _grip(j: np.ndarray) -> np.ndarray:
    """(T, 3) midpoint of the wrists relative to the mid-shoulder point, in the hips' frame."""
    mid = (body(j, L_WRIST) + body(j, R_WRIST)) / 2
    shoulders = (body(j, L_SHOULDER) + body(j, R_SHOULDER)) / 2
    return mid - shoulders


def _two_handed_sweep(j: np.ndarray) -> np.ndarray | None:
    """The grip heights while the hands are together, if they sweep across the body together; else None."""
    grip, together = _grip(j), wrist_gap(j) < 0.25
    if fraction(together) < 0.15 or np.ptp(grip[together, 0]) < 0.2:
        return None
    return grip[together, 1]


def golf_swing(j: np.ndarray) -> bool:
    """Hands together on the club, swept across the body, low at address (well below the shoulders)."""
    heights = _two_handed_sweep(j)
    return heights is not None and heights.min() < -0.35


def baseball_swing(j: np.ndarray) -> bool:
    """Hands together on the bat, swept across the body at chest height."""
    heights = _two_handed_sweep(j)
    return heights is not None and float(np.median(heights)) > -0.3 and heights.min() > -0.35


def tennis_forehand(j: np.ndarray) -> bool:
    """The right hand alone swings from back on its own side to across the body in front."""
    a = arm(j, -1)
    return _first_then((a[:, 0] > 0.12) & (a[:, 2] < -0.05), (a[:, 0] < -0.12) & (a[:, 2] > 0.0))


def tennis_backhand(j: np.ndarray) -> bool:
    """The right hand starts across the body on the left side and swings out to the right."""
    a = arm(j, -1)
    return _first_then(a[:, 0] < -0.18, (a[:, 0] > 0.2) & (a[:, 2] > -0.1))


def basketball_dribble(j: np.ndarray) -> bool:
    """The right hand pumps up and down in front of the hip repeatedly, more than the left one."""
    a, o = arm(j, -1), arm(j, +1)
    return swings(a[:, 1], 0.04) >= 5 and fraction(a[:, 2] > 0.12) > 0.4 and swings(o[:, 1], 0.04) < 3


def basketball_shot(j: np.ndarray) -> bool:
    """Both hands go up above the head together."""
    above = (j[:, L_WRIST, 1] > j[:, HEAD, 1]) & (j[:, R_WRIST, 1] > j[:, HEAD, 1]) & (wrist_gap(j) < 0.4)
    return bool(above.any())


def look_pitch(sign: int) -> Check:
    """The head tips back (sign -1, up) or forward (+1, down) by a good margin and holds it, the trunk nearly
    still (a bow or a toe touch tips the head too, with the whole trunk)."""
    def check(j):
        pitch = sign * (head_pitch(j) - rest_level(head_pitch(j)))
        return fraction(pitch > 0.3) > 0.15 and np.ptp(trunk(j)[:, 2]) < 0.15 and _still(j)
    return check


def _arms_hang(j: np.ndarray) -> bool:
    """Both hands down by the sides most of the time (a look or a head shake, not a swing or a throw)."""
    return fraction(_both(j, lambda a: a[:, 1] < -0.3)) > 0.8


def look(side: int) -> Check:
    """Chest and head turned towards `side` (against the hips) for a while, not the other way, arms down.

    The twist is taken as it is, not against a rest level: a look holds for most of its clip, and a standing
    body's shoulders are square to its hips."""
    def check(j):
        turned = side * twist(j)
        return fraction(turned > 0.35) > 0.2 and turned.min() > -0.3 and _arms_hang(j)
    return check


def look_around(j: np.ndarray) -> bool:
    turned = twist(j)
    return turned.max() > 0.45 and turned.min() < -0.45 and _arms_hang(j)


GESTURE_CHECKS: dict[str, Check] = {
    "salute": salute, "shrug": shrug, "catch": catch, "reach_forward": reach_forward, "carry": carry,
    "push": push, "pull": pull, "arm_circles": arm_circles, "cross_arms": cross_arms,
    "hands_on_hips": hands_on_hips, "nod": nod, "shake_head": shake_head, "block": block,
    "boxing_stance": boxing_stance, "golf_swing": golf_swing, "baseball_swing": baseball_swing,
    "baseball_pitch": throw_overhand(-1), "tennis_forehand": tennis_forehand, "tennis_backhand": tennis_backhand,
    "basketball_dribble": basketball_dribble, "basketball_shot": basketball_shot,
    "dance_arm_waves": dance_arm_waves, "look_up": look_pitch(-1), "look_down": look_pitch(+1),
    "look_around": look_around,
}
for _name, _side in (("left", +1), ("right", -1)):
    GESTURE_CHECKS.update({
        f"point_{_name}": point(_side), f"reach_side_{_name}": reach_side(_side),
        f"scratch_head_{_name}": scratch_head(_side), f"drink_{_name}": drink(_side),
        f"throw_overhand_{_name}": throw_overhand(_side), f"throw_underhand_{_name}": throw_underhand(_side),
        f"arm_stretch_{_name}": arm_stretch(_side), f"uppercut_{_name}": uppercut(_side), f"look_{_name}": look(_side),
    })

"""Checks of whole-body actions the first checks did not cover: dance, standing exercises, paths, one-legged
stances and hops, and the floor work other corpus branches add (lying, crawling, push-ups, sit-ups, stairs).

Same conventions as `gestures`: physical signatures on joint positions (T, 22, 3), thresholds set on the
corpus's ground truth (tests/test_action_coverage.py) with margin. Checks for labels the corpus does not emit
yet (stairs_up, stairs_down) are written from what those actions must look like; the coverage test calibrates
them once the labels are registered.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from train.evaluation.body_frame import (ANKLE, HEAD, L_HIP, L_WRIST, NECK, PELVIS, R_HIP, R_WRIST, arm, body,
                                         displacement, fraction, heading_change, path_length, rise, swings, trunk,
                                         twist)

Check = Callable[[np.ndarray], bool]
FPS = 20.0
IN_PLACE = 0.35          # net travel (m) under which an action counts as done on the spot


def _travel(j: np.ndarray) -> float:
    fwd, side = displacement(j)
    return float(np.hypot(fwd, side))


def _pelvis_peak(j: np.ndarray) -> float:
    height = j[:, PELVIS, 1]
    return float(height.max() - np.median(height))


def _ankle_rise(j: np.ndarray, side: int) -> np.ndarray:
    return rise(j[:, ANKLE[side], 1])


def _arms_out(j: np.ndarray, out: float) -> np.ndarray:
    return (arm(j, +1)[:, 0] > out) & (arm(j, -1)[:, 0] > out)


def sway(j: np.ndarray) -> bool:
    """The upper body rocks from side to side over the hips, on the spot."""
    return swings(trunk(j)[:, 0], 0.035) >= 3 and _travel(j) < IN_PLACE


def twist_dance(j: np.ndarray) -> bool:
    """Chest twisting left and right of the hips again and again, arms kept in (not held out like an exercise)."""
    return swings(twist(j), 0.3) >= 4 and fraction(_arms_out(j, 0.3)) < 0.3


def bounce(j: np.ndarray) -> bool:
    """The pelvis bobs up and down many times with the feet on the floor, on the spot."""
    feet_down = max(_ankle_rise(j, s).max() for s in (+1, -1)) < 0.1
    height = j[:, PELVIS, 1]          # each bob is small (a few cm): many of them, and a clear overall dip
    return swings(height, 0.01) >= 6 and np.ptp(height) > 0.04 and feet_down and _travel(j) < IN_PLACE


def salsa_basic(j: np.ndarray) -> bool:
    """Each foot steps forward or back of the hips and returns, without going anywhere."""
    reach = [np.ptp(body(j, ANKLE[s])[:, 2]) for s in (+1, -1)]
    return min(reach) > 0.12 and _travel(j) < IN_PLACE and _pelvis_peak(j) < 0.08


def pirouette(j: np.ndarray) -> bool:
    """A full turn on the spot with the arms up above the head."""
    up = (j[:, L_WRIST, 1] > j[:, HEAD, 1]) & (j[:, R_WRIST, 1] > j[:, HEAD, 1])
    return abs(heading_change(j)) > np.radians(180.0) and fraction(up) > 0.1


def torso_twists(j: np.ndarray) -> bool:
    """Arms held out to the sides while the chest turns well to both sides."""
    turned = twist(j)
    return turned.max() > 0.3 and turned.min() < -0.3 and fraction(_arms_out(j, 0.25)) > 0.3


def side_stretch(side: int) -> Check:
    """This arm over the head and the trunk bent sideways away from it."""
    def check(j):
        wrist = L_WRIST if side > 0 else R_WRIST
        over = j[:, wrist, 1] > j[:, HEAD, 1]
        lean = -side * trunk(j)[:, 0]          # a stretch holds for most of its clip: no rest level at the ends
        return fraction(over & (lean > 0.06)) > 0.2
    return check


def _steps_in_place(j: np.ndarray, height: float) -> bool:
    """Both feet lift by `height` at least twice each, and the body stays where it is."""
    lifts = [swings(_ankle_rise(j, s), height) for s in (+1, -1)]
    return min(lifts) >= 3 and _travel(j) < IN_PLACE and abs(heading_change(j)) < np.radians(60.0)


def march_in_place(j: np.ndarray) -> bool:
    return _steps_in_place(j, 0.05)


def high_knees(j: np.ndarray) -> bool:
    return _steps_in_place(j, 0.16)


def walk_diagonal(side: int) -> Check:
    """Travel both forward and towards `side`, neither much more than the other."""
    def check(j):
        fwd, left = displacement(j)
        return fwd > 0.25 and side * left > 0.25 and side * left > 0.4 * fwd and fwd > 0.4 * side * left
    return check


def walk_circle(side: int) -> Check:
    """Most of a loop turning towards `side`, covering ground (not turning on the spot)."""
    return lambda j: side * heading_change(j) > np.radians(200.0) and path_length(j) > 2.0


def run_circle(j: np.ndarray) -> bool:
    """Most of a loop either way, fast."""
    speed = path_length(j) / (len(j) / FPS)
    return abs(heading_change(j)) > np.radians(200.0) and speed > 1.8


def hop(side: int) -> Check:
    """Hopping on `side`'s foot: the other foot held off the floor while the body leaves it (a single hop
    too: it holds the foot up for ~40 % of a 2 s clip), on the spot or travelling forward."""
    def check(j):
        held_up = fraction(_ankle_rise(j, -side) > 0.1) > 0.3
        return held_up and swings(j[:, PELVIS, 1], 0.04) >= 3 and _ankle_rise(j, side).max() > 0.03
    return check


def balance(side: int) -> Check:
    """Standing on the other leg with `side`'s foot raised for a while, no hopping."""
    def check(j):
        raised = fraction(_ankle_rise(j, side) > 0.1) > 0.35
        return raised and _ankle_rise(j, -side).max() < 0.08 and swings(j[:, PELVIS, 1], 0.04) < 2
    return check


# ---- floor work and stairs (actions other corpus branches add) -----------------------------------------------

def _front_up(j: np.ndarray) -> np.ndarray:
    """(T,) how much the chest faces up: +1 lying on the back, -1 on the stomach, 0 upright."""
    front = np.cross(j[:, NECK] - j[:, PELVIS], j[:, R_HIP] - j[:, L_HIP])
    return front[:, 1] / np.maximum(np.linalg.norm(front, axis=-1), 1e-9)


def _lying(j: np.ndarray, frames: slice, face: int) -> bool:
    """Head and pelvis near the floor over `frames`, the chest facing up (face +1) or down (-1)."""
    low = float(j[frames, HEAD, 1].mean()) < 0.45 and float(j[frames, PELVIS, 1].mean()) < 0.35
    return low and face * float(_front_up(j[frames]).mean()) > 0.5


def lying_down(face: int) -> Check:
    """Ends lying on the back (face +1) or the stomach (-1)."""
    return lambda j: _lying(j, slice(-max(len(j) // 5, 1), None), face)


def getting_up(face: int) -> Check:
    """Starts lying on the back (face +1) or the stomach (-1) and ends standing (the head a standing height up)."""
    def check(j):
        k = max(len(j) // 5, 1)
        return _lying(j, slice(0, k), face) and float(j[-k:, HEAD, 1].mean()) > 1.3
    return check


def _on_all_fours(j: np.ndarray) -> bool:
    return fraction((j[:, HEAD, 1] < 0.9) & (j[:, [L_WRIST, R_WRIST], 1].min(-1) < 0.25)) > 0.5


def crawl(j: np.ndarray) -> bool:
    """On hands and knees (head low, hands near the floor) and moving forward."""
    return _on_all_fours(j) and displacement(j)[0] > 0.3


def crawl_backward(j: np.ndarray) -> bool:
    return _on_all_fours(j) and displacement(j)[0] < -0.3


def _plank(j: np.ndarray) -> np.ndarray:
    """(T,) bool: a body stretched out face down on its hands (wrists on the floor, far from the ankles)."""
    wrists = j[:, [L_WRIST, R_WRIST]]
    reach = np.linalg.norm((wrists.mean(1) - j[:, list(ANKLE.values())].mean(1))[:, [0, 2]], axis=-1)
    return (wrists[..., 1].max(-1) < 0.15) & (j[:, PELVIS, 1] < 0.5) & (j[:, HEAD, 1] < 0.8) & (reach > 1.0)


def push_ups(j: np.ndarray) -> bool:
    """Held in a plank for a while, the shoulders going down toward the floor and back up at least once."""
    plank = _plank(j)
    shoulders = j[plank][:, [16, 17], 1].mean(-1)
    return fraction(plank) > 0.25 and len(shoulders) > 1 and swings(shoulders, 0.15) >= 1


def sit_ups(j: np.ndarray) -> bool:
    """Pelvis on the floor, lying at some point, and the head rising well up and back down at least once."""
    head = j[:, HEAD, 1]
    return fraction(j[:, PELVIS, 1] < 0.35) > 0.6 and head.min() < 0.35 and swings(head, 0.25) >= 1


def sit_cross_legged(j: np.ndarray) -> bool:
    """Ends seated on the floor."""
    k = max(len(j) // 5, 1)
    return float(j[-k:, PELVIS, 1].mean()) < 0.4 and float(j[:k, PELVIS, 1].mean() - j[-k:, PELVIS, 1].mean()) > 0.3


def stand_up_cross_legged(j: np.ndarray) -> bool:
    """Starts seated on the floor and ends standing."""
    k = max(len(j) // 5, 1)
    return float(j[:k, PELVIS, 1].mean()) < 0.4 and float(j[-k:, PELVIS, 1].mean() - j[:k, PELVIS, 1].mean()) > 0.3


def skip(j: np.ndarray) -> bool:
    """Travelling forward with a bounce in every step (the pelvis rising and falling more than walking's)."""
    return displacement(j)[0] > 0.5 and swings(j[:, PELVIS, 1], 0.06) >= 4


def stairs(sign: int) -> Check:
    """Moving along while the whole body climbs (sign +1) or descends (-1) a good height."""
    def check(j):
        k = max(len(j) // 5, 1)
        climb = sign * float(j[-k:, PELVIS, 1].mean() - j[:k, PELVIS, 1].mean())
        return climb > 0.25 and path_length(j) > 0.4
    return check


def stairs_over(j: np.ndarray) -> bool:
    """The corpus's flight of stairs: up at least two steps (0.15 m or more each) and down the far side, moving along all the while."""
    k = max(len(j) // 5, 1)
    height = j[:, PELVIS, 1]
    peak = float(height.max())
    above_ends = min(peak - float(height[:k].mean()), peak - float(height[-k:].mean()))
    upright = float(j[:, HEAD, 1].min()) > 1.2        # on foot (a push-up's pelvis also rises above its ends)
    return above_ends > 0.18 and path_length(j) > 0.8 and upright


WHOLE_BODY_CHECKS: dict[str, Check] = {
    "sway": sway, "twist": twist_dance, "bounce": bounce, "salsa_basic": salsa_basic, "pirouette": pirouette,
    "torso_twists": torso_twists, "march_in_place": march_in_place, "high_knees": high_knees,
    "run_circle": run_circle, "lie_down": lying_down(+1), "get_up": getting_up(+1),
    "lie_down_stomach": lying_down(-1), "get_up_stomach": getting_up(-1), "crawl": crawl, "crawl_backward": crawl_backward, "push_ups": push_ups, "sit_ups": sit_ups,
    "sit_cross_legged": sit_cross_legged, "stand_up_cross_legged": stand_up_cross_legged, "skip": skip,
    "stairs": stairs_over, "stairs_up": stairs(+1), "stairs_down": stairs(-1),
}
for _name, _side in (("left", +1), ("right", -1)):
    WHOLE_BODY_CHECKS.update({
        f"side_stretch_{_name}": side_stretch(_side), f"walk_diagonal_{_name}": walk_diagonal(_side),
        f"walk_circle_{_name}": walk_circle(_side), f"hop_{_name}": hop(_side), f"balance_{_name}": balance(_side),
    })

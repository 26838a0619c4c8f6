"""Lying on the back: lying down from standing (through a crouch and a seat on the floor), getting up again,
and sit-ups from lying.

Lying down is the ground seat of postures.py carried on: the seated body tips back onto the floor while the
heels slide forward until the legs are out straight. Getting up is the same path backward (roll up to sitting,
draw the feet in, rise), as people do it without a hand. The lying body rests on its back, not on its joints:
the pelvis, spine and head joints stay ~0.1 m above the floor, the thickness of the body around them.
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.base import frames, register
from train.procedural.actions.floor_poses import FloorPose, STAND, at, play, pose
from train.procedural.body import FOOT_PITCH
from train.procedural.timeline import Channels

BACK = -0.42                    # the seat lands this far behind where the feet stood, m
CROUCH = pose(pelvis=(-0.2, 0.5), pitch=0.25, trunk=0.75, arms=0.8, arm=(0.1, -0.3, 0.3))
SEAT = pose(pelvis=(BACK, 0.11), pitch=-0.1, trunk=0.35, arms=0.8, arm=(0.2, -0.35, 0.0))
LIE = pose(pelvis=(BACK, 0.11), pitch=-1.45, trunk=-np.pi / 2, head=-0.3, feet=1.0, ankle=(0.13, 0.08, 0.39),
           foot_pitch=-1.2, knee_pole=(0.0, 1.0, 0.0), arms=1.0, arm=(0.13, -0.1, 0.45))
# Sit-ups: knees bent with the feet flat near the seat, then the trunk curls up toward the knees.
KNEES_UP = pose(LIE, ankle=(0.13, 0.065, BACK + 0.5), foot_pitch=FOOT_PITCH, arm=(0.1, -0.1, 0.47))
CURLED = pose(KNEES_UP, pitch=-0.8, trunk=-0.3, head=0.35, arm=(0.1, -0.2, 0.5))


def _sample_lie(rng):
    return {"frames": frames(rng, 3.4, 4.6)}


def _lying_down_keys(n: int) -> list[tuple[int, FloorPose]]:
    return list(zip(at([0.0, 0.25, 0.5, 0.85, 1.0], n), [STAND, CROUCH, SEAT, LIE, LIE]))


def fill_lie_down(ch: Channels, a: int, b: int, p: dict) -> None:
    play(ch, a, b, _lying_down_keys(p["frames"]) + [(b - a - 1, LIE)])


def fill_get_up(ch: Channels, a: int, b: int, p: dict) -> None:
    """Lying down played backward: lie, sit up, draw the feet in, rise through a crouch and stand, standing by
    85 % of its frames and holding it, as the prone get-up does. Played over all its frames, the rise ended on the
    clip's last frame, and model v15 learned that: it stood up only in the last frames of any length."""
    n = p["frames"]
    hold = max(b - a - n, 0)        # a clip that opens with getting up starts lying (see generate._layout)
    end = hold + int(0.85 * n)
    keys = [(end - t, k) for t, k in reversed(_lying_down_keys(n)[:-1])]   # lying down's last key: its lying hold
    play(ch, a, b, [(0, LIE)] + keys + [(max(b - a - 1, end), STAND)])


def _sample_sit_ups(rng):
    count = int(rng.choice([1, 2, 3, 4]))
    return {"count": count, "cycle_frames": frames(rng, 1.3, 1.9), "crunch": bool(rng.random() < 0.3),
            "frames": 2 * frames(rng, 0.7, 0.9) + count * frames(rng, 1.3, 1.9)}


def fill_sit_ups(ch: Channels, a: int, b: int, p: dict) -> None:
    """Bend the knees, curl up and back down `count` times (a crunch only half way), stretch the legs out."""
    n, cycle, count = b - a, p["cycle_frames"], p["count"]
    lead = max((n - count * cycle) // 2, 4)
    top = pose(CURLED, trunk=-0.9, pitch=-1.2) if p["crunch"] else CURLED
    keys = [(0, LIE), (lead - 2, KNEES_UP)]
    for r in range(count):
        keys += [(lead + int((r + 0.45) * cycle), top), (lead + int((r + 0.55) * cycle), top),
                 (lead + (r + 1) * cycle, KNEES_UP)]
    keys += [(min(keys[-1][0] + lead - 2, n - 1), LIE), (n - 1, LIE)]
    play(ch, a, b, keys)


register("lie_down", _sample_lie, fill_lie_down, "postures", ends_in="lying")
register("get_up", _sample_lie, fill_get_up, "postures", starts_in="lying")
register("sit_ups", _sample_sit_ups, fill_sit_ups, "exercise", starts_in="lying", ends_in="lying")

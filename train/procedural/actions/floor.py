"""Floor actions: sitting down cross-legged on the ground and standing up from it.

The seat is the ground seat of postures.py; what differs is the feet, which are placed in towards the
middle line and forward, under the opposite knee, so the shins cross. Floor actions that pitch the whole body
(lying, push-ups, sit-ups, crawling) are poses of `floor_poses`: lying.py, plank.py and all_fours.py.
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.base import frames, register
from train.procedural.actions.postures import GROUND, seat_curve
from train.procedural.body import SIDES
from train.procedural.signal import smoothstep
from train.procedural.timeline import Channels, FootEvent

CROSS_OFFSET = (-0.1, 0.3)   # (lateral towards the middle, forward) landing offset of each foot, m


def sample_cross(rng):
    return {"frames": frames(rng, 2.4, 3.2), "transition_frames": frames(rng, 1.4, 1.8)}


def fill_sit_cross(ch: Channels, a: int, b: int, p: dict) -> None:
    """Lower onto the ground while each foot slides in and forward (late, once the pelvis is low)."""
    t = p["transition_frames"]
    seat_curve(ch, a, b, smoothstep(np.arange(b - a) / t), GROUND)
    for i, s in enumerate(SIDES):
        start = a + int(0.6 * t) + 3 * i
        ch.events.append(FootEvent("place", start, min(start + 8, b - 1), s, 0.04, offset=CROSS_OFFSET))


def fill_stand_cross(ch: Channels, a: int, b: int, p: dict) -> None:
    """Uncross the feet back under the hips first, then rise as from the ground seat."""
    t = p["transition_frames"]
    for i, s in enumerate(SIDES):
        ch.events.append(FootEvent("place", a + 1 + 3 * i, a + 9 + 3 * i, s, 0.04))
    seat_curve(ch, a, b, 1.0 - smoothstep((np.arange(b - a) - 12) / t), GROUND)


register("sit_cross_legged", sample_cross, fill_sit_cross, "postures", ends_in="cross_legged")
register("stand_up_cross_legged", sample_cross, fill_stand_cross, "postures", starts_in="cross_legged")

"""Dance: swaying, twisting, bouncing, salsa's basic step, a pirouette and waving arms.

Dance is rhythmic, so these are keyframed repetitions at 1-2.5 beats per second; the salsa step moves the
feet forward and back with "place" foot events on the beats.
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.base import register
from train.procedural.actions.keys import Key, keyframed
from train.procedural.actions.turns import _fill_spin, _sample_spin
from train.procedural.body import LEFT, RIGHT, SIDES
from train.procedural.signal import envelope
from train.procedural.timeline import Channels, FootEvent

DANCES = {
    "sway": keyframed([Key(0.25, {"spine": (0, 0, 0.15), "shift": (0.05, 0.0), "B": (0.2, -0.4, 0.1)}),
                       Key(0.75, {"spine": (0, 0, -0.15), "shift": (-0.05, 0.0), "B": (0.2, -0.4, 0.1)})],
                      (1.4, 2.0), counts=(2, 3)),
    "twist": keyframed([Key(0.25, {"spine": (0.5, 0.1, 0), "height": -0.12, "B": (0.2, -0.25, 0.2)}),
                        Key(0.75, {"spine": (-0.5, 0.1, 0), "height": -0.12, "B": (0.2, -0.25, 0.2)})],
                       (0.6, 0.8), counts=(3, 4, 5)),
    "bounce": keyframed([Key(0.0, {"height": -0.02, "B": (0.15, -0.3, 0.2)}),
                         Key(0.5, {"height": -0.1, "B": (0.15, -0.35, 0.2), "head": 0.1}),
                         Key(1.0, {"height": -0.02, "B": (0.15, -0.3, 0.2)})], (0.4, 0.55), counts=(4, 6, 8)),
    "dance_arm_waves": keyframed([Key(0.0, {"A": (0.45, 0.15, 0.05), "O": (0.45, -0.1, 0.05),
                                            "poleB": (0.0, -0.3, -1.0), "spine": (0, 0, 0.08)}),
                                  Key(0.5, {"A": (0.45, -0.1, 0.05), "O": (0.45, 0.15, 0.05),
                                            "poleB": (0.0, -0.3, -1.0), "spine": (0, 0, -0.08)}),
                                  Key(1.0, {"A": (0.45, 0.15, 0.05), "O": (0.45, -0.1, 0.05),
                                            "poleB": (0.0, -0.3, -1.0), "spine": (0, 0, 0.08)})],
                                 (0.8, 1.1), counts=(2, 3, 4)),
}


def _sample_salsa(rng):
    beat = int(rng.integers(7, 10))
    count = int(rng.choice([1, 2]))
    return {"count": count, "beat_frames": beat, "frames": count * 4 * beat + 16}


def _fill_salsa(ch: Channels, a: int, b: int, p: dict) -> None:
    """Left foot steps forward and back, then the right foot steps back and forward (one bar of 4 beats)."""
    beat, t = p["beat_frames"], a + 6
    k = beat - 1
    for _ in range(p["count"]):
        for side, forward in ((LEFT, 0.2), (LEFT, 0.0), (RIGHT, -0.2), (RIGHT, 0.0)):
            ch.events.append(FootEvent("place", t, t + k, side, 0.08, offset=(0.0, forward)))
            t += beat
    n = b - a
    env = envelope(n, 6, 6)
    hips = np.sin(np.pi * np.arange(n) / beat)
    ch.spine[a:b, 2] += 0.1 * hips * env
    ch.shift[a:b, 0] += 0.03 * hips * env
    for s in SIDES:
        ch.arm_target[s][a:b] = [0.2 * s, -0.2, 0.25]
        ch.arm_pole[s][a:b] = [0.6 * s, -1.0, -0.2]
        ch.arm_weight[s][a:b] = env


def _fill_pirouette(ch: Channels, a: int, b: int, p: dict) -> None:
    _fill_spin(ch, a, b, p)
    env = envelope(b - a, 6, 8)
    for s in SIDES:
        ch.arm_target[s][a:b] = [0.1 * s, 0.5, 0.08]
        ch.arm_weight[s][a:b] = env


for _name, (_sample, _fill_for) in DANCES.items():
    register(_name, _sample, _fill_for(RIGHT), "dance")
register("salsa_basic", _sample_salsa, _fill_salsa, "dance")
register("pirouette", _sample_spin, _fill_pirouette, "dance")

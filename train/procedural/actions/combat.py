"""Martial arts and boxing: punches (jab, hook, uppercut), kicks (front, side, roundhouse), guard and block.

Kicks are scripted foot swings (`FootEvent("kick")`) with the weight shifted over the standing leg; punches
extend one wrist from a guard while the trunk rotates into the strike.
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.base import SIDE_NAMES, arm, frames, register
from train.procedural.actions.keys import Key, keyframed
from train.procedural.body import RIGHT, SIDES
from train.procedural.signal import bumps, envelope
from train.procedural.timeline import Channels, FootEvent

GUARD_POLE = (0.4, -1.0, -0.2)
GUARD = {"B": (-0.1, 0.02, 0.2), "poleB": GUARD_POLE}


def _sample_punch(rng):
    count = int(rng.choice([1, 2, 3]))
    return {"count": count, "frames": count * frames(rng, 0.6, 0.9) + 14}


def _fill_punch(side: int):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        n = b - a
        guard = envelope(n, 6, 6)
        strike = np.zeros(n)
        strike[6:n - 6] = bumps(n - 12, p["count"]) ** 2
        for s in SIDES:
            extend = strike if s == side else 0.0 * strike
            target = np.stack([-s * (0.08 + 0.06 * extend), 0.02 + 0.0 * extend, 0.2 + 0.32 * extend], -1)
            arm(ch, s, a, b, target, guard, pole=[0.4 * s, -1.0, -0.2])
        ch.spine[a:b, 0] += -side * 0.35 * strike
    return fill


def _sample_kick(rng):
    return {"frames": frames(rng, 1.4, 2.0), "kick_frames": int(rng.integers(9, 14)),
            "height": round(float(rng.uniform(0.25, 0.6)), 3), "reach": round(float(rng.uniform(0.4, 0.7)), 3)}


def _fill_kick(side: int, lateral: float = 0.0, twist: float = 0.0, reach_scale: float = 1.0):
    """Front kick by default; `lateral` sends the foot out to the side (side kick, roundhouse), `twist` turns
    the trunk away from the kicking leg."""
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        n, k = b - a, p["kick_frames"]
        start = a + (n - k) // 2
        env = envelope(n, (n - k) // 2, (n - k) // 2)
        ch.events.append(FootEvent("kick", start, start + k, side, p["height"], p["reach"] * reach_scale,
                                   offset=(lateral, 0.0)))
        ch.shift[a:b, 0] += -side * 0.06 * env           # weight over the standing leg
        ch.pelvis_pitch[a:b] += -0.12 * env
        ch.spine[a:b, 1] += -0.08 * env
        ch.spine[a:b, 2] += side * 0.3 * (lateral > 0) * env    # lean away from a sideways kick
        ch.spine[a:b, 0] += -side * twist * env
        for s in SIDES:
            ch.arm_target[s][a:b] = [0.3 * s, -0.3, 0.08]
            ch.arm_weight[s][a:b] = 0.7 * env
    return fill


def _strike(wind: dict, hit: dict, cycle=(0.7, 1.0)):
    """A guard, a wind-up and a strike per repetition, back to guard."""
    return keyframed([Key(0.0, {**GUARD, **wind}), Key(0.45, {**GUARD, **hit}), Key(0.9, GUARD)], cycle,
                     counts=(1, 1, 2, 3))


HOOK = _strike({"A": (0.25, 0.05, 0.12), "spine": (0.25, 0.0, 0.0)},
               {"A": (-0.18, 0.08, 0.36), "poleA": (1.0, 0.2, -0.2), "spine": (-0.45, 0.05, 0.0)})
UPPERCUT = _strike({"A": (0.05, -0.32, 0.18), "spine": (0.2, 0.1, 0.0), "height": -0.08},
                   {"A": (-0.02, 0.25, 0.3), "poleA": (0.2, -1.0, 0.0), "spine": (-0.35, -0.1, 0.0)})
BLOCK = keyframed([Key(0.0, {"B": (-0.08, 0.25, 0.2), "poleB": (0.3, -1.0, 0.3), "head": 0.15,
                             "spine": (0, 0.1, 0)}),
                   Key(1.0, {"B": (-0.08, 0.25, 0.2), "poleB": (0.3, -1.0, 0.3), "head": 0.15,
                             "spine": (0, 0.1, 0)})], (1.0, 1.8))
STANCE = keyframed([Key(0.0, {**GUARD, "height": -0.06, "spine": (0.3, 0.1, 0.0)}),
                    Key(0.5, {**GUARD, "height": -0.1, "spine": (0.3, 0.12, 0.0)}),
                    Key(1.0, {**GUARD, "height": -0.06, "spine": (0.3, 0.1, 0.0)})], (0.5, 0.7),
                   counts=(3, 4, 5))

for _side in SIDES:
    _n = SIDE_NAMES[_side]
    register(f"punch_{_n}", _sample_punch, _fill_punch(_side), "combat")
    register(f"hook_{_n}", HOOK[0], HOOK[1](_side), "combat")
    register(f"uppercut_{_n}", UPPERCUT[0], UPPERCUT[1](_side), "combat")
    register(f"kick_{_n}", _sample_kick, _fill_kick(_side), "combat")
    register(f"side_kick_{_n}", _sample_kick, _fill_kick(_side, lateral=0.45, reach_scale=0.1), "combat")
    register(f"roundhouse_kick_{_n}", _sample_kick, _fill_kick(_side, lateral=0.25, twist=0.5, reach_scale=0.8),
             "combat")
register("block", BLOCK[0], BLOCK[1](RIGHT), "combat")
register("boxing_stance", STANCE[0], STANCE[1](RIGHT), "combat")

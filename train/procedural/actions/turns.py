"""Turning on the spot (stepping around), spinning, and looking around (trunk and head only).

A turn's yaw rate integrates to exactly its angle over the turning frames, so a 180-degree turn ends facing
back; the settle step then squares the feet.
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.base import SIDE_NAMES, frames, register
from train.procedural.actions.keys import Key, keyframed
from train.procedural.actions.locomotion import SETTLE_S
from train.procedural.body import DT, FPS, LEFT, RIGHT, SIDES
from train.procedural.signal import envelope
from train.procedural.timeline import Channels

TURN_ANGLES = (45.0, 90.0, 90.0, 135.0, 180.0, 180.0)


def sample_turn(angle_choices, rate_range):
    def sample(rng):
        angle = float(rng.choice(angle_choices))
        rate = float(rng.uniform(*rate_range))
        return {"angle_deg": angle, "frames": int(round((np.radians(angle) / rate + SETTLE_S + 0.4) * FPS))}
    return sample


def fill_turn(sign: int, cadence: float, duty: float, step_height: float = 0.05):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        moving = b - int(SETTLE_S * FPS)
        env = envelope(moving - a, 4, 4)
        ch.yaw_rate[a:moving] = sign * np.radians(p["angle_deg"]) * env / (env.sum() * DT)
        ch.stepping[a:moving] = 1.0
        ch.settle[moving:b] = 1.0
        ch.cadence[a:b], ch.duty[a:b], ch.step_height[a:b] = cadence, duty, step_height
    return fill


def _sample_spin(rng):
    p = sample_turn([360.0], (4.0, 6.0))(rng)
    p["direction"] = int(rng.choice([LEFT, RIGHT]))
    return p


def _fill_spin(ch: Channels, a: int, b: int, p: dict) -> None:
    # Fast pivoting steps: a higher clearance keeps the swinging foot clear of the floor while it turns.
    fill_turn(p["direction"], 1.5, 0.55, 0.1)(ch, a, b, p)
    for s in SIDES:
        ch.arm_target[s][a:b] = [0.35 * s, -0.3, 0.05]
        ch.arm_weight[s][a:b] = envelope(b - a, 6, 8) * 0.7


def _sample_look(rng):
    return {"frames": frames(rng, 2.5, 4.0), "angle_deg": round(float(rng.uniform(50, 75)), 1)}


def _fill_look_around(ch: Channels, a: int, b: int, p: dict) -> None:
    """Trunk and head sweep left, then right, then back: the feet stay planted."""
    n = b - a
    u = np.arange(n) / max(n - 1, 1)
    ch.spine[a:b, 0] += np.radians(p["angle_deg"]) * np.sin(2 * np.pi * u) * envelope(n, 4, 4)
    ch.head_pitch[a:b] += -0.1 * np.sin(np.pi * u) ** 2


def _fill_look(side: int):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        ch.spine[a:b, 0] += side * np.radians(p["angle_deg"]) * envelope(b - a, 10, 10)
    return fill


for _side in SIDES:
    _n = SIDE_NAMES[_side]
    register(f"turn_{_n}", sample_turn(TURN_ANGLES, (1.8, 2.6)), fill_turn(_side, 1.1, 0.62), "turns")
    register(f"look_{_n}", _sample_look, _fill_look(_side), "turns")
register("spin", _sample_spin, _fill_spin, "turns")
register("look_around", _sample_look, _fill_look_around, "turns")
_s, _f = keyframed([Key(0.5, {"head": -0.45, "spine": (0, -0.15, 0)})], (1.2, 2.0))
register("look_up", _s, _f(LEFT), "turns")
_s, _f = keyframed([Key(0.5, {"head": 0.5, "spine": (0, 0.15, 0)})], (1.2, 2.0))
register("look_down", _s, _f(LEFT), "turns")

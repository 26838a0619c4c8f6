"""Arm and upper-body gestures with the feet planted: waving, raising, pointing, throwing, reaching, carrying.

Wrist targets are relative to the shoulder in the heading frame. The older gestures (wave, raise, clap) are
code because they oscillate; the rest are keyframed poses (`keys`), authored for the acting arm.
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.base import SIDE_NAMES, arm, register, sample_duration
from train.procedural.actions.keys import Key, keyframed
from train.procedural.body import DT, RIGHT, SIDES
from train.procedural.signal import envelope
from train.procedural.timeline import Channels


def _fill_wave(sides):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        n = b - a
        env = envelope(n, 7, 7)
        sway = np.sin(2 * np.pi * p["rate_hz"] * np.arange(n) * DT)
        for s in sides:
            target = np.stack([s * (0.22 + 0.1 * sway), np.full(n, 0.3), np.full(n, 0.1)], -1)
            arm(ch, s, a, b, target, env, pole=[1.0 * s, -0.6, -0.3])
        ch.head_pitch[a:b] += -0.1 * env
    return fill


def _fill_raise(sides):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        env = envelope(b - a, 12, 12)
        for s in sides:
            arm(ch, s, a, b, [0.1 * s, 0.52, 0.05], env, pole=[1.0 * s, 0.0, -0.5])
    return fill


def _fill_clap(ch: Channels, a: int, b: int, p: dict) -> None:
    n = b - a
    env = envelope(n, 7, 7)
    opening = 0.5 * (1 + np.cos(2 * np.pi * p["rate_hz"] * np.arange(n) * DT))
    for s in SIDES:
        target = np.stack([s * (-0.13 + 0.14 * opening), np.full(n, -0.1), np.full(n, 0.32)], -1)
        arm(ch, s, a, b, target, env, pole=[1.0 * s, -0.8, -0.3])


def _fill_carry(ch: Channels, a: int, b: int, p: dict) -> None:
    """Both hands hold something in front of the belly (a box), elbows bent."""
    env = envelope(b - a, 8, 8)
    for s in SIDES:
        arm(ch, s, a, b, [0.1 * s, -0.22, 0.32], env, pole=[0.5 * s, -1.0, -0.3])


OUT = (1.0, -0.3, -0.3)          # elbow pointing out to the side
DOWN = (0.2, -1.0, 0.0)          # elbow pointing down


def _held(pose: dict, hold_s=(1.2, 2.2)):
    """A pose reached, held, and released."""
    return keyframed([Key(0.0, pose), Key(1.0, pose)], hold_s)


GESTURES_SIDED = {
    "point": _held({"A": (0.08, 0.05, 0.5), "poleA": (1.0, -0.5, -0.3), "head": -0.05}),
    "reach_up": _held({"A": (0.05, 0.52, 0.06), "poleA": (1.0, 0.0, -0.5), "head": -0.25}),
    "reach_side": _held({"A": (0.5, 0.02, 0.05), "poleA": (0.0, -0.5, -1.0), "spine": (0.0, 0.0, 0.2),
                         "shift": (0.04, 0.0)}),
    "scratch_head": keyframed([Key(0.0, {"A": (-0.06, 0.3, 0.02), "poleA": (1.0, 0.4, 0.0), "head": 0.15}),
                               Key(0.5, {"A": (-0.1, 0.32, 0.04), "poleA": (1.0, 0.4, 0.0), "head": 0.15}),
                               Key(1.0, {"A": (-0.06, 0.3, 0.02), "poleA": (1.0, 0.4, 0.0), "head": 0.15})],
                              (0.5, 0.7), counts=(2, 3, 4)),
    "drink": keyframed([Key(0.0, {"A": (-0.05, -0.25, 0.3), "poleA": DOWN}),
                        Key(0.35, {"A": (-0.1, 0.1, 0.17), "poleA": DOWN, "head": -0.35}),
                        Key(0.7, {"A": (-0.1, 0.1, 0.17), "poleA": DOWN, "head": -0.35}),
                        Key(1.0, {"A": (-0.05, -0.25, 0.3), "poleA": DOWN})], (1.8, 2.6)),
    "throw_overhand": keyframed([Key(0.0, {"A": (0.2, 0.3, -0.28), "poleA": OUT, "O": (0.1, 0.0, 0.4),
                                           "spine": (0.5, -0.1, 0.0)}),
                                 Key(0.45, {"A": (0.0, 0.28, 0.42), "poleA": OUT, "O": (0.1, -0.3, 0.1),
                                            "spine": (-0.4, 0.3, 0.0)}),
                                 Key(0.75, {"A": (-0.15, -0.35, 0.3), "O": (0.1, -0.4, -0.1),
                                            "spine": (-0.5, 0.45, 0.0)})], (0.9, 1.3)),
    "throw_underhand": keyframed([Key(0.0, {"A": (0.05, -0.45, -0.3), "spine": (0.3, 0.15, 0.0)}),
                                  Key(0.5, {"A": (0.02, -0.05, 0.45), "spine": (-0.2, 0.1, 0.0)}),
                                  Key(0.8, {"A": (0.0, 0.15, 0.4), "spine": (-0.25, 0.0, 0.0)})], (0.9, 1.3)),
    "arm_stretch": _held({"A": (-0.42, 0.0, 0.18), "poleA": (0.0, -1.0, 0.0), "O": (-0.05, -0.05, 0.25),
                          "poleO": DOWN}, (2.0, 3.0)),
}

GESTURES_BOTH = {
    "salute": _held({"A": (-0.1, 0.3, 0.14), "poleA": (1.0, 0.0, 0.2), "head": -0.05}, (1.2, 2.0)),
    "shrug": keyframed([Key(0.5, {"B": (0.2, -0.3, 0.22), "poleB": (0.3, -1.0, 0.0), "head": -0.1,
                                  "spine": (0.0, -0.05, 0.0)})], (0.9, 1.3)),
    "cheer": keyframed([Key(0.0, {"B": (0.16, 0.5, 0.06), "poleB": OUT, "head": -0.3}),
                        Key(0.5, {"B": (0.18, 0.3, 0.1), "poleB": OUT, "head": -0.3}),
                        Key(1.0, {"B": (0.16, 0.5, 0.06), "poleB": OUT, "head": -0.3})], (0.5, 0.7),
                       counts=(2, 3, 4)),
    "catch": keyframed([Key(0.3, {"B": (-0.02, 0.1, 0.45), "poleB": DOWN}),
                        Key(0.6, {"B": (-0.06, -0.1, 0.25), "poleB": DOWN, "spine": (0, 0.1, 0)}),
                        Key(1.0, {"B": (-0.06, -0.15, 0.22), "poleB": DOWN})], (1.4, 2.0)),
    "reach_forward": _held({"B": (0.0, 0.0, 0.5), "poleB": OUT, "spine": (0.0, 0.25, 0.0)}),
    "reach_up_both": _held({"B": (0.08, 0.52, 0.05), "poleB": (1.0, 0.0, -0.5), "head": -0.25}),
    "pick_up": keyframed([Key(0.45, {"B": (-0.02, -0.52, 0.22), "spine": (0.0, 1.1, 0.0), "height": -0.38,
                                     "pitch": 0.45, "head": 0.2, "shift": (0.0, -0.1)}),
                          Key(0.55, {"B": (-0.04, -0.52, 0.22), "spine": (0.0, 1.1, 0.0), "height": -0.38,
                                     "pitch": 0.45, "head": 0.2, "shift": (0.0, -0.1)}),
                          Key(1.0, {"B": (-0.04, -0.25, 0.3), "poleB": DOWN})], (2.2, 3.0), hold_s=(0.3, 0.6)),
    "put_down": keyframed([Key(0.0, {"B": (-0.04, -0.25, 0.3), "poleB": DOWN}),
                           Key(0.5, {"B": (-0.02, -0.52, 0.22), "spine": (0.0, 1.1, 0.0), "height": -0.38,
                                     "pitch": 0.45, "head": 0.2, "shift": (0.0, -0.1)}),
                           Key(0.6, {"B": (-0.02, -0.52, 0.22), "spine": (0.0, 1.1, 0.0), "height": -0.38,
                                     "pitch": 0.45, "head": 0.2, "shift": (0.0, -0.1)})], (2.2, 3.0)),
    "push": keyframed([Key(0.2, {"B": (0.02, -0.05, 0.2), "poleB": DOWN}),
                       Key(0.7, {"B": (0.02, 0.0, 0.5), "poleB": DOWN, "spine": (0, 0.25, 0),
                                 "shift": (0.0, 0.08)}),
                       Key(1.0, {"B": (0.02, 0.0, 0.45), "poleB": DOWN, "spine": (0, 0.2, 0)})], (1.2, 1.8),
                      counts=(1, 1, 2)),
    "pull": keyframed([Key(0.2, {"B": (0.02, 0.0, 0.5), "poleB": DOWN, "spine": (0, 0.15, 0)}),
                       Key(0.7, {"B": (0.04, -0.1, 0.18), "poleB": DOWN, "spine": (0, -0.15, 0),
                                 "shift": (0.0, -0.06)}),
                       Key(1.0, {"B": (0.04, -0.1, 0.2), "poleB": DOWN})], (1.2, 1.8), counts=(1, 1, 2)),
    "stretch_up": _held({"B": (0.1, 0.52, 0.0), "poleB": (1.0, 0.0, -0.5), "spine": (0.0, -0.12, 0.0),
                         "head": -0.2}, (2.0, 3.0)),
    "arm_circles": keyframed([Key(0.0, {"B": (0.5, 0.1, 0.0), "poleB": (0.0, -0.3, -1.0)}),
                              Key(0.25, {"B": (0.47, 0.0, 0.13), "poleB": (0.0, -0.3, -1.0)}),
                              Key(0.5, {"B": (0.5, -0.1, 0.0), "poleB": (0.0, -0.3, -1.0)}),
                              Key(0.75, {"B": (0.47, 0.0, -0.13), "poleB": (0.0, -0.3, -1.0)}),
                              Key(1.0, {"B": (0.5, 0.1, 0.0), "poleB": (0.0, -0.3, -1.0)})], (0.7, 1.0),
                             counts=(3, 4, 5)),
    "cross_arms": _held({"A": (-0.2, -0.2, 0.2), "O": (-0.22, -0.17, 0.17), "poleB": (1.0, -0.6, 0.0)},
                        (2.0, 3.0)),
    "hands_on_hips": _held({"B": (0.1, -0.33, -0.02), "poleB": (1.0, 0.0, -0.3)}, (2.0, 3.0)),
    "nod": keyframed([Key(0.5, {"head": 0.4}), Key(1.0, {"head": 0.0})], (0.6, 0.8), counts=(2, 3)),
    "shake_head": keyframed([Key(0.25, {"spine": (0.18, 0.0, 0.0)}), Key(0.75, {"spine": (-0.18, 0.0, 0.0)})],
                            (0.6, 0.8), counts=(2, 3)),
    "bow": keyframed([Key(0.5, {"spine": (0.0, 0.75, 0.0), "pitch": 0.35, "shift": (0.0, -0.06), "head": 0.2})],
                     (1.4, 2.2)),
}

for _side in SIDES:
    _n = SIDE_NAMES[_side]
    register(f"wave_{_n}", sample_duration(2.0, 3.5, (1.5, 2.5)), _fill_wave((_side,)), "arms")
    register(f"raise_{_n}", sample_duration(1.5, 3.0), _fill_raise((_side,)), "arms")
    for _name, (_sample, _fill_for) in GESTURES_SIDED.items():
        register(f"{_name}_{_n}", _sample, _fill_for(_side), "arms")
register("wave_both", sample_duration(2.0, 3.5, (1.5, 2.5)), _fill_wave(SIDES), "arms")
register("raise_both", sample_duration(1.5, 3.0), _fill_raise(SIDES), "arms")
register("clap", sample_duration(1.5, 3.0, (2.0, 3.0)), _fill_clap, "arms")
register("carry", sample_duration(2.0, 3.0), _fill_carry, "arms")
for _name, (_sample, _fill_for) in GESTURES_BOTH.items():
    register(_name, _sample, _fill_for(RIGHT), "arms")      # one-handed ones (salute) use the right hand

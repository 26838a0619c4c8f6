"""Sports swings and throws, authored right-handed (most people in mocap catalogues are), feet planted.

Two-handed swings (golf, baseball) keep both wrists together on the club or bat; the trunk twist carries
most of the motion, as in the real strokes.
"""
from __future__ import annotations

from train.procedural.actions.base import register
from train.procedural.actions.combat import _fill_kick, _sample_kick
from train.procedural.actions.keys import Key, keyframed
from train.procedural.body import RIGHT

OUT = (1.0, -0.3, -0.3)
DOWN = (0.2, -1.0, 0.0)

SPORTS = {
    "golf_swing": keyframed([
        Key(0.0, {"A": (-0.16, -0.45, 0.25), "O": (-0.16, -0.45, 0.25), "spine": (0.0, 0.45, 0.0), "head": 0.3}),
        Key(0.35, {"A": (0.1, 0.15, 0.0), "O": (-0.35, 0.05, 0.15), "spine": (0.7, 0.4, 0.0), "head": 0.3}),
        Key(0.55, {"A": (-0.16, -0.45, 0.25), "O": (-0.16, -0.45, 0.25), "spine": (0.0, 0.45, 0.0), "head": 0.3}),
        Key(0.8, {"A": (-0.4, 0.15, 0.1), "O": (0.1, 0.2, 0.05), "spine": (-0.7, 0.2, 0.0)})], (1.8, 2.4)),
    "baseball_swing": keyframed([
        Key(0.0, {"A": (-0.1, -0.05, 0.15), "O": (-0.25, -0.05, 0.15), "spine": (0.4, 0.15, 0.0), "height": -0.05}),
        Key(0.5, {"A": (-0.2, -0.12, 0.4), "O": (-0.2, -0.12, 0.4), "spine": (-0.3, 0.15, 0.0), "height": -0.08}),
        Key(0.8, {"A": (-0.45, 0.05, 0.1), "O": (0.0, 0.05, 0.2), "spine": (-0.8, 0.1, 0.0)})], (1.2, 1.6)),
    "baseball_pitch": keyframed([
        Key(0.0, {"A": (-0.1, -0.2, 0.25), "O": (-0.1, -0.2, 0.25), "poleB": DOWN}),
        Key(0.4, {"A": (0.25, 0.25, -0.3), "poleA": OUT, "O": (0.15, 0.05, 0.4), "spine": (0.6, -0.15, 0.0),
                  "height": -0.06}),
        Key(0.65, {"A": (0.0, 0.3, 0.42), "poleA": OUT, "O": (0.1, -0.3, 0.0), "spine": (-0.5, 0.4, 0.0),
                   "height": -0.1}),
        Key(0.9, {"A": (-0.2, -0.4, 0.3), "O": (0.1, -0.4, -0.1), "spine": (-0.6, 0.6, 0.0)})], (1.4, 1.9)),
    "tennis_forehand": keyframed([
        Key(0.0, {"A": (0.3, -0.1, -0.3), "O": (-0.1, 0.0, 0.4), "spine": (0.6, 0.1, 0.0), "height": -0.06}),
        Key(0.5, {"A": (0.1, -0.05, 0.45), "O": (0.1, -0.2, 0.2), "spine": (-0.1, 0.1, 0.0), "height": -0.08}),
        Key(0.85, {"A": (-0.35, 0.15, 0.25), "O": (0.1, -0.3, 0.1), "spine": (-0.6, 0.05, 0.0)})], (1.2, 1.6)),
    "tennis_backhand": keyframed([
        Key(0.0, {"A": (-0.4, -0.1, 0.05), "O": (-0.3, -0.1, 0.15), "spine": (-0.6, 0.1, 0.0), "height": -0.06}),
        Key(0.5, {"A": (0.0, -0.05, 0.45), "spine": (0.0, 0.1, 0.0), "height": -0.08}),
        Key(0.85, {"A": (0.45, 0.15, 0.15), "poleA": (0.0, -0.5, -1.0), "spine": (0.5, 0.05, 0.0)})], (1.2, 1.6)),
    "basketball_dribble": keyframed([
        Key(0.0, {"A": (0.12, -0.3, 0.3), "poleA": DOWN, "spine": (0, 0.3, 0), "height": -0.1, "head": -0.1}),
        Key(0.5, {"A": (0.12, -0.48, 0.32), "poleA": DOWN, "spine": (0, 0.32, 0), "height": -0.12, "head": -0.1}),
        Key(1.0, {"A": (0.12, -0.3, 0.3), "poleA": DOWN, "spine": (0, 0.3, 0), "height": -0.1, "head": -0.1})],
        (0.45, 0.6), counts=(3, 4, 5, 6)),
    "basketball_shot": keyframed([
        Key(0.0, {"A": (-0.08, -0.05, 0.25), "O": (-0.1, -0.02, 0.22), "poleB": DOWN, "height": -0.15,
                  "spine": (0, 0.15, 0)}),
        Key(0.55, {"A": (-0.04, 0.5, 0.18), "O": (-0.1, 0.4, 0.15), "poleB": DOWN, "head": -0.3}),
        Key(0.8, {"A": (-0.04, 0.48, 0.22), "O": (-0.05, 0.3, 0.15), "poleB": DOWN, "head": -0.3})], (1.4, 1.9)),
}

for _name, (_sample, _fill_for) in SPORTS.items():
    register(_name, _sample, _fill_for(RIGHT), "sports")
register("soccer_kick", _sample_kick, _fill_kick(RIGHT, twist=0.3, reach_scale=1.2), "sports")

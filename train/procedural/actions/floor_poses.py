"""Whole-body poses on the floor (lying, sitting up, a plank) and easing a clip through a list of them.

A floor action is a few `FloorPose`s at chosen frames; `play` eases every field between consecutive poses
(smoothstep, so each pose is reached at rest) and writes the channels. Positions are in the root's heading
frame (x out to the side, y height above the floor, z forward); hands and feet are mirrored per side. The
pelvis and trunk pitch the whole body: + tips it forward (face down), - back (face up), and `trunk` is the
trunk's pitch in the world, so a lying trunk is -pi/2 whatever the pelvis does.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from train.procedural.actions.keys import ease
from train.procedural.body import ANKLE_HEIGHT, FOOT_PITCH, SIDES, STAND_HEIGHT
from train.procedural.build import SPINE_CURVE
from train.procedural.timeline import Channels

ANKLE_UP = max(ANKLE_HEIGHT.values())


@dataclass(frozen=True)
class FloorPose:
    pelvis: tuple = (0.0, STAND_HEIGHT)          # (forward of the root, height), m
    pitch: float = 0.0                           # pelvis pitch, rad
    trunk: float = 3 * SPINE_CURVE               # trunk pitch in the world, rad (standing: the spine's curve)
    head: float = 0.0                            # nod, rad (+ down toward the chest)
    feet: float = 0.0                            # weight of `ankle` / `foot_pitch` / `knee_pole` over the gait
    ankle: tuple = (0.11, ANKLE_UP, 0.0)         # (out, height, forward)
    foot_pitch: float = FOOT_PITCH               # toe-down, rad
    knee_pole: tuple = (0.0, 1.0, 0.3)           # (out, up, forward)
    hands: float = 0.0                           # weight of `hand` (planted wrist) over `arm`
    hand: tuple = (0.2, 0.04, 0.4)
    arms: float = 0.0                            # weight of `arm` (wrist relative to the shoulder) over hanging
    arm: tuple = (0.04, -0.5, 0.03)
    elbow_pole: tuple = (0.3, -0.2, -1.0)


STAND = FloorPose()


def pose(base: FloorPose = STAND, **changes) -> FloorPose:
    return replace(base, **changes)


def _track(keys: list[tuple[int, FloorPose]], name: str, n: int) -> np.ndarray:
    return ease([(t, getattr(p, name)) for t, p in keys], n, 0)


def play(ch: Channels, a: int, b: int, keys: list[tuple[int, FloorPose]]) -> None:
    """Ease frames [a, b) through `keys` ((frame from a, pose), in order) and write the channels."""
    n = b - a
    v = {f.name: _track(keys, f.name, n) for f in fields(FloorPose)}
    ch.height[a:b] += v["pelvis"][:, 1] - STAND_HEIGHT
    ch.shift[a:b, 1] += v["pelvis"][:, 0]
    ch.pelvis_pitch[a:b] += v["pitch"]
    ch.spine[a:b, 1] += v["trunk"] - 3 * SPINE_CURVE
    ch.head_pitch[a:b] += v["head"]
    ch.floor[a:b] = v["feet"]
    for s in SIDES:
        mirror = np.array([s, 1.0, 1.0])
        ch.floor_ankle[s][a:b] = v["ankle"] * mirror
        ch.floor_foot_pitch[s][a:b] = v["foot_pitch"]
        ch.floor_knee_pole[s][a:b] = v["knee_pole"] * mirror
        ch.hand_floor[s][a:b] = v["hand"] * mirror
        ch.hand_weight[s][a:b] = v["hands"]
        ch.arm_target[s][a:b] = v["arm"] * mirror
        ch.arm_weight[s][a:b] = v["arms"]
        ch.arm_pole[s][a:b] = v["elbow_pole"] * mirror


def at(fractions: list[float], n: int) -> list[int]:
    """Frames of poses placed at `fractions` of n frames (the last one on the final frame)."""
    return [int(round(f * (n - 1))) for f in fractions]

"""Lying on the stomach: down onto hands and knees, then the hips sink forward and the chest comes down onto
folded arms; getting up is the same path backward (push up onto all fours, then stand).

The knees and shins stay where all fours put them: lying down, the thighs swing forward about the knees until
the pelvis rests a thigh's length ahead of them, so nothing slides along the floor.
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.all_fours import FOURS, onto_all_fours
from train.procedural.actions.base import frames, register
from train.procedural.actions.floor_poses import STAND, FloorPose, play, pose
from train.procedural.timeline import Channels

# Pelvis a thigh's length ahead of the knees, resting on the hips, legs out behind (as straight as the reach
# cap allows; what bend is left turns the knees out, not into the floor); the chest a little up, hands under
# the chin with the elbows out.
PRONE = pose(FOURS, pelvis=(0.39, 0.12), pitch=np.pi / 2, trunk=np.pi / 2 - 0.25, head=-0.8,
             knee_pole=(1.0, 0.3, 0.0), hand=(0.1, 0.04, 1.0), elbow_pole=(1.0, 0.2, 0.0))
# Half way: the thighs have swung forward about the planted knees (the pelvis is carried by them here).
LOWERING = pose(FOURS, pelvis=(0.27, 0.36), pitch=1.5, trunk=1.55, hand=(0.2, 0.12, 0.8))


def _sample(rng):
    return {"frames": frames(rng, 4.0, 5.0)}


def _keys(n: int) -> list[tuple[int, FloorPose]]:
    """Standing to lying on the stomach over 85 % of n frames (the rest is spent lying, or standing after)."""
    down = int(round(0.4 * n))
    return onto_all_fours(down) + [(down + int(0.2 * n), LOWERING), (down + int(0.45 * n), PRONE)]


def _on_knees(ch: Channels, a: int, keys: list[tuple[int, FloorPose]]) -> None:
    """The thighs carry the pelvis over the knees from all fours until half way down onto the stomach."""
    frames_of = {id(k): t for t, k in keys}
    first, last = sorted((frames_of[id(FOURS)], frames_of[id(LOWERING)]))
    ch.on_knees[a + first - 4:a + last + 4] = 1.0


def fill_lie_prone(ch: Channels, a: int, b: int, p: dict) -> None:
    keys = _keys(p["frames"])
    play(ch, a, b, keys + [(b - a - 1, PRONE)])
    _on_knees(ch, a, keys)


def fill_get_up_prone(ch: Channels, a: int, b: int, p: dict) -> None:
    n = p["frames"]
    hold = max(b - a - n, 0)        # a clip that opens with getting up starts lying (see generate._layout)
    end = hold + int(0.85 * n)
    keys = [(end - t, k) for t, k in reversed(_keys(n))]
    play(ch, a, b, [(0, PRONE)] + keys + [(max(b - a - 1, end), STAND)])
    _on_knees(ch, a, keys)


register("lie_down_stomach", _sample, fill_lie_prone, "postures", ends_in="lying_prone")
register("get_up_stomach", _sample, fill_get_up_prone, "postures", starts_in="lying_prone")

"""Crawling on hands and knees: down onto all fours from standing, crawling forward (or backward), and up again.

The crawl is a diagonal gait, as babies and adults crawl: the left hand swings with the right knee, then the
right hand with the left knee. Hands and knees stay where they were put down (`plants.pin`) while the root
moves on, and the thighs hold the pelvis up over the planted knees (`floor_layer.kneeling_height`); the shins
and the tops of the feet lie on the floor.
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.base import frames, register
from train.procedural.actions.floor_poses import FloorPose, STAND, at, play, pose
from train.procedural.body import FPS, LEFT, SIDES, THIGH
from train.procedural.floor_layer import KNEE_HEIGHT
from train.procedural.signal import smoothstep
from train.procedural.timeline import Channels, FootEvent

SHIN_BACK = -0.42               # ankles behind the knees (which sit under the hips), m
INSTEP = 2.79                   # foot pitched down and back onto its top (toes on the floor), rad
HANDS = (0.17, 0.04, 0.5)
FOURS = pose(pelvis=(0.0, KNEE_HEIGHT + 0.99 * THIGH[LEFT]), pitch=1.45, trunk=1.5, head=-0.8, feet=1.0,
             ankle=(0.12, 0.06, SHIN_BACK), foot_pitch=INSTEP, knee_pole=(0.0, -0.5, 1.0), hands=1.0, hand=HANDS,
             elbow_pole=(0.2, 0.0, -1.0))
REACH = pose(pelvis=(-0.1, 0.42), pitch=0.6, trunk=1.2, head=-0.5, hands=1.0, hand=HANDS, elbow_pole=(0.2, 0.0, -1.0))
# The feet leave the floor before they turn over and travel back (a small hop onto the hands), so the toes do
# not sweep along the floor; the knees then come down under the hips.
HOP = pose(REACH, feet=1.0, ankle=(0.11, 0.2, -0.02), foot_pitch=0.6, knee_pole=(0.0, 0.1, 1.0))
KNEEL = pose(FOURS, pelvis=(-0.02, 0.5), pitch=1.1, ankle=(0.12, 0.3, -0.36), foot_pitch=2.0)
DUTY = 0.65                     # share of a crawl cycle each limb is planted


def sample_crawl(rng):
    return {"frames": frames(rng, 6.0, 8.5), "speed": round(float(rng.uniform(0.22, 0.34)), 3),
            "cadence": round(float(rng.uniform(0.65, 0.85)), 3)}


def onto_all_fours(down: int) -> list[tuple[int, FloorPose]]:
    """Keys from standing onto hands and knees over `down` frames (played backward: back up to standing)."""
    return list(zip(at([0.0, 0.35, 0.5, 0.72, 1.0], down + 1), [STAND, REACH, HOP, KNEEL, FOURS]))


def _transitions(n: int, down: int) -> list[tuple[int, FloorPose]]:
    """Down onto all fours over `down` frames, hold until `down` frames from the end, then back up."""
    keys = onto_all_fours(down)
    return keys + [(n - 1 - t, k) for t, k in reversed(keys)]


def _crawl_swings(ch: Channels, a: int, start: int, stop: int, cadence: float) -> None:
    """Plant every limb over [start, stop) except while it swings; diagonal pairs half a cycle apart."""
    period = FPS / cadence
    swing = int(round((1 - DUTY) * period))
    for s in SIDES:
        ch.hand_plant[s][a + start:a + stop] = 1.0
        ch.foot_plant[s][a + start:a + stop] = 1.0
    for s in SIDES:
        first = start + 4 + (0 if s == LEFT else int(period / 2))
        for t0 in np.arange(first, stop - swing - 4, period).astype(int):
            ch.hand_plant[s][a + t0:a + t0 + swing] = 0.0
            ch.foot_plant[-s][a + t0 + 2:a + t0 + 2 + swing] = 0.0     # the knee follows its hand a little late


def fill_crawl(direction: int):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        n, down = b - a, int(1.6 * FPS)
        play(ch, a, b, _transitions(n, down))
        ch.on_knees[a + down - 4:b - down + 4] = 1.0
        crawl = slice(a + down + 6, b - down - 6)
        m = crawl.stop - crawl.start
        u = np.arange(m) / FPS
        ramp = 0.6
        speed = p["speed"] * np.minimum(smoothstep(u / ramp), smoothstep((u[-1] - u) / ramp))
        ch.vel[crawl, 1] = direction * speed
        # A planted limb lands ahead of its mean spot by half the ground the body covers while it is planted.
        lead = direction * p["speed"] * DUTY / p["cadence"] / 2
        for s in SIDES:
            ch.hand_floor[s][crawl, 2] += lead * (speed / p["speed"])
            ch.floor_ankle[s][crawl, 2] += lead * (speed / p["speed"])
        _crawl_swings(ch, a, down - 2, n - down - 8, p["cadence"])     # lifted before the feet turn to rise
        # The gait's feet were left where the crawl began; move them (unseen, the floor pose owns the feet
        # here) under the body, so that standing up again starts from where the crawl ended.
        for s in SIDES:
            ch.events.append(FootEvent("place", b - down - 4, b - down + 2, s, 0.05))
    return fill


register("crawl", sample_crawl, fill_crawl(+1), "locomotion")
register("crawl_backward", sample_crawl, fill_crawl(-1), "locomotion")

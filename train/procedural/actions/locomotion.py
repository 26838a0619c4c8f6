"""Locomotion: a gait phase plus a root velocity; the feet and the body follow in `gait` / `build`.

Each gait is a row of numbers (speed, direction, cadence, stance share, clearance, posture). Speeds and
cadences follow published human ranges: walking 1.2-1.5 m/s at ~1 stride/s, running 3-4.5 m/s at ~1.4
strides/s with a flight phase (stance share < 0.5), sprinting 5-6.5 m/s. Paths may curve, circle or zigzag.
Skipping (step-hops) and stairs are scripted foot events rather than gait rows (see their sections below).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from train.procedural.actions.base import GRAVITY, frames, register
from train.procedural.body import DT, FPS, SIDES
from train.procedural.signal import envelope, gaussian_smooth, hermite
from train.procedural.styles import STEP_SIZE
from train.procedural.timeline import Channels, FootEvent

SETTLE_S = 0.7
MAX_ACTION_FRAMES = 185          # leaves room for the lead-in inside a clip of < 200 frames
DIAGONAL = float(np.sqrt(0.5))


@dataclass(frozen=True)
class Gait:
    speed: tuple[float, float]       # m/s range
    direction: tuple[float, float]   # heading-frame unit direction (x left, z forward)
    cadence: Callable[[float], float]
    duty: float
    step_height: float
    width: float = 0.11
    height: float = 0.0              # pelvis offset
    lean: float = 0.05               # spine forward bend
    swing: float = 0.45              # arm swing gain
    bend: float = 0.0                # forearm carriage
    curves: bool = True              # may follow a curved path
    path: str = "straight"           # straight | circle | zigzag | stop_go
    arms: tuple | None = None        # fixed wrist target (outward, up, forward) instead of a swing
    head: float = 0.0                # head nod (+ down)
    bob: float = 0.0                 # extra pelvis bob per step (marching knees, limping, staggering)
    sway: float = 0.0                # side-to-side trunk lean amplitude (stagger, drunk)
    seconds: tuple | None = None     # clip length range; default by speed (see `_sample`)


# Real walkers lengthen the step more than they quicken it: ~0.9 strides/s (108 steps/min, 0.72 m steps) at
# 1.3 m/s, ~0.95 at 1.5 m/s, ~0.77 (0.52 m steps) at a slow 0.8 m/s.
_walk_cadence = lambda v: 0.55 + 0.27 * v         # noqa: E731
_run_cadence = lambda v: 1.15 + 0.07 * v          # noqa: E731  1.4-1.45 strides/s at 3.5-4.5 m/s
GAITS = {
    "walk": Gait((1.22, 1.48), (0, 1), _walk_cadence, 0.6, 0.07, height=-0.02, seconds=(4.0, 7.0)),
    "jog": Gait((2.0, 2.8), (0, 1), lambda v: 1.15 + 0.05 * v, 0.42, 0.10, height=-0.04, lean=0.12,
                swing=0.5, bend=0.8),
    "run": Gait((3.0, 4.2), (0, 1), _run_cadence, 0.36, 0.14, height=-0.06, lean=0.22, swing=0.6, bend=1.0),
    "sprint": Gait((5.0, 6.3), (0, 1), lambda v: 1.55 + 0.06 * v, 0.3, 0.18, height=-0.08, lean=0.32, swing=0.7,
                   bend=1.0, curves=False),
    "sneak": Gait((0.3, 0.55), (0, 1), lambda v: 0.55 + 0.2 * v, 0.7, 0.07, height=-0.16, lean=0.35,
                  swing=0.1, bend=0.6, curves=False, arms=(0.1, -0.25, 0.3)),
    "tiptoe": Gait((0.35, 0.6), (0, 1), lambda v: 0.9 + 0.2 * v, 0.62, 0.05, height=-0.01, lean=0.0, swing=0.1,
                   curves=False, arms=(0.25, -0.3, 0.1)),
    "march": Gait((1.0, 1.3), (0, 1), lambda v: 0.85 + 0.1 * v, 0.58, 0.2, height=-0.02, lean=-0.03, swing=0.9,
                  curves=False, head=-0.05),
    "limp": Gait((0.5, 0.8), (0, 1), lambda v: 0.75 + 0.1 * v, 0.65, 0.05, height=-0.04, lean=0.12, swing=0.2,
                 curves=False, bob=0.04, sway=0.12),
    "stagger": Gait((0.6, 0.9), (0, 1), lambda v: 0.8 + 0.1 * v, 0.6, 0.06, width=0.15, height=-0.03, lean=0.1,
                    swing=0.3, curves=False, sway=0.22, path="zigzag", head=0.15),
    "walk_backward": Gait((0.5, 0.9), (0, -1), lambda v: 0.75 + 0.25 * v, 0.62, 0.06, height=-0.03,
                          swing=0.3, curves=False),
    "jog_backward": Gait((1.3, 1.8), (0, -1), lambda v: 1.1 + 0.05 * v, 0.45, 0.08, height=-0.04, lean=0.05,
                         swing=0.4, bend=0.8, curves=False),
    "sidestep_left": Gait((0.3, 0.5), (1, 0), lambda v: 0.9, 0.65, 0.06, width=0.16, swing=0.0, curves=False),
    "sidestep_right": Gait((0.3, 0.5), (-1, 0), lambda v: 0.9, 0.65, 0.06, width=0.16, swing=0.0, curves=False),
    "walk_diagonal_left": Gait((0.9, 1.2), (DIAGONAL, DIAGONAL), _walk_cadence, 0.62, 0.07, width=0.13,
                               swing=0.3, curves=False),
    "walk_diagonal_right": Gait((0.9, 1.2), (-DIAGONAL, DIAGONAL), _walk_cadence, 0.62, 0.07, width=0.13,
                                swing=0.3, curves=False),
    "walk_circle_left": Gait((1.0, 1.3), (0, 1), _walk_cadence, 0.6, 0.07, height=-0.02, curves=False,
                             path="circle"),
    "walk_circle_right": Gait((1.0, 1.3), (0, 1), _walk_cadence, 0.6, 0.07, height=-0.02, curves=False,
                              path="circle"),
    "run_circle": Gait((3.0, 3.6), (0, 1), _run_cadence, 0.36, 0.14, height=-0.06, lean=0.22, swing=0.6,
                       bend=1.0, curves=False, path="circle"),
    "walk_zigzag": Gait((1.1, 1.4), (0, 1), _walk_cadence, 0.6, 0.07, height=-0.02, curves=False, path="zigzag"),
    "walk_stop_go": Gait((1.15, 1.4), (0, 1), _walk_cadence, 0.6, 0.07, height=-0.02, curves=False,
                         path="stop_go"),
}


def _sample(gait: Gait, name: str):
    def sample(rng):
        speed = float(rng.uniform(*gait.speed))
        # Fast gaits need time to reach speed (about 1 s to run, as people accelerate) and to slow down.
        low, high = (2.5, 5.0) if speed < 2.5 else (3.5, 5.5) if speed < 4.5 else (3.2, 4.2)
        # A plain walk runs long enough that its start and stop (~1.2 s) do not dominate its average speed.
        low, high = gait.seconds or (low, high)
        p = {"speed": round(speed, 3), "frames": frames(rng, low, high), "curve": 0.0}
        if gait.curves and rng.random() < 0.3:
            p["curve"] = round(float(rng.choice([-1, 1]) * rng.uniform(0.35, 0.8)), 3)  # rad/s, + = left
        if gait.path == "circle":
            # A full circle of 2.5-4 m diameter: yaw rate = speed / radius, length = one lap.
            radius = float(rng.uniform(0.9, 1.3)) * (2.2 if speed > 2.5 else 1.0)
            sign = -1.0 if name.endswith("right") else 1.0
            p["curve"] = round(sign * speed / radius, 3)
            p["frames"] = min(int(round((2 * np.pi * radius / speed + 1.2 + SETTLE_S) * FPS)), MAX_ACTION_FRAMES)
        if gait.path in ("zigzag", "stop_go"):
            p["frames"] = frames(rng, 4.5, 7.0)
        return p
    return sample


def _path_shape(gait: Gait, n: int, p: dict) -> tuple[np.ndarray, np.ndarray]:
    """(speed multiplier, yaw rate) over the moving frames for the gait's path kind."""
    t = np.arange(n) / FPS
    if gait.path == "zigzag":
        # Alternate headings +-35 degrees every ~1.3 s: a yaw rate that is the derivative of a smooth square wave.
        period = 2.6
        heading = np.radians(35) * np.tanh(3 * np.sin(2 * np.pi * t / period))
        return np.ones(n), np.gradient(heading, 1 / FPS)
    if gait.path == "stop_go":
        # Walk, stand still ~1 s, walk on: the stepping stops with the speed (see `fill`).
        mid = n // 2
        half = int(0.6 * FPS)
        gate = np.ones(n)
        gate[mid - half: mid + half] = 0.0
        return gate, np.zeros(n)
    return np.ones(n), np.full(n, p["curve"])


def _fill(gait: Gait):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        moving = b - int(SETTLE_S * FPS)
        n = moving - a
        ramp = int((0.3 + 0.12 * min(p["speed"], 4.0)) * FPS)
        env = envelope(n, ramp, ramp)
        gate, yaw_rate = _path_shape(gait, n, p)
        if gait.path == "stop_go":
            gate = np.minimum(gate, 1.0)
            env = env * _soft_gate(gate, ramp)
        ch.vel[a:moving] = np.asarray(gait.direction, float) * p["speed"] * env[:, None]
        ch.yaw_rate[a:moving] = yaw_rate * env
        # Stepping stops only where the body stands still (the stop of "stop and go").
        ch.stepping[a:moving] = (env > 0.05) | (np.arange(n) < ramp) | (np.arange(n) > n - ramp)
        ch.settle[moving:b] = 1.0
        # "small steps" / "big steps" (styles.apply_size): the same gait with a quicker or slower cadence.
        ch.cadence[a:b] = gait.cadence(p["speed"]) * STEP_SIZE.get(p.get("size"), (1.0, 1.0))[1]
        ch.duty[a:b], ch.step_height[a:b], ch.stance_width[a:b] = gait.duty, gait.step_height, gait.width
        ch.height[a:moving] += gait.height * env
        ch.spine[a:moving, 1] += gait.lean * env
        ch.head_pitch[a:moving] += gait.head * env
        ch.arm_swing[a:moving] = gait.swing * env
        ch.arm_bend[a:moving] = gait.bend * env
        if gait.sway:
            t = np.arange(n) / FPS
            ch.spine[a:moving, 2] += gait.sway * np.sin(np.pi * gait.cadence(p["speed"]) * 2 * t) * env
        if gait.bob:
            t = np.arange(n) / FPS
            ch.height[a:moving] += -gait.bob * np.abs(np.sin(np.pi * gait.cadence(p["speed"]) * t)) * env
        if gait.arms is not None:
            for s in SIDES:
                ch.arm_target[s][a:moving] = [gait.arms[0] * s, gait.arms[1], gait.arms[2]]
                ch.arm_weight[s][a:moving] = env
    return fill


def _soft_gate(gate: np.ndarray, ramp: int) -> np.ndarray:
    """A 0/1 gate with smooth edges `ramp` frames long (how fast a walker stops and starts)."""
    kernel = np.ones(max(ramp, 1)) / max(ramp, 1)
    return np.clip(np.convolve(gate, kernel, mode="same"), 0.0, 1.0)


for _name, _gait in GAITS.items():
    register(_name, _sample(_gait, _name), _fill(_gait), "locomotion")


# Skipping: step-hop, step-hop on alternating feet. Each half-cycle (one foot's step and hop) lasts SKIP_HALF
# frames: the foot lands from its step, pushes off 2 frames later into a short hop on the same foot while the
# other foot swings forward (both feet airborne: the flight phase), lands the hop, and the other foot's step
# lands as the next half-cycle begins. Children and adults skip at ~2 step-hops/s and 1.4-2 m/s.
SKIP_HALF = 10
SKIP_PUSH = 2
SKIP_DIP = 0.04                   # pelvis dip absorbing each landing, m


def _skip_sample(rng):
    count = int(rng.integers(4, 9))
    return {"speed": round(float(rng.uniform(1.4, 1.9)), 3), "count": count,
            "flight_frames": int(rng.integers(4, 6)), "frames": count * SKIP_HALF + 8 + int(SETTLE_S * FPS)}


def _skip_fill(ch: Channels, a: int, b: int, p: dict) -> None:
    half, fl, count = SKIP_HALF, p["flight_frames"], p["count"]
    v0 = GRAVITY * (fl + 1) * DT / 2          # take-off speed of a ballistic hop lasting fl + 1 frames
    start, first = a + 4, SIDES[0] if p["count"] % 2 else SIDES[1]
    stop = start + count * half
    ch.lift[a:start] = hermite(start - a, 0.0, 0.0, -SKIP_DIP, 0.0, DT)
    for k in range(count):
        side, t = first * (-1) ** k, start + k * half
        takeoff, land = t + SKIP_PUSH, t + SKIP_PUSH + fl
        ch.lift[t:takeoff] = hermite(SKIP_PUSH, -SKIP_DIP, 0.0, 0.0, v0, DT)
        tau = np.arange(1, fl + 1) * DT
        ch.lift[takeoff:land] = v0 * tau - 0.5 * GRAVITY * tau ** 2
        ch.lift[land:t + half] = hermite(t + half - land, 0.0, -v0, -SKIP_DIP, 0.0, DT)
        ch.events.append(FootEvent("jump", takeoff, land, side, 0.04))
        # The free foot leaves as this one lands its step and comes down as this hop's stance ends.
        ch.events.append(FootEvent("place", t + 1, t + half, -side, 0.12))
    ch.lift[stop:stop + 6] = hermite(6, -SKIP_DIP, 0.0, 0.0, 0.0, DT)
    env = envelope(stop - start, half, half)
    ch.vel[start:stop] = np.array([0.0, p["speed"]]) * env[:, None]
    ch.settle[stop + 2:b] = 1.0
    ch.spine[start:stop, 1] += 0.08 * env
    ch.arm_swing[start:stop] = 0.9 * env
    ch.arm_bend[start:stop] = 0.7 * env


register("skip", _skip_sample, _skip_fill, "locomotion")


# Stairs: the corpus floor is flat, so a stairs clip climbs a short flight and goes down the far side, ending
# on the floor it started on (any action may follow). Step over step: each landing is one tread further and
# one rise higher (then lower); the root moves one tread per step, so the treads are where the feet land.
# Rise and tread follow building codes (0.15-0.18 m rise, 0.28 m tread); ~95 steps/min on stairs.
STAIR_TREAD = 0.28
STAIR_STEP = 13                    # frames per step
STAIR_SWING = 8                    # of which the foot is in the air


def _stairs_sample(rng):
    steps = int(rng.integers(2, 5))
    return {"steps": steps, "rise": round(float(rng.uniform(0.15, 0.18)), 3),
            "frames": (2 * steps + 1) * STAIR_STEP + 6 + int(SETTLE_S * FPS)}


def stair_levels(steps: int, rise: float) -> list[float]:
    """Heights of the successive landings: up the flight, down the far side, the last foot beside the other."""
    up = list(range(1, steps + 1)) + list(range(steps - 1, -1, -1)) + [0]
    return [round(k * rise, 4) for k in up]


def _stairs_fill(ch: Channels, a: int, b: int, p: dict) -> None:
    levels = stair_levels(p["steps"], p["rise"])
    start, first = a + 4, SIDES[p["steps"] % 2]
    walk_end = start + (len(levels) - 1) * STAIR_STEP
    ch.vel[start:walk_end, 1] = STAIR_TREAD / (STAIR_STEP * DT)
    support = np.zeros(ch.num_frames)          # the pelvis rides on the mean height of the two feet
    feet = {s: 0.0 for s in SIDES}
    for k, level in enumerate(levels):
        side, t = first * (-1) ** k, start + k * STAIR_STEP
        clearance = 0.08 + max(level - feet[side], 0.0)
        ch.events.append(FootEvent("place", t, t + STAIR_SWING, side, clearance, level=level))
        feet[side] = level
        support[t + STAIR_SWING:] = (feet[SIDES[0]] + feet[SIDES[1]]) / 2
    ch.lift[a:b] += gaussian_smooth(support[a:b], 3.0)
    ch.settle[walk_end + STAIR_STEP:b] = 1.0
    ch.spine[start:walk_end, 1] += 0.1
    ch.arm_swing[start:walk_end] = 0.3


register("stairs", _stairs_sample, _stairs_fill, "locomotion")

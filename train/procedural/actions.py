"""The action library: each action samples its parameters and writes its intent into `Channels`.

An action owns frames [a, b) of a clip. Parameters are plain JSON values (they go to meta.json). Sides use
the character's frame: "left" is +x (`LEFT` = +1). Actions that start seated (`stand_up`) or end seated
(`sit_down`) declare it so sequences stay consistent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from train.procedural.body import DT, FPS, LEFT, RIGHT, SIDES
from train.procedural.signal import bumps, envelope, smoothstep
from train.procedural.timeline import Channels, FootEvent

SIDE_NAMES = {LEFT: "left", RIGHT: "right"}
GRAVITY = 9.81


@dataclass(frozen=True)
class Action:
    name: str
    sample: Callable[[np.random.Generator], dict]   # -> params, always with "frames"
    fill: Callable[[Channels, int, int, dict], None]
    starts_seated: bool = False
    ends_seated: bool = False


def _frames(rng, low_s: float, high_s: float) -> int:
    return int(round(rng.uniform(low_s, high_s) * FPS))


# ---------------------------------------------------------------------------------------------------------
# Locomotion: a gait phase plus a root velocity; the feet and the body follow in `gait`/`build`.

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


GAITS = {
    "walk": Gait((0.8, 1.5), (0, 1), lambda v: 0.8 + 0.2 * v, 0.6, 0.07, height=-0.02),
    "jog": Gait((1.8, 2.6), (0, 1), lambda v: 1.15 + 0.05 * v, 0.42, 0.10, height=-0.04, lean=0.12,
                swing=0.5, bend=0.8),
    "run": Gait((2.8, 3.8), (0, 1), lambda v: 1.3 + 0.05 * v, 0.36, 0.13, height=-0.06, lean=0.2,
                swing=0.6, bend=1.0),
    "sneak": Gait((0.3, 0.55), (0, 1), lambda v: 0.55 + 0.2 * v, 0.7, 0.07, height=-0.16, lean=0.35,
                  swing=0.1, bend=0.6, curves=False),
    "walk_backward": Gait((0.4, 0.9), (0, -1), lambda v: 0.75 + 0.25 * v, 0.62, 0.06, height=-0.03,
                          swing=0.3, curves=False),
    "sidestep_left": Gait((0.25, 0.4), (1, 0), lambda v: 0.9, 0.65, 0.06, width=0.16, swing=0.0, curves=False),
    "sidestep_right": Gait((0.25, 0.4), (-1, 0), lambda v: 0.9, 0.65, 0.06, width=0.16, swing=0.0, curves=False),
}
SETTLE_S = 0.7


def _sample_locomotion(gait: Gait):
    def sample(rng):
        params = {"speed": round(float(rng.uniform(*gait.speed)), 3), "frames": _frames(rng, 2.0, 5.0),
                  "curve": 0.0}
        if gait.curves and rng.random() < 0.3:
            params["curve"] = round(float(rng.choice([-1, 1]) * rng.uniform(0.35, 0.8)), 3)  # rad/s, + = left
        return params
    return sample


def _fill_locomotion(gait: Gait):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        settle = int(SETTLE_S * FPS)
        moving = b - settle
        ramp = int((0.3 + 0.12 * p["speed"]) * FPS)
        env = envelope(moving - a, ramp, ramp)
        ch.vel[a:moving] = np.asarray(gait.direction, float) * p["speed"] * env[:, None]
        ch.yaw_rate[a:moving] = p["curve"] * env
        ch.stepping[a:moving] = 1.0
        ch.settle[moving:b] = 1.0
        ch.cadence[a:b] = gait.cadence(p["speed"])
        ch.duty[a:b], ch.step_height[a:b], ch.stance_width[a:b] = gait.duty, gait.step_height, gait.width
        ch.height[a:moving] = gait.height * env
        ch.spine[a:moving, 1] = gait.lean * env
        ch.arm_swing[a:moving] = gait.swing * env
        ch.arm_bend[a:moving] = gait.bend * env
        if gait is GAITS["sneak"]:
            for s in SIDES:
                ch.arm_target[s][a:moving] = [0.1 * s, -0.25, 0.3]
                ch.arm_weight[s][a:moving] = env
    return fill


def _sample_turn(angle_choices, rate_range):
    def sample(rng):
        angle = float(rng.choice(angle_choices))
        rate = float(rng.uniform(*rate_range))
        return {"angle_deg": angle, "frames": int(round((np.radians(angle) / rate + SETTLE_S + 0.3) * FPS))}
    return sample


def _fill_turn(sign: int, cadence: float, duty: float):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        moving = b - int(SETTLE_S * FPS)
        env = envelope(moving - a, 4, 4)
        ch.yaw_rate[a:moving] = sign * np.radians(p["angle_deg"]) * env / (env.sum() * DT)
        ch.stepping[a:moving] = 1.0
        ch.settle[moving:b] = 1.0
        ch.cadence[a:b], ch.duty[a:b], ch.step_height[a:b] = cadence, duty, 0.05
    return fill


def _fill_spin(ch: Channels, a: int, b: int, p: dict) -> None:
    _fill_turn(p["direction"], 1.5, 0.55)(ch, a, b, p)
    for s in SIDES:
        ch.arm_target[s][a:b] = [0.35 * s, -0.3, 0.05]
        ch.arm_weight[s][a:b] = envelope(b - a, 6, 8) * 0.7


def _sample_spin(rng):
    p = _sample_turn([360.0], (4.0, 6.0))(rng)
    p["direction"] = int(rng.choice([LEFT, RIGHT]))
    return p


# ---------------------------------------------------------------------------------------------------------
# Whole-body actions with planted feet or scripted foot events.

def _sample_jump(forward: bool):
    def sample(rng):
        count = 1 if forward else int(rng.choice([1, 1, 2, 3]))
        flight = int(rng.integers(7, 10))
        p = {"count": count, "flight_frames": flight, "frames": count * (7 + flight + 9) + 6}
        if forward:
            p["distance"] = round(float(rng.uniform(0.4, 0.9)), 3)
        return p
    return sample


def _fill_jump(ch: Channels, a: int, b: int, p: dict) -> None:
    flight = p["flight_frames"]
    t = a
    for _ in range(p["count"]):
        crouch_end, land = t + 7, t + 7 + flight
        tf = (flight + 1) * DT
        tau = np.arange(1, flight + 1) * DT
        ch.lift[crouch_end:land] = 0.5 * GRAVITY * tau * (tf - tau)
        # Crouch and landing dips go into the unsmoothed lift channel too: smoothing would bleed them into the
        # flight and flatten the jump.
        ch.lift[t:crouch_end] = -0.13 * np.sin(np.pi * np.arange(1, 8) / 8) ** 0.7
        ch.lift[land:land + 9] = -0.15 * np.sin(np.pi * np.arange(1, 10) / 10)
        ch.spine[t:land + 9, 1] += 0.25 * bumps(land + 9 - t, 1)
        ch.events.append(FootEvent("jump", crouch_end, land))
        if "distance" in p:
            ch.vel[crouch_end:land, 1] = p["distance"] / (flight * DT)
        for s in SIDES:
            ch.arm_target[s][t:crouch_end] = [0.06 * s, -0.42, -0.22]
            ch.arm_target[s][crouch_end:land + 9] = [0.12 * s, 0.05, 0.38]
            ch.arm_weight[s][t:land + 9] = bumps(land + 9 - t, 1) ** 0.5
        t = land + 9


def _sample_reps(per_rep_s, counts):
    def sample(rng):
        count = int(rng.choice(counts))
        return {"count": count, "frames": count * _frames(rng, *per_rep_s) + 4,
                "depth": round(float(rng.uniform(0.3, 0.42)), 3)}
    return sample


def _fill_squat(ch: Channels, a: int, b: int, p: dict) -> None:
    hump = bumps(b - a, p["count"])
    ch.height[a:b] += -p["depth"] * hump
    ch.shift[a:b, 1] += -0.12 * hump
    ch.spine[a:b, 1] += 0.45 * hump
    ch.pelvis_pitch[a:b] += 0.25 * hump
    for s in SIDES:
        ch.arm_target[s][a:b] = [0.06 * s, -0.05, 0.46]
        ch.arm_weight[s][a:b] = hump ** 0.5


SEAT_DEPTH, SEAT_BACK = 0.40, 0.25


def _seat_curve(ch: Channels, a: int, b: int, u: np.ndarray) -> None:
    """Pelvis low and back by `u` in [0, 1] (0 standing, 1 seated); the trunk leans forward mid-way."""
    mid = np.sin(np.pi * u)
    ch.height[a:b] += -SEAT_DEPTH * u
    ch.shift[a:b, 1] += -SEAT_BACK * u
    ch.spine[a:b, 1] += 0.45 * mid + 0.08 * u
    ch.pelvis_pitch[a:b] += 0.2 * mid
    for s in SIDES:
        ch.arm_target[s][a:b] = [0.02 * s, -0.38, 0.3]
        ch.arm_weight[s][a:b] = 0.8 * u


def _sample_seat(rng):
    return {"frames": _frames(rng, 2.0, 3.0), "transition_frames": _frames(rng, 1.2, 1.8)}


def _fill_sit(ch: Channels, a: int, b: int, p: dict) -> None:
    n = b - a
    _seat_curve(ch, a, b, smoothstep(np.arange(n) / p["transition_frames"]))


def _fill_stand(ch: Channels, a: int, b: int, p: dict) -> None:
    n = b - a
    _seat_curve(ch, a, b, 1.0 - smoothstep((np.arange(n) - 4) / p["transition_frames"]))


def _sample_kick(rng):
    return {"frames": _frames(rng, 1.4, 2.0), "kick_frames": int(rng.integers(9, 14)),
            "height": round(float(rng.uniform(0.25, 0.6)), 3), "reach": round(float(rng.uniform(0.4, 0.7)), 3)}


def _fill_kick(side: int):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        n, k = b - a, p["kick_frames"]
        start = a + (n - k) // 2
        env = envelope(n, (n - k) // 2, (n - k) // 2)
        ch.events.append(FootEvent("kick", start, start + k, side, p["height"], p["reach"]))
        ch.shift[a:b, 0] += -side * 0.06 * env           # weight over the standing leg
        ch.pelvis_pitch[a:b] += -0.12 * env
        ch.spine[a:b, 1] += -0.08 * env
        for s in SIDES:
            ch.arm_target[s][a:b] = [0.3 * s, -0.3, 0.08]
            ch.arm_weight[s][a:b] = 0.7 * env
    return fill


# ---------------------------------------------------------------------------------------------------------
# Upper-body actions: wrist targets relative to the shoulder (heading frame), feet stay planted.

def _arm(ch: Channels, s: int, a: int, b: int, target, weight, pole=None) -> None:
    ch.arm_target[s][a:b] = target
    ch.arm_weight[s][a:b] = weight
    if pole is not None:
        ch.arm_pole[s][a:b] = pole


def _sample_rate(low_s, high_s, rate=None):
    def sample(rng):
        p = {"frames": _frames(rng, low_s, high_s)}
        if rate:
            p["rate_hz"] = round(float(rng.uniform(*rate)), 3)
        return p
    return sample


def _fill_wave(sides):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        n = b - a
        env = envelope(n, 7, 7)
        sway = np.sin(2 * np.pi * p["rate_hz"] * np.arange(n) * DT)
        for s in sides:
            target = np.stack([s * (0.22 + 0.1 * sway), np.full(n, 0.3), np.full(n, 0.1)], -1)
            _arm(ch, s, a, b, target, env, pole=[1.0 * s, -0.6, -0.3])
        ch.head_pitch[a:b] += -0.1 * env
    return fill


def _fill_raise(sides):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        env = envelope(b - a, 12, 12)
        for s in sides:
            _arm(ch, s, a, b, [0.1 * s, 0.52, 0.05], env, pole=[1.0 * s, 0.0, -0.5])
    return fill


def _fill_clap(ch: Channels, a: int, b: int, p: dict) -> None:
    n = b - a
    env = envelope(n, 7, 7)
    opening = 0.5 * (1 + np.cos(2 * np.pi * p["rate_hz"] * np.arange(n) * DT))
    for s in SIDES:
        target = np.stack([s * (-0.13 + 0.14 * opening), np.full(n, -0.1), np.full(n, 0.32)], -1)
        _arm(ch, s, a, b, target, env, pole=[1.0 * s, -0.8, -0.3])


def _sample_punch(rng):
    count = int(rng.choice([1, 2, 3]))
    return {"count": count, "frames": count * _frames(rng, 0.6, 0.9) + 14}


def _fill_punch(side: int):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        n = b - a
        guard = envelope(n, 6, 6)
        strike = np.zeros(n)
        strike[6:n - 6] = bumps(n - 12, p["count"]) ** 2
        for s in SIDES:
            extend = strike if s == side else 0.0 * strike
            target = np.stack([-s * (0.08 + 0.06 * extend), 0.02 + 0.0 * extend, 0.2 + 0.32 * extend], -1)
            _arm(ch, s, a, b, target, guard, pole=[0.4 * s, -1.0, -0.2])
        ch.spine[a:b, 0] += -side * 0.35 * strike
    return fill


def _fill_bow(ch: Channels, a: int, b: int, p: dict) -> None:
    env = envelope(b - a, 14, 14)
    ch.spine[a:b, 1] += 0.75 * env
    ch.pelvis_pitch[a:b] += 0.35 * env
    ch.shift[a:b, 1] += -0.06 * env
    ch.head_pitch[a:b] += 0.2 * env


ACTIONS: dict[str, Action] = {}


def _register(action: Action) -> None:
    ACTIONS[action.name] = action


for _name, _gait in GAITS.items():
    _register(Action(_name, _sample_locomotion(_gait), _fill_locomotion(_gait)))
for _side in SIDES:
    _n = SIDE_NAMES[_side]
    _register(Action(f"turn_{_n}", _sample_turn([90.0, 90.0, 180.0], (1.8, 2.6)), _fill_turn(_side, 1.1, 0.62)))
    _register(Action(f"kick_{_n}", _sample_kick, _fill_kick(_side)))
    _register(Action(f"punch_{_n}", _sample_punch, _fill_punch(_side)))
    _register(Action(f"wave_{_n}", _sample_rate(2.0, 3.5, (1.5, 2.5)), _fill_wave((_side,))))
    _register(Action(f"raise_{_n}", _sample_rate(1.5, 3.0), _fill_raise((_side,))))
_register(Action("wave_both", _sample_rate(2.0, 3.5, (1.5, 2.5)), _fill_wave(SIDES)))
_register(Action("raise_both", _sample_rate(1.5, 3.0), _fill_raise(SIDES)))
_register(Action("spin", _sample_spin, _fill_spin))
_register(Action("jump_in_place", _sample_jump(False), _fill_jump))
_register(Action("jump_forward", _sample_jump(True), _fill_jump))
_register(Action("squat", _sample_reps((1.6, 2.2), [1, 1, 2, 3]), _fill_squat))
_register(Action("sit_down", _sample_seat, _fill_sit, ends_seated=True))
_register(Action("stand_up", _sample_seat, _fill_stand, starts_seated=True))
_register(Action("clap", _sample_rate(1.5, 3.0, (2.0, 3.0)), _fill_clap))
_register(Action("bow", _sample_rate(2.0, 3.0), _fill_bow))

"""Posture changes: sitting on a chair or the ground and getting up, squats, crouching, lunges, kneeling,
standing on one leg.

The pelvis is lowered through the `height` channel and the feet stay where they are (or are moved by "place"
foot events); `build` then caps the pelvis so planted feet stay within reach, which is what makes a deep
lunge or kneel bend the knees instead of stretching the legs.
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.base import SIDE_NAMES, frames, register
from train.procedural.body import SIDES
from train.procedural.signal import bumps, envelope, smoothstep
from train.procedural.timeline import Channels, FootEvent

CHAIR = (0.40, 0.25, 0.45)      # seat: pelvis drop, pelvis back, trunk lean mid-way
GROUND = (0.78, 0.42, 0.7)


def _sample_reps(per_rep_s, counts):
    def sample(rng):
        count = int(rng.choice(counts))
        return {"count": count, "frames": count * frames(rng, *per_rep_s) + 4,
                "depth": round(float(rng.uniform(0.3, 0.42)), 3)}
    return sample


def _fill_squat(arms_forward: float):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        hump = bumps(b - a, p["count"])
        if p["count"] == 1 and arms_forward < 0.4:    # crouch: go down and stay a while
            hump = envelope(b - a, 14, 14)
        ch.height[a:b] += -p["depth"] * hump
        ch.shift[a:b, 1] += -0.12 * hump
        ch.spine[a:b, 1] += 0.45 * hump
        ch.pelvis_pitch[a:b] += 0.25 * hump
        for s in SIDES:
            ch.arm_target[s][a:b] = [0.06 * s, -0.05 - 0.3 * (1 - arms_forward), 0.46]
            ch.arm_weight[s][a:b] = hump ** 0.5
    return fill


def _seat_curve(ch: Channels, a: int, b: int, u: np.ndarray, seat) -> None:
    """Pelvis low and back by `u` in [0, 1] (0 standing, 1 seated); the trunk leans forward mid-way."""
    drop, back, lean = seat
    mid = np.sin(np.pi * u)
    ch.height[a:b] += -drop * u
    ch.shift[a:b, 1] += -back * u
    ch.spine[a:b, 1] += lean * mid + 0.08 * u
    ch.pelvis_pitch[a:b] += 0.2 * mid
    for s in SIDES:
        ch.arm_target[s][a:b] = [0.02 * s, -0.38, 0.3]
        ch.arm_weight[s][a:b] = 0.8 * u


def _sample_seat(rng):
    return {"frames": frames(rng, 2.0, 3.0), "transition_frames": frames(rng, 1.2, 1.8)}


def _fill_sit(seat):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        _seat_curve(ch, a, b, smoothstep(np.arange(b - a) / p["transition_frames"]), seat)
    return fill


def _fill_stand(seat):
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        _seat_curve(ch, a, b, 1.0 - smoothstep((np.arange(b - a) - 4) / p["transition_frames"]), seat)
    return fill


def _sample_step_down(rng):
    return {"frames": frames(rng, 2.6, 3.6), "depth": round(float(rng.uniform(0.25, 0.35)), 3)}


def _fill_step_down(side: int, forward: float, drop_scale: float, both: bool = False):
    """Step one foot `forward` (negative = back), lower the pelvis, hold, rise and step back (lunge, kneel)."""
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        n, k = b - a, 7
        ch.events.append(FootEvent("place", a + 2, a + 2 + k, side, 0.06, offset=(0.0, forward)))
        ch.events.append(FootEvent("place", b - 2 - k, b - 2, side, 0.06))
        if both:
            ch.events.append(FootEvent("place", a + 3 + k, a + 3 + 2 * k, -side, 0.06, offset=(0.0, forward)))
            ch.events.append(FootEvent("place", b - 3 - 2 * k, b - 3 - k, -side, 0.06))
        inner = slice(a + 2 + k, b - 2 - k)
        m = inner.stop - inner.start
        down = envelope(m, 8, 8)
        ch.height[inner] += -p["depth"] * drop_scale * down
        ch.shift[inner, 1] += 0.5 * forward * 0.3 * down
        ch.spine[inner, 1] += -0.05 * down
        for s in SIDES:
            ch.arm_target[s][inner] = [0.12 * s, -0.42, 0.12]
            ch.arm_weight[s][inner] = 0.6 * down
    return fill


def _sample_balance(rng):
    return {"frames": frames(rng, 2.5, 4.0), "height": round(float(rng.uniform(0.2, 0.35)), 3)}


def _fill_balance(side: int):
    """Stand on the other leg with `side`'s foot raised (knee bent, foot back) and arms out for balance."""
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        ch.events.append(FootEvent("kick", a + 4, b - 4, side, p["height"], -0.05))
        env = envelope(b - a, 8, 8)
        ch.shift[a:b, 0] += -side * 0.07 * env
        for s in SIDES:
            ch.arm_target[s][a:b] = [0.45 * s, -0.15, 0.05]
            ch.arm_weight[s][a:b] = env
    return fill


register("squat", _sample_reps((1.6, 2.2), [1, 1, 2, 3]), _fill_squat(1.0), "postures")
register("crouch", _sample_reps((2.5, 3.5), [1]), _fill_squat(0.3), "postures")
register("sit_down", _sample_seat, _fill_sit(CHAIR), "postures", ends_in="chair")
register("stand_up", _sample_seat, _fill_stand(CHAIR), "postures", starts_in="chair")
register("sit_ground", _sample_seat, _fill_sit(GROUND), "postures", ends_in="ground")
register("get_up_ground", _sample_seat, _fill_stand(GROUND), "postures", starts_in="ground")
register("kneel_both", _sample_step_down, _fill_step_down(SIDES[0], -0.42, 1.3, both=True), "postures")
for _side in SIDES:
    _n = SIDE_NAMES[_side]
    register(f"lunge_{_n}", _sample_step_down, _fill_step_down(_side, 0.6, 1.0), "postures")
    # Kneeling on the left knee: the left foot goes back and that knee comes down near the floor.
    register(f"kneel_{_n}", _sample_step_down, _fill_step_down(_side, -0.5, 1.35), "postures")
    register(f"balance_{_n}", _sample_balance, _fill_balance(_side), "postures")

seat_curve = _seat_curve    # public for actions/floor.py (the architecture test forbids importing private names)

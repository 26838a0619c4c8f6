"""Jumps: a crouch, a push-off that reaches the take-off speed, a ballistic flight, a landing that absorbs.

During flight the pelvis follows y(t) = v0 t - g t^2 / 2 exactly (the `lift` channel is not smoothed and the
pelvis cap leaves unplanted frames alone). Push-off and landing are cubic Hermite curves matching the flight's
take-off and touch-down speeds. Flight times give standing-jump rises of 25-40 cm (real countermovement
jumps); travelling jumps move the root only while airborne.
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.base import GRAVITY, register
from train.procedural.body import DT, LEFT, RIGHT, SIDES
from train.procedural.signal import bumps, hermite
from train.procedural.timeline import Channels, FootEvent

CROUCH, PUSH, LAND = 6, 5, 9        # frames: going down, pushing up, absorbing the landing


def _sample(counts=(1,), flight=(9, 11), travel=None, depth=(0.12, 0.18), travel_share=1.0):
    """Parameter sampler; `travel` (m per jump) is drawn for a `travel_share` of the clips (the rest stay put)."""
    def sample(rng):
        count = int(rng.choice(counts))
        fl = int(rng.integers(*flight))
        p = {"count": count, "flight_frames": fl, "depth": round(float(rng.uniform(*depth)), 3),
             "frames": count * (CROUCH + PUSH + fl + LAND) + 8}
        if travel and (travel_share >= 1.0 or rng.random() < travel_share):
            p["distance"] = round(float(rng.uniform(*travel)), 3)
        return p
    return sample


def jump_fill(direction=(0.0, 0.0), spread=0.0, tuck=0.0, one_foot=0, arms="swing"):
    """Fill for `count` jumps travelling `distance` along `direction` (lateral, forward) each.

    spread: feet land this much wider on alternate jumps (jumping jacks, even counts end together); tuck: extra foot clearance (knees up);
    one_foot: hop on that side's foot while the other is held up.
    """
    def fill(ch: Channels, a: int, b: int, p: dict) -> None:
        flight, depth = p["flight_frames"], p["depth"]
        tf = (flight + 1) * DT
        v0 = GRAVITY * tf / 2
        t = a + 4
        for k in range(p["count"]):
            down, takeoff = t + CROUCH, t + CROUCH + PUSH
            land = takeoff + flight
            ch.lift[t:down] = hermite(CROUCH, 0.0, 0.0, -depth, 0.0, DT)
            ch.lift[down:takeoff] = hermite(PUSH, -depth, 0.0, 0.0, v0, DT)
            tau = np.arange(1, flight + 1) * DT
            ch.lift[takeoff:land] = v0 * tau - 0.5 * GRAVITY * tau ** 2
            # Starting at the touch-down speed and ending at rest, the cubic dips: that dip is the absorbing bend.
            ch.lift[land:land + LAND] = hermite(LAND, 0.0, -v0, 0.0, 0.0, DT)
            wide = spread if k % 2 == 0 else 0.0
            ch.events.append(FootEvent("jump", takeoff, land, one_foot, 0.06 + tuck, offset=(wide, 0.0)))
            if "distance" in p:
                ch.vel[takeoff:land] = np.asarray(direction, float) * p["distance"] / (flight * DT)
            span = land + LAND - t
            ch.spine[t:land + LAND, 1] += 0.3 * bumps(span, 1) * (1 if tuck == 0 else 1.5)
            _jump_arms(ch, t, down, land, land + LAND, arms, wide)
            t = land + LAND
        if one_foot:        # the raised foot; on a travelling hop it is carried along ("hold")
            ch.events.append(FootEvent("hold" if "distance" in p else "kick", a + 2, min(t + 2, b - 1), -one_foot,
                                       0.22, -0.15))
    return fill


def _jump_arms(ch: Channels, t: int, down: int, land: int, end: int, arms: str, wide: float) -> None:
    if arms == "jacks":
        for s in SIDES:
            up = [0.25 * s, 0.5, 0.0] if wide else [0.08 * s, -0.5, 0.0]
            ch.arm_target[s][down:land] = up
            ch.arm_weight[s][t:end] = 1.0
            ch.arm_pole[s][t:end] = [1.0 * s, 0.0, -0.2]
        return
    for s in SIDES:
        ch.arm_target[s][t:down + 3] = [0.06 * s, -0.42, -0.22]        # swing back while crouching
        ch.arm_target[s][down + 3:end] = [0.12 * s, 0.1, 0.38]        # and forward-up through the flight
        ch.arm_weight[s][t:end] = bumps(end - t, 1) ** 0.5


register("jump_in_place", _sample((1, 1, 2, 3)), jump_fill(), "jumps")
register("jump_forward", _sample((1, 1, 2, 3), travel=(0.5, 1.0)), jump_fill((0.0, 1.0)), "jumps")
register("jump_backward", _sample(travel=(0.3, 0.5), flight=(7, 9)), jump_fill((0.0, -1.0)), "jumps")
register("jump_left", _sample(travel=(0.3, 0.6), flight=(7, 9)), jump_fill((1.0, 0.0)), "jumps")
register("jump_right", _sample(travel=(0.3, 0.6), flight=(7, 9)), jump_fill((-1.0, 0.0)), "jumps")
register("long_jump", _sample(travel=(1.6, 2.3), flight=(9, 11), depth=(0.2, 0.26)), jump_fill((0.0, 1.0)),
         "jumps")
register("jump_over", _sample(travel=(0.8, 1.2), flight=(10, 12)), jump_fill((0.0, 1.0), tuck=0.25), "jumps")
register("tuck_jump", _sample((1, 1, 2), flight=(10, 12)), jump_fill(tuck=0.3), "jumps")
register("jumping_jacks", _sample((2, 4, 6), flight=(6, 8), depth=(0.06, 0.1)),
         jump_fill(spread=0.22, arms="jacks"), "jumps")
# Hops: half of the clips hop on the spot, half travel forward 0.15-0.4 m a hop (real one-foot hops go 0.2-0.5 m).
HOP_COUNTS, HOP_TRAVEL = (1, 2, 2, 3, 3, 4), (0.15, 0.4)
_hop = _sample(HOP_COUNTS, flight=(5, 7), depth=(0.06, 0.1), travel=HOP_TRAVEL, travel_share=0.5)
register("hop_left", _hop, jump_fill((0.0, 1.0), one_foot=LEFT), "jumps")
register("hop_right", _hop, jump_fill((0.0, 1.0), one_foot=RIGHT), "jumps")

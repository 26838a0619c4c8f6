"""Keyframed upper-body actions: a few poses per repetition, eased between, faded in from and out to rest.

Most arm, combat, sport, dance and exercise actions are a short list of poses with the feet planted, so they
are written as data (`Key`) rather than code. Poses are authored for the *acting* side with x measured
outward (x > 0 points away from the body's midline on that arm's side); `keyframed(...)(side)` mirrors them.

Pose fields (any may be left out; missing arm = that arm hangs, missing scalar = 0):
    A, O      acting / other wrist target relative to its shoulder (outward, up, forward), metres
    B         both wrists (symmetric actions)
    poleA/O/B elbow pole, same convention
    spine     (twist toward the acting side, forward bend, lean toward the acting side), radians over the spine
    height    pelvis offset (- lowers), m;   pitch  pelvis forward tilt, rad;   head  nod down, rad
    shift     pelvis offset (toward the acting side, forward), m
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from train.procedural.actions.base import frames
from train.procedural.body import FPS
from train.procedural.signal import smoothstep
from train.procedural.timeline import Channels

HANG = (0.04, -0.5, 0.03)
DEFAULT_POLE = (0.3, -0.2, -1.0)


@dataclass(frozen=True)
class Key:
    at: float                      # position within one repetition, 0..1
    pose: dict = field(default_factory=dict)


def _arm_pose(pose: dict, which: str):
    """(target, pole, weight) of arm `which` ("A" or "O") in a pose, outward convention."""
    target = pose.get(which, pose.get("B"))
    pole = pose.get("pole" + which, pose.get("poleB", DEFAULT_POLE))
    return (HANG, DEFAULT_POLE, 0.0) if target is None else (target, pole, 1.0)


def _ease(stations: list[tuple[int, np.ndarray]], n: int, offset: int) -> np.ndarray:
    """Values at every frame [offset, offset + n) eased (smoothstep) between consecutive stations."""
    first = np.asarray(stations[0][1], float)
    out = np.repeat(first[None], n, 0) if first.ndim else np.full(n, float(first))
    for (f0, v0), (f1, v1) in zip(stations, stations[1:]):
        lo, hi = max(f0 - offset, 0), min(f1 - offset, n)
        if hi <= lo:
            continue
        u = smoothstep((np.arange(lo, hi) + offset - f0) / max(f1 - f0, 1))
        v0, v1 = np.asarray(v0, float), np.asarray(v1, float)
        out[lo:hi] = v0 + (v1 - v0) * (u[:, None] if v0.ndim else u)
    last = len(stations) and stations[-1][0] - offset
    if 0 <= last < n:
        out[last:] = np.asarray(stations[-1][1], float)
    return out


ease = _ease    # public for actions/floor_poses.py (the architecture test forbids importing private names)


def keyframed(keys: list[Key], cycle_s=(0.8, 1.2), counts=(1,), lead_s=0.35, hold_s=(0.0, 0.0)):
    """(sample, fill_for_side) of an action that plays `keys` once per repetition between rest poses."""
    def sample(rng):
        count = int(rng.choice(counts))
        cycle = frames(rng, *cycle_s)
        hold = frames(rng, *hold_s) if hold_s[1] > 0 else 0
        lead = int(round(lead_s * FPS))
        return {"count": count, "cycle_frames": cycle, "frames": 2 * lead + count * cycle + hold}

    def fill_for(side: int):
        def fill(ch: Channels, a: int, b: int, p: dict) -> None:
            n, cycle, count = b - a, p["cycle_frames"], p["count"]
            lead = max((n - count * cycle) // 2, 2)
            times = [(0, {})]
            for r in range(count):
                times += [(lead + int(round((r + k.at) * cycle)), k.pose) for k in keys]
            hold_end = max(n - 1 - lead, times[-1][0])
            times += [(hold_end, times[-1][1]), (n - 1, {})]
            _apply(ch, a, n, side, times)
        return fill
    return sample, fill_for


def _apply(ch: Channels, a: int, n: int, side: int, times: list[tuple[int, dict]]) -> None:
    b = a + n
    scalar = lambda key, i=None: _ease([(t, (pose.get(key, (0.0,) * 3)[i] if i is not None  # noqa: E731
                                             else pose.get(key, 0.0))) for t, pose in times], n, 0)
    twist, bend, lean = (scalar("spine", i) for i in range(3))
    ch.spine[a:b, 0] += side * twist
    ch.spine[a:b, 1] += bend
    ch.spine[a:b, 2] += -side * lean
    ch.height[a:b] += scalar("height")
    ch.pelvis_pitch[a:b] += scalar("pitch")
    ch.head_pitch[a:b] += scalar("head")
    shift_out, shift_fwd = _ease([(t, pose.get("shift", (0.0, 0.0))) for t, pose in times], n, 0).T
    ch.shift[a:b, 0] += side * shift_out
    ch.shift[a:b, 1] += shift_fwd
    for which, s in (("A", side), ("O", -side)):
        poses = [(t, _arm_pose(pose, which)) for t, pose in times]
        weight = _ease([(t, w) for t, (_, _, w) in poses], n, 0)
        if weight.max() <= 0:
            continue
        # An arm keeps its last authored target while it fades out, so it does not sweep through the hang pose.
        held, last = [], HANG
        for t, (target, pole, w) in poses:
            last = target if w > 0 else last
            held.append((t, last))
        mirror = np.array([s, 1.0, 1.0])
        target = _ease(held, n, 0) * mirror
        pole = _ease([(t, pl) for t, (_, pl, _) in poses], n, 0) * mirror
        ch.arm_target[s][a:b] = target
        ch.arm_pole[s][a:b] = pole
        ch.arm_weight[s][a:b] = weight

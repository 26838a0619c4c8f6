"""What an action is, the registry every family module adds to, and helpers shared by the families.

An action owns frames [a, b) of a clip: `sample` draws its parameters (plain JSON values, they go to meta.json,
always with "frames"), `fill` writes its intent into `Channels`. Sides use the character's frame: "left" is +x
(`LEFT` = +1). `starts_in` / `ends_in` name a resting posture ("chair", "ground") an action begins or ends in,
so sequences stay consistent (after `sit_down` comes `stand_up`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from train.procedural.body import FPS, LEFT, RIGHT
from train.procedural.timeline import Channels

SIDE_NAMES = {LEFT: "left", RIGHT: "right"}
GRAVITY = 9.81


@dataclass(frozen=True)
class Action:
    name: str
    sample: Callable[[np.random.Generator], dict]   # -> params, always with "frames"
    fill: Callable[[Channels, int, int, dict], None]
    family: str = "other"
    starts_in: str | None = None
    ends_in: str | None = None

    @property
    def starts_seated(self) -> bool:
        return self.starts_in is not None

    @property
    def ends_seated(self) -> bool:
        return self.ends_in is not None


ACTIONS: dict[str, Action] = {}


def register(name: str, sample, fill, family: str, starts_in: str | None = None, ends_in: str | None = None) -> None:
    if name in ACTIONS:
        raise ValueError(f"action {name!r} registered twice")
    ACTIONS[name] = Action(name, sample, fill, family, starts_in, ends_in)


def frames(rng: np.random.Generator, low_s: float, high_s: float) -> int:
    return int(round(rng.uniform(low_s, high_s) * FPS))


def arm(ch: Channels, s: int, a: int, b: int, target, weight, pole=None) -> None:
    ch.arm_target[s][a:b] = target
    ch.arm_weight[s][a:b] = weight
    if pole is not None:
        ch.arm_pole[s][a:b] = pole


def sample_duration(low_s: float, high_s: float, rate=None, counts=None):
    """A sampler of {"frames"} plus an optional "rate_hz" range and "count" choice (frames scale with count)."""
    def sample(rng):
        p = {"frames": frames(rng, low_s, high_s)}
        if rate:
            p["rate_hz"] = round(float(rng.uniform(*rate)), 3)
        if counts:
            p["count"] = int(rng.choice(counts))
            p["frames"] = p["count"] * p["frames"] + 12
        return p
    return sample

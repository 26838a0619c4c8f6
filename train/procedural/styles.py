"""Moods and manners laid over a gait: "walks sadly", "jogs happily", "walks like an old person".

A style scales the gait's speed when its parameters are sampled (`STYLE_SPEED`) and then adjusts posture
channels over the action's frames (`apply_style`): trunk bend, head, arm swing, bounce, sway, arm carriage.
The adjustments are in the directions people read moods from gait (slumped and slow = sad/tired, upright
and bouncy = happy/proud, hunched with arms forward = zombie).
"""
from __future__ import annotations

import numpy as np

from train.procedural.body import FPS, SIDES
from train.procedural.signal import envelope
from train.procedural.timeline import Channels

STYLE_GAITS = ("walk", "jog", "run", "march", "walk_backward", "walk_circle_left", "walk_circle_right",
               "walk_zigzag", "walk_stop_go", "walk_diagonal_left", "walk_diagonal_right")
STYLE_PROBABILITY = 0.3
STYLE_SPEED = {"happily": 1.05, "sadly": 0.7, "angrily": 1.1, "tiredly": 0.65, "nervously": 0.9,
               "proudly": 0.95, "old": 0.55, "zombie": 0.45, "drunk": 0.6, "slowly": 0.6, "quickly": 1.3}
STYLES = tuple(STYLE_SPEED)

# (spine bend, head nod, arm swing gain, bounce m, sway rad, pelvis offset m, wrist target or None)
_POSTURE = {
    "happily": (-0.03, -0.1, 1.4, 0.03, 0.0, 0.0, None),
    "sadly": (0.22, 0.4, 0.3, 0.0, 0.0, -0.02, None),
    "angrily": (0.15, 0.05, 1.2, 0.0, 0.0, -0.02, (0.12, -0.35, 0.15)),
    "tiredly": (0.3, 0.3, 0.2, 0.0, 0.05, -0.03, None),
    "nervously": (0.12, 0.1, 0.2, 0.0, 0.0, -0.02, (0.05, -0.3, 0.2)),
    "proudly": (-0.12, -0.15, 1.1, 0.0, 0.0, 0.0, None),
    "old": (0.45, 0.15, 0.2, 0.0, 0.04, -0.06, None),
    "zombie": (0.2, 0.35, 0.0, 0.0, 0.12, -0.04, (0.1, 0.02, 0.5)),
    "drunk": (0.1, 0.2, 0.5, 0.0, 0.28, -0.03, None),
    "slowly": (0.0, 0.0, 0.7, 0.0, 0.0, 0.0, None),
    "quickly": (0.08, 0.0, 1.2, 0.0, 0.0, 0.0, None),
}


def apply_style(ch: Channels, a: int, b: int, style: str) -> None:
    bend, head, swing, bounce, sway, drop, wrist = _POSTURE[style]
    n = b - a
    env = envelope(n, 10, 10)
    t = np.arange(n) / FPS
    step_rate = 2 * float(np.mean(ch.cadence[a:b]))
    ch.spine[a:b, 1] += bend * env
    ch.head_pitch[a:b] += head * env
    ch.arm_swing[a:b] *= swing
    ch.height[a:b] += drop * env - bounce * np.abs(np.sin(np.pi * step_rate * t)) * env
    if sway:
        ch.spine[a:b, 2] += sway * np.sin(np.pi * step_rate / 2 * t) * env
    if style == "nervously":       # glances left and right
        ch.spine[a:b, 0] += 0.35 * np.sin(2 * np.pi * 0.6 * t) * env
    if wrist is not None:
        for s in SIDES:
            ch.arm_target[s][a:b] = [wrist[0] * s, wrist[1], wrist[2]]
            ch.arm_weight[s][a:b] = np.maximum(ch.arm_weight[s][a:b], env)


# Size words: "walks with small steps", "jumps high", "jumps forward a long way". A size rescales the sampled
# parameters (like `STYLE_SPEED`) and is captioned as a manner. Walk sizes change the step length at a similar
# speed, as people do: small steps are quicker and slightly slower (cadence x1.2, speed x0.8: step x0.67),
# big steps slower and a little faster (cadence x0.85, speed x1.05: step x1.24).
SIZE_PROBABILITY = 0.2
SIZE_ACTIONS = {"walk": ("small", "big"), "jump_in_place": ("low", "high"), "jump_forward": ("small", "big")}
STEP_SIZE = {"small": (0.8, 1.2), "big": (1.05, 0.85)}        # size -> (speed scale, cadence scale)
JUMP_FLIGHT = {"low": -4, "high": 2}                            # flight frames added: rise ~15 cm / ~50 cm
JUMP_DISTANCE = {"small": 0.55, "big": 1.35}


def apply_size(params: dict, action: str, size: str) -> dict:
    """`params` of `action` resized to `size` (one of SIZE_ACTIONS[action]), with "size" recorded."""
    p = {**params, "size": size}
    if action == "walk":
        p["speed"] = round(p["speed"] * STEP_SIZE[size][0], 3)
    elif size in JUMP_FLIGHT:
        extra = JUMP_FLIGHT[size]
        p["flight_frames"] += extra
        p["frames"] += extra * p["count"]
    else:
        p["distance"] = round(p["distance"] * JUMP_DISTANCE[size], 3)
    return p

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

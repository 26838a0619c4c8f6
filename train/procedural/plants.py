"""Limbs that stay where they were put down: a hand or foot path pinned to the world while planted.

A crawling body moves over its hands and knees; they must not slide with it. Actions give each limb a free
path (its spot relative to the moving root) and a planted mask. `pin` holds the limb at the spot it had when
it was put down for as long as it stays planted, and swings it from one spot to the next in between: up
before it travels and down after (`LIFT_SHARE`), so a limb near the floor is never also moving fast.
"""
from __future__ import annotations

import numpy as np

from train.procedural.signal import smoothstep

LIFT_SHARE = 0.18
SETTLE_FRAMES = 8          # a last swing from the last plant back onto the free path


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in a boolean mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def pin(free: np.ndarray, planted: np.ndarray, lift: float) -> np.ndarray:
    """(T, 3) path: `free` where never planted, held still while planted, swung (raised by `lift`) between."""
    out = free.copy()
    plants = runs(planted > 0.5)
    for i, (start, stop) in enumerate(plants):
        spot = free[start].copy()
        out[start:stop] = spot
        last = i + 1 == len(plants)
        end = min(stop + SETTLE_FRAMES, len(free)) if last else plants[i + 1][0]
        k = end - stop
        if k <= 0:
            continue
        u = np.arange(1, k + 1) / (k if last else k + 1)
        s = smoothstep((u - LIFT_SHARE) / (1 - 2 * LIFT_SHARE))[:, None]
        goal = free[stop:end] if last else free[end][None]
        out[stop:end] = spot * (1 - s) + goal * s
        out[stop:end, 1] += lift * np.sin(np.pi * u) ** 0.6
    return out

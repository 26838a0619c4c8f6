"""Every training and held-out phrase the corpus's captions can say, over all actions and parameter variants.

The held-out rates measure words nobody showed the model, so anything new written for training (the written
phrasings, `vet_phrasings`) is checked against these sets, and the tests keep the two sets apart.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from train.procedural.actions import ACTIONS
from train.procedural.captions import phrases
from train.procedural.generate import OVERLAY_ACTIONS, OVERLAY_GAITS
from train.procedural.phrasebook import COUNTED
from train.procedural.styles import STYLES


def _variants() -> list[dict]:
    """Parameter sets that reach every phrasing table: counts, turn angles, curves, speeds, styles, overlays."""
    out = [{"count": c, "angle_deg": a, "curve": cv, "speed": sp}
           for c in (1, 2, 3, 4) for a in (45.0, 90.0, 135.0, 180.0) for cv in (0.0, 0.5, -0.5)
           for sp in (0.8, 1.3)]
    out += [{"count": 1, "angle_deg": 90.0, "curve": 0.0, "style": st} for st in STYLES]
    out += [{"curve": 0.0, "overlay": {"action": o, "params": {}}} for o in OVERLAY_ACTIONS]
    return out


def phrased_parameters() -> Iterator[tuple[str, dict]]:
    """(action, parameters) for every way the corpus phrases an action: each `_variants()` set that applies to
    it, then 30 of its own sampler's draws (travelling hops, four hops), seeded, so every caller sees the same
    sets."""
    rng = np.random.default_rng(5)
    for name in ACTIONS:
        for v in _variants():
            if "overlay" in v and name not in OVERLAY_GAITS:
                continue
            if v.get("count") == 4 and name not in COUNTED:     # only the floor exercises do "many" (four)
                continue
            yield name, v
        for _ in range(30):
            yield name, ACTIONS[name].sample(rng)


@lru_cache(maxsize=1)
def all_phrases() -> tuple[frozenset[str], frozenset[str]]:
    """(training phrases, held-out phrases), slots filled, over every action and variant the samplers make."""
    train, held = set(), set()
    for name, params in phrased_parameters():
        tr, he = phrases(name, params)
        train.update(tr)
        held.update(he)
    return frozenset(train), frozenset(held)

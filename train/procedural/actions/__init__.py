"""The action library: one registry (`ACTIONS`, name -> `Action`) filled by one module per family.

Families: locomotion (gaits and paths, crawling), turns (turning, spinning, looking), jumps, postures (sitting,
kneeling, squats, lunges, lying down and getting up), arms (gestures), combat, sports, dance, exercise (with
push-ups and sit-ups). Importing this package registers
them all; `FAMILIES` maps each family to its action names.
"""
from train.procedural.actions import arms, combat, dance, exercise, jumps, locomotion, postures, sports, turns  # noqa: F401
from train.procedural.actions import all_fours, floor, lying, plank, prone  # noqa: F401  (last: new actions append to the registry order)
from train.procedural.actions.base import ACTIONS, GRAVITY, SIDE_NAMES, Action
from train.procedural.actions.locomotion import GAITS

FAMILIES: dict[str, list[str]] = {}
for _a in ACTIONS.values():
    FAMILIES.setdefault(_a.family, []).append(_a.name)

__all__ = ["ACTIONS", "Action", "FAMILIES", "GAITS", "GRAVITY", "SIDE_NAMES"]

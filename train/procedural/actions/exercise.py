"""Standing exercises: toe touches, side stretches, torso twists, marching in place and high knees.

Floor exercises are whole-body floor poses: push-ups in plank.py, sit-ups in lying.py.
"""
from __future__ import annotations

from train.procedural.actions.base import SIDE_NAMES, register
from train.procedural.actions.keys import Key, keyframed
from train.procedural.actions.locomotion import Gait, _fill, _sample
from train.procedural.body import RIGHT, SIDES

EXERCISES = {
    "toe_touches": keyframed([Key(0.5, {"B": (0.0, -0.6, 0.1), "spine": (0.0, 1.3, 0.0), "pitch": 0.85,
                                        "shift": (0.0, -0.1), "head": 0.2})], (1.6, 2.2), counts=(1, 2, 3)),
    "torso_twists": keyframed([Key(0.25, {"B": (0.45, 0.0, 0.08), "poleB": (0.0, -0.3, -1.0), "spine": (0.6, 0, 0)}),
                               Key(0.75, {"B": (0.45, 0.0, 0.08), "poleB": (0.0, -0.3, -1.0), "spine": (-0.6, 0, 0)})],
                              (1.2, 1.6), counts=(2, 3)),
}
# A side stretch of the left side: left arm over the head, trunk leaning right (away from the acting side).
SIDE_STRETCH = keyframed([Key(0.0, {"A": (-0.1, 0.5, 0.0), "poleA": (1.0, 0.0, -0.3), "spine": (0, 0, -0.35),
                                    "O": (0.12, -0.33, -0.02), "poleO": (1.0, 0.0, -0.3)}),
                          Key(1.0, {"A": (-0.1, 0.5, 0.0), "poleA": (1.0, 0.0, -0.3), "spine": (0, 0, -0.35),
                                    "O": (0.12, -0.33, -0.02), "poleO": (1.0, 0.0, -0.3)})], (1.5, 2.5))
IN_PLACE = {
    "march_in_place": Gait((0.0, 0.0), (0, 1), lambda v: 0.9, 0.58, 0.2, swing=0.0, curves=False, arms=(0.06, -0.45, 0.12)),
    "high_knees": Gait((0.0, 0.0), (0, 1), lambda v: 1.3, 0.5, 0.3, swing=0.0, curves=False, height=-0.03,
                       arms=(0.1, -0.2, 0.3)),
}

for _name, (_sample_k, _fill_for) in EXERCISES.items():
    register(_name, _sample_k, _fill_for(RIGHT), "exercise")
for _side in SIDES:
    register(f"side_stretch_{SIDE_NAMES[_side]}", SIDE_STRETCH[0], SIDE_STRETCH[1](_side), "exercise")
for _name, _gait in IN_PLACE.items():
    register(_name, _sample(_gait, _name), _fill(_gait), "exercise")

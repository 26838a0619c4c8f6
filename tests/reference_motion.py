"""The reference motions `test_reference_motion.py` compares against, and how they are made.

A tiny random engine (`Engine.random(tiny_config(), seed=0)`, CPU) generates, extends and plays a timeline
with fixed seeds. The arrays were written by this module before the `motion_core/` restructuring (issue 19), so
the test proves the restructured engine gives the motions it gave before. Re-write them only for an intended
behaviour change: ``python tests/reference_motion.py``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).resolve().parent / "data" / "reference_motion" / "tiny_random_engine.npz"


def make_motions() -> dict[str, np.ndarray]:
    """Arrays (joints, rotations and root path) of every way the engine makes a motion."""
    from motion_core import Engine
    from motion_core.engine import tiny_config
    engine = Engine.random(tiny_config(), seed=0)
    # The animator controls (issue 23, after the references were made) are off: they post-process on purpose.
    walk, wave = engine.generate(["a person walks forward", "someone waves with the left hand"], seconds=2.0,
                                 seed=7, steps=4, foot_cleanup=False)
    extended = engine.extend(walk, "a person jumps", seconds=1.0, seed=3, steps=4, foot_cleanup=False,
                             smooth_joins=False)
    timeline = engine.generate_timeline([("a person walks", 6.0), ("a person sits down", 6.0)], seed=11, steps=3,
                                        foot_cleanup=False, smooth_joins=False)
    arrays = {}
    for name, motion in (("walk", walk), ("wave", wave), ("extended", extended), ("timeline", timeline)):
        arrays[f"{name}_joints"] = motion.joints
        arrays[f"{name}_rotations"] = motion.rotations
        arrays[f"{name}_root"] = motion.root_translation
    return arrays


if __name__ == "__main__":
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REFERENCE, **make_motions())
    print(f"wrote {REFERENCE}")

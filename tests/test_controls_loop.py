"""Seamless loops (issue 23, item 5): the last frame flows into the first, root travel a constant offset."""
import numpy as np

from motion_core.controls.loop import loop_joints, loop_step_ratio, make_loop
from motion_core.engine import Engine, tiny_config
from motion_core.formats.motion import Motion
from motion_core.kinematics.skeleton import HUMANML3D


def swinging_walk(frames: int = 40) -> np.ndarray:
    """The rest pose walking +z at 2 cm a frame, its hands swinging on a period that does not fit the clip."""
    t = np.arange(frames)
    joints = HUMANML3D.rest_positions()[None] + (t * 0.02)[:, None, None] * np.array([0.0, 0.0, 1.0])
    joints = joints.copy()
    joints[:, [20, 21], 2] += 0.1 * np.sin(t / 7.0)[:, None]
    return joints


def test_the_last_frame_flows_into_the_first():
    joints = swinging_walk()
    raw_offset = joints[-1, 0] + (joints[-1, 0] - joints[-2, 0]) - joints[0, 0]
    assert loop_step_ratio(joints, raw_offset)["ratio"] > 2
    looped, offset = loop_joints(joints)
    np.testing.assert_allclose(offset, [0.0, 0.0, 0.8], atol=1e-9)          # 40 steps of 2 cm
    assert loop_step_ratio(looped, offset)["ratio"] <= 1.0 + 1e-9
    np.testing.assert_allclose(looped[:, 0, [0, 2]], joints[:, 0, [0, 2]])   # the root's path is kept


def test_make_loop_and_the_engine_flag():
    motion = make_loop(Motion.from_joints(swinging_walk(), HUMANML3D))
    np.testing.assert_allclose(motion.forward_kinematics(), motion.joints, atol=1e-4)
    assert motion.meta["loop"] == 1 and abs(motion.meta["loop_offset_z"] - 0.8) < 1e-3
    engine = Engine.random(tiny_config(), seed=0)
    (take,) = engine.generate(["a person walks"], frames=40, seed=1, steps=2, loop=True)
    offset = np.array([take.meta["loop_offset_x"], 0.0, take.meta["loop_offset_z"]])
    assert take.meta["loop"] == 1 and loop_step_ratio(take.joints, offset)["ratio"] <= 1.2

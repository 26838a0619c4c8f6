"""Smoother joins (issue 23, item 6): the step into a join frame brought in line with its neighbours."""
import numpy as np
import pytest

from motion_core.controls.joins import join_step_ratio, smooth_joins, smooth_joins_joints
from motion_core.engine import Engine, tiny_config
from motion_core.formats.motion import Motion
from motion_core.kinematics.skeleton import HUMANML3D


def popping_joints(frames: int = 40, join: int = 20, pop: float = 0.06) -> np.ndarray:
    """The rest pose walking +z at 2 cm a frame, jumping `pop` m forward between frames join - 1 and join."""
    z = np.arange(frames) * 0.02 + np.where(np.arange(frames) >= join, pop, 0.0)
    return HUMANML3D.rest_positions()[None] + z[:, None, None] * np.array([0.0, 0.0, 1.0])


def test_the_pop_is_spread_over_the_neighbouring_frames():
    joints = popping_joints()
    assert join_step_ratio(joints, [20])["ratio"] > 3.5
    smoothed = smooth_joins_joints(joints, [20])
    assert join_step_ratio(smoothed, [20])["ratio"] <= 1.2 + 1e-9
    np.testing.assert_allclose(smoothed[0], joints[0]) and np.testing.assert_allclose(smoothed[-1], joints[-1])
    step = np.linalg.norm(np.diff(smoothed, axis=0), axis=-1).max(axis=1)
    assert step.max() < 0.02 + 0.06 / 6 * 1.6          # no new pop: the jump spread over ~2 x 6 frames


def test_keep_before_changes_only_the_new_frames():
    joints = popping_joints()
    smoothed = smooth_joins_joints(joints, [20], keep_before=20)
    np.testing.assert_array_equal(smoothed[:20], joints[:20])
    assert np.linalg.norm(smoothed[20, 0] - smoothed[19, 0]) == pytest.approx(0.02, abs=1e-9)


def test_smooth_joins_keeps_the_motion_one_motion():
    motion = Motion.from_joints(popping_joints(), HUMANML3D)
    smoothed = smooth_joins(motion, [20])
    np.testing.assert_allclose(smoothed.forward_kinematics(), smoothed.joints, atol=1e-4)
    assert smoothed.meta["smooth_joins"] == 1 and smooth_joins(motion, []) is motion


def test_engine_smooths_timeline_joins_and_extend_seams_by_default():
    engine = Engine.random(tiny_config(), seed=0)
    segments = [("a person walks", 1.0), ("a person jumps", 1.0)]
    assert engine.generate_timeline(segments, seed=2, steps=2).meta.get("smooth_joins") == 1
    assert "smooth_joins" not in engine.generate_timeline(segments, seed=2, steps=2, smooth_joins=False).meta
    (first,) = engine.generate(["a person walks"], frames=20, seed=1, steps=2)
    extended = engine.extend(first, "then jumps", frames=20, seed=1, steps=2)
    np.testing.assert_allclose(extended.joints[:20], first.joints, atol=1e-4)


def test_worker_reads_smooth_joins_for_extend_and_timelines_only():
    from motion_core.interfaces.worker_params import JOB_PARAMS, control_options
    from motion_core.interfaces.worker_protocol import ProtocolError
    assert control_options({"smooth_joins": False}, "timeline") == {"smooth_joins": False}
    assert control_options({"smooth_joins": False}, "extend") == {"smooth_joins": False}
    assert "smooth_joins" not in JOB_PARAMS["generate"]     # a single take has no joins: an unknown param there
    with pytest.raises(ProtocolError, match="true or false"):
        control_options({"smooth_joins": 0}, "timeline")


def test_cli_no_smooth_joins_keeps_the_timeline_joins_as_sampled(tmp_path):
    from test_cli import run_cli
    checkpoint = Engine.random(tiny_config(), seed=0).save(tmp_path / "tiny")
    joints = {}
    for flag in ((), ("--no-smooth-joins",)):
        out = tmp_path / f"take{len(flag)}.npz"
        result = run_cli("generate", "--prompt", "a person walks:2", "--prompt", "a person jumps:2", "--steps", "2",
                         "--no-foot-cleanup", "--out", out, "--checkpoint", checkpoint, "--device", "cpu", *flag)
        assert result.returncode == 0, result.stderr
        joints[flag] = Motion.load(out).joints
    smoothed, raw = joints[()], joints[("--no-smooth-joins",)]
    assert smoothed.shape == raw.shape
    change = np.abs(smoothed - raw).max(axis=(1, 2))
    assert change[34:47].max() > 1e-4                                 # the join (frame 40) was smoothed by default,
    assert change[:10].max() < 0.1 * change[34:47].max()             # far less away from it


def test_a_timeline_keeps_its_feet_above_the_floor_after_its_joins_are_smoothed(monkeypatch):
    """Smoothing a join where the body rises fast (sits down, then waves) drew the feet up to 16 cm under the floor
    (the cleanup ran before it); the feet are lifted by leg IK again afterwards. Here the smoothing sinks the body."""
    from motion_core.generation import timeline
    from motion_core.kinematics.skeleton import HUMANML3D as skeleton

    def sinking(motion, joins):
        joints = motion.joints.astype(np.float64).copy()
        joints[:, :, 1] -= 0.1
        return Motion.from_joints(joints, motion.skeleton, fps=motion.fps, meta=motion.meta, offsets=motion.offsets)

    monkeypatch.setattr(timeline, "smoothed_joins", sinking)
    engine = Engine.random(tiny_config(), seed=0)
    feet = list(skeleton.left_foot) + list(skeleton.right_foot)
    motion = engine.generate_timeline([("a person sits", 1.0), ("a person waves", 1.0)], seed=2, steps=2)
    assert motion.joints[:, feet, 1].min() > -1e-3
    raw = engine.generate_timeline([("a person sits", 1.0), ("a person waves", 1.0)], seed=2, steps=2,
                                   foot_cleanup=False)
    assert raw.joints[:, feet, 1].min() < -0.05          # without the cleanup, nothing lifts them

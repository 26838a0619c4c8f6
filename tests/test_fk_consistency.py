"""One motion, not two (issue 22): a generated Motion's rotations reproduce its own joints on every frame.

The bundled model's decoded joints stretch their bones from frame to frame (a few cm typically, ~15 cm at the
wrists of a spin; benchmarks/fk_consistency.py), which no rigid skeleton reproduces: FK(rotations) was up to
~20 cm off `Motion.joints`. Every engine path (generate at predicted and requested lengths, extend, timelines)
must now hand back motions whose FK is within 1 cm of their joints on every frame.
"""
import numpy as np
import pytest

from motion_core.engine import DEFAULT_MODEL_DIR, Engine, tiny_config

PROMPTS = ["a person raises both arms above the head", "a person walks forward", "a person jumps in place",
           "a person sits down", "a person spins around"]
FAST = dict(steps=2)    # the defect is in the decoded joints, not in how well they were sampled
TOLERANCE = 0.01        # metres: the bound, on every frame of every joint


def fk_error(motion) -> np.ndarray:
    """(T,) worst joint's |FK(rotations) - joints| per frame, metres."""
    return np.linalg.norm(motion.forward_kinematics() - motion.joints, axis=-1).max(axis=1)


def assert_consistent(motions):
    for motion in motions:
        err = fk_error(motion)
        assert err.max() < TOLERANCE, (motion.meta.get("prompt"), motion.meta.get("seed"), motion.num_frames,
                                       f"worst frame {err.argmax()}: {err.max() * 100:.2f} cm")


@pytest.fixture(scope="module")
def bundled():
    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        pytest.skip("no bundled model")
    import torch
    torch.set_num_threads(1)
    return Engine.load(device="cpu")


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("frames", [None, 20, 80, 196])     # None: the length predictor's; 1 s, 4 s, 9.8 s
def test_generated_motions_reproduce_their_joints(bundled, frames, seed):
    motions = bundled.generate(PROMPTS, frames=frames, seed=seed, **FAST)
    assert [m.num_frames for m in motions] == (bundled.predict_frames(PROMPTS) if frames is None else
                                               [frames] * len(PROMPTS))
    assert_consistent(motions)


def test_default_settings_and_continuations_reproduce_their_joints(bundled):
    (motion,) = bundled.generate(PROMPTS[:1], seed=1)       # the worst case, default sampler settings
    assert_consistent([motion])
    longer = bundled.extend(motion, "then the person walks forward", seconds=2.0, seed=2, **FAST)
    assert_consistent([longer])
    # The continuation keeps the motion's body, and its first frames as they were.
    np.testing.assert_allclose(longer.offsets, motion.offsets)
    np.testing.assert_allclose(longer.joints[:motion.num_frames], motion.joints, atol=1e-5)
    timeline = bundled.generate_timeline([("a person walks forward", 3.0), ("a person jumps in place", 2.0)],
                                         seed=3, **FAST)
    assert_consistent([timeline])


def test_untrained_model_motions_reproduce_their_joints():
    """An untrained model's joints are far from any skeleton: still one motion, on every path."""
    engine = Engine.random(tiny_config(), seed=0)
    motions = engine.generate(["walk", "jump"], seconds=2.0, seed=0, **FAST)
    assert_consistent(motions)
    assert_consistent([engine.extend(motions[0], "run", seconds=1.0, **FAST)])
    assert_consistent([engine.generate_timeline([("walk", 2.0), ("jump", 1.0)], seed=0, **FAST)])

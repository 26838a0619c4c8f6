"""Engine API: generation, determinism, batching, progress/cancel, validation, extend, checkpoints, devices.

Everything runs on a tiny untrained model (`Engine.random(tiny_config())`), so the tests check plumbing and
contracts (shapes, seeds, seams, errors), not motion quality.
"""
import math

import numpy as np
import pytest
import torch

from motion_core.formats.checkpoint import CheckpointError
from motion_core.runtime.device import DeviceError, available_backends, best_device
from motion_core.engine import Cancelled, Engine, InputError, ModelNotFoundError, tiny_config
from motion_core.generation.extend import facing_yaw, turn_about_y
from motion_core.formats.motion import Motion
from motion_core.kinematics.skeleton import HUMANML3D

STEPS = 4


@pytest.fixture(scope="module")
def engine():
    torch.manual_seed(0)
    return Engine.random(tiny_config(), seed=0)


def test_generate_shapes_fps_and_meta(engine):
    motions = engine.generate(["a person walks forward", "a person jumps"], seconds=2.0, seed=3, steps=STEPS,
                              guidance=2.5)
    assert len(motions) == 2
    for motion, prompt, seed in zip(motions, ["a person walks forward", "a person jumps"], [3, 4]):
        assert isinstance(motion, Motion)
        assert motion.joints.shape == (40, 22, 3) and motion.rotations.shape == (40, 22, 4)
        assert motion.fps == 20.0 and motion.skeleton is HUMANML3D
        assert np.isfinite(motion.joints).all()
        assert motion.meta["prompt"] == prompt and motion.meta["seed"] == seed
        assert motion.meta["guidance"] == 2.5 and motion.meta["steps"] == STEPS
        assert motion.meta["model"] == engine.model_version == "tiny-random-mamba_unet"


def test_frames_need_not_be_a_multiple_of_the_latent_stride(engine):
    (motion,) = engine.generate(["wave"], frames=37, steps=STEPS)
    assert motion.num_frames == 37


def test_same_seed_same_motion_other_seed_other_motion(engine):
    a = engine.generate(["a person walks"], seconds=1.5, seed=11, steps=STEPS)[0]
    b = engine.generate(["a person walks"], seconds=1.5, seed=11, steps=STEPS)[0]
    c = engine.generate(["a person walks"], seconds=1.5, seed=12, steps=STEPS)[0]
    np.testing.assert_array_equal(a.joints, b.joints)
    assert np.abs(a.joints - c.joints).max() > 1e-3


def test_prompt_changes_the_motion(engine):
    a, b = engine.generate(["a person walks", "a person sits down"], seconds=1.5, seed=0, steps=STEPS)
    (b_alone,) = engine.generate(["a person sits down"], seconds=1.5, seed=0, steps=STEPS)
    assert np.abs(b.joints - b_alone.joints).max() > 1e-4  # same seed, other prompt -> other motion
    assert np.abs(a.joints - b_alone.joints).max() > 1e-4


def test_result_does_not_depend_on_batch_composition_or_chunking(engine, monkeypatch):
    prompts = ["walk", "run in a circle", "wave with the left hand"]
    together = engine.generate(prompts, seconds=1.0, seed=20, steps=STEPS)
    alone = engine.generate([prompts[2]], seconds=1.0, seed=22, steps=STEPS)[0]
    np.testing.assert_allclose(together[2].joints, alone.joints, atol=1e-4)
    monkeypatch.setattr(engine, "max_batch", 2)
    chunked = engine.generate(prompts, seconds=1.0, seed=20, steps=STEPS)
    monkeypatch.undo()
    for a, b in zip(together, chunked):
        np.testing.assert_allclose(a.joints, b.joints, atol=1e-4)
        assert a.meta == b.meta


def test_progress_rises_to_one_across_chunks(engine):
    events = []
    old = engine.max_batch
    engine.max_batch = 2
    try:
        engine.generate(["a", "b", "c"], seconds=1.0, steps=STEPS, progress=lambda f, m: events.append((f, m)))
    finally:
        engine.max_batch = old
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions) and 0.0 <= fractions[0] and fractions[-1] == 1.0
    steps_reported = [m for _, m in events if "denoising step" in m]
    assert len(steps_reported) == 2 * STEPS  # two chunks
    assert any(m.startswith("batch 2/2") for _, m in events)


def test_cancel_stops_sampling_early(engine):
    calls = []

    def should_cancel():
        calls.append(1)
        return len(calls) > 3

    seen = []
    with pytest.raises(Cancelled):
        engine.generate(["walk"], seconds=1.0, steps=50, should_cancel=should_cancel,
                        progress=lambda f, m: seen.append(m))
    assert sum("denoising step" in m for m in seen) == 3


@pytest.mark.parametrize("kwargs, message", [
    (dict(prompts=[]), "empty"),
    (dict(prompts="walk"), "single string"),
    (dict(prompts=["walk", 3]), "prompt 2 must be a string"),
    (dict(prompts=None), "list of strings"),
    (dict(seconds=0), "positive"),
    (dict(seconds=-2.0), "positive"),
    (dict(seconds=float("nan")), "finite"),
    (dict(seconds=float("inf")), "finite"),
    (dict(seconds="3"), "finite number"),
    (dict(seconds=0.1), "too short"),
    (dict(seconds=60.0), "exceeds"),
    (dict(frames=197), "exceeds"),
    (dict(frames=40.0), "integer"),
    (dict(seconds=2.0, frames=40), "not both"),
    (dict(steps=0), "steps"),
    (dict(steps=1001), "steps"),
    (dict(steps=2.5), "steps"),
    (dict(steps=True), "steps"),
    (dict(guidance=-0.5), "guidance"),
    (dict(guidance=30.5), "guidance"),
    (dict(guidance=float("nan")), "guidance"),
    (dict(seed=-1), "seed"),
    (dict(seed=1.5), "seed"),
])
def test_invalid_inputs_raise_input_error(engine, kwargs, message):
    args = {"prompts": ["walk"], "seconds": None if "frames" in kwargs else 1.0, "steps": STEPS}
    args.update(kwargs)
    with pytest.raises(InputError, match=message):
        engine.generate(**args)


def test_limits_are_inclusive(engine):
    (motion,) = engine.generate(["walk"], frames=engine.max_frames, steps=1, guidance=30.0)
    assert motion.num_frames == engine.max_frames == 196
    assert math.isclose(engine.max_seconds, 9.8)


def test_seed_none_picks_and_records_a_seed(engine):
    a, b = engine.generate(["walk", "run"], seconds=1.0, seed=None, steps=1)
    assert isinstance(a.meta["seed"], int) and b.meta["seed"] == a.meta["seed"] + 1


# ---- extend -----------------------------------------------------------------------------------------------

def _placed(motion: Motion, angle: float, shift) -> Motion:
    """The same motion turned about +y and moved, as if an animator had placed it in a scene."""
    joints = turn_about_y(motion.joints.astype(np.float64), angle) + np.asarray(shift)
    return Motion.from_joints(joints, motion.skeleton, fps=motion.fps, meta={"prompt": "walk"})


@pytest.fixture(scope="module")
def sample_motion(humanml3d_sample):
    """The real HumanML3D clip, turned and moved."""
    features, _ = humanml3d_sample
    motion = Motion.from_features(features, HUMANML3D)
    return _placed(motion, angle=1.1, shift=(2.0, 0.0, -3.0))


def test_extend_continues_from_the_last_frame(engine, sample_motion):
    old = sample_motion
    assert np.linalg.norm(old.joints[-1, 0, [0, 2]]) > 1.0  # far from the origin: a seam error would show
    result = engine.extend(old, "then the person runs", seconds=2.0, seed=5, steps=STEPS)
    assert result.num_frames == old.num_frames + 40
    np.testing.assert_allclose(result.joints[: old.num_frames], old.joints, atol=1e-5)
    first_new, last_old = result.joints[old.num_frames], old.joints[-1]
    assert np.linalg.norm(first_new[0] - last_old[0]) < 0.05  # root within 5 cm
    assert np.abs(first_new - last_old).max() < 0.10            # whole pose within 10 cm
    turn = (facing_yaw(first_new, HUMANML3D) - facing_yaw(last_old, HUMANML3D) + math.pi) % (2 * math.pi) - math.pi
    assert abs(turn) < math.radians(10)
    assert result.meta["extend_start_frame"] == old.num_frames
    assert result.meta["prompt"] == "walk | then the person runs" and result.meta["seed"] == 5


def test_extend_is_deterministic_and_chains(engine, sample_motion):
    a = engine.extend(sample_motion, "jump", seconds=1.0, seed=2, steps=STEPS)
    b = engine.extend(sample_motion, "jump", seconds=1.0, seed=2, steps=STEPS)
    np.testing.assert_array_equal(a.joints, b.joints)
    c = engine.extend(a, "sit", seconds=1.0, seed=3, steps=STEPS)
    assert c.num_frames == a.num_frames + 20
    assert np.linalg.norm(c.joints[a.num_frames, 0] - a.joints[-1, 0]) < 0.05


def test_extend_reports_progress_and_cancels(engine, sample_motion):
    fractions = []
    engine.extend(sample_motion, "jump", seconds=1.0, steps=STEPS, progress=lambda f, m: fractions.append(f))
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    with pytest.raises(Cancelled):
        engine.extend(sample_motion, "jump", seconds=1.0, steps=STEPS, should_cancel=lambda: True)


def test_extend_validates_its_inputs(engine, sample_motion):
    with pytest.raises(InputError, match="exceeds"):
        engine.extend(sample_motion, "jump", seconds=9.0)  # 2 s of context + 9 s > 9.8 s
    with pytest.raises(InputError, match="fps"):
        slow = Motion(30.0, sample_motion.joints, sample_motion.rotations, sample_motion.root_translation,
                      sample_motion.offsets)
        engine.extend(slow, "jump", seconds=1.0)
    with pytest.raises(InputError, match="at least"):
        engine.extend(sample_motion[:3], "jump", seconds=1.0)
    with pytest.raises(InputError, match="Motion"):
        engine.extend(sample_motion.joints, "jump", seconds=1.0)
    with pytest.raises(InputError, match="string"):
        engine.extend(sample_motion, None, seconds=1.0)


# ---- checkpoints -------------------------------------------------------------------------------------------

def test_save_and_load_round_trip(engine, tmp_path):
    engine.save(tmp_path / "ckpt")
    loaded = Engine.load(tmp_path / "ckpt", device="cpu")
    assert loaded.source == str(tmp_path / "ckpt")
    a = engine.generate(["walk"], seconds=1.0, seed=1, steps=STEPS)[0]
    b = loaded.generate(["walk"], seconds=1.0, seed=1, steps=STEPS)[0]
    np.testing.assert_allclose(a.joints, b.joints, atol=1e-6)
    assert Engine.load(tmp_path / "ckpt" / "config.json").model_version == loaded.model_version


def test_random_engines_are_reproducible():
    a = Engine.random(tiny_config("transformer"), seed=4)
    b = Engine.random(tiny_config("transformer"), seed=4)
    c = Engine.random(tiny_config("transformer"), seed=5)
    kwargs = dict(seconds=1.0, seed=0, steps=2)
    ja, jb, jc = (e.generate(["walk"], **kwargs)[0].joints for e in (a, b, c))
    np.testing.assert_array_equal(ja, jb)
    assert np.abs(ja - jc).max() > 1e-4


def test_missing_models_give_clear_errors(tmp_path, monkeypatch):
    from motion_core.generation import loading
    monkeypatch.setattr(loading, "DEFAULT_MODEL_DIR", tmp_path / "default_model")
    with pytest.raises(ModelNotFoundError, match="no default model is installed"):
        Engine.load()
    with pytest.raises(ModelNotFoundError, match="not found"):
        Engine.load(tmp_path / "nope")


def test_corrupt_checkpoint_is_refused(engine, tmp_path):
    path = engine.save(tmp_path / "ckpt")
    (path / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError):
        Engine.load(path)


def test_describe(engine):
    info = engine.describe()
    assert info["denoiser"] == "mamba_unet" and info["device"] == "cpu"
    assert info["parameters"]["denoiser"] > 0 and info["max_seconds"] == pytest.approx(9.8)


# ---- devices -----------------------------------------------------------------------------------------------

def test_best_device():
    assert best_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if available_backends()["mps"] else "cpu")
    assert best_device("auto").type == expected == best_device(None).type
    with pytest.raises(DeviceError, match="unknown device"):
        best_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_absent_cuda_fails_clearly():
    with pytest.raises(DeviceError, match="cuda.*cannot use it"):
        best_device("cuda")
    with pytest.raises(DeviceError):
        Engine.random(tiny_config(), device="cuda")


def test_sampling_defaults_come_from_the_checkpoint(engine, tmp_path):
    """Guidance and steps left as None use the checkpoint's recommended settings, explicit values win."""
    import json
    assert (engine.default_guidance, engine.default_steps) == (7.5, 20)   # the config names none
    path = engine.save(tmp_path / "ckpt")
    config = json.loads((path / "config.json").read_text())
    config["diffusion"].update(guidance=3.0, sample_steps=3)
    (path / "config.json").write_text(json.dumps(config))
    custom = Engine.load(path, device="cpu")
    motion = custom.generate(["a person walks"], seconds=1.0)[0]
    assert (motion.meta["guidance"], motion.meta["steps"]) == (3.0, 3)
    motion = custom.generate(["a person walks"], seconds=1.0, guidance=1.0, steps=2)[0]
    assert (motion.meta["guidance"], motion.meta["steps"]) == (1.0, 2)
    timeline = custom.generate_timeline([("walks", 1.0), ("jumps", 1.0)])
    assert json.loads(timeline.meta["timeline"])[0]["prompt"] == "walks"
    assert timeline.meta["steps"] == 3


def test_max_batch_1_makes_every_prompt_bit_identical_to_generating_it_alone(engine, monkeypatch):
    """Batched, a prompt differs from itself alone by rounding (test above); one at a time, not by a bit."""
    prompts = ["walk", "run in a circle and sit down", "walk"]
    monkeypatch.setattr(engine, "max_batch", 1)
    together = engine.generate(prompts, seconds=1.0, seed=20, steps=STEPS)
    monkeypatch.undo()
    for k, (prompt, motion) in enumerate(zip(prompts, together)):
        alone = engine.generate([prompt], seconds=1.0, seed=20 + k, steps=STEPS)[0]
        assert np.array_equal(motion.joints, alone.joints) and np.array_equal(motion.rotations, alone.rotations)

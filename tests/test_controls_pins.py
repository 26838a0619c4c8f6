"""Key poses (issue 23, item 3): pinned poses and effectors met, eased in and out, bad pins refused."""
import io
import json
import time

import numpy as np
import pytest

from motion_core.controls.pins import PinError, PosePin, apply_pins, parse_pins, pin_errors
from motion_core.engine import Engine, InputError, tiny_config
from motion_core.formats.motion import Motion
from motion_core.interfaces.worker import Worker
from motion_core.kinematics.skeleton import HUMANML3D


def walking(frames: int = 60) -> Motion:
    t = np.arange(frames)
    joints = HUMANML3D.rest_positions()[None].repeat(frames, 0) + [0.0, 0.9, 0.0]
    joints[..., 2] += 0.05 * t[:, None]
    joints[:, [20, 21], 2] += 0.1 * np.sin(t / 4.0)[:, None]
    return Motion.from_joints(joints, HUMANML3D)


def test_parsing_names_joints_and_refuses_bad_pins():
    pose = HUMANML3D.rest_positions().tolist()
    pins = parse_pins([{"frame": 30, "effectors": {"left_wrist": [0.1, 1.2, 0.3]}}, {"frame": 5, "joints": pose}],
                      HUMANML3D, num_frames=40)
    assert [p.frame for p in pins] == [5, 30] and pins[0].whole and pins[1].targets == ((20, (0.1, 1.2, 0.3)),)
    assert parse_pins([p.to_json(HUMANML3D) for p in pins], HUMANML3D) == pins
    bad = [
        ([{"frame": 3, "effectors": {"left_hand": [0, 1, 0]}}], "unknown joint 'left_hand'"),
        ([{"frame": 3, "joints": pose[:21]}], "22"),
        ([{"frame": 50, "effectors": {"head": [0, 1, 0]}}], "beyond the clip"),
        ([{"frame": 3, "effectors": {"head": [0, float("nan"), 0]}}], "finite"),
        ([{"frame": 3, "effectors": {"head": [0, 1]}}], r"\[x, y, z\]"),
        ([{"frame": -2, "effectors": {"head": [0, 1, 0]}}], "frame"),
        ([{"frame": 3, "effectors": {}}], "non-empty"),
        ([{"frame": 3, "effectors": {"head": [0, 1, 0]}}, {"frame": 3, "joints": pose}], "one frame"),
        ({"frame": 3, "joints": pose}, "list"),
    ]
    for value, message in bad:
        with pytest.raises(PinError, match=message):
            parse_pins(value, HUMANML3D, num_frames=40)


def test_pinned_poses_and_effectors_are_met_and_eased_in():
    motion = walking()
    target_pose = walking().joints[10].astype(np.float64).copy()
    target_pose[:, 2] += 2.0 - target_pose[0, 2]                 # the frame-10 pose, moved to z = 2 m
    wrist = motion.joints[52, 21].astype(np.float64) + [0.0, 0.3, 0.2]
    pins = parse_pins([{"frame": 40, "joints": target_pose.tolist()},
                       {"frame": 52, "effectors": {"right_wrist": wrist.tolist()}}], HUMANML3D, motion.num_frames)
    pinned = apply_pins(motion, pins)
    assert max(pin_errors(pinned.joints, pins)) < 0.005
    np.testing.assert_allclose(pinned.forward_kinematics(), pinned.joints, atol=1e-4)   # still one rigid body
    np.testing.assert_allclose(pinned.joints[:20], motion.joints[:20], atol=1e-6)      # far frames untouched
    step = np.linalg.norm(np.diff(pinned.joints, axis=0), axis=-1).max(axis=1)
    assert step.max() < 0.2         # eased in: the 36 cm wrist change is spread, not one pop
    assert json.loads(pinned.meta["pins"])[0]["frame"] == 40


def test_an_effector_pin_bends_the_limb_not_the_body():
    motion = walking()
    wrist = motion.joints[30, 20].astype(np.float64) + [0.0, 0.3, 0.15]
    (pin,) = parse_pins([{"frame": 30, "effectors": {"left_wrist": wrist.tolist()}}], HUMANML3D)
    pinned = apply_pins(motion, [pin])
    assert pin_errors(pinned.joints, [pin])[0] < 0.002
    moved = np.linalg.norm(pinned.joints[30] - motion.joints[30], axis=-1)
    assert moved[[0, 1, 2, 4, 5, 7, 8, 10, 11]].max() < 0.02    # pelvis and legs stay (almost) put


@pytest.fixture(scope="module")
def tiny():
    return Engine.random(tiny_config(), seed=0)


def test_engine_meets_pins_and_refuses_bad_ones(tiny):
    wrist = [0.3, 1.5, 0.4]
    pins = [{"frame": 20, "effectors": {"left_wrist": wrist}}, PosePin(35, ((15, (0.0, 1.7, 0.2)),))]
    takes = tiny.generate(["a person waves", "a person walks"], frames=40, seed=2, steps=2, pins=pins)
    for take in takes:
        assert max(pin_errors(take.joints, parse_pins(pins, HUMANML3D))) < 0.03
        assert "pins" in take.meta
    with pytest.raises(InputError, match="beyond the clip"):
        tiny.generate(["a person waves"], frames=30, steps=1, pins=pins)
    with pytest.raises(InputError, match="unknown joint"):
        tiny.generate(["a person waves"], frames=40, steps=1, pins=[{"frame": 3, "effectors": {"hand": [0, 1, 0]}}])
    with pytest.raises(InputError, match="22"):
        tiny.generate(["a person waves"], frames=40, steps=1, pins=[{"frame": 3, "joints": [[0, 1, 0]] * 5}])


def test_a_pin_out_of_reach_is_met_as_closely_as_it_can_be_and_said(tiny):
    """A wrist pinned 5 m up: the body cannot reach it; the take says how far it was missed (it said nothing)."""
    (reached,) = tiny.generate(["a person waves"], frames=40, seed=2, steps=2,
                               pins=[{"frame": 20, "effectors": {"left_wrist": [0.3, 1.5, 0.4]}}])
    assert "warnings" not in reached.meta or "reach" not in reached.meta["warnings"]
    (missed,) = tiny.generate(["a person waves"], frames=40, seed=2, steps=2,
                              pins=[{"frame": 20, "effectors": {"left_wrist": [0.0, 5.0, 0.0]}}])
    assert "pins out of the body's reach" in missed.meta["warnings"] and "frame 20 by" in missed.meta["warnings"]


def test_engine_path_and_pins_together(tiny):
    path = {"waypoints": [{"frame": 39, "x": 1.0, "z": 2.0}]}
    pins = [{"frame": 20, "effectors": {"head": [0.5, 1.6, 1.0]}}]
    (take,) = tiny.generate(["a person walks"], frames=40, seed=0, steps=2, path=path, pins=pins)
    assert pin_errors(take.joints, parse_pins(pins, HUMANML3D))[0] < 0.03
    assert np.linalg.norm(take.joints[39, 0, [0, 2]] - [1.0, 2.0]) < 0.05


@pytest.mark.slow
def test_the_bundled_model_meets_a_key_pose():
    engine = Engine.load(None, device="cpu")
    (own, donor) = engine.generate(["a person walks forward"] * 2, seconds=3, seed=0)
    pose = donor.joints[30].astype(np.float64).copy()
    pose[:, [0, 2]] += own.joints[30, 0, [0, 2]] - pose[0, [0, 2]]
    pins = [{"frame": 30, "joints": pose.tolist()},
            {"frame": 15, "effectors": {"right_wrist": (own.joints[15, 21] + [0, 0.3, 0.2]).tolist()}}]
    (take,) = engine.generate(["a person walks forward"], seconds=3, seed=0, pins=pins)
    assert max(pin_errors(take.joints, parse_pins(pins, HUMANML3D))) <= 0.03


def test_worker_refuses_bad_pins_before_loading_a_model():
    for pins, message in (([{"frame": 3, "effectors": {"left_hand": [0, 1, 0]}}], "unknown joint"),
                          ([{"frame": 99, "effectors": {"head": [0, 1, 0]}}], "beyond the clip"),
                          ([{"frame": 3, "effectors": {"head": [0, 1e999, 0]}}], "finite"),
                          ("left_wrist", "list")):
        loads, out = [], io.StringIO()
        worker = Worker(out, engine_loader=lambda c, d: loads.append(1), log=io.StringIO())
        worker.handle_line(json.dumps({"id": "1", "method": "generate",
                                       "params": {"prompts": ["a person waves"], "seconds": 2.0, "pins": pins}}))
        for _ in range(100):
            if '"error"' in out.getvalue():
                break
            time.sleep(0.05)
        reply = json.loads(out.getvalue().splitlines()[-1])
        assert reply["error"]["type"] == "invalid_params" and message in reply["error"]["message"], reply
        assert "params.pins" in reply["error"]["message"] and not loads

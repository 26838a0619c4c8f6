"""Clean feet (issue 23, item 4): planted feet locked with leg IK, feet above the ground, rotations consistent."""
import numpy as np
import pytest

from motion_core.controls.foot_cleanup import clean_feet, clean_feet_joints, contacts_from_features, foot_chains
from motion_core.engine import Engine, tiny_config
from motion_core.formats.motion import Motion
from motion_core.kinematics.motion_metrics import foot_skating
from motion_core.kinematics.representation import feature_slices
from motion_core.kinematics.rotations import forward_kinematics
from motion_core.kinematics.skeleton import HUMANML3D

LEG_JOINTS = {j for chain in foot_chains(HUMANML3D) for j in chain[1:]}


def _axis_angle_x(degrees: float) -> np.ndarray:
    half = np.radians(degrees) / 2
    return np.array([np.cos(half), np.sin(half), 0.0, 0.0])


def skating_motion(frames: int = 20, speed: float = 0.01, sink: float = 0.01) -> Motion:
    """Knees bent, the whole body gliding forward `speed` m/frame with both feet down: pure skating, and the
    toes `sink` m below the ground."""
    rotations = np.tile(np.array([1.0, 0.0, 0.0, 0.0]), (frames, HUMANML3D.num_joints, 1))
    for hip, knee, ankle, _ in foot_chains(HUMANML3D):
        rotations[:, hip], rotations[:, knee], rotations[:, ankle] = (_axis_angle_x(-25), _axis_angle_x(45),
                                                                      _axis_angle_x(-20))
    offsets = HUMANML3D.rest_offsets
    root = np.zeros((frames, 3))
    root[:, 2] = np.arange(frames) * speed
    joints = forward_kinematics(rotations, root, offsets, HUMANML3D.parents)
    root[:, 1] -= joints[:, [10, 11], 1].min() + sink
    joints = forward_kinematics(rotations, root, offsets, HUMANML3D.parents)
    return Motion(fps=20.0, joints=joints, rotations=rotations, root_translation=root, offsets=offsets)


def test_planted_feet_stop_sliding_and_stay_above_ground():
    motion = skating_motion()
    assert foot_skating(motion.joints, HUMANML3D, 20.0)["mean"] > 0.15      # 0.2 m/s of sliding before
    # the legs' own work (the settling onto the floor, below, moves the whole body)
    cleaned = clean_feet(motion, np.ones((motion.num_frames, 4), dtype=bool), settle=False)
    feet = [7, 10, 8, 11]
    slide = np.linalg.norm(np.diff(cleaned.joints[:, feet][..., [0, 2]], axis=0), axis=-1)
    assert slide.max() < 1e-4                                               # locked: no sliding at all
    assert cleaned.joints[:, feet, 1].min() >= -1e-4                        # toes lifted to the floor
    others = [j for j in range(HUMANML3D.num_joints) if j not in LEG_JOINTS]
    np.testing.assert_allclose(cleaned.joints[:, others], motion.joints[:, others], atol=1e-5)
    np.testing.assert_allclose(cleaned.forward_kinematics(), cleaned.joints, atol=1e-4)   # one motion (issue 22)
    bones = np.linalg.norm(cleaned.joints[:, 1:] - cleaned.joints[:, list(HUMANML3D.parents[1:])], axis=-1)
    np.testing.assert_allclose(bones, np.broadcast_to(np.linalg.norm(motion.offsets[1:], axis=-1), bones.shape),
                               atol=1e-4)                                   # the legs keep their lengths
    # settled (the default): a body standing 1 cm into the floor is raised onto it, not only its feet
    settled = clean_feet(motion, np.ones((motion.num_frames, 4), dtype=bool))
    np.testing.assert_allclose(settled.joints[:, others] - motion.joints[:, others], np.broadcast_to(
        [0.0, 0.01, 0.0], (motion.num_frames, len(others), 3)), atol=1e-4)
    assert abs(settled.joints[:, feet, 1].min()) < 1e-3
    assert cleaned.meta["foot_cleanup"] == 1


def test_without_contacts_only_ground_penetration_is_fixed():
    motion = skating_motion(sink=0.0)
    cleaned = clean_feet(motion, np.zeros((motion.num_frames, 4), dtype=bool))
    np.testing.assert_allclose(cleaned.joints, motion.joints, atol=1e-4)


def test_keep_before_leaves_the_first_frames_alone():
    motion = skating_motion()
    joints = clean_feet_joints(motion.joints, np.ones((motion.num_frames, 4), dtype=bool), HUMANML3D,
                               motion.offsets, keep_before=8)
    np.testing.assert_array_equal(joints[:8], motion.joints[:8].astype(np.float64))
    slide = np.linalg.norm(np.diff(joints[7:, [7, 8]][..., [0, 2]], axis=0), axis=-1)
    assert slide.max() < 1e-4        # locked where the kept frames left the feet


def test_contacts_come_from_the_last_four_feature_channels():
    features = np.zeros((3, HUMANML3D.feature_dim))
    features[1, feature_slices(HUMANML3D).contacts] = [1.0, 0.2, 0.9, 0.0]
    contacts = contacts_from_features(features, HUMANML3D)
    assert contacts.tolist() == [[False] * 4, [True, False, True, False], [False] * 4]


@pytest.fixture(scope="module")
def engine():
    return Engine.random(tiny_config(), seed=0)


def test_engine_cleans_feet_by_default_and_can_be_switched_off(engine):
    (clean,), (raw,) = (engine.generate(["a person walks"], frames=40, seed=3, steps=2, foot_cleanup=flag)
                        for flag in (True, False))
    assert clean.meta.get("foot_cleanup") == 1 and "foot_cleanup" not in raw.meta
    others = [j for j in range(HUMANML3D.num_joints) if j not in LEG_JOINTS]
    moved = clean.joints[:, others] - raw.joints[:, others]   # beyond the legs: the whole body set down or up
    np.testing.assert_allclose(moved[..., [0, 2]], 0.0, atol=1e-4)
    np.testing.assert_allclose(moved[..., 1], np.broadcast_to(moved[:, :1, 1], moved[..., 1].shape), atol=1e-4)
    np.testing.assert_allclose(clean.forward_kinematics(), clean.joints, atol=1e-4)
    timeline = engine.generate_timeline([("a person walks", 2.0)], seed=3, steps=2)
    assert timeline.meta.get("foot_cleanup") == 1
    extended = engine.extend(raw, "then jumps", frames=20, seed=1, steps=2)
    np.testing.assert_allclose(extended.joints[:40], raw.joints, atol=1e-4)   # the motion it continues is kept


def test_worker_reads_foot_cleanup_as_a_boolean():
    from motion_core.interfaces.worker_params import control_options
    from motion_core.interfaces.worker_protocol import ProtocolError
    assert control_options({}) == {}
    assert control_options({"foot_cleanup": False}) == {"foot_cleanup": False}
    with pytest.raises(ProtocolError, match="true or false"):
        control_options({"foot_cleanup": "no"})


def test_cli_no_foot_cleanup(tmp_path):
    from tests.test_cli import run_cli
    checkpoint = Engine.random(tiny_config(), seed=0).save(tmp_path / "tiny")
    for flag, expected in ((), 1), (("--no-foot-cleanup",), None):
        out = tmp_path / f"m{len(flag)}.npz"
        result = run_cli("generate", "a person walks", "--seconds", "1", "--steps", "2", "--out", out,
                         "--checkpoint", checkpoint, "--device", "cpu", *flag)
        assert result.returncode == 0, result.stderr
        assert Motion.load(out).meta.get("foot_cleanup") == expected


def test_worker_reads_loop_for_generate_only():
    from motion_core.interfaces.worker_params import control_options
    assert control_options({"loop": True}) == {"loop": True}
    assert control_options({"loop": True}, "extend") == {}

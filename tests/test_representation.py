"""The HumanML3D feature representation: decoder vs the released data, encoder round trips, mirroring."""
import numpy as np
import pytest
import torch

from motion_core.kinematics import quaternion as Q
from motion_core.kinematics.representation import (canonicalize, feature_slices, features_to_joints, joints_to_features,
                                        mirror_features, mirror_joints)
from motion_core.kinematics.skeleton import HUMANML3D, KIT

# Frames whose smoothed heading (gaussian, radius 80 frames) never reaches past the sample's end. The released
# features were computed from one more frame than the stored joints, so later frames legitimately differ.
UNAFFECTED_BY_CLIP_END = 89


def yaw_translate(joints, angle, offset):
    q = Q.qfrom_axis_angle(np.array([0.0, 1.0, 0.0]), angle)
    return Q.qrot(np.broadcast_to(q, joints.shape[:-1] + (4,)), joints) + np.asarray(offset)


def synthetic_motion(skeleton, frames=60, seed=0):
    """Forward kinematics of the skeleton's rest pose with random smooth joint rotations, walking and turning."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, frames)[:, None]
    j = skeleton.num_joints
    # Each joint: a smooth axis-angle curve, a sum of two random low-frequency sinusoids (up to ~0.6 rad).
    amp = rng.uniform(-0.3, 0.3, size=(2, j, 3))
    freq = rng.uniform(0.5, 2.0, size=(2, j, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(2, j, 3))
    rotvec = (amp[None] * np.sin(2 * np.pi * freq[None] * t[..., None, None] + phase[None])).sum(1)
    rotvec[:, 0, 1] += 2.0 * t[:, 0]  # the root turns ~115 degrees over the clip
    angle = np.linalg.norm(rotvec, axis=-1)
    local = Q.qfrom_axis_angle(rotvec + 1e-12, angle)
    offsets = skeleton.rest_offsets
    world = np.zeros((frames, j, 4))
    pos = np.zeros((frames, j, 3))
    for joint, parent in enumerate(skeleton.parents):
        if parent < 0:
            world[:, joint] = local[:, joint]
            pos[:, joint] = np.concatenate([1.5 * t, 0.95 + 0.03 * np.sin(12 * t), 0.5 * t ** 2], axis=-1)
        else:
            world[:, joint] = Q.qmul(world[:, parent], local[:, joint])
            pos[:, joint] = pos[:, parent] + Q.qrot(world[:, parent], np.broadcast_to(offsets[joint], (frames, 3)))
    return pos


# ---------------------------------------------------------------------------------------------------------
# Decoder

def test_decoder_matches_released_joints(humanml3d_sample):
    features, joints = humanml3d_sample
    decoded = features_to_joints(features)
    assert isinstance(decoded, np.ndarray) and decoded.dtype == features.dtype
    assert decoded.shape == joints.shape
    assert np.abs(decoded - joints).max() < 1e-5   # measured 2.4e-7 (float32 storage)


def test_decoder_batch_equals_single_and_torch_equals_numpy(humanml3d_sample):
    features, _ = humanml3d_sample
    single = features_to_joints(features)
    batch = features_to_joints(np.stack([features, features[::-1].copy()]))
    assert batch.shape == (2,) + single.shape
    assert np.allclose(batch[0], single, atol=1e-6)
    assert np.allclose(batch[1], features_to_joints(features[::-1].copy()), atol=1e-6)
    as_torch = features_to_joints(torch.from_numpy(features).double())
    assert isinstance(as_torch, torch.Tensor) and as_torch.dtype == torch.float64
    assert np.allclose(as_torch.numpy(), single, atol=1e-5)


def test_decoder_is_differentiable(humanml3d_sample):
    features = torch.tensor(humanml3d_sample[0][:20], dtype=torch.float64, requires_grad=True)
    features_to_joints(features).pow(2).sum().backward()
    grad = features.grad
    s = feature_slices(HUMANML3D)
    assert torch.isfinite(grad).all()
    assert grad[:, s.ric].abs().sum() > 0 and grad[:-1, s.root_rot_vel].abs().sum() > 0
    assert grad[:, s.rot6d].abs().sum() == 0  # the decoder does not read rotations


def test_decoder_rejects_bad_input(humanml3d_sample):
    features, _ = humanml3d_sample
    with pytest.raises(ValueError, match="needs 263"):
        features_to_joints(features[:, :251])
    with pytest.raises(ValueError, match="21 joints"):
        features_to_joints(features[:, :251], HUMANML3D)
    with pytest.raises(ValueError, match=r"\(T, 263\)"):
        features_to_joints(features[0])
    bad = features.copy()
    bad[3, 7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        features_to_joints(bad)
    with pytest.raises(TypeError, match="numpy array or a torch tensor"):
        features_to_joints(features.tolist())


# ---------------------------------------------------------------------------------------------------------
# Encoder

def test_encoder_reproduces_released_features(humanml3d_sample):
    features, joints = humanml3d_sample
    encoded = joints_to_features(joints)
    assert encoded.shape == features.shape and encoded.dtype == features.dtype
    n = UNAFFECTED_BY_CLIP_END
    s = feature_slices(HUMANML3D)
    assert np.array_equal(encoded[:, s.contacts], features[:, s.contacts])
    assert np.abs(encoded[:n, :s.rot6d.start] - features[:n, :s.rot6d.start]).max() < 1e-5   # measured 2e-7
    assert np.abs(encoded[:n, s.rot6d] - features[:n, s.rot6d]).max() < 1e-4               # measured 7.7e-6
    assert np.abs(encoded[:n, s.local_vel] - features[:n, s.local_vel]).max() < 1e-5


def test_round_trip_on_sample_is_canonicalize(humanml3d_sample):
    _, joints = humanml3d_sample
    # The released joints are already canonical, so canonicalize is (nearly) the identity on them.
    assert np.abs(canonicalize(joints) - joints).max() < 1e-5
    decoded = features_to_joints(joints_to_features(joints.astype(np.float64)))
    assert np.abs(decoded - joints).max() < 1e-6


@pytest.mark.parametrize("angle, offset", [(0.7, (3.0, 0.4, -2.0)), (-2.9, (-1.0, -0.2, 5.0)), (np.pi, (0, 0, 0))])
def test_features_ignore_heading_and_position(humanml3d_sample, angle, offset):
    _, joints = humanml3d_sample
    joints = joints.astype(np.float64)
    moved = yaw_translate(joints, angle, offset)
    assert np.abs(joints_to_features(moved) - joints_to_features(joints)).max() < 1e-6
    assert np.abs(features_to_joints(joints_to_features(moved)) - canonicalize(moved)).max() < 1e-6
    assert np.abs(canonicalize(moved) - canonicalize(joints)).max() < 1e-6


def test_canonical_frame():
    joints = synthetic_motion(HUMANML3D, seed=3)
    canon = canonicalize(yaw_translate(joints, 1.3, (2.0, 0.5, -4.0)))
    assert abs(canon[..., 1].min()) < 1e-12
    assert np.allclose(canon[0, 0, [0, 2]], 0.0)
    r_hip, l_hip, r_sh, l_sh = HUMANML3D.face_joints
    across = canon[0, r_hip] - canon[0, l_hip] + canon[0, r_sh] - canon[0, l_sh]
    assert abs(across[2]) < 1e-9 and across[0] < 0   # right-to-left is -x when facing +z


@pytest.mark.parametrize("seed", [0, 1, 2, 5])
def test_round_trip_on_random_motion(seed):
    joints = synthetic_motion(HUMANML3D, frames=80, seed=seed)
    features = joints_to_features(joints)
    assert features.shape == (80, 263)
    assert np.abs(features_to_joints(features) - canonicalize(joints)).max() < 1e-9
    plain = joints_to_features(joints, dataset_heading=False)
    assert np.abs(features_to_joints(plain) - canonicalize(joints)).max() < 1e-9


def test_round_trip_when_turning_a_full_circle():
    """The heading passes facing -z, where HumanML3D's own rot-vel formula picks the wrong angle."""
    rest = HUMANML3D.rest_positions() + np.array([0.0, 0.9, 0.0])
    angles = np.linspace(0.0, 2.5 * np.pi, 60)
    joints = np.stack([yaw_translate(rest, a, (0.02 * i, 0.0, 0.0)) for i, a in enumerate(angles)])
    features = joints_to_features(joints)
    assert np.abs(features_to_joints(features) - canonicalize(joints)).max() < 1e-9


def test_rest_pose_has_identity_rotations_and_contacts():
    rest = HUMANML3D.rest_positions() + np.array([0.0, 1.0, 0.0])
    joints = np.repeat(rest[None], 5, axis=0)
    features = joints_to_features(joints)
    s = feature_slices(HUMANML3D)
    identity6d = np.tile([1.0, 0, 0, 0, 1.0, 0], HUMANML3D.num_joints - 1)
    assert np.allclose(features[:, s.rot6d], identity6d, atol=1e-12)
    assert np.allclose(features[:, s.contacts], 1.0)
    assert np.allclose(features[:, s.local_vel], 0.0) and np.allclose(features[:, :3], 0.0)
    assert np.allclose(features[:, s.root_y], rest[0, 1] - rest[:, 1].min())  # root height above the lowest toe


def test_rotations_describe_the_bones():
    """heading * R_c1 * ... * R_c applied to the rest direction of bone c gives the world bone (module doc)."""
    joints = synthetic_motion(HUMANML3D, frames=30, seed=5)
    features = joints_to_features(joints)
    world = canonicalize(joints)
    s = feature_slices(HUMANML3D)
    mats = Q.cont6d_to_matrix(features[:, s.rot6d].reshape(30, 21, 6))
    half_yaw = np.concatenate([[0.0], np.cumsum(features[:-1, 0])])
    heading = Q.qto_matrix(Q.qfrom_axis_angle(np.array([0.0, 1.0, 0.0]), 2 * half_yaw))
    for chain in HUMANML3D.kinematic_chains:
        acc = heading
        for parent, child in zip(chain[:-1], chain[1:]):
            acc = acc @ mats[:, child - 1]
            bone = world[:, child] - world[:, parent]
            expected = (acc @ HUMANML3D.raw_offsets[child]) * np.linalg.norm(bone, axis=-1, keepdims=True)
            assert np.allclose(bone, expected, atol=1e-9), (parent, child)


def test_encoder_batch_single_torch_numpy_agree():
    a = synthetic_motion(HUMANML3D, frames=40, seed=7)
    b = synthetic_motion(HUMANML3D, frames=40, seed=8)
    batch = joints_to_features(np.stack([a, b]))
    assert batch.shape == (2, 40, 263)
    assert np.allclose(batch[0], joints_to_features(a), atol=1e-12)
    assert np.allclose(batch[1], joints_to_features(b), atol=1e-12)
    as_torch = joints_to_features(torch.from_numpy(a).float())
    assert isinstance(as_torch, torch.Tensor) and as_torch.dtype == torch.float32
    assert np.allclose(as_torch.numpy(), joints_to_features(a.astype(np.float32)), atol=1e-6)


def test_foot_contacts_follow_the_velocity_rule():
    joints = synthetic_motion(HUMANML3D, frames=50, seed=9)
    canon = canonicalize(joints)
    features = joints_to_features(joints, foot_threshold=0.001)
    feet = [*HUMANML3D.left_foot, *HUMANML3D.right_foot]
    speed2 = ((canon[1:, feet] - canon[:-1, feet]) ** 2).sum(-1)
    expected = (speed2 < 0.001).astype(float)
    assert np.array_equal(features[:-1, -4:], expected)
    assert np.array_equal(features[-1, -4:], expected[-1])


def test_single_frame_and_bad_joints():
    rest = np.repeat(HUMANML3D.rest_positions()[None], 1, axis=0)
    features = joints_to_features(rest)
    assert features.shape == (1, 263)
    assert np.allclose(features_to_joints(features), canonicalize(rest), atol=1e-12)
    with pytest.raises(ValueError, match=r"\(T, 22, 3\)"):
        joints_to_features(np.zeros((10, 21, 3)))
    bad = np.repeat(rest, 3, axis=0)
    bad[1, 4, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        joints_to_features(bad)


def test_kit_round_trip():
    joints = synthetic_motion(KIT, frames=70, seed=11)
    features = joints_to_features(joints, KIT)
    assert features.shape == (70, 251) == (70, KIT.feature_dim)
    assert np.abs(features_to_joints(features, KIT) - canonicalize(joints, KIT)).max() < 1e-9
    moved = yaw_translate(joints, -1.1, (0.3, 0.0, 0.9))
    assert np.abs(joints_to_features(moved, KIT) - features).max() < 1e-9


# ---------------------------------------------------------------------------------------------------------
# Mirroring

@pytest.mark.parametrize("skeleton", [HUMANML3D, KIT], ids=["humanml3d", "kit"])
def test_mirror_twice_is_identity(skeleton):
    joints = synthetic_motion(skeleton, frames=30, seed=12)
    features = joints_to_features(joints, skeleton)
    assert np.array_equal(mirror_joints(mirror_joints(joints, skeleton), skeleton), joints)
    assert np.array_equal(mirror_features(mirror_features(features, skeleton), skeleton), features)
    assert not np.allclose(mirror_features(features, skeleton), features)


def test_mirrored_features_decode_to_mirrored_joints(humanml3d_sample):
    features, _ = humanml3d_sample
    decoded = features_to_joints(mirror_features(features))
    assert np.abs(decoded - mirror_joints(features_to_joints(features))).max() < 1e-5  # measured ~2e-7


@pytest.mark.parametrize("skeleton", [HUMANML3D, KIT], ids=["humanml3d", "kit"])
def test_mirror_features_equals_encoding_mirrored_joints(skeleton):
    joints = synthetic_motion(skeleton, frames=60, seed=13)
    direct = mirror_features(joints_to_features(joints, skeleton), skeleton)
    via_joints = joints_to_features(mirror_joints(joints, skeleton), skeleton)
    assert np.abs(direct - via_joints).max() < 1e-9


def test_mirror_joints_swaps_sides():
    rest = HUMANML3D.rest_positions()
    mirrored = mirror_joints(rest)
    left_hip, right_hip = HUMANML3D.index("left_hip"), HUMANML3D.index("right_hip")
    assert np.allclose(mirrored[left_hip], rest[left_hip], atol=0.01)  # the rest pose is almost symmetric
    assert mirrored[left_hip, 0] > 0 > mirrored[right_hip, 0]
    torch_out = mirror_joints(torch.from_numpy(rest))
    assert isinstance(torch_out, torch.Tensor) and np.array_equal(torch_out.numpy(), mirrored)

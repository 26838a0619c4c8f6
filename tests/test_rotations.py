"""Forward kinematics and joints -> rotations (IK), on the real HumanML3D sample and random plausible motions."""
import numpy as np
import pytest
import torch

from motion_core import quaternion as Q
from motion_core.rotations import (continuous_quaternions, forward_kinematics, global_rotations,
                                   joints_to_rotations, measured_offsets)
from motion_core.skeleton import HUMANML3D, KIT

# Joint ranges in degrees about the rest frame's (x, y, z) axes. Knees flex about +x (ankle moves back),
# elbows about -x (wrist moves forward); everything else gets a moderate range.
_LIMITS = {
    "hip": ((-80, 15), (-30, 30), (-30, 30)),
    "knee": ((0, 110), (0, 0), (0, 0)),
    "elbow": ((-130, 0), (0, 0), (0, 0)),
    "shoulder": ((-70, 40), (-50, 50), (-60, 60)),
    "ankle": ((-20, 30), (-10, 10), (-10, 10)),
}
_DEFAULT_LIMIT = ((-20, 20), (-20, 20), (-15, 15))


def _smooth_curve(rng, num_frames, fps, lo, hi):
    """A random smooth curve in [lo, hi]: a few sinusoids of 0.1-1.2 Hz, rescaled to the range."""
    t = np.arange(num_frames) / fps
    curve = sum(rng.normal() * np.sin(2 * np.pi * rng.uniform(0.1, 1.2) * t + rng.uniform(0, 2 * np.pi))
                for _ in range(3))
    curve = (curve - curve.min()) / max(np.ptp(curve), 1e-9)
    return lo + (hi - lo) * curve


def random_motion(skeleton, rng, num_frames=120, body_scale=1.0):
    """Ground truth (local rotations, root path, offsets): smooth, within joint limits, any heading."""
    fps = skeleton.fps
    local = np.zeros((num_frames, skeleton.num_joints, 4))
    for j, name in enumerate(skeleton.joint_names):
        limits = next((v for k, v in _LIMITS.items() if k in name), _DEFAULT_LIMIT)
        if j == 0:
            limits = ((-15, 15), (-180, 180), (-10, 10))   # the root may turn all the way round
        q = Q.qidentity(num_frames, like=local)
        for axis, (lo, hi) in enumerate(limits):
            angle = np.radians(_smooth_curve(rng, num_frames, fps, lo, hi))
            q = Q.qmul(q, Q.qfrom_axis_angle(np.eye(3)[axis], angle))
        local[:, j] = q
    root = np.stack([_smooth_curve(rng, num_frames, fps, -2, 2), _smooth_curve(rng, num_frames, fps, 0.8, 1.0),
                     _smooth_curve(rng, num_frames, fps, -2, 2)], axis=-1)
    offsets = skeleton.rest_offsets * body_scale
    return local, root, offsets


def angular_steps(q):
    """Rotation angle (degrees) between consecutive frames, per joint: (T-1, J)."""
    rel = Q.qmul(Q.qinv(q[:-1]), q[1:])
    return np.degrees(2 * np.arccos(np.clip(np.abs(rel[..., 0]), 0, 1)))


def fk_error(joints, skeleton):
    rot, root, offsets = joints_to_rotations(joints, skeleton)
    return np.linalg.norm(forward_kinematics(rot, root, offsets, skeleton.parents) - joints, axis=-1)


# ---- forward kinematics ---------------------------------------------------------------------------------

def test_identity_rotations_give_the_rest_pose():
    rot = Q.qidentity((3, HUMANML3D.num_joints), like=np.zeros(1))
    root = np.tile([0.0, 0.9, 0.0], (3, 1))
    pos = forward_kinematics(rot, root, HUMANML3D.rest_offsets, HUMANML3D.parents)
    np.testing.assert_allclose(pos, HUMANML3D.rest_positions()[None] + root[:, None], atol=1e-12)


def test_fk_bones_follow_global_rotations():
    local, root, offsets = random_motion(HUMANML3D, np.random.default_rng(1), num_frames=10)
    pos = forward_kinematics(local, root, offsets, HUMANML3D.parents)
    glob = global_rotations(local, HUMANML3D.parents)
    parents = np.array(HUMANML3D.parents[1:])
    bones = pos[:, 1:] - pos[:, parents]
    np.testing.assert_allclose(bones, Q.qrot(glob[:, parents], offsets[1:]), atol=1e-12)
    np.testing.assert_allclose(glob[:, 0], local[:, 0])


def test_fk_torch_matches_numpy_and_has_gradients():
    local, root, offsets = random_motion(HUMANML3D, np.random.default_rng(2), num_frames=8)
    batch = np.stack([local, local])          # leading batch dimension
    expected = forward_kinematics(batch, np.stack([root, root]), offsets, HUMANML3D.parents)
    t_local = torch.tensor(batch, requires_grad=True)
    out = forward_kinematics(t_local, torch.tensor(np.stack([root, root])), offsets, HUMANML3D.parents)
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-12)
    out.square().sum().backward()
    assert torch.isfinite(t_local.grad).all() and t_local.grad.abs().sum() > 0


def test_fk_rejects_bad_shapes_and_parents():
    rot = Q.qidentity((2, 22), like=np.zeros(1))
    with pytest.raises(ValueError, match="offsets"):
        forward_kinematics(rot, np.zeros((2, 3)), np.zeros((21, 3)), HUMANML3D.parents)
    with pytest.raises(ValueError, match="root_translation"):
        forward_kinematics(rot, np.zeros((3, 3)), HUMANML3D.rest_offsets, HUMANML3D.parents)
    with pytest.raises(ValueError, match="parent"):
        forward_kinematics(rot, np.zeros((2, 3)), HUMANML3D.rest_offsets, (-1, 2) + HUMANML3D.parents[2:])


# ---- inverse: joints -> rotations -----------------------------------------------------------------------

def test_real_sample_round_trip(humanml3d_sample):
    _, joints = humanml3d_sample
    err = fk_error(joints.astype(np.float64), HUMANML3D)
    # HumanML3D's joints are an exact FK of a fixed skeleton, so only float error remains.
    assert err.mean() < 1e-5 and err.max() < 1e-4, (err.mean(), err.max())


def test_real_sample_rotations_are_continuous(humanml3d_sample):
    _, joints = humanml3d_sample
    rot, _, _ = joints_to_rotations(joints, HUMANML3D)
    assert ((rot[1:] * rot[:-1]).sum(-1) >= 0).all(), "quaternion sign flips between frames"
    steps = angular_steps(rot)
    # A twist flip shows up as a ~180 degree step; the clip's fastest real joint turns are well below that.
    assert steps.max() < 120, steps.max()
    assert np.percentile(steps, 99) < 35, np.percentile(steps, 99)


@pytest.mark.parametrize("skeleton,seed,body_scale", [
    (HUMANML3D, 0, 1.0), (HUMANML3D, 1, 0.8), (HUMANML3D, 2, 1.25), (KIT, 3, 1.0), (KIT, 4, 0.9),
])
def test_random_motion_fk_ik_fk(skeleton, seed, body_scale):
    local, root, offsets = random_motion(skeleton, np.random.default_rng(seed), body_scale=body_scale)
    joints = forward_kinematics(local, root, offsets, skeleton.parents)
    rot, root2, offsets2 = joints_to_rotations(joints, skeleton)
    np.testing.assert_allclose(offsets2, offsets, atol=1e-9)      # body size recovered from the motion
    np.testing.assert_allclose(root2, root, atol=1e-12)
    err = np.linalg.norm(forward_kinematics(rot, root2, offsets2, skeleton.parents) - joints, axis=-1)
    assert err.mean() < 1e-6 and err.max() < 1e-5, (err.mean(), err.max())
    # No twist flips: the solved rotations turn no faster than the true ones plus a margin for the twist
    # that positions cannot see (leaves, straight limbs) and is re-chosen from neighbours.
    assert ((rot[1:] * rot[:-1]).sum(-1) >= 0).all()
    excess = angular_steps(rot).max(0) - angular_steps(local).max(0)     # per joint, degrees per frame
    assert excess.max() < 10, dict(zip(skeleton.joint_names, excess.round(1)))


def test_bend_plane_sets_limb_twist():
    """With knees and elbows bent, IK recovers the true hip/shoulder/knee/elbow rotations, twist included."""
    rng = np.random.default_rng(5)
    local, root, offsets = random_motion(HUMANML3D, rng, num_frames=60)
    for name, angle in (("left_knee", 70), ("right_knee", 50), ("left_elbow", -80), ("right_elbow", -60)):
        local[:, HUMANML3D.index(name)] = Q.qfrom_axis_angle(np.array([1.0, 0, 0]), np.radians(angle))
    rot, _, _ = joints_to_rotations(forward_kinematics(local, root, offsets, HUMANML3D.parents), HUMANML3D)
    # Compare world rotations: a collar's own twist is invisible in positions, so the shoulder's *local*
    # rotation may differ while the arm itself is oriented exactly.
    solved, true = global_rotations(rot, HUMANML3D.parents), global_rotations(local, HUMANML3D.parents)
    for name in ("left_hip", "right_hip", "left_knee", "right_knee",
                 "left_shoulder", "right_shoulder", "left_elbow", "right_elbow"):
        j = HUMANML3D.index(name)
        np.testing.assert_allclose(np.abs((solved[:, j] * true[:, j]).sum(-1)), 1.0, atol=1e-9, err_msg=name)
    for name in ("left_knee", "right_knee", "left_elbow", "right_elbow"):   # pure hinges, locally too
        j = HUMANML3D.index(name)
        np.testing.assert_allclose(np.abs((rot[:, j] * local[:, j]).sum(-1)), 1.0, atol=1e-9, err_msg=name)


def test_rest_pose_gives_identity_rotations():
    joints = np.tile(HUMANML3D.rest_positions(), (4, 1, 1)) + np.array([0.0, 0.9, 0.0])
    rot, _, offsets = joints_to_rotations(joints, HUMANML3D)
    np.testing.assert_allclose(np.abs(rot[..., 0]), 1.0, atol=1e-9)
    np.testing.assert_allclose(offsets, HUMANML3D.rest_offsets, atol=1e-12)


def test_noisy_joints_stay_close():
    """Predicted joints are not an exact FK (bone lengths wobble); errors must stay local, not pile up."""
    rng = np.random.default_rng(6)
    local, root, offsets = random_motion(HUMANML3D, rng)
    clean = forward_kinematics(local, root, offsets, HUMANML3D.parents)
    noisy = clean + rng.normal(0, 0.005, clean.shape)
    err = fk_error(noisy, HUMANML3D)
    assert err.mean() < 0.01, err.mean()


def test_branching_joints_take_the_measured_configuration(humanml3d_sample):
    """HumanML3D's hips sit ~70 degrees apart below the pelvis, not at +-x: offsets must follow the data."""
    _, joints = humanml3d_sample
    offsets = measured_offsets(joints.astype(np.float64), HUMANML3D)
    l_hip, r_hip = offsets[HUMANML3D.index("left_hip")], offsets[HUMANML3D.index("right_hip")]
    angle = np.degrees(np.arccos(l_hip @ r_hip / np.linalg.norm(l_hip) / np.linalg.norm(r_hip)))
    frame0 = joints[0, [1, 2]] - joints[0, 0]
    expected = np.degrees(np.arccos(frame0[0] @ frame0[1] / np.linalg.norm(frame0, axis=-1).prod()))
    assert abs(angle - expected) < 1e-3
    np.testing.assert_allclose(np.linalg.norm(offsets[1:], axis=-1), HUMANML3D.bone_lengths[1:], atol=1e-4)


def test_continuous_quaternions_removes_sign_flips():
    q = Q.qfrom_axis_angle(np.array([0.0, 1, 0]), np.linspace(0, 3, 20))[:, None]
    flipped = q * np.where(np.arange(20) % 3 == 0, -1.0, 1.0)[:, None, None]
    fixed = continuous_quaternions(flipped)
    np.testing.assert_allclose(fixed, q * np.sign(flipped[0, 0, 0] * q[0, 0, 0]), atol=1e-12)


def test_ik_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(T, 22, 3\)"):
        joints_to_rotations(np.zeros((5, 21, 3)), HUMANML3D)
    bad = np.tile(HUMANML3D.rest_positions(), (2, 1, 1))
    bad[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        joints_to_rotations(bad, HUMANML3D)

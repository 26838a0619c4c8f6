"""Forward kinematics and joints -> rotations (IK), on the real HumanML3D sample and random plausible motions."""
import numpy as np
import pytest
import torch

from motion_core.kinematics import quaternion as Q
from motion_core.kinematics.rotations import (continuous_quaternions, forward_kinematics, global_rotations,
                                   joints_to_rotations, measured_offsets)
from motion_core.kinematics.skeleton import HUMANML3D, KIT

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


# ---- batches of clips -------------------------------------------------------------------------------------

def _batch_fk_error(rot, root, offsets, clips, skeleton):
    """Per-clip FK (each clip has its own offsets) distance to the input joints: (B, T, J)."""
    fk = np.stack([forward_kinematics(r, t, o, skeleton.parents) for r, t, o in zip(rot, root, offsets)])
    return np.linalg.norm(fk - clips, axis=-1)


def _clip_batch(skeleton, seeds, num_frames=80, noise=0.0):
    """(B, T, J, 3) FK clips of different body sizes (each clip's own offsets), optionally noisy."""
    clips = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        local, root, offsets = random_motion(skeleton, rng, num_frames=num_frames, body_scale=rng.uniform(0.8, 1.2))
        joints = forward_kinematics(local, root, offsets, skeleton.parents)
        clips.append(joints + rng.normal(0, noise, joints.shape))
    return np.stack(clips)


@pytest.mark.parametrize("skeleton,noise", [(HUMANML3D, 0.0), (HUMANML3D, 0.01), (KIT, 0.005)])
def test_batch_equals_per_clip(skeleton, noise):
    clips = _clip_batch(skeleton, range(10, 14), noise=noise)
    rot, root, offsets = joints_to_rotations(clips, skeleton)
    assert rot.shape == clips.shape[:3] + (4,) and root.shape == clips.shape[:2] + (3,)
    assert offsets.shape == (len(clips), skeleton.num_joints, 3)
    assert np.ptp(np.linalg.norm(offsets[:, 4], axis=-1)) > 0.01, "clips should differ in bone lengths"
    for b, clip in enumerate(clips):
        single = joints_to_rotations(clip, skeleton)
        for batched, alone in zip((rot[b], root[b], offsets[b]), single):
            np.testing.assert_allclose(batched, alone, atol=1e-9)
    np.testing.assert_allclose(measured_offsets(clips, skeleton), offsets, atol=1e-12)


def test_batch_with_the_real_sample_round_trips(humanml3d_sample):
    _, joints = humanml3d_sample
    clips = np.concatenate([joints[None].astype(np.float64), _clip_batch(HUMANML3D, [20, 21], len(joints))])
    rot, root, offsets = joints_to_rotations(clips, HUMANML3D)
    err = _batch_fk_error(rot, root, offsets, clips, HUMANML3D)
    assert err.max() < 1e-4, err.max(axis=(1, 2))
    np.testing.assert_allclose(rot[0], joints_to_rotations(joints, HUMANML3D)[0], atol=1e-9)


def test_batch_split_into_passes_gives_the_same_result(monkeypatch):
    import motion_core.kinematics.rotations as rotations
    clips = _clip_batch(HUMANML3D, range(30, 35), num_frames=40, noise=0.005)
    whole = joints_to_rotations(clips, HUMANML3D)
    monkeypatch.setattr(rotations, "_CHUNK_FRAMES", 90)      # two clips a pass: passes of 2, 2 and 1
    for split, together in zip(joints_to_rotations(clips, HUMANML3D), whole):
        np.testing.assert_allclose(split, together, atol=1e-12)


def test_single_frame_clips_and_a_batch_of_one():
    clips = _clip_batch(KIT, [40, 41], num_frames=1)
    rot, root, offsets = joints_to_rotations(clips, KIT)
    assert rot.shape == (2, 1, KIT.num_joints, 4)
    assert _batch_fk_error(rot, root, offsets, clips, KIT).max() < 1e-9
    one = joints_to_rotations(clips[:1], KIT)
    np.testing.assert_allclose(one[0][0], rot[0], atol=1e-9)


def test_copied_skeleton_gets_its_own_plan_and_the_same_answer():
    import dataclasses
    copy = dataclasses.replace(HUMANML3D, raw_offsets=HUMANML3D.raw_offsets.copy())
    clip = _clip_batch(HUMANML3D, [50], num_frames=30)[0]
    for ours, theirs in zip(joints_to_rotations(clip, copy), joints_to_rotations(clip, HUMANML3D)):
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_batch_rejects_bad_input():
    clips = _clip_batch(HUMANML3D, [60, 61, 62], num_frames=5)
    with pytest.raises(ValueError, match=r"\(B, T, 22, 3\)"):
        joints_to_rotations(clips[..., :2], HUMANML3D)
    with pytest.raises(ValueError, match=r"\(T, 22, 3\)"):
        joints_to_rotations(clips[None], HUMANML3D)            # 5 dimensions
    with pytest.raises(ValueError, match="no clips"):
        joints_to_rotations(clips[:0], HUMANML3D)
    with pytest.raises(ValueError, match="no frames"):
        joints_to_rotations(clips[:, :0], HUMANML3D)
    clips[2, 3, 7, 1] = np.inf
    with pytest.raises(ValueError, match=r"infinite values \(clips \[2\]\)"):
        joints_to_rotations(clips, HUMANML3D)


def test_motion_batch_from_joints_matches_from_joints():
    from motion_core.formats.motion import Motion
    clips = _clip_batch(HUMANML3D, [70, 71], num_frames=25, noise=0.003)
    motions = Motion.batch_from_joints(clips, HUMANML3D, fps=20.0, metas=[{"prompt": "a"}, None])
    assert [m.meta for m in motions] == [{"prompt": "a"}, {}]
    for motion, clip in zip(motions, clips):
        alone = Motion.from_joints(clip, HUMANML3D, fps=20.0)
        np.testing.assert_allclose(motion.rotations, alone.rotations, atol=1e-6)
        np.testing.assert_allclose(motion.offsets, alone.offsets, atol=1e-7)
    with pytest.raises(ValueError, match="one meta per clip"):
        Motion.batch_from_joints(clips, HUMANML3D, metas=[{}])
    with pytest.raises(ValueError, match=r"\(B, T, J, 3\)"):
        Motion.batch_from_joints(clips[0], HUMANML3D)


# ---- the inverse's numpy kernels against motion_core.kinematics.quaternion and an SVD -----------------------------

def test_numpy_quaternion_kernels_match_the_torch_backed_module():
    import motion_core.kinematics.component_first as CF
    rng = np.random.default_rng(80)
    a, b = Q.qnormalize(rng.normal(size=(50, 4))), Q.qnormalize(rng.normal(size=(50, 4)))
    u, v = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    v[:5] = -u[:5] * rng.uniform(0.5, 2, (5, 1))      # opposite directions: the half-turn branch
    first = lambda x: np.moveaxis(x, -1, 0)            # noqa: E731 - the kernels are component-first
    np.testing.assert_allclose(CF.qmul(first(a), first(b)), first(Q.qmul(a, b)), atol=1e-15)
    np.testing.assert_allclose(CF.qrot(first(a), first(u)), first(Q.qrot(a, u)), atol=1e-14)
    np.testing.assert_allclose(CF.qbetween(first(u), first(v)), first(Q.qbetween(u, v)), atol=1e-14)
    angle = rng.uniform(-4, 4, 50)
    unit = u / np.linalg.norm(u, axis=-1, keepdims=True)
    np.testing.assert_allclose(CF.qfrom_axis_angle(first(unit), angle), first(Q.qfrom_axis_angle(u, angle)),
                               atol=1e-15)


def test_horn_kabsch_matches_the_svd_solution_including_degenerate_point_sets():
    import motion_core.kinematics.rigid_fit as RF
    rng = np.random.default_rng(81)
    source = rng.normal(size=(400, 3, 3))
    truth = Q.qnormalize(rng.normal(size=(400, 4)))
    target = Q.qrot(truth[:, None], source) + rng.normal(0, 0.2, source.shape)
    source[:100, 2] = 0.0                                  # two points: a plane, as at the pelvis
    target[100:150] = -target[100:150]                     # a reflection-like fit: det(S) < 0
    source[150:160] = source[150:160, :1] * np.array([1.0, 2.0, -1.0])[:, None]    # collinear: not unique
    target[150:160] = Q.qrot(truth[150:160, None], source[150:160])
    source[160:165] = target[160:165] = 0.0                # nothing to fit
    # Component-first points (3, C, frames).
    q = np.moveaxis(RF.kabsch_quaternion(source.transpose(2, 1, 0), target.transpose(2, 1, 0)), 0, -1)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-12)
    assert (q[:, 0] >= 0).all()
    svd = Q.qfrom_matrix(RF.kabsch_matrix(source, target))
    well_posed = np.r_[0:150, 165:400]
    np.testing.assert_allclose(q[well_posed], svd[well_posed], atol=1e-9)
    # Collinear points: any rotation that maps the line is optimal; it must reach the SVD's residual.
    residual = lambda rot: np.linalg.norm(Q.qrot(rot[:, None], source[150:160]) - target[150:160])  # noqa: E731
    assert residual(q[150:160]) < 1e-9 and residual(svd[150:160]) < 1e-9
    np.testing.assert_allclose(q[160:165], svd[160:165], atol=1e-12)


def test_batch_from_features_equals_clip_by_clip(humanml3d_sample):
    from motion_core.formats.motion import Motion
    features, _ = humanml3d_sample
    clips = np.stack([features[:60], features[50:110], features[100:160]])
    batched = Motion.batch_from_features(clips, HUMANML3D, metas=[{"n": i} for i in range(3)])
    for i, motion in enumerate(batched):
        alone = Motion.from_features(clips[i], HUMANML3D)
        assert motion.meta == {"n": i} and motion.fps == alone.fps
        for name in ("joints", "rotations", "root_translation", "offsets"):
            assert np.allclose(getattr(motion, name), getattr(alone, name), atol=1e-9), name
    with pytest.raises(ValueError, match="features must be"):
        Motion.batch_from_features(features, HUMANML3D)

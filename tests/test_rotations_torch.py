"""The torch IK (`joints_to_rotations_torch`) against the numpy one it ports, and its no-read-back contract."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import motion_core.kinematics.component_first_torch as CFT
import motion_core.kinematics.rigid_fit as RF
import motion_core.kinematics.rigid_fit_torch as RFT
import motion_core.kinematics.rotations as R
import motion_core.kinematics.rotations_torch as RT
from motion_core.kinematics import quaternion as Q
from motion_core.kinematics.rotations import forward_kinematics, joints_to_rotations
from motion_core.kinematics.rotations_torch import joints_to_rotations_torch
from motion_core.kinematics.skeleton import HUMANML3D, KIT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_ik import synthetic_clips  # noqa: E402

AGREE = 1e-9


def _max_differences(clips: np.ndarray, skeleton) -> list[float]:
    """Largest |numpy - torch| of (rotations, root, offsets), torch run on CPU in float64."""
    expected = joints_to_rotations(clips, skeleton)
    got = joints_to_rotations_torch(torch.from_numpy(clips), skeleton)
    assert all(g.dtype == torch.float64 for g in got)
    return [float(np.abs(e - g.numpy()).max()) for e, g in zip(expected, got)]


# ---- agreement with numpy ---------------------------------------------------------------------------------

def test_real_sample_matches_numpy(humanml3d_sample):
    _, joints = humanml3d_sample
    clips = joints[None].astype(np.float64)
    assert max(_max_differences(clips, HUMANML3D)) <= AGREE
    # Odd frame count: the median takes the middle value instead of averaging two.
    assert max(_max_differences(clips[:, :-1], HUMANML3D)) <= AGREE


@pytest.mark.parametrize("skeleton", [HUMANML3D, KIT])
def test_synthetic_batches_match_numpy(skeleton):
    clips = synthetic_clips(skeleton, 6, 50, seed=3)
    assert max(_max_differences(clips, skeleton)) <= AGREE


def _straight_limb_clips(skeleton, batch: int, num_frames: int = 90, seed: int = 0) -> np.ndarray:
    """Smooth random clips (bench_ik's kind) in which limbs go straight, so twist references fail:

    * the left elbow stays straight: the left shoulder's only reference never counts (all frames unsure);
    * the right elbow bends only mid-clip: the first and last frames hold the nearest sure twist;
    * the left knee straightens mid-clip while the foot points along the shin, so the foot plane fails
      too: those frames are interpolated between sure ones.
    Bends ramp smoothly through 10-30 degrees, so confidences between 0 and 1 occur as well.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / skeleton.fps
    frame = np.arange(num_frames)
    middle = np.exp(-0.5 * ((frame - num_frames / 2) / (num_frames / 10)) ** 2)      # 0 at the ends, 1 mid-clip
    x_axis = np.broadcast_to([1.0, 0.0, 0.0], (num_frames, 3)).copy()
    clips = []
    for _ in range(batch):
        j = skeleton.num_joints
        axis = rng.normal(size=(j, 3))
        angle = np.radians(rng.uniform(10, 40, j)) * np.sin(2 * np.pi * rng.uniform(0.2, 1.0, j) * t[:, None]
                                                             + rng.uniform(0, 6.3, j))
        local = Q.qfrom_axis_angle(np.broadcast_to(axis, (num_frames, j, 3)).copy(), angle)
        local[:, skeleton.index("left_elbow")] = Q.qidentity(num_frames, like=local)
        local[:, skeleton.index("right_elbow")] = Q.qfrom_axis_angle(x_axis, np.radians(-70) * middle)
        local[:, skeleton.index("left_knee")] = Q.qfrom_axis_angle(x_axis, np.radians(60) * (1 - middle))
        local[:, skeleton.index("left_ankle")] = Q.qfrom_axis_angle(x_axis, np.radians(90) * middle)
        root = np.stack([0.5 * t, 0.9 + 0.02 * np.sin(3 * t), 0.1 * np.sin(t)], -1)
        joints = forward_kinematics(local, root, skeleton.rest_offsets * rng.uniform(0.9, 1.1), skeleton.parents)
        clips.append(joints + rng.normal(0, 0.001, joints.shape))
    return np.stack(clips)


@pytest.mark.parametrize("skeleton", [HUMANML3D, KIT])
def test_straight_limbs_match_numpy(skeleton, monkeypatch):
    clips = _straight_limb_clips(skeleton, 3)
    seen = []

    def spy(angle, confidence):
        seen.append(confidence)
        return fill(angle, confidence)

    fill = R._fill_unreliable
    monkeypatch.setattr(R, "_fill_unreliable", spy)
    assert max(_max_differences(clips, skeleton)) <= AGREE
    # The clips must reach every path of the numpy fill that the torch one re-implements.
    sure = [c >= 0.5 for c in seen]
    assert any(not s.any() for s in sure), "no series without a sure frame"
    assert any(s.any() and not (s[0] and s[-1]) for s in sure), "no held first/last frames"
    assert any(s[0] and s[-1] and not s.all() for s in sure), "no unsure frames between sure ones"
    assert any(((c > 0.05) & (c < 0.95)).any() for c in seen), "no partial confidences"


def _random_series(rng, count: int, num_frames: int):
    """Twist angles (count, T) that wind past +-pi, and confidences with every pattern of sure frames."""
    angle = np.cumsum(rng.normal(0, 0.8, (count, num_frames)), -1)
    angle = (angle + np.pi) % (2 * np.pi) - np.pi
    confidence = rng.uniform(0, 1, (count, num_frames)) ** 2
    confidence[0] = 0.3                               # never sure
    confidence[1] = 0.2
    confidence[1, num_frames // 2] = 0.7              # one sure frame: held both ways
    confidence[2, :] = 0.9                            # always sure
    confidence[3, [0, -1]] = 0.1                      # unsure ends, sure interior
    confidence[4, : num_frames // 3] = 0.0            # long unsure head
    angle[5, 10] = angle[5, 9] + np.pi                # a jump of exactly pi: numpy's boundary case
    confidence[5, 9:11] = 0.8
    return angle, confidence


def test_fill_unreliable_matches_numpy_per_series():
    rng = np.random.default_rng(1)
    for num_frames in (1, 2, 37):
        angle, confidence = _random_series(rng, 40, num_frames) if num_frames > 10 else (
            rng.uniform(-4, 4, (6, num_frames)), rng.uniform(0, 1, (6, num_frames)))
        expected = np.stack([R._fill_unreliable(a, c) for a, c in zip(angle, confidence)])
        got = RT._fill_unreliable(torch.from_numpy(angle), torch.from_numpy(confidence)).numpy()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("num_frames", [1, 2, 7, 8])
def test_median_matches_numpy_for_odd_and_even_counts(num_frames):
    values = np.random.default_rng(num_frames).normal(size=(5, 4, num_frames))
    got = RT._median_last(torch.from_numpy(values)).numpy()
    np.testing.assert_array_equal(got, np.median(values, axis=-1))


# ---- Kabsch without read-backs ----------------------------------------------------------------------------

def _point_sets(rng, frames: int = 300):
    """(source, target) (frames, C, 3) pairs: noisy rotations, reflections, uncorrelated and degenerate."""
    source = rng.normal(size=(frames, 3, 3))
    truth = Q.qnormalize(rng.normal(size=(frames, 4)))
    target = Q.qrot(truth[:, None], source) + rng.normal(0, 0.2, source.shape)
    source[:60, 2] = 0.0                                       # two points: a plane, as at the pelvis
    target[60:100] = -target[60:100]                           # reflection-like: det(S) < 0
    target[100:160] = rng.normal(0, 5, target[100:160].shape)  # uncorrelated: Newton's slowest case
    source[160:170] = source[160:170, :1] * np.array([1.0, 2.0, -1.0])[:, None]    # collinear: not unique
    target[160:170] = Q.qrot(truth[160:170, None], source[160:170])
    source[170:175] = target[170:175] = 0.0                    # nothing to fit
    return source, target


def _kabsch_both(source, target):
    first = lambda a: np.ascontiguousarray(a.transpose(2, 1, 0))   # noqa: E731 - component-first (3, C, frames)
    expected = np.moveaxis(RF.kabsch_quaternion(first(source), first(target)), 0, -1)
    consts = RT.torch_plan(HUMANML3D, torch.float64, torch.device("cpu")).consts
    got = RFT.kabsch_quaternion(torch.from_numpy(first(source)), torch.from_numpy(first(target)), consts)
    return expected, got.numpy().T


def _fit_cost(q, source, target):
    return np.square(Q.qrot(q[:, None], source) - target).sum((-1, -2))


def test_kabsch_matches_numpy_and_degenerate_frames_stay_optimal():
    source, target = _point_sets(np.random.default_rng(2))
    expected, got = _kabsch_both(source, target)
    np.testing.assert_allclose(np.linalg.norm(got, axis=-1), 1.0, atol=1e-12)
    assert (got[:, 0] >= 0).all()
    well_posed = np.r_[0:160, 175:300]
    np.testing.assert_allclose(got[well_posed], expected[well_posed], rtol=0, atol=AGREE)
    # Collinear points: every rotation mapping the line is optimal; numpy's SVD and ours may pick different ones.
    assert _fit_cost(got[160:170], source[160:170], target[160:170]).max() < 1e-18
    np.testing.assert_allclose(got[170:175], np.tile([1.0, 0, 0, 0], (5, 1)), atol=0)   # identity, like the SVD


def test_kabsch_fallback_alone_is_optimal(monkeypatch):
    """With no Newton steps every frame is 'unconverged' and takes the squaring fallback: it must still be
    the best rotation (same fit cost as numpy's) on every frame, collinear ones included."""
    source, target = _point_sets(np.random.default_rng(3))
    monkeypatch.setattr(RFT, "NEWTON_ITERATIONS", 0)
    expected, got = _kabsch_both(source, target)
    cost, best = _fit_cost(got, source, target), _fit_cost(expected, source, target)
    assert (cost <= best + 1e-9 * (1 + best)).all(), np.abs(cost - best).max()
    monkeypatch.setattr(RFT, "FALLBACK_SQUARINGS", 2)       # the squarings are what makes it converge
    _, coarse = _kabsch_both(source, target)
    assert (_fit_cost(coarse, source, target) > best + 1e-6).any()


def _unconverged_frames(monkeypatch, run) -> list[int]:
    """Per `_largest_root` call during run(): how many frames Newton left unconverged."""
    counts = []

    def spy(*args):
        x, unconverged = root(*args)
        counts.append(int(unconverged.sum()))
        return x, unconverged

    root = RFT._largest_root
    monkeypatch.setattr(RFT, "_largest_root", spy)
    run()
    assert counts, "Newton never ran"
    return counts


def test_fixed_newton_count_is_enough(monkeypatch):
    """Real and synthetic clips never need the fallback: Newton converges even with 3 steps fewer than
    NEWTON_ITERATIONS. Random point sets may (their result is checked in the Kabsch tests above)."""
    monkeypatch.setattr(RFT, "NEWTON_ITERATIONS", RFT.NEWTON_ITERATIONS - 3)
    for skeleton in (HUMANML3D, KIT):
        clips = np.concatenate([synthetic_clips(skeleton, 2, 40), _straight_limb_clips(skeleton, 1, 40)])
        clips = torch.from_numpy(clips)
        counts = _unconverged_frames(monkeypatch, lambda: joints_to_rotations_torch(clips, skeleton))
        assert max(counts) == 0, counts
    monkeypatch.setattr(RFT, "NEWTON_ITERATIONS", 2)          # the check itself can fail
    assert max(_unconverged_frames(monkeypatch, lambda: joints_to_rotations_torch(clips, KIT))) > 0


def test_real_sample_needs_no_fallback(humanml3d_sample, monkeypatch):
    _, joints = humanml3d_sample
    clips = torch.from_numpy(joints[None].astype(np.float64))
    monkeypatch.setattr(RFT, "NEWTON_ITERATIONS", RFT.NEWTON_ITERATIONS - 3)
    assert max(_unconverged_frames(monkeypatch, lambda: joints_to_rotations_torch(clips, HUMANML3D))) == 0


def test_quaternion_kernels_match_component_first_numpy():
    import motion_core.kinematics.component_first as CF
    rng = np.random.default_rng(80)
    a, b = (np.moveaxis(Q.qnormalize(rng.normal(size=(50, 4))), -1, 0) for _ in range(2))
    u, v = rng.normal(size=(3, 50)), rng.normal(size=(3, 50))
    v[:, :5] = -u[:, :5] * rng.uniform(0.5, 2, 5)              # opposite directions: the half-turn
    u[:, 5], v[:, 5] = [0.0, 0.0, 2.0], [0.0, 0.0, -1.0]       # ties in |u|: argmin must pick the first
    angle = rng.uniform(-4, 4, 50)
    t = torch.from_numpy
    eye3 = torch.eye(3, dtype=torch.float64)
    np.testing.assert_allclose(CFT.qmul(t(a), t(b)).numpy(), CF.qmul(a, b), atol=1e-15)
    np.testing.assert_allclose(CFT.qrot(t(a), t(u)).numpy(), CF.qrot(a, u), atol=1e-14)
    np.testing.assert_allclose(CFT.qbetween(t(u), t(v), eye3).numpy(), CF.qbetween(u, v), atol=1e-14)
    unit = CF.unit(u)
    np.testing.assert_allclose(CFT.qfrom_axis_angle(t(unit), t(angle)).numpy(), CF.qfrom_axis_angle(unit, angle),
                               atol=1e-15)


# ---- no host synchronisation ------------------------------------------------------------------------------

@pytest.mark.parametrize("skeleton", [HUMANML3D, KIT])
def test_runs_on_meta_tensors_so_reads_no_values(skeleton):
    """Meta tensors have no data: any `.item()`, `bool(t)`, nonzero or mask indexing would raise."""
    joints = torch.empty((3, 40, skeleton.num_joints, 3), dtype=torch.float64, device="meta")
    rotations, root, offsets = joints_to_rotations_torch(joints, skeleton, validate=False)
    assert rotations.shape == (3, 40, skeleton.num_joints, 4) and rotations.device.type == "meta"
    assert root.shape == (3, 40, 3) and offsets.shape == (3, skeleton.num_joints, 3)
    with pytest.raises((RuntimeError, NotImplementedError)):     # the validation is the one read-back
        joints_to_rotations_torch(joints, skeleton, validate=True)


def test_float32_keeps_its_dtype_and_stays_close():
    clips = synthetic_clips(HUMANML3D, 2, 30, seed=5)
    expected = joints_to_rotations(clips, HUMANML3D)
    got = joints_to_rotations_torch(torch.from_numpy(clips).float(), HUMANML3D)
    assert all(g.dtype == torch.float32 for g in got)
    for e, g, tol in zip(expected, got, (2e-3, 1e-6, 1e-5)):
        assert np.abs(e - g.double().numpy()).max() < tol


# ---- bad input --------------------------------------------------------------------------------------------

def test_rejects_bad_input_with_clear_messages():
    clips = torch.from_numpy(synthetic_clips(HUMANML3D, 3, 5))
    with pytest.raises(ValueError, match=r"\(B, T, 22, 3\).*got \(5, 22, 3\)"):
        joints_to_rotations_torch(clips[0], HUMANML3D)
    with pytest.raises(ValueError, match=r"\(B, T, 21, 3\).*'kit'"):
        joints_to_rotations_torch(clips, KIT)
    with pytest.raises(ValueError, match="no clips"):
        joints_to_rotations_torch(clips[:0], HUMANML3D)
    with pytest.raises(ValueError, match="no frames"):
        joints_to_rotations_torch(clips[:, :0], HUMANML3D)
    with pytest.raises(ValueError, match="floating-point"):
        joints_to_rotations_torch(clips.long(), HUMANML3D)
    with pytest.raises(TypeError, match="torch.Tensor"):
        joints_to_rotations_torch(clips.numpy(), HUMANML3D)
    bad = clips.clone()
    bad[2, 3, 7, 1] = float("nan")
    bad[0, 1, 1, 0] = float("inf")
    with pytest.raises(ValueError, match=r"NaN or infinite values \(clips \[0, 2\]\)"):
        joints_to_rotations_torch(bad, HUMANML3D)
    rotations, _, _ = joints_to_rotations_torch(bad, HUMANML3D, validate=False)    # skipped: no read-back
    assert torch.isfinite(rotations[1]).all() and not torch.isfinite(rotations[2]).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_never_synchronises_captures_in_a_graph_and_matches_numpy():
    """On the GPU: no synchronising call (sync debug mode 'error' raises on any), capturable in a CUDA
    graph, and replays give numpy's answer for new clips copied into the captured input."""
    first, second = (synthetic_clips(HUMANML3D, 4, 60, seed=s) for s in (7, 8))
    static = torch.from_numpy(first).cuda()
    joints_to_rotations_torch(static, HUMANML3D, validate=False)          # builds the device plan
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        joints_to_rotations_torch(static, HUMANML3D, validate=False)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):                                         # warm-up on a side stream
        joints_to_rotations_torch(static, HUMANML3D, validate=False)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outputs = joints_to_rotations_torch(static, HUMANML3D, validate=False)
    static.copy_(torch.from_numpy(second))
    graph.replay()
    for expected, got in zip(joints_to_rotations(second, HUMANML3D), outputs):
        assert np.abs(expected - got.cpu().numpy()).max() <= AGREE


def test_body_frames_match_numpy_and_the_graph_function_makes_consistent_motions(humanml3d_sample):
    """`body_frames` (bone lengths measured on the leading frames, as the engine asks for) measures what numpy's
    `measured_offsets` of those frames gives, in the eager API and in the function the engine's CUDA graphs
    capture (`ik_graph`, run eagerly here); a Motion built from that solver's output reproduces its joints."""
    from motion_core.kinematics.ik_graph import features_to_rotations_fn
    from motion_core.formats.motion import Motion, _host_solution
    from motion_core.kinematics.representation import features_to_joints
    features = humanml3d_sample[0].astype(np.float64)
    joints = np.stack([features_to_joints(features), synthetic_clips(HUMANML3D, 1, len(features), seed=3)[0]])
    rotations, root, offsets = joints_to_rotations_torch(torch.from_numpy(joints), HUMANML3D, body_frames=40)
    np.testing.assert_allclose(offsets.numpy(), R.measured_offsets(joints[:, :40], HUMANML3D), atol=1e-9)
    expected = joints_to_rotations(joints, HUMANML3D, offsets=R.measured_offsets(joints[:, :40], HUMANML3D))
    for got, want in zip((rotations, root, offsets), expected):
        np.testing.assert_allclose(got.numpy(), want, atol=1e-8)
    solve = features_to_rotations_fn(HUMANML3D, torch.device("cpu"), body_frames=lambda t: t - 30)
    solved = solve(torch.from_numpy(np.stack([features, features[::-1].copy()])))
    body = features_to_joints(features)[:len(features) - 30]
    np.testing.assert_allclose(solved[3][0].numpy(), R.measured_offsets(body, HUMANML3D), atol=1e-9)
    for motion in Motion._batch_from_solved(_host_solution(solved), HUMANML3D, 20.0, None):
        assert np.linalg.norm(motion.forward_kinematics() - motion.joints, axis=-1).max() < 1e-4

"""Motion value type (constructors, validation, .npz files) and BVH export, checked by our reader and Blender."""
import importlib.util
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from motion_core.formats import bvh as bvh_module
from motion_core.formats.bvh import BvhError, euler_to_matrix, matrix_to_euler, read_bvh, write_bvh
from motion_core.formats.motion import Motion
from motion_core.kinematics.skeleton import HUMANML3D, KIT

ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")


@pytest.fixture(scope="module")
def sample_motion(humanml3d_sample):
    _, joints = humanml3d_sample
    return Motion.from_joints(joints, meta={"prompt": "a person walks", "seed": 7, "cfg": 2.5})


def bvh_positions_by_skeleton_order(data, skeleton):
    return data.positions[:, [data.names.index(n) for n in skeleton.joint_names]]


# ---- Motion ---------------------------------------------------------------------------------------------

def test_from_joints_keeps_joints_and_reproduces_them(sample_motion, humanml3d_sample):
    """Dataset joints are a rigid skeleton's forward kinematics: the Motion's joints (the FK of its rotations)
    are the given ones to float32 rounding, and the rotations reproduce them."""
    _, joints = humanml3d_sample
    assert sample_motion.joints.dtype == np.float32 and sample_motion.joints.shape == (170, 22, 3)
    np.testing.assert_allclose(sample_motion.joints, joints, atol=1e-5)
    assert sample_motion.num_frames == 170 and sample_motion.duration == pytest.approx(8.5)
    err = np.linalg.norm(sample_motion.forward_kinematics() - joints, axis=-1)
    assert err.max() < 1e-4, err.max()
    kept = Motion.from_joints(joints, rigid=False)      # the old contract, on request: the joints verbatim
    np.testing.assert_array_equal(kept.joints, joints)
    np.testing.assert_array_equal(kept.rotations, sample_motion.rotations)


def _stretched(joints: np.ndarray, seed: int = 0) -> np.ndarray:
    """Joints whose bones stretch and shrink from frame to frame by up to ~20%, as predicted joints do."""
    rng = np.random.default_rng(seed)
    parents = HUMANML3D.parents
    bones = joints[:, 1:] - joints[:, list(parents[1:])]
    t = np.arange(len(joints))[:, None]
    scale = 1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3, 21) * t / 20 + rng.uniform(0, 6.3, 21))
    out = joints.copy()
    for j in range(1, len(parents)):
        out[:, j] = out[:, parents[j]] + bones[:, j - 1] * scale[:, j - 1, None]
    return out


def test_motions_are_self_consistent_when_bone_lengths_drift(humanml3d_sample):
    """Issue 22: joints a rigid skeleton cannot reproduce (bones that change length) become the nearest pose of
    the motion's own rigid body, so FK(rotations) equals `joints` on every frame, in every constructor."""
    features, joints = humanml3d_sample
    drifting = _stretched(joints.astype(np.float64))
    kept = Motion.from_joints(drifting, rigid=False)
    assert np.linalg.norm(kept.forward_kinematics() - kept.joints, axis=-1).max() > 0.05   # the defect: 5+ cm
    motions = [Motion.from_joints(drifting), *Motion.batch_from_joints(np.stack([drifting, drifting[::-1]])),
               Motion.from_features(features), Motion.from_joints(drifting, body_frames=30),
               Motion.from_joints(drifting, offsets=kept.offsets * 1.1)]
    for motion in motions:
        err = np.linalg.norm(motion.forward_kinematics() - motion.joints, axis=-1)
        assert err.max() < 1e-4, err.max()
    rigid = motions[0]
    np.testing.assert_array_equal(rigid.rotations, kept.rotations)            # same IK, only the joints differ
    np.testing.assert_allclose(rigid.offsets, kept.offsets)
    np.testing.assert_allclose(rigid.joints[:, 0], drifting[:, 0], atol=1e-6)  # the root path is kept
    np.testing.assert_allclose(Motion.from_joints(rigid.joints).joints, rigid.joints, atol=1e-5)   # a fixed point
    np.testing.assert_allclose(motions[-1].offsets, kept.offsets * 1.1, atol=1e-6)
    with pytest.raises(ValueError, match="body_frames"):
        Motion.from_joints(drifting, body_frames=0)
    with pytest.raises(ValueError, match="offsets"):
        Motion.from_joints(drifting, offsets=np.zeros((21, 3)))


def test_from_features_matches_the_dataset_joints(humanml3d_sample):
    features, joints = humanml3d_sample
    motion = Motion.from_features(features, meta={"prompt": "x"})
    assert motion.fps == HUMANML3D.fps and motion.meta == {"prompt": "x"}
    np.testing.assert_allclose(motion.joints, joints, atol=1e-4)
    with pytest.raises(ValueError, match="263"):
        Motion.from_features(features[:, :200])


def test_motion_validates_its_fields(sample_motion):
    good = dict(fps=20, joints=sample_motion.joints, rotations=sample_motion.rotations,
                root_translation=sample_motion.root_translation, offsets=sample_motion.offsets)
    with pytest.raises(ValueError, match="rotations must have shape"):
        Motion(**{**good, "rotations": sample_motion.rotations[:10]})
    with pytest.raises(ValueError, match=r"offsets must have shape \(22, 3\)"):
        Motion(**{**good, "offsets": sample_motion.offsets[:21]})
    with pytest.raises(ValueError, match="for skeleton 'kit'"):
        Motion(**good, skeleton=KIT)
    nan = sample_motion.joints.copy()
    nan[3, 4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Motion(**{**good, "joints": nan})
    with pytest.raises(ValueError, match="fps"):
        Motion(**{**good, "fps": 0})
    with pytest.raises(TypeError, match="meta"):
        Motion(**good, meta={"prompt": ["not", "flat"]})


def test_slicing(sample_motion):
    part = sample_motion[10:30]
    assert part.num_frames == 20 and part.duration == pytest.approx(1.0)
    np.testing.assert_array_equal(part.rotations, sample_motion.rotations[10:30])
    np.testing.assert_array_equal(part.offsets, sample_motion.offsets)
    with pytest.raises(TypeError, match="slicing"):
        sample_motion[3]


# ---- .npz files -----------------------------------------------------------------------------------------

def test_save_load_round_trip(sample_motion, tmp_path):
    path = sample_motion.save(tmp_path / "clip.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.npz"]      # no temp file left behind
    loaded = Motion.load(path)
    for name in ("joints", "rotations", "root_translation", "offsets"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(sample_motion, name))
    assert loaded.fps == sample_motion.fps and loaded.skeleton is HUMANML3D
    assert loaded.meta == {"prompt": "a person walks", "seed": 7, "cfg": 2.5}
    with np.load(path, allow_pickle=False) as raw:       # plain arrays, readable by anyone
        assert json.loads(str(raw["meta"]))["seed"] == 7 and str(raw["skeleton"]) == "humanml3d"


def _fields(motion):
    return dict(joints=motion.joints, rotations=motion.rotations, root_translation=motion.root_translation,
                offsets=motion.offsets, fps=np.float64(motion.fps), skeleton=np.str_("humanml3d"),
                meta=np.str_("{}"), format_version=np.int64(1))


def test_load_refuses_pickled_objects(sample_motion, tmp_path):
    fields = _fields(sample_motion)
    fields["meta"] = np.array([{"evil": "payload"}], dtype=object)
    np.savez(tmp_path / "evil.npz", **fields)
    with pytest.raises(ValueError, match="pickled"):
        Motion.load(tmp_path / "evil.npz")


@pytest.mark.parametrize("change,message", [
    (lambda f: f.pop("rotations"), "missing rotations"),
    (lambda f: f.update(joints=f["joints"].astype(np.int32)), "floating point"),
    (lambda f: f.update(joints=f["joints"][:, :5]), "joints must have shape"),
    (lambda f: f.update(skeleton=np.str_("smplx")), "unknown skeleton"),
    (lambda f: f.update(meta=np.str_("{not json")), "not valid JSON"),
    (lambda f: f.update(format_version=np.int64(99)), "version 99"),
])
def test_load_rejects_bad_files(sample_motion, tmp_path, change, message):
    fields = _fields(sample_motion)
    change(fields)
    np.savez(tmp_path / "bad.npz", **fields)
    with pytest.raises((ValueError, KeyError), match=message):
        Motion.load(tmp_path / "bad.npz")


def test_load_rejects_non_npz(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"definitely not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        Motion.load(tmp_path / "junk.npz")


# ---- Euler angles ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ORDERS)
def test_euler_round_trip(order):
    rng = np.random.default_rng(0)
    angles = rng.uniform(-np.pi, np.pi, size=(200, 3))
    angles[:, 1] = rng.uniform(-np.pi / 2, np.pi / 2, size=200)
    m = euler_to_matrix(angles, order)
    np.testing.assert_allclose(matrix_to_euler(m, order), angles, atol=1e-9)
    locked = angles[:10].copy()
    locked[:, 1] = np.pi / 2 * np.sign(rng.normal(size=10))     # gimbal lock: only the matrix is unique
    m = euler_to_matrix(locked, order)
    np.testing.assert_allclose(euler_to_matrix(matrix_to_euler(m, order), order), m, atol=1e-9)


def test_euler_order_is_channel_order():
    """'ZXY' means R = Rz @ Rx @ Ry, the product in the order the BVH channels are listed."""
    a = np.radians([30.0, 40.0, 50.0])
    expected = (euler_to_matrix(np.array([a[0], 0, 0]), "ZXY") @ euler_to_matrix(np.array([0, a[1], 0]), "ZXY")
                @ euler_to_matrix(np.array([0, 0, a[2]]), "ZXY"))
    np.testing.assert_allclose(euler_to_matrix(a, "ZXY"), expected)
    z90 = euler_to_matrix(np.radians([90.0, 0, 0]), "ZXY")
    np.testing.assert_allclose(z90 @ [1.0, 0, 0], [0, 1, 0], atol=1e-12)      # right-handed, active


# ---- BVH ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("order,scale", [("ZXY", 1.0), ("XYZ", 100.0), ("YZX", 1.0)])
def test_bvh_round_trip(sample_motion, tmp_path, order, scale):
    path = write_bvh(sample_motion, tmp_path / "clip.bvh", scale=scale, rotation_order=order)
    data = read_bvh(path)
    assert sorted(data.names) == sorted(HUMANML3D.joint_names) and data.num_frames == 170
    assert data.frame_time == pytest.approx(0.05)
    for j, name in enumerate(data.names):
        parent = HUMANML3D.parents[HUMANML3D.index(name)]
        assert data.parents[j] == (-1 if parent < 0 else data.names.index(HUMANML3D.joint_names[parent]))
        assert len(data.channels[j]) == (6 if parent < 0 else 3)
        assert [c[0] for c in data.channels[j] if c.endswith("rotation")] == list(order)
    leaves = {data.names[j] for j in data.end_sites}
    assert leaves == {n for i, n in enumerate(HUMANML3D.joint_names) if not HUMANML3D.children(i)}
    # The file's own FK must equal the Motion's FK (6-decimal text: ~1e-6 relative rounding).
    positions = bvh_positions_by_skeleton_order(data, HUMANML3D) / scale
    np.testing.assert_allclose(positions, sample_motion.forward_kinematics(), atol=1e-4)
    np.testing.assert_allclose(positions, sample_motion.joints, atol=1e-4)


def test_bvh_of_kit_motion(tmp_path):
    rest = np.tile(KIT.rest_positions(), (5, 1, 1)) + np.linspace([0, 1.0, 0], [0.5, 1.0, 0], 5)[:, None]
    motion = Motion.from_joints(rest, skeleton=KIT, fps=KIT.fps)
    data = read_bvh(motion.to_bvh(tmp_path / "kit.bvh"))
    assert data.frame_time == pytest.approx(1 / 12.5)
    np.testing.assert_allclose(bvh_positions_by_skeleton_order(data, KIT), rest, atol=1e-5)


def test_bvh_write_is_atomic(sample_motion, tmp_path, monkeypatch):
    path = write_bvh(sample_motion, tmp_path / "clip.bvh")
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(bvh_module, "_motion_values", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        write_bvh(sample_motion[:5], path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["clip.bvh"]


def test_bvh_rejects_bad_arguments(sample_motion, tmp_path):
    with pytest.raises(ValueError, match="rotation_order"):
        write_bvh(sample_motion, tmp_path / "a.bvh", rotation_order="XXY")
    with pytest.raises(ValueError, match="scale"):
        write_bvh(sample_motion, tmp_path / "a.bvh", scale=0)


def test_read_bvh_rejects_truncated_files(sample_motion, tmp_path):
    text = write_bvh(sample_motion[:4], tmp_path / "clip.bvh").read_text()
    (tmp_path / "short.bvh").write_text(text[: len(text) - 40])
    with pytest.raises(BvhError, match="MOTION has"):
        read_bvh(tmp_path / "short.bvh")
    (tmp_path / "head.bvh").write_text(text[:300])
    with pytest.raises(BvhError):
        read_bvh(tmp_path / "head.bvh")


# ---- Blender --------------------------------------------------------------------------------------------

_BLENDER_SCRIPT = textwrap.dedent("""
    import json, sys
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    path, frames = sys.argv[1], [int(f) for f in sys.argv[2].split(",")]
    bpy.ops.import_anim.bvh(filepath=path, axis_forward="-Z", axis_up="Y", update_scene_fps=True,
                            update_scene_duration=True)
    scene = bpy.context.scene
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    result = {"bones": [b.name for b in arm.data.bones], "frame_range": list(arm.animation_data.action.frame_range),
              "fps": scene.render.fps / scene.render.fps_base, "positions": {}}
    for f in frames:
        scene.frame_set(f)
        result["positions"][f] = {pb.name: list(arm.matrix_world @ pb.head) for pb in arm.pose.bones}
    print("RESULT" + json.dumps(result))
""")


@pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="bpy (Blender as a module) not installed")
def test_blender_imports_the_bvh(sample_motion, tmp_path):
    path = write_bvh(sample_motion, tmp_path / "clip.bvh")
    frames = [1, 60, 170]      # Blender numbers imported frames from 1
    # A fresh interpreter: bpy owns global state (its own scene, signal handlers) we keep out of pytest.
    proc = subprocess.run([sys.executable, "-c", _BLENDER_SCRIPT, str(path), ",".join(map(str, frames))],
                          capture_output=True, text=True, timeout=120)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
    assert line is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(line[len("RESULT"):])
    assert sorted(result["bones"]) == sorted(HUMANML3D.joint_names)
    assert result["frame_range"] == [1, 170]
    assert result["fps"] == pytest.approx(20.0)
    # The importer maps BVH (y up, -z forward) to Blender (z up, -y forward): (x, y, z) -> (x, -z, y).
    # Our characters face +z, so they end up facing Blender's -y, its "front" view.
    for f in frames:
        for name in ("pelvis", "left_ankle", "right_wrist", "head", "left_collar"):
            x, y, z = sample_motion.joints[f - 1, HUMANML3D.index(name)]
            np.testing.assert_allclose(result["positions"][str(f)][name], [x, -z, y], atol=1e-4,
                                       err_msg=f"{name} at frame {f}")


def test_features_as_a_tensor_give_the_motions_numpy_gives(humanml3d_sample):
    """`Motion.batch_from_features` takes torch tensors too (the engine's GPU path hands it the decoder's
    output; on the GPU, rotations_torch solves it, tested against numpy in test_rotations_torch and
    test_graph_sampler) and must build the same Motions as from a numpy array."""
    import torch
    features, _ = humanml3d_sample
    batch = np.stack([features[:160], features[5:165]])
    metas = [{"prompt": "a"}, {"prompt": "b"}]
    on_host = Motion.batch_from_features(batch, HUMANML3D, metas=metas)
    from_tensor = Motion.batch_from_features(torch.from_numpy(batch), HUMANML3D, metas=metas)
    for a, b in zip(on_host, from_tensor):
        assert b.meta == a.meta and b.fps == a.fps
        for name in ("joints", "rotations", "root_translation", "offsets"):
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=2e-6, err_msg=name)


def test_reading_motions_does_not_import_torch():
    """The add-on reads motion files inside Blender, which may have no torch (or pay seconds to import it)."""
    code = "import sys, motion_core.formats.motion; assert 'torch' not in sys.modules, 'motion_core.formats.motion imported torch'"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)

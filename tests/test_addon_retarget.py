"""Retargeting math and bone-name maps of the Blender add-on (numpy only, no bpy needed)."""
import numpy as np
import pytest

from addon import qmath, retarget
from motion_core.kinematics.skeleton import HUMANML3D

MIXAMO = ["mixamorig:" + n for n in (
    "Hips Spine Spine1 Spine2 Neck Head LeftShoulder LeftArm LeftForeArm LeftHand RightShoulder RightArm "
    "RightForeArm RightHand LeftUpLeg LeftLeg LeftFoot LeftToeBase RightUpLeg RightLeg RightFoot "
    "RightToeBase").split()]
MIXAMO_PARENTS = [-1, 0, 1, 2, 3, 4, 3, 6, 7, 8, 3, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20]

UE = ("root pelvis spine_01 spine_02 spine_03 neck_01 head clavicle_l upperarm_l upperarm_twist_01_l lowerarm_l "
      "hand_l clavicle_r upperarm_r lowerarm_r hand_r thigh_l calf_l foot_l ball_l thigh_r calf_r foot_r "
      "ball_r").split()
UE_PARENTS = [-1, 0, 1, 2, 3, 4, 5, 4, 7, 8, 8, 10, 4, 12, 13, 14, 1, 16, 17, 18, 1, 20, 21, 22]


def test_known_maps_cover_all_joints_and_are_one_to_one():
    for name, table in retarget.NAME_MAPS.items():
        assert set(table) == set(retarget.SMPL_JOINTS), name
        assert len(set(table.values())) == len(table), name


def test_mixamo_map_ignores_fbx_namespace():
    renamed = [b.replace("mixamorig:", "mixamorig7:") for b in MIXAMO]
    name, mapping = retarget.match_known_map(renamed)
    assert name == "Mixamo"
    assert mapping["left_elbow"] == "mixamorig7:LeftForeArm" and mapping["right_foot"] == "mixamorig7:RightToeBase"
    assert len(mapping) == 22


def test_unreal_map_and_root_bone():
    name, mapping = retarget.auto_map(UE, UE_PARENTS)
    assert name == "Unreal mannequin"
    assert mapping["left_shoulder"] == "upperarm_l" and mapping["left_foot"] == "ball_l"
    assert retarget.find_root_bone(UE, UE_PARENTS, mapping["pelvis"]) == "root"


def test_heuristic_matches_unknown_naming_by_tokens():
    bones = ["Hips", "Spine_Lower", "Chest", "UpperChest", "Neck", "Head",
             "Clavicle.L", "UpperArm.L", "Forearm.L", "Forearm_twist.L", "Hand.L",
             "Clavicle.R", "UpperArm.R", "Forearm.R", "Hand.R",
             "Thigh.L", "Shin.L", "Foot.L", "Toes.L", "Thigh.R", "Shin.R", "Foot.R", "Toes.R"]
    parents = [-1, 0, 1, 2, 3, 4, 3, 6, 7, 8, 8, 3, 11, 12, 13, 0, 15, 16, 17, 0, 19, 20, 21]
    mapping = retarget.heuristic_map(bones, parents)
    assert mapping["pelvis"] == "Hips"
    assert (mapping["spine1"], mapping["spine2"], mapping["spine3"]) == ("Spine_Lower", "Chest", "UpperChest")
    assert mapping["left_collar"] == "Clavicle.L" and mapping["left_shoulder"] == "UpperArm.L"
    assert mapping["left_elbow"] == "Forearm.L"          # the twist bone is never chosen
    assert mapping["right_knee"] == "Shin.R" and mapping["right_foot"] == "Toes.R"
    assert len(mapping) == 22


def test_heuristic_shoulder_means_upper_arm_without_an_arm_bone():
    bones = ["pelvis", "L_Shoulder", "L_Elbow", "L_Wrist"]
    mapping = retarget.heuristic_map(bones, [-1, 0, 1, 2])
    assert mapping["left_shoulder"] == "L_Shoulder" and mapping["left_elbow"] == "L_Elbow"
    assert "left_collar" not in mapping


@pytest.mark.parametrize("name, expected", [
    ("mixamorig:LeftUpLeg", ("left", "upleg")), ("DEF-upper_arm.L", ("left", "upperarm")),
    ("thigh_r", ("right", "thigh")), ("spine_03", (None, "spine")), ("RightToeBase", ("right", "toe")),
])
def test_name_tokens(name, expected):
    assert retarget.name_tokens(name)[:2] == expected


def _source(frames=5, seed=0, fps=20.0):
    rng = np.random.default_rng(seed)
    q = qmath.quat_normalize(np.concatenate([np.full((frames, 22, 1), 4.0), rng.normal(size=(frames, 22, 3))], -1))
    root = np.cumsum(rng.normal(scale=0.01, size=(frames, 3)), 0) + [0, 0.9, 0]
    return retarget.SourceMotion(fps, q, root, HUMANML3D.rest_offsets.copy(), HUMANML3D.parents,
                                 HUMANML3D.joint_names)


def test_resample_keeps_endpoints_and_duration():
    src = _source(frames=21)          # 1 s at 20 fps
    out = retarget.resample(src, 30.0)
    assert out.num_frames == 31
    np.testing.assert_allclose(out.root_translation[[0, -1]], src.root_translation[[0, -1]], atol=1e-12)
    assert np.allclose(np.abs((out.rotations[-1] * src.rotations[-1]).sum(-1)), 1.0)
    np.testing.assert_allclose(out.root_translation[3], src.root_translation[2], atol=1e-12)  # t = 0.1 s


def test_retarget_rejects_bad_maps():
    src = _source()
    rig = retarget.RigRest(["hips"], [-1], np.eye(4)[None])
    with pytest.raises(ValueError, match="lacks"):
        retarget.retarget(src, rig, {"pelvis": "nope"})
    with pytest.raises(ValueError, match="root joint"):
        retarget.retarget(src, rig, {"spine1": "hips"})
    with pytest.raises(ValueError, match="NaN"):
        bad = _source()
        bad.rotations[0, 0, 0] = np.nan
        retarget.retarget(bad, rig, {"pelvis": "hips"})


def test_rotation_between_handles_opposite_directions():
    for u in ([0, 0, 1.0], [1.0, 0, 0], [0.3, -0.2, 0.9]):
        r = qmath.rotation_between(u, -np.asarray(u))
        np.testing.assert_allclose(r @ np.asarray(u), -np.asarray(u), atol=1e-9)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-9)


def test_matrix_quat_round_trip_and_euler_orders():
    rng = np.random.default_rng(3)
    q = qmath.quat_normalize(rng.normal(size=(64, 4)))
    m = qmath.quat_to_matrix(q)
    np.testing.assert_allclose(np.abs((qmath.matrix_to_quat(m) * q).sum(-1)), 1.0, atol=1e-12)
    for order in ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"):
        e = qmath.matrix_to_euler(m, order)
        axes = {"X": 0, "Y": 1, "Z": 2}
        rebuilt = np.broadcast_to(np.eye(3), m.shape).copy()
        for axis in order:   # first letter applied first
            unit = np.eye(3)[axes[axis]]
            rot = np.stack([qmath.axis_angle_to_matrix(unit, a) for a in e[:, axes[axis]]])
            rebuilt = rot @ rebuilt
        np.testing.assert_allclose(rebuilt, m, atol=1e-9)

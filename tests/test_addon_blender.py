"""The add-on under real bpy (headless): registration, the SMPL armature, retargeting onto rigs with other rest
poses and rolls, takes that never overwrite the user's animation, and the installable zip."""
import sys
import zipfile

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

import addon  # noqa: E402
from addon import armature, qmath, retarget, takes  # noqa: E402
from motion_core.formats.motion import Motion  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402

C = retarget.MOTION_TO_BLENDER


def synthetic_motion(frames=24, seed=1, fps=20.0) -> Motion:
    """Smoothly varying random joint rotations plus a drifting, bobbing root, with exact FK joints."""
    rng = np.random.default_rng(seed)
    axis = rng.normal(size=(22, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = np.linspace(0, 1, frames)[:, None] * rng.uniform(-1.2, 1.2, size=22)
    q = np.concatenate([np.cos(angle / 2)[..., None], np.sin(angle / 2)[..., None] * axis], -1)
    t = np.linspace(0, 1, frames)
    root = np.stack([0.6 * t, 0.9 + 0.04 * np.sin(6 * t), 0.3 + 0.8 * t], 1)
    offsets = HUMANML3D.rest_offsets
    local = qmath.quat_to_matrix(q)
    glob = np.empty_like(local)
    joints = np.zeros((frames, 22, 3))
    for j, p in enumerate(HUMANML3D.parents):
        if p < 0:
            glob[:, j], joints[:, j] = local[:, j], root
        else:
            glob[:, j] = glob[:, p] @ local[:, j]
            joints[:, j] = joints[:, p] + np.einsum("tij,j->ti", glob[:, p], offsets[j])
    return Motion(fps=fps, joints=joints, rotations=q, root_translation=root, offsets=offsets,
                  meta={"prompt": "test", "seed": seed})


@pytest.fixture
def registered():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    bpy.context.scene.render.fps = 20
    yield bpy.context
    addon.unregister()
    bpy.ops.wm.read_factory_settings(use_empty=True)


def heads(obj, names):
    return np.array([np.array(obj.matrix_world @ obj.pose.bones[n].head) for n in names])


def directions(obj, names):
    out = []
    for n in names:
        pb = obj.pose.bones[n]
        d = np.array(obj.matrix_world @ pb.tail) - np.array(obj.matrix_world @ pb.head)
        out.append(d / np.linalg.norm(d))
    return np.array(out)


def test_register_unregister_twice_leaves_nothing_behind():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    for _ in range(2):
        addon.register()
        assert hasattr(bpy.types.Scene, "motion_settings") and hasattr(bpy.ops.motion, "generate")
        import motion_addon.api as api
        assert callable(api.generate)
        addon.unregister()
        assert not hasattr(bpy.types.Scene, "motion_settings")
        assert not hasattr(bpy.types.Object, "motion_retarget")
        assert "motion_addon" not in sys.modules
        with pytest.raises(KeyError):
            bpy.ops.motion.generate.get_rna_type()


def test_create_smpl_armature(registered):
    assert bpy.ops.motion.create_smpl_armature() == {"FINISHED"}
    obj = registered.scene.motion_settings.target
    assert sorted(b.name for b in obj.data.bones) == sorted(HUMANML3D.joint_names)
    np.testing.assert_allclose(heads(obj, HUMANML3D.joint_names), armature.standing_rest_positions(HUMANML3D),
                               atol=1e-5)
    h = heads(obj, ["left_hip", "right_hip", "left_foot", "head"])
    assert h[0, 0] > 0 > h[1, 0]                # character's left is +x
    assert h[2, 1] < h[0, 1] - 0.05             # toes point forward (-y)
    assert h[3, 2] > 1.3 and min(h[:, 2]) >= 0  # head joint (the neck top) high, feet on the floor
    assert obj.data.bones["left_elbow"].parent.name == "left_shoulder"
    assert obj.motion_retarget.map_name == "SMPL"
    assert all(item.joint == item.bone for item in obj.motion_retarget.bone_map)


def _apply(ctx, obj, motion, prompt="test", seed=1, start=1, **kw):
    return takes.apply_takes(obj, [motion], prompt, seed, start, ctx.scene, **kw)


def test_smpl_armature_reproduces_joint_positions(registered):
    motion = synthetic_motion()
    obj = armature.create_smpl_armature(registered)
    (action,) = _apply(registered, obj, motion, start=5)
    assert obj.animation_data.action == action and action.name == "test · s1 · take1"
    ground = np.array([motion.root_translation[0, 0], 0.0, motion.root_translation[0, 2]])
    for frame in (0, 11, motion.num_frames - 1):
        registered.scene.frame_set(5 + frame)
        expected = (motion.joints[frame] - ground) @ C.T
        np.testing.assert_allclose(heads(obj, HUMANML3D.joint_names), expected, atol=2e-4)


def _mixamo_rig(ctx, name, pose="T", rng=None, location=(0.0, 0.0, 0.0), rotation_z=0.0, unit=1.0, bone_turn=0.0,
                rename=None):
    """A Mixamo-named rig with other proportions, a T- or A-pose and random bone rolls; `bone_turn` builds the
    bones themselves turned about z (a rig modelled facing another way), `rotation_z` turns the object."""
    arm_dir = np.array([1.0, 0.0, 0.0]) if pose == "T" else np.array([np.cos(0.8), 0.0, -np.sin(0.8)])
    spec = [("Hips", None, (0, 0, 1.0), (0, 0, 1.1)), ("Spine", "Hips", (0, 0, 1.1), (0, 0, 1.22)),
            ("Spine1", "Spine", (0, 0, 1.22), (0, 0, 1.34)), ("Spine2", "Spine1", (0, 0, 1.34), (0, 0, 1.5)),
            ("Neck", "Spine2", (0, 0, 1.5), (0, 0.01, 1.6)), ("Head", "Neck", (0, 0.01, 1.6), (0, 0.01, 1.8))]
    for side, s in (("Left", 1.0), ("Right", -1.0)):
        sh = np.array([s * 0.18, 0.0, 1.47])
        elbow = sh + 0.28 * arm_dir * [s, 1, 1]
        wrist = elbow + 0.26 * arm_dir * [s, 1, 1]
        spec += [(f"{side}Shoulder", "Spine2", (s * 0.05, 0, 1.45), tuple(sh)),
                 (f"{side}Arm", f"{side}Shoulder", tuple(sh), tuple(elbow)),
                 (f"{side}ForeArm", f"{side}Arm", tuple(elbow), tuple(wrist)),
                 (f"{side}Hand", f"{side}ForeArm", tuple(wrist), tuple(wrist + 0.08 * arm_dir * [s, 1, 1])),
                 (f"{side}UpLeg", "Hips", (s * 0.1, 0, 0.98), (s * 0.1, 0, 0.55)),
                 (f"{side}Leg", f"{side}UpLeg", (s * 0.1, 0, 0.55), (s * 0.1, 0.01, 0.1)),
                 (f"{side}Foot", f"{side}Leg", (s * 0.1, 0.01, 0.1), (s * 0.1, -0.12, 0.02)),
                 (f"{side}ToeBase", f"{side}Foot", (s * 0.1, -0.12, 0.02), (s * 0.1, -0.2, 0.02))]
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    ctx.scene.collection.objects.link(obj)
    ctx.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    turn = qmath.axis_angle_to_matrix([0, 0, 1], bone_turn)
    for bone_name, parent, head, tail in spec:
        eb = data.edit_bones.new(_bone_name(bone_name, rename))
        eb.head, eb.tail = turn @ np.array(head) * unit, turn @ np.array(tail) * unit
        eb.roll = float(rng.uniform(-np.pi, np.pi)) if rng is not None else 0.0
        if parent:
            eb.parent = data.edit_bones[_bone_name(parent, rename)]
    bpy.ops.object.mode_set(mode="OBJECT")
    obj.location = location
    obj.rotation_euler = (0.0, 0.0, rotation_z)
    obj.scale = (1 / unit,) * 3
    ctx.view_layer.update()
    return obj


def _bone_name(mixamo_name, rename):
    return "mixamorig:" + mixamo_name if rename is None else rename[mixamo_name]


# The same body named as a Rigify deform skeleton (DEF- bones, .L/.R sides).
_RIGIFY_NAMES = {"Hips": "DEF-spine", "Spine": "DEF-spine.001", "Spine1": "DEF-spine.002", "Spine2": "DEF-spine.003",
                 "Neck": "DEF-spine.004", "Head": "DEF-spine.006"}
for _side, _s in (("Left", "L"), ("Right", "R")):
    _RIGIFY_NAMES.update({f"{_side}Shoulder": f"DEF-shoulder.{_s}", f"{_side}Arm": f"DEF-upper_arm.{_s}",
                          f"{_side}ForeArm": f"DEF-forearm.{_s}", f"{_side}Hand": f"DEF-hand.{_s}",
                          f"{_side}UpLeg": f"DEF-thigh.{_s}", f"{_side}Leg": f"DEF-shin.{_s}",
                          f"{_side}Foot": f"DEF-foot.{_s}", f"{_side}ToeBase": f"DEF-toe.{_s}"})


def test_rigify_named_a_pose_rig_follows_the_motion_within_two_degrees(registered):
    motion = synthetic_motion(seed=6)
    smpl = armature.create_smpl_armature(registered)
    rig = _mixamo_rig(registered, "Rigify", "A", np.random.default_rng(3), location=(3, 0, 0), rename=_RIGIFY_NAMES)
    name, mapping = armature.auto_bone_map(rig)
    assert name == "Rigify (DEF)"
    for obj in (smpl, rig):
        _apply(registered, obj, motion)
    joints = list(mapping)
    for frame in range(1, motion.num_frames + 1, 4):
        registered.scene.frame_set(frame)
        cosines = np.sum(directions(rig, [mapping[j] for j in joints]) * directions(smpl, joints), axis=-1)
        assert np.degrees(np.arccos(np.clip(cosines, -1, 1))).max() < 2.0


def test_rigs_with_other_rest_pose_and_rolls_get_the_same_world_motion(registered):
    motion = synthetic_motion(seed=4)
    smpl = armature.create_smpl_armature(registered)
    t_rig = _mixamo_rig(registered, "TPose", "T", np.random.default_rng(0), location=(2, 0, 0))
    a_rig = _mixamo_rig(registered, "APose", "A", np.random.default_rng(1), location=(-2, 0, 0),
                        rotation_z=np.pi / 2, unit=100.0)        # centimetre rig, object turned 90 degrees
    facing_rig = _mixamo_rig(registered, "Facing", "T", np.random.default_rng(2), bone_turn=np.pi)
    assert armature.auto_bone_map(t_rig)[0] == "Mixamo"
    for obj in (smpl, t_rig, a_rig, facing_rig):
        _apply(registered, obj, motion)
    mapping = armature.auto_bone_map(t_rig)[1]
    joints = list(mapping)
    turn = qmath.axis_angle_to_matrix([0, 0, 1], np.pi / 2)
    for frame in (1, 9, motion.num_frames):
        registered.scene.frame_set(frame)
        want = directions(smpl, joints)
        np.testing.assert_allclose(directions(t_rig, [mapping[j] for j in joints]), want, atol=1e-4)
        np.testing.assert_allclose(directions(a_rig, [mapping[j] for j in joints]), want @ turn.T, atol=1e-4)
        np.testing.assert_allclose(directions(facing_rig, [mapping[j] for j in joints]), want * [-1, -1, 1],
                                   atol=1e-4)   # modelled facing +y: the motion turns with it


def test_root_motion_scales_with_leg_length_and_in_place(registered):
    motion = synthetic_motion(seed=2)
    smpl = armature.create_smpl_armature(registered)
    rig = _mixamo_rig(registered, "Rig", "T", location=(3, 0, 0))
    for obj in (smpl, rig):
        _apply(registered, obj, motion)
    last = motion.num_frames

    def hips_travel(obj, bone):
        registered.scene.frame_set(1)
        a = heads(obj, [bone])[0]
        registered.scene.frame_set(last)
        return heads(obj, [bone])[0] - a

    leg_rig = 0.43 + np.linalg.norm([0, 0.01, 0.45])
    leg_smpl = HUMANML3D.bone_lengths[4] + HUMANML3D.bone_lengths[7]
    np.testing.assert_allclose(hips_travel(rig, "mixamorig:Hips"), hips_travel(smpl, "pelvis") * leg_rig / leg_smpl,
                               atol=1e-4)
    rig.motion_retarget.in_place = True
    _apply(registered, rig, motion, prompt="in place")
    travel = hips_travel(rig, "mixamorig:Hips")
    assert abs(travel[0]) < 1e-5 and abs(travel[1]) < 1e-5 and abs(travel[2]) > 1e-3   # height kept


def test_existing_action_is_stashed_and_takes_switchable(registered):
    obj = armature.create_smpl_armature(registered)
    pb = obj.pose.bones["pelvis"]
    for frame, z in ((1, 0.0), (10, 0.3)):
        pb.location.z = z
        pb.keyframe_insert("location", frame=frame)
    user_action = obj.animation_data.action
    user_name = user_action.name
    motions = [synthetic_motion(seed=s) for s in (1, 2)]
    actions = takes.apply_takes(obj, motions, "waves hand", 42, 1, registered.scene)
    # each take is named by the seed its motion records (the engine gives take k seed base + k - 1)
    assert [a.name for a in actions] == ["waves hand · s1 · take1", "waves hand · s2 · take2"]
    ad = obj.animation_data
    assert ad.action == actions[0]
    tracks = {t.name: t for t in ad.nla_tracks}
    assert tracks["[Stash] " + user_name].mute and tracks["[Stash] " + user_name].strips[0].action == user_action
    assert tracks[actions[1].name].mute
    assert bpy.data.actions[user_name] == user_action and user_action.use_fake_user
    assert takes.takes_of(obj) == actions
    takes.use_take(obj, actions[1])
    assert ad.action == actions[1]
    assert {t.name for t in ad.nla_tracks} == {"[Stash] " + user_name, actions[0].name}


def test_failed_take_leaves_no_action_and_keeps_animation(registered):
    obj = armature.create_smpl_armature(registered)
    before = set(bpy.data.actions.keys())
    with pytest.raises(ValueError, match="lacks"):
        takes.apply_takes(obj, [synthetic_motion(), synthetic_motion(seed=3)], "x", 0, 1, registered.scene,
                          mapping={"pelvis": "pelvis", "spine1": "no_such_bone"})
    assert set(bpy.data.actions.keys()) == before
    assert obj.animation_data is None or obj.animation_data.action is None


def test_keys_follow_scene_fps_and_bone_rotation_modes(registered):
    registered.scene.render.fps = 30
    motion = synthetic_motion(frames=30, seed=5)
    reference = armature.create_smpl_armature(registered, name="Ref")
    obj = armature.create_smpl_armature(registered, name="Euler")
    obj.pose.bones["left_elbow"].rotation_mode = "XZY"
    obj.pose.bones["spine2"].rotation_mode = "AXIS_ANGLE"
    for o in (reference, obj):
        (action,) = _apply(registered, o, motion)
    expected_keys = int(np.floor((motion.num_frames - 1) / motion.fps * 30 + 1e-6)) + 1   # 44
    bag = action.layers[0].strips[0].channelbag(action.slots[0])
    curves = {(fc.data_path, fc.array_index): fc for fc in bag.fcurves}
    assert ('pose.bones["left_elbow"].rotation_euler', 1) in curves
    assert ('pose.bones["spine2"].rotation_axis_angle', 0) in curves
    assert all(len(fc.keyframe_points) == expected_keys for fc in curves.values())
    for frame in (1, 20, expected_keys):
        registered.scene.frame_set(frame)
        np.testing.assert_allclose(heads(obj, HUMANML3D.joint_names), heads(reference, HUMANML3D.joint_names),
                                   atol=1e-4)


def test_zip_builds_and_installs_as_extension(tmp_path):
    import build_addon
    bpy.ops.wm.read_factory_settings(use_empty=True)
    archive = build_addon.build(tmp_path / "dist")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names and "_vendor/skeleton.py" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests") or n.endswith(".pyc")]
    repos = bpy.context.preferences.extensions.repos
    repo = repos.new(name="motion test", module="motion_test_repo", custom_directory=str(tmp_path / "repo"),
                     source="USER")
    try:
        assert bpy.ops.extensions.package_install_files(filepath=str(archive), repo="motion_test_repo",
                                                        enable_on_install=True) == {"FINISHED"}
        module = "bl_ext.motion_test_repo.text_to_motion"
        assert module in bpy.context.preferences.addons
        assert bpy.context.preferences.addons[module].preferences.engine_mode == "SUBPROCESS"
        assert bpy.ops.motion.create_smpl_armature() == {"FINISHED"}
        assert len(bpy.context.scene.motion_settings.target.data.bones) == 22
        bpy.ops.preferences.addon_disable(module=module)
        assert "motion_addon" not in sys.modules
    finally:
        index = list(repos).index(repo)
        bpy.ops.extensions.package_uninstall(repo_index=index, pkg_id="text_to_motion")
        repos.remove(repo)
        bpy.ops.wm.read_factory_settings(use_empty=True)


class RecordingLayout:
    """Stands in for UILayout (headless Blender cannot draw): records every property a panel shows."""

    def __init__(self, log):
        self.log = log

    def __getattr__(self, name):
        def call(*args, **kwargs):
            if name in ("prop", "prop_search") and len(args) >= 2:
                data, prop = args[0], args[1]
                assert prop in data.bl_rna.properties, f"{type(data).__name__} has no property {prop!r}"
                self.log.append(prop)
            if name == "operator":
                assert args[0].split(".")[0] == "motion" or args[0] in self.log
                self.log.append(args[0])
            return RecordingLayout(self.log)
        return call

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)


def test_panels_draw_every_control(registered):
    from addon import ui
    log = []
    for target in (None, "smpl"):
        if target:
            bpy.ops.motion.create_smpl_armature()
        for panel in (ui.VIEW3D_PT_motion, ui.VIEW3D_PT_motion_takes, ui.VIEW3D_PT_motion_retarget):
            if hasattr(panel, "poll") and not panel.poll(registered):
                continue
            fake = type("P", (), {"layout": RecordingLayout(log)})()
            panel.draw(fake, registered)
    for needed in ("prompt", "seconds", "seed", "guidance", "steps", "takes", "target", "start_frame",
                   "motion.generate", "motion.extend", "motion.new_seed", "motion.create_smpl_armature",
                   "motion.auto_map", "root_bone", "in_place"):
        assert needed in log
    prefs = addon.preferences.MotionPreferences
    props = {"engine_mode", "python_path", "checkpoint", "device"}
    assert props <= set(prefs.__annotations__)

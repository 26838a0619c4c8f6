"""Takes on rigs the project did not build, checked on the evaluated pose (constraints and drivers included).

A Rigify rig generated here by Blender's bundled Rigify (706 bones, constraint-driven DEF bones), Rigify's meta-rig
itself, a Mixamo-named
rig round-tripped through Blender's FBX exporter and importer, and Unreal mannequin rigs (UE4 and UE5 names,
centimetres, A-pose, tails not pointing at the child). Motions come from the bundled model ("a person raises
both arms above the head", "a person walks forward", seed 0). The rig's hands, ankles and head relative to its
hips are compared with the engine's joints rebuilt on the rig's proportions (tests/real_rigs.py), in body
heights; the hips' path with the pelvis path, both over leg length.
"""
import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

import addon  # noqa: E402
from addon import armature, operators, rigify, takes  # noqa: E402
from motion_core.engine import DEFAULT_MODEL_DIR, Engine  # noqa: E402

import real_rigs  # noqa: E402
from addon_scene import panel_labels  # noqa: E402

pytestmark = pytest.mark.skipif(not (DEFAULT_MODEL_DIR / "config.json").is_file(), reason="no bundled model")

ARMS, WALK = "a person raises both arms above the head", "a person walks forward"
RIGS = ("rigify", "metarig", "mixamo_fbx", "ue4", "ue5")
LIMIT = 0.05   # body heights (issue 22)
# Regression guards above what was measured (benchmarks/rig_accuracy.py: every rig <= 0.008 on the model of then).
# Rigify's torso and chest controls bend its spine in their own way (the forward Rigify spine solve), so a torso
# that leans far is matched less well: the bundled walk since 2026-12-04 (v2 continued, seed 0) leans 22 degrees
# at its start and end and puts the hands and head 0.043 body heights off on its worst frame (feet exact).
MEASURED = {"rigify": 0.045}
MEASURED_OTHER_RIGS = 0.02


@pytest.fixture(scope="module")
def rigs(tmp_path_factory):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    bpy.context.scene.render.fps = 20
    made = {"rigify": real_rigs.rigify_rig(), "metarig": real_rigs.rigify_metarig(),
            "mixamo_fbx": real_rigs.mixamo_fbx_rig(str(tmp_path_factory.mktemp("fbx"))),
            "ue4": real_rigs.unreal_rig(), "ue5": real_rigs.unreal_rig(ue5=True)}
    for obj in made.values():
        operators.fill_bone_map(obj)     # what Auto Map Bones stores
    yield made
    addon.unregister()
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.fixture(scope="module")
def motions():
    arms, walk = Engine.load(device="cpu").generate([ARMS, WALK], seed=0, steps=10)
    return {ARMS: arms, WALK: walk}


@pytest.fixture(scope="module")
def evaluated(rigs, motions):
    cache = {}

    def get(rig, prompt):
        if (rig, prompt) not in cache:
            cache[rig, prompt] = real_rigs.evaluate(rigs[rig], motions[prompt])
        return cache[rig, prompt]
    return get


def test_rigs_are_what_they_claim(rigs):
    rig = rigs["rigify"]
    assert len(rig.data.bones) > 600 and rigify.is_generated_rigify(rig)
    assert rig.pose.bones["DEF-upper_arm.L"].constraints, "Rigify's DEF bones are constraint-driven"
    assert rig.motion_retarget.map_name == "Rigify controls" and rig.motion_retarget.root_bone == ""
    metarig = rigs["metarig"]   # its side bone "pelvis.L" once took the hips (heuristic map): the body stayed put
    assert metarig.motion_retarget.map_name == "Rigify (meta-rig)" and "pelvis.L" in metarig.data.bones
    assert armature.auto_bone_map(metarig)[1]["pelvis"] == "spine"
    fbx = rigs["mixamo_fbx"]
    np.testing.assert_allclose(tuple(fbx.scale), (0.01,) * 3, rtol=1e-5)
    np.testing.assert_allclose(tuple(fbx.rotation_euler), (np.pi / 2, 0, 0), atol=1e-5)
    assert "mixamorig:HeadTop_End" in fbx.data.bones or any(b.name.endswith("_end") for b in fbx.data.bones)
    assert fbx.motion_retarget.map_name == "Mixamo"
    assert rigs["ue4"].motion_retarget.map_name == "Unreal mannequin"
    assert rigs["ue5"].motion_retarget.map_name == "Unreal mannequin (UE5)"
    assert armature.auto_bone_map(rigs["ue5"])[1]["spine3"] == "spine_05"
    for name in ("mixamo_fbx", "ue4", "ue5"):
        assert not rigify.is_generated_rigify(rigs[name])


@pytest.mark.parametrize("rig", RIGS)
@pytest.mark.parametrize("prompt", [ARMS, WALK])
def test_evaluated_pose_follows_the_engine(evaluated, rig, prompt):
    result = evaluated(rig, prompt)
    s = real_rigs.summary(result)
    assert s["all"]["max"] <= min(LIMIT, MEASURED.get(rig, MEASURED_OTHER_RIGS)), s
    assert not s["sides_swapped"], s
    assert abs(s["root_distance_ratio"] - 1) < 0.05, s
    if np.linalg.norm(result["engine_path"]) > 0.3:      # a path long enough to have a direction
        assert s["root_direction_deg"] < 5, s


def test_rigify_take_keys_controls_not_deform_bones(rigs, evaluated):
    rig = rigs["rigify"]
    evaluated("rigify", WALK)
    action = rig.animation_data.action
    assert takes.TAKE_PROP in action
    fcurves = [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags
               for fc in bag.fcurves]
    bones = {fc.data_path.split('"')[1] for fc in fcurves}
    assert {"torso", "chest", "neck", "head", "upper_arm_fk.L", "forearm_fk.R", "hand_fk.L", "thigh_fk.R",
            "shin_fk.L", "foot_fk.R", "shoulder.L"} <= bones
    assert not any(b.startswith(("DEF-", "ORG-", "MCH-")) for b in bones)
    switches = [fc for fc in fcurves if fc.data_path.endswith('["IK_FK"]')]
    assert {fc.data_path.split('"')[1] for fc in switches} == {"upper_arm_parent.L", "upper_arm_parent.R",
                                                                "thigh_parent.L", "thigh_parent.R"}
    assert all(kp.co[1] == 1.0 for fc in switches for kp in fc.keyframe_points)   # FK for the whole take


def test_rigify_solve_leaves_the_users_rig_as_it_was(rigs, motions):
    rig = rigs["rigify"]
    ad = rig.animation_data
    action_before, nla_before = ad.action, ad.use_nla
    ad.action = None                   # the user's pose, no take playing (drivers stay)
    pb = rig.pose.bones["upper_arm_parent.L"]
    pb["IK_FK"] = 0.0
    rig.pose.bones["chest"].rotation_quaternion = (0.8, 0.6, 0.0, 0.0)
    action = takes.build_take(rig, motions[ARMS], "probe", 1, 20.0)
    try:
        assert pb["IK_FK"] == 0.0
        assert tuple(rig.pose.bones["chest"].rotation_quaternion) == pytest.approx((0.8, 0.6, 0.0, 0.0))
        assert ad.action is None and ad.use_nla == nla_before
    finally:
        bpy.data.actions.remove(action)
        rig.pose.bones["chest"].rotation_quaternion = (1, 0, 0, 0)
        ad.action = action_before


def test_rigify_raises_both_arms_above_the_head(evaluated, motions):
    """Acceptance (issue 22): both hands above the head in the evaluated pose wherever the engine's are."""
    result = evaluated("rigify", ARMS)
    motion = motions[ARMS]
    up = motion.joints[:, [20, 21], 1] - motion.joints[:, [15], 1]        # wrists above the head joint (m)
    engine_up = (up > 0.02).all(axis=1)          # clearly above: a 2 cm margin keeps rounding out of it
    assert engine_up.sum() >= 5, "the engine's motion should raise both arms above the head"
    rig_world = result["rig"]                                             # relative to the hips, motion axes
    rig_up = (rig_world[:, [0, 1], 1] > rig_world[:, [4], 1]).all(axis=1)
    assert rig_up[engine_up].all(), np.flatnonzero(engine_up & ~rig_up)


def test_rigify_walks_forward_by_the_engines_distance(rigs, evaluated, motions):
    """Acceptance (issue 22): the rig moves forward by the engine's distance scaled by leg length."""
    result = evaluated("rigify", WALK)
    assert np.linalg.norm(result["engine_path"]) > 1.0                   # over a leg length forward
    assert result["distance_ratio"] == pytest.approx(1.0, abs=0.03)
    assert result["direction_deg"] < 3
    hips = result["rig_world_hips"]                                       # world, in motion axes (+z forward)
    assert hips[-1, 2] - hips[0, 2] > 0.8 * np.linalg.norm(hips[-1, [0, 2]] - hips[0, [0, 2]])


@pytest.mark.parametrize("rig", RIGS)
def test_a_standing_take_puts_the_rigs_toes_on_its_floor(rigs, motions, rig):
    """The rig's rest stance is on its floor; while the character stands (raising its arms), its toe bones stand
    where they stand at rest. Placed from the pelvis alone, these rigs' toes stood 6-8.5 cm up: their rest feet
    drop from ankle to toe, the engine's rest feet are flat (`retarget.standing_height`)."""
    obj, scene = rigs[rig], bpy.context.scene
    mapping = takes.bone_map(obj)
    toes = [mapping[j] for j in ("left_foot", "right_foot")]
    (action,) = takes.apply_takes(obj, [motions[ARMS]], "arms", 0, 1, scene)
    heights = []
    for frame in range(int(action.frame_range[0]), int(action.frame_range[1]) + 1):
        scene.frame_set(frame)
        heights.append(real_rigs.lowest_world_height(obj, toes) - real_rigs.lowest_world_height(obj, toes, rest=True))
    joints = list(mapping)
    rest = dict(zip(joints, real_rigs._world_heads(obj, [mapping[j] for j in joints], rest=True)))
    height = float(np.median(heights)) / real_rigs._height(rest)
    assert abs(height) < 0.012, height          # body heights: ~2 cm on a 1.8-m character


def test_panel_says_which_map_and_warns_about_constraint_driven_bones(rigs):
    from addon import ui
    scene = bpy.context.scene
    for name in ("rigify", "ue4"):
        scene.motion_settings.target = rigs[name]
        log = panel_labels(ui.VIEW3D_PT_motion_retarget, bpy.context)
        text = " ".join(t for t, _ in log)
        assert rigs[name].motion_retarget.map_name in text
        assert not any(icon == "ERROR" for _, icon in log)
        if name == "rigify":
            assert "IK/FK" in text and "constraints" in text
    # Before Auto Map Bones has run, the panel names the automatic map the takes will use.
    ue = rigs["ue4"]
    ue.motion_retarget.bone_map.clear()
    ue.motion_retarget.map_name = ue.motion_retarget.map_reason = ""
    log = panel_labels(ui.VIEW3D_PT_motion_retarget, bpy.context)
    assert "Unreal mannequin (automatic)" in [t for t, _ in log]
    assert any("22/22 joints" in t for t, _ in log)
    operators.fill_bone_map(ue)
    # A rig whose mapped bones copy other bones' transforms (what Rigify's DEF bones do, without the controls):
    ue = rigs["ue4"]
    con = ue.pose.bones["hand_l"].constraints.new("COPY_TRANSFORMS")
    try:
        con.target, con.subtarget = ue, "root"
        log = panel_labels(ui.VIEW3D_PT_motion_retarget, bpy.context)
        warnings = " ".join(t for t, icon in log if icon in ("ERROR", "BLANK1"))
        assert "constraints" in warnings and "hand_l" in warnings
        from addon import generation
        assert any("hand_l" in w for w in generation.preflight(ue))         # and in the take's report
    finally:
        ue.pose.bones["hand_l"].constraints.remove(con)

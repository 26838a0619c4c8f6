"""Animator controls in the add-on (issue 23): the Clean feet option reaches the engine from the panel, the
operators and the scripting API; left on, requests stay exactly as before (no extra param). Loop takes get
one closing key and Cycles modifiers on every F-curve."""
import pytest

bpy = pytest.importorskip("bpy")

from addon import generation  # noqa: E402
from addon_scene import registered_scene, standing_motion  # noqa: E402


class RecordingModel:
    """Engine stand-in recording the controls each call got (absent: the engine's default)."""

    def __init__(self):
        self.controls = []

    def generate(self, prompts, seconds=None, seed=0, guidance=7.5, steps=20, progress=None, should_cancel=None,
                 **controls):
        self.controls.append(("generate", controls))
        motions = [standing_motion(round((seconds or 1.0) * 20)) for _ in prompts]
        if controls.get("loop"):
            for motion in motions:
                motion.meta.update(loop=1, loop_offset_x=0.0, loop_offset_z=0.5)
        return motions

    def generate_timeline(self, segments, seed=0, guidance=7.5, steps=20, progress=None, should_cancel=None,
                          **controls):
        self.controls.append(("timeline", controls))
        return standing_motion(round(sum(s for _, s in segments) * 20))


@pytest.fixture
def scene(tmp_path, monkeypatch):
    yield from registered_scene(RecordingModel(), tmp_path, monkeypatch)


def test_clean_feet_is_on_by_default_and_sent_only_when_off(scene):
    scn, model = scene
    s = scn.motion_settings
    assert s.foot_cleanup is True
    s.auto_length, s.seconds = False, 1.0
    assert bpy.ops.motion.generate() == {"FINISHED"}
    s.foot_cleanup = False
    assert bpy.ops.motion.generate() == {"FINISHED"}
    item = s.timeline.add()
    item.prompt, item.seconds = "walks", 1.0
    assert bpy.ops.motion.generate_timeline() == {"FINISHED"}
    assert model.controls == [("generate", {}), ("generate", {"foot_cleanup": False}),
                              ("timeline", {"foot_cleanup": False})]
    assert generation.control_params(True) == {} and generation.control_params(False) == {"foot_cleanup": False}


def test_api_passes_foot_cleanup(scene):
    scn, model = scene
    import motion_addon.api as api
    api.generate("a person walks", armature=scn.motion_settings.target, seconds=1.0, seed=1, foot_cleanup=False)
    api.timeline([("walks", 1.0)], armature=scn.motion_settings.target, seed=1, foot_cleanup=False)
    api.generate("a person walks", armature=scn.motion_settings.target, seconds=1.0, seed=1)
    assert model.controls == [("generate", {"foot_cleanup": False}), ("timeline", {"foot_cleanup": False}),
                              ("generate", {})]


def test_loop_takes_repeat_through_cycles_modifiers(scene):
    scn, model = scene
    s = scn.motion_settings
    s.auto_length, s.seconds, s.loop = False, 1.0, True
    assert bpy.ops.motion.generate() == {"FINISHED"}
    assert model.controls[-1] == ("generate", {"loop": True})
    from addon import loops
    action = s.target.animation_data.action
    curves = loops.action_fcurves(action)
    assert curves and all(any(m.type == "CYCLES" for m in fc.modifiers) for fc in curves)
    modes = {fc.data_path.endswith("location"): fc.modifiers[0].mode_after for fc in curves}
    assert modes == {True: "REPEAT_OFFSET", False: "REPEAT"}
    assert len(curves[0].keyframe_points) == 21          # 20 frames and the closing one (the first, shifted)
    assert loops.add_cycles(action) == len(curves)       # idempotent: still one modifier per curve
    assert all(len(fc.modifiers) == 1 for fc in curves)
    import motion_addon.api as api
    api.generate("a person walks", armature=s.target, seconds=1.0, seed=1, loop=True)
    assert model.controls[-1] == ("generate", {"loop": True})


def test_smooth_joins_is_on_by_default_and_reaches_timelines_only_when_off(scene):
    scn, model = scene
    s = scn.motion_settings
    assert s.smooth_joins is True
    item = s.timeline.add()
    item.prompt, item.seconds = "walks", 1.0
    assert bpy.ops.motion.generate_timeline() == {"FINISHED"}
    s.smooth_joins = False
    assert bpy.ops.motion.generate_timeline() == {"FINISHED"}
    import motion_addon.api as api
    api.timeline([("walks", 1.0)], armature=s.target, seed=1, smooth_joins=False)
    assert model.controls == [("timeline", {}), ("timeline", {"smooth_joins": False}),
                              ("timeline", {"smooth_joins": False})]
    assert generation.control_params(smooth_joins=False) == {"smooth_joins": False}


def test_actions_in_order_is_on_by_default_and_sent_only_when_off(scene):
    scn, model = scene
    s = scn.motion_settings
    assert s.in_order is True
    s.auto_length, s.seconds = False, 1.0
    s.prompt = "a person jumps, then waves"
    assert bpy.ops.motion.generate() == {"FINISHED"}
    s.in_order = False
    assert bpy.ops.motion.generate() == {"FINISHED"}
    import motion_addon.api as api
    api.generate("a person jumps, then waves", armature=s.target, seconds=1.0, seed=1, in_order=False)
    api.generate("a person jumps, then waves", armature=s.target, seconds=1.0, seed=1)
    assert model.controls == [("generate", {}), ("generate", {"sequences": False}),
                              ("generate", {"sequences": False}), ("generate", {})]
    assert generation.control_params(in_order=False) == {"sequences": False}

"""The generation loop headless: step functions with a fake job (progress, completion, cancel, error), the
operators' blocking path and the scripting API driven by an in-process engine with a fake model."""
import time

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from addon import engine_client as ec  # noqa: E402
from addon import armature, modal, session, takes  # noqa: E402
from motion_core.formats.motion import Motion  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402
from addon_scene import registered_scene  # noqa: E402


def walking_motion(frames=20, start_x=0.0) -> Motion:
    """Rest pose sliding along +x (identity rotations): enough to exercise the pipeline."""
    root = np.zeros((frames, 3))
    root[:, 0] = start_x + np.linspace(0, 0.5, frames)
    root[:, 1] = -HUMANML3D.rest_positions()[:, 1].min()
    joints = HUMANML3D.rest_positions()[None] + root[:, None]
    rotations = np.zeros((frames, 22, 4))
    rotations[..., 0] = 1
    return Motion(fps=20, joints=joints, rotations=rotations, root_translation=root,
                  offsets=HUMANML3D.rest_offsets, meta={})


class FakeModel:
    """Engine stand-in: reports progress, honours cancel, returns walking motions."""

    def __init__(self, delay=0.0, steps=3):
        self.delay, self.steps = delay, steps
        self.calls = []

    def _run(self, progress, should_cancel):
        for i in range(self.steps):
            if should_cancel():
                raise InterruptedError
            progress((i + 1) / self.steps, f"denoising {i + 1}/{self.steps}")
            time.sleep(self.delay)

    def generate(self, prompts, seconds=4.0, seed=0, guidance=7.5, steps=20, progress=None, should_cancel=None):
        self.calls.append(("generate", prompts, seconds, seed))
        self._run(progress, should_cancel)
        return [walking_motion(frames=int(seconds * 20)) for _ in prompts]

    def extend(self, motion, prompt, seconds=2.0, seed=0, guidance=7.5, steps=20, progress=None,
               should_cancel=None):
        self.calls.append(("extend", prompt, seconds, seed))
        self._run(progress, should_cancel)
        extra = walking_motion(frames=int(seconds * 20), start_x=float(motion.root_translation[-1, 0]) + 0.025)
        return Motion(fps=20, joints=np.concatenate([motion.joints, extra.joints]),
                      rotations=np.concatenate([motion.rotations, extra.rotations]),
                      root_translation=np.concatenate([motion.root_translation, extra.root_translation]),
                      offsets=motion.offsets, meta={})


@pytest.fixture
def scene(tmp_path, monkeypatch):
    yield from registered_scene(FakeModel(), tmp_path, monkeypatch)


def make_task(apply=None):
    cancels = []
    job = ec.Job("1", "generate", canceller=cancels.append)
    applied = []
    task = modal.GenerationTask(job, "“waves”", apply or (lambda results: applied.append(results) or ["A1"]))
    return task, job, cancels, applied


def test_step_reports_progress_then_applies_once():
    task, job, _, applied = make_task()
    assert task.step() == modal.RUNNING and task.percent == 0
    job.events.put({"id": "1", "event": "progress", "fraction": 0.45, "message": "denoising 9/20"})
    assert task.step() == modal.RUNNING
    assert task.percent == 45 and "45%" in task.status_text() and "denoising 9/20" in task.status_text()
    assert modal.active_task() is task
    job.events.put({"id": "1", "event": "result", "motions": ["/x.npz"]})
    assert task.step() == modal.FINISHED and task.actions == ["A1"]
    assert task.step() == modal.FINISHED and applied == [["/x.npz"]]   # applied exactly once
    assert modal.active_task() is None


def test_only_one_task_at_a_time():
    task, job, _, _ = make_task()
    with pytest.raises(ec.EngineError, match="already running"):
        make_task()
    job.events.put({"event": "cancelled"})
    task.step()
    second, job, _, _ = make_task()
    job.events.put({"event": "cancelled"})
    assert second.step() == modal.CANCELLED


def test_cancel_asks_the_engine_and_ends_cancelled():
    task, job, cancels, applied = make_task()
    task.cancel()
    assert cancels == [job] and task.step() == modal.RUNNING and job.message == "cancelling"
    job.events.put({"event": "cancelled"})
    assert task.step() == modal.CANCELLED and applied == []


def test_engine_error_and_apply_error_fail_cleanly():
    task, job, _, _ = make_task()
    job.events.put({"event": "error", "error": {"type": "model_not_found", "message": "no checkpoint"}})
    assert task.step() == modal.FAILED and task.error == "model_not_found: no checkpoint"

    def broken(results):
        raise ValueError("bone map names bones the armature lacks")
    task, job, _, _ = make_task(apply=broken)
    job.events.put({"event": "result", "motions": ["/x.npz"]})
    assert task.step() == modal.FAILED and "lacks" in task.error


def test_progress_ui_calls_work_without_a_window():
    task, job, _, _ = make_task()
    modal.begin_progress(bpy.context)
    modal.show_progress(bpy.context, task)
    modal.clear_progress(bpy.context)
    job.events.put({"event": "cancelled"})
    task.step()


def test_generate_operator_blocking_path(scene):
    scn, model = scene
    s = scn.motion_settings
    s.prompt, s.seed, s.takes, s.seconds, s.start_frame = "a person waves", 42, 2, 1.5, 10
    s.auto_length = False     # use Duration (Auto length is tested in test_addon_length.py)
    assert bpy.ops.motion.generate() == {"FINISHED"}
    obj = s.target
    names = [a.name for a in takes.takes_of(obj)]
    assert names == ["a person waves · s42 · take1", "a person waves · s42 · take2"]
    assert model.calls == [("generate", ["a person waves"] * 2, 1.5, 42)]
    action = obj.animation_data.action
    assert tuple(action.frame_range) == (10.0, 39.0)
    assert action[takes.FILE_PROP].endswith(".npz")


def test_generate_operator_reports_bad_input(scene):
    scn, _ = scene
    scn.motion_settings.prompt = "   "
    with pytest.raises(RuntimeError, match="type a prompt"):
        bpy.ops.motion.generate()
    scn.motion_settings.prompt = "x"
    scn.motion_settings.target = None
    with pytest.raises(RuntimeError, match="target armature"):
        bpy.ops.motion.generate()


def test_api_generate_batch_and_extend(scene):
    scn, model = scene
    import motion_addon.api as api
    obj = scn.motion_settings.target
    actions = api.generate("jumps", armature=obj, seconds=1.0, takes=3, seed=5)
    assert [a.name for a in actions] == [f"jumps · s5 · take{k}" for k in (1, 2, 3)]
    both = api.batch(["walks", "sits"], armature=obj, seconds=1.0, seed=1)
    assert [len(x) for x in both] == [1, 1] and obj.animation_data.action == both[1][0]
    (extended,) = api.extend("turns around", armature=obj, seconds=1.0, seed=2)
    assert extended.name == "sits, then turns around · s2 · take1"
    assert extended.frame_range[1] - extended.frame_range[0] == 39      # 1 s + 1 s at 20 fps, whole clip
    # the continuation carries on from where the take ended instead of jumping back
    scn.frame_set(int(extended.frame_range[1]))
    end = np.array(obj.matrix_world @ obj.pose.bones["pelvis"].head)
    assert end[0] == pytest.approx(1.025, abs=1e-3)


def test_api_reports_engine_failure(scene, monkeypatch):
    scn, model = scene
    import motion_addon.api as api

    def broken(*a, **k):
        raise RuntimeError("no GPU")
    monkeypatch.setattr(model, "generate", broken)
    with pytest.raises(RuntimeError, match="no GPU"):
        api.generate("x", armature=scn.motion_settings.target, seed=1)
    assert takes.takes_of(scn.motion_settings.target) == []


def test_auto_map_operator_on_a_foreign_rig(scene):
    scn, _ = scene
    obj = scn.motion_settings.target
    assert bpy.ops.motion.auto_map() == {"FINISHED"}
    assert sum(1 for item in obj.motion_retarget.bone_map if item.bone) == 22
    obj.motion_retarget.bone_map[0].bone = ""          # user unmaps a joint in the list
    with pytest.raises(ValueError, match="root joint"):
        takes.apply_takes(obj, [walking_motion()], "x", 0, 1, scn)
    assert armature.rig_rest(obj).bone_names[0] == "pelvis"


@pytest.mark.slow
def test_end_to_end_with_the_real_worker_and_a_tiny_model(scene, tmp_path):
    """Real `python -m motion_core serve --stdio`, an untrained tiny checkpoint, files through out_dir."""
    import sys
    from pathlib import Path
    from addon import generation
    from motion_core.engine import Engine, tiny_config
    checkpoint = str(Engine.random(tiny_config(), seed=0).save(tmp_path / "tiny"))
    scn, _ = scene
    engine = ec.SubprocessEngine(python=sys.executable, cwd=str(Path(__file__).resolve().parents[1]))
    session.set_engine(engine)
    settings = session.EngineSettings(checkpoint=checkpoint, device="cpu")
    task = generation.submit_generate(engine, settings, scn.motion_settings.target, scn, "a person waves", 1.0,
                                      3, 2.0, 2, 2, 1)
    deadline = time.monotonic() + 120
    while task.step() == modal.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert task.status == modal.FINISHED, task.error
    assert [a.name for a in task.actions] == ["a person waves · s3 · take1", "a person waves · s4 · take2"]  # take k: seed 3 + k - 1
    files = [a[takes.FILE_PROP] for a in task.actions]
    # a job's files share a folder of their own in the takes folder (published by one rename: all or nothing)
    assert all(Path(f).parent.parent == tmp_path and Path(f).is_file() for f in files)


def _applied_take(scene, motion, prompt: str):
    """A finished task whose job returned `motion` for `prompt`, applied as a take on the scene's target."""
    scn, _ = scene
    job = ec.Job("9", "generate", canceller=lambda j: None)
    task = modal.GenerationTask(job, f"“{prompt}”", lambda results: takes.apply_takes(
        scn.motion_settings.target, results, prompt, 0, 1, scn))
    job.events.put({"id": "9", "event": "result", "motions": [motion]})
    assert task.step() == modal.FINISHED, task.error
    return task


def test_engine_warnings_reach_the_take_and_the_report(scene):
    """meta["warnings"] (e.g. words the model never learned, issue 21) are stored on the take and reported."""
    motion = walking_motion()
    motion.meta["warnings"] = "the bundled model has not learned 'cartwheel'; nearest: spin, jump"
    task = _applied_take(scene, motion, "does a cartwheel")
    assert task.actions[0][takes.WARNINGS_PROP] == motion.meta["warnings"]
    assert task.warnings == [motion.meta["warnings"]]


def test_warnings_found_before_generating_reach_the_take_report(scene):
    """A rig's warnings (a constraint-driven bone, unmapped joints) are stored on the take beside the engine's."""
    scn, _ = scene
    motion = walking_motion()
    motion.meta["warnings"] = "the bundled model has not learned 'florps'; nearest: walk"
    job = ec.Job("8", "generate", canceller=lambda j: None)
    rig_warning = "1 keyed bone(s) are driven by constraints, so their keys will not show: hand_l"
    task = modal.GenerationTask(job, "“florps”", lambda results: takes.apply_takes(
        scn.motion_settings.target, results, "a person florps", 0, 1, scn), warnings=[rig_warning])
    job.events.put({"id": "8", "event": "result", "motions": [motion]})
    assert task.step() == modal.FINISHED, task.error
    report = task.actions[0][takes.WARNINGS_PROP]
    assert motion.meta["warnings"] in report and rig_warning in report


def test_word_readings_reach_the_take_report(scene):
    """meta["read_as"] (unseen words read as trained ones, issue 21) is stored on the take, not as a warning."""
    motion = walking_motion()
    motion.meta["read_as"] = "read 'strolls' as 'walks'"
    task = _applied_take(scene, motion, "someone strolls")
    assert task.actions[0][takes.READ_AS_PROP] == "read 'strolls' as 'walks'"
    assert takes.WARNINGS_PROP not in task.actions[0]
    assert task.warnings == []


def test_how_a_sequence_prompt_was_played_reaches_the_take_report(scene):
    """meta["played_as"] (a prompt telling actions in order, played as its clauses) is stored on the take."""
    motion = walking_motion()
    motion.meta["played_as"] = "played in order as 'a person walks' (3.0 s), 'a person waves' (2.0 s)"
    task = _applied_take(scene, motion, "a person walks, then waves")
    assert task.actions[0][takes.PLAYED_AS_PROP] == motion.meta["played_as"]
    assert task.warnings == []

"""The add-on under faults and awkward scenes: incomplete bone maps, scaled armatures, an armature deleted
mid-job, a second Generate, failures midway through writing keys, untrusted result files, and engine child
processes that die, hang or talk nonsense.

Policies tested here (see `addon.generation.preflight`): joints without a bone are left out and listed in a
warning, the mapped bones are animated; only the hips are required. Non-uniform object scale is reported
(bone rotations cannot express it); uniform scale is handled exactly.
"""
import sys
import time

import numpy as np
import pytest

from addon import engine_client as ec

# ---- engine client: child processes that misbehave (no bpy needed) ------------------------------------------

MISBEHAVING = r'''
import json, os, sys, time
mode = sys.argv[1]
if mode == "crash_on_start":
    print("ImportError: No module named 'torch'", file=sys.stderr, flush=True)
    sys.exit(1)
if mode == "deaf":                       # never reads a request, never answers
    time.sleep(60)
for line in sys.stdin:
    req = json.loads(line)
    rid = req["id"]
    if req["method"] == "ping":
        print(json.dumps({"id": rid, "event": "pong", "busy": False}), flush=True)
        continue
    if mode == "half_line":
        sys.stdout.write('{"id": "%s", "event": "prog' % rid); sys.stdout.flush(); os._exit(0)
    if mode == "binary":
        sys.stdout.buffer.write(b"\xff\xfe\x00garbage\n"); sys.stdout.flush()
    if mode == "bad_result":
        print(json.dumps({"id": rid, "event": "result", "motions": "not-a-list"}), flush=True)
    if mode == "bad_error":
        print(json.dumps({"id": rid, "event": "error", "error": ["not", "a", "dict"]}), flush=True)
    if mode == "unknown_event":
        print(json.dumps({"id": rid, "event": "explode"}), flush=True)
    if mode == "nan_progress":
        print('{"id": "%s", "event": "progress", "fraction": NaN, "message": 5}' % rid, flush=True)
        print(json.dumps({"id": rid, "event": "result", "motions": ["/tmp/x.npz"]}), flush=True)
    if mode == "array":
        print("[1, 2, 3]", flush=True)
'''


@pytest.fixture
def misbehaving(tmp_path):
    script = tmp_path / "server.py"
    script.write_text(MISBEHAVING)
    engines = []

    def make(mode, **kwargs):
        engine = ec.SubprocessEngine(command=[sys.executable, str(script), mode], **kwargs)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.kill()


@pytest.mark.parametrize("mode, message", [
    ("half_line", "malformed output"),
    ("binary", "malformed output"),
    ("array", "malformed output"),
    ("bad_result", "lists no motions"),
    ("bad_error", "['not', 'a', 'dict']"),
    ("unknown_event", "unexpected reply"),
])
def test_malformed_replies_end_the_job_with_a_clear_error(misbehaving, mode, message):
    engine = misbehaving(mode)
    job = engine.submit("generate", {"prompts": ["walk"]}).wait(timeout=20)
    assert job.state == ec.ERROR and message in job.error, job.error
    engine.release(job)


def test_nan_progress_and_odd_messages_are_tolerated(misbehaving):
    job = misbehaving("nan_progress").submit("generate", {"prompts": ["walk"]}).wait(timeout=20)
    assert job.state == ec.DONE and job.results == ["/tmp/x.npz"] and job.fraction == 1.0


def test_engine_that_crashes_on_start_reports_its_stderr(misbehaving):
    engine = misbehaving("crash_on_start")
    try:
        job = engine.submit("generate", {"prompts": ["walk"]}).wait(timeout=20)
    except ec.EngineError as exc:        # it may already be dead when the request is written
        error = str(exc)
    else:
        assert job.state == ec.ERROR
        error = job.error
    assert "exited (code 1)" in error and "No module named 'torch'" in error


def test_hung_engine_times_out_and_is_replaced(misbehaving):
    engine = misbehaving("deaf", reply_timeout=0.5)
    assert engine.ping(timeout=0.5) is False
    started = time.monotonic()
    job = engine.submit("generate", {"prompts": ["walk"]}).wait(timeout=20)
    assert job.state == ec.ERROR and "sent nothing for 0.5 s" in job.error
    assert time.monotonic() - started < 10
    pid = engine.pid
    engine.release(job)
    assert not engine.alive
    engine.start()
    assert engine.alive and engine.pid != pid


# ---- Blender scenes ---------------------------------------------------------------------------------------------

bpy = pytest.importorskip("bpy")

import addon  # noqa: E402
from addon import armature, generation, keyframes, modal, motion_io, operators, session, takes  # noqa: E402
from motion_core.formats.motion import Motion  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402


def walking_motion(frames=20) -> Motion:
    """Rest pose sliding along +x with a slowly bending left elbow: enough to exercise the pipeline."""
    root = np.zeros((frames, 3))
    root[:, 0] = np.linspace(0, 0.5, frames)
    root[:, 1] = -HUMANML3D.rest_positions()[:, 1].min()
    rotations = np.zeros((frames, 22, 4))
    rotations[..., 0] = 1
    angle = np.linspace(0, 1.2, frames)
    rotations[:, 18] = np.stack([np.cos(angle / 2), np.sin(angle / 2), 0 * angle, 0 * angle], 1)
    joints = HUMANML3D.rest_positions()[None] + root[:, None]
    return Motion(fps=20, joints=joints, rotations=rotations, root_translation=root,
                  offsets=HUMANML3D.rest_offsets, meta={})


class SlowModel:
    """Engine stand-in: `steps` progress reports `delay` s apart, honours cancel, returns walking motions."""

    def __init__(self, delay=0.0, steps=2):
        self.delay, self.steps, self.calls = delay, steps, []

    def generate(self, prompts, seconds=4.0, seed=0, guidance=7.5, steps=20, progress=None, should_cancel=None):
        self.calls.append(list(prompts))
        for i in range(self.steps):
            if should_cancel():
                raise InterruptedError
            progress((i + 1) / self.steps, f"denoising {i + 1}/{self.steps}")
            time.sleep(self.delay)
        return [walking_motion(frames=int(seconds * 20)) for _ in prompts]


@pytest.fixture
def scene(tmp_path, monkeypatch):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    monkeypatch.setattr(session, "takes_dir", lambda: tmp_path)
    model = SlowModel()
    session.set_engine(ec.InProcessEngine(loader=lambda checkpoint, device: model))
    scn = bpy.context.scene
    scn.render.fps = 20
    bpy.ops.motion.create_smpl_armature()
    yield scn, model
    modal.abandon_active_task()
    addon.unregister()
    bpy.ops.wm.read_factory_settings(use_empty=True)


def submit(scn, prompt="a person waves", takes_count=1, seconds=1.0, armature_obj=None):
    engine = session.get_engine(session.EngineSettings())
    obj = armature_obj or scn.motion_settings.target
    return generation.submit_generate(engine, session.EngineSettings(), obj, scn, prompt, seconds, 7, 7.5, 2,
                                      takes_count, 1)


def run(task, timeout=30.0):
    deadline = time.monotonic() + timeout
    while task.step() == modal.RUNNING:
        assert time.monotonic() < deadline, "task did not finish"
        time.sleep(0.01)
    return task.status


def animated_bones(action) -> set[str]:
    bag = action.layers[0].strips[0].channelbag(action.slots[0])
    return {fc.data_path.split('"')[1] for fc in bag.fcurves}


class Reports:
    """Records `Operator.report` calls, to run the operators' reporting code outside a real operator."""

    def __init__(self):
        self.items = []

    def report(self, kind, message):
        self.items.append((next(iter(kind)), message))


def _delete_bones(obj, names):
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for name in names:
        obj.data.edit_bones.remove(obj.data.edit_bones[name])
    bpy.ops.object.mode_set(mode="OBJECT")


def test_missing_bones_animate_the_rest_and_are_listed(scene):
    scn, model = scene
    obj = scn.motion_settings.target
    _delete_bones(obj, ["left_wrist", "right_wrist"])      # deleted after the bone map was made: stale entries
    obj.data.bones["left_foot"].name = "toe_L"             # renamed after mapping
    task = submit(scn)
    (warning,) = task.warnings
    assert "3 of 22 joints have no bone on 'SMPL'" in warning
    assert "left_foot" in warning and "left_wrist" in warning and "right_wrist" in warning
    assert run(task) == modal.FINISHED
    (action,) = task.actions
    bones = animated_bones(action)
    assert "left_elbow" in bones and "pelvis" in bones and len(bones) == 19
    assert not {"left_wrist", "right_wrist", "toe_L"} & bones
    scn.frame_set(20)                                      # the mapped elbow really moves
    assert obj.pose.bones["left_elbow"].rotation_quaternion.angle > 0.5
    reports = Reports()
    assert operators._JobOperator._finish(reports, bpy.context, task) == {"FINISHED"}
    assert ("WARNING", warning) in reports.items


def test_unmapped_hips_refuse_before_any_work(scene):
    scn, model = scene
    obj = scn.motion_settings.target
    obj.motion_retarget.bone_map[0].bone = ""
    with pytest.raises(ValueError, match="joint 'pelvis' \\(the hips\\) is not mapped to a bone of 'SMPL'"):
        submit(scn)
    assert model.calls == [] and modal.active_task() is None


def test_non_uniform_scale_is_reported_uniform_scale_is_exact(scene):
    scn, _ = scene
    obj = scn.motion_settings.target
    reference = armature.create_smpl_armature(bpy.context, name="Reference")
    obj.scale = (2.0, 2.0, 2.0)
    bpy.context.view_layer.update()
    assert generation.preflight(obj) == []
    motion = walking_motion()
    for target in (obj, reference):
        takes.apply_takes(target, [motion], "walk", 0, 1, scn)
    for frame in (1, 12, 20):
        scn.frame_set(frame)
        for bone in ("left_elbow", "spine3", "right_knee"):
            a, b = (np.array(o.matrix_world @ o.pose.bones[bone].head) for o in (obj, reference))
            np.testing.assert_allclose(a, 2.0 * b, atol=1e-4)
    obj.scale = (1.0, 1.0, 3.0)
    bpy.context.view_layer.update()
    (warning,) = generation.preflight(obj)
    assert "non-uniform scale (1, 1, 3)" in warning and "Apply > Scale" in warning
    task = submit(scn)
    assert task.warnings == [warning] and run(task) == modal.FINISHED    # reported, not refused


def test_armature_deleted_while_the_job_runs(scene):
    scn, model = scene
    model.delay, model.steps = 0.05, 6
    obj = scn.motion_settings.target
    before = set(bpy.data.actions.keys())
    task = submit(scn)
    bpy.data.objects.remove(obj)
    assert run(task) == modal.FAILED
    assert "could not apply the motion" in task.error and "'SMPL' no longer exists" in task.error
    assert set(bpy.data.actions.keys()) == before and modal.active_task() is None
    reports = Reports()
    assert operators._JobOperator._finish(reports, bpy.context, task) == {"CANCELLED"}
    assert reports.items == [("ERROR", task.error)]


def test_second_generate_while_one_runs_is_refused(scene):
    scn, model = scene
    model.delay, model.steps = 0.05, 10
    scn.motion_settings.prompt = "a person waves"
    first = submit(scn)
    with pytest.raises(RuntimeError, match="a generation is already running"):
        bpy.ops.motion.generate()
    import motion_addon.api as api
    with pytest.raises(ec.EngineError, match="already running"):
        api.generate("jump", armature=scn.motion_settings.target, seed=1)
    with pytest.raises(ec.EngineError, match="already running"):
        submit(scn, prompt="jump")
    assert run(first) == modal.FINISHED
    assert model.calls == [["a person waves"]]          # the refused requests never reached the engine
    assert bpy.ops.motion.generate() == {"FINISHED"}    # and once it is done, Generate works again


def _user_action(obj):
    pb = obj.pose.bones["pelvis"]
    for frame, z in ((1, 0.0), (10, 0.3)):
        pb.location.z = z
        pb.keyframe_insert("location", frame=frame)
    return obj.animation_data.action


def _scene_state(obj):
    ad = obj.animation_data
    return (set(bpy.data.actions.keys()), ad.action, [t.name for t in ad.nla_tracks],
            ad.action.use_fake_user)


def test_failure_midway_through_writing_keys_leaves_the_scene_untouched(scene, monkeypatch):
    scn, _ = scene
    obj = scn.motion_settings.target
    user = _user_action(obj)
    before = _scene_state(obj)
    real, calls = keyframes.write_channels, []

    def dies_halfway(sink, frames, channels):
        calls.append(1)
        if len(calls) == 2:                               # second take: write half its curves, then fail
            real(sink, frames, channels[: len(channels) // 2])
            raise MemoryError("simulated failure while writing keyframes")
        real(sink, frames, channels)

    monkeypatch.setattr(keyframes, "write_channels", dies_halfway)
    task = submit(scn, takes_count=2)
    assert run(task) == modal.FAILED and "simulated failure" in task.error
    assert _scene_state(obj) == before and obj.animation_data.action == user
    assert len(calls) == 2


def test_failure_while_assigning_takes_rolls_back(scene, monkeypatch):
    scn, _ = scene
    obj = scn.motion_settings.target
    user = _user_action(obj)
    before = _scene_state(obj)

    def broken_track(*args, **kwargs):
        raise RuntimeError("simulated NLA failure")

    monkeypatch.setattr(takes, "add_take_track", broken_track)
    task = submit(scn, takes_count=3)
    assert run(task) == modal.FAILED and "simulated NLA failure" in task.error
    assert _scene_state(obj) == before and obj.animation_data.action == user
    assert not user.use_fake_user


def test_failure_while_assigning_onto_an_unanimated_armature_rolls_back(scene, monkeypatch):
    scn, _ = scene
    obj = scn.motion_settings.target
    monkeypatch.setattr(takes, "add_take_track", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    before = set(bpy.data.actions.keys())
    assert run(submit(scn, takes_count=2)) == modal.FAILED
    assert obj.animation_data is None and set(bpy.data.actions.keys()) == before


class ScriptedEngine:
    """An engine whose job replies with whatever the test scripts (e.g. paths to hostile files)."""

    def __init__(self, events):
        self.events = events

    def submit(self, method, params):
        job = ec.Job("1", method, canceller=lambda job: None)
        for event in self.events:
            job.events.put(event)
        return job


@pytest.mark.parametrize("kind", ["pickle", "missing", "bomb"])
def test_hostile_result_files_fail_cleanly(scene, tmp_path, kind):
    scn, _ = scene
    path = tmp_path / f"{kind}.npz"
    if kind == "pickle":
        np.savez(path, joints=np.array([object()], dtype=object))
    elif kind == "bomb":
        import io
        import zipfile
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (10 ** 11, 22, 3)})
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("joints.npy", buffer.getvalue() + b"\0" * 16)
    engine = ScriptedEngine([{"event": "result", "motions": [str(path)]}])
    before = set(bpy.data.actions.keys())
    task = generation.submit_generate(engine, session.EngineSettings(), scn.motion_settings.target, scn, "walk",
                                      1.0, 0, 7.5, 2, 1, 1)
    assert run(task) == modal.FAILED and task.error.startswith("could not apply the motion")
    assert {"pickle": "pickled objects", "missing": "no Motion file", "bomb": "declares shape"}[kind] in task.error
    assert set(bpy.data.actions.keys()) == before


def test_fallback_reader_refuses_pickles(tmp_path):
    """Without motion_core in Blender's Python the add-on reads .npz itself, also with allow_pickle=False."""
    path = tmp_path / "evil.npz"
    np.savez(path, joints=np.array([object()], dtype=object), rotations=np.zeros(1), root_translation=np.zeros(1),
             offsets=np.zeros(1), fps=20.0, skeleton="humanml3d", meta="{}", format_version=1)
    with pytest.raises(ValueError, match="allow_pickle"):
        motion_io._read_npz(path)

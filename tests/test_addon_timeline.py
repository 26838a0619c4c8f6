"""The add-on's timeline: the segment list operators, Generate Timeline through the engine client (in-process
with a fake model, and the real worker subprocess with a tiny model), and the scripting API."""
import sys
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from addon import engine_client as ec  # noqa: E402
from addon import generation, modal, session, takes  # noqa: E402
from motion_core.formats.motion import Motion  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402
from addon_scene import registered_scene  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class FakeTimelineModel:
    """Engine stand-in: one walking motion as long as the whole timeline."""

    def __init__(self):
        self.calls = []

    def generate_timeline(self, segments, seed=0, guidance=7.5, steps=20, progress=None, should_cancel=None,
                          **guides):
        self.calls.append((list(segments), seed, guides))
        progress(0.5, "window 1/1")
        frames = round(sum(seconds for _, seconds in segments) * 20)
        root = np.zeros((frames, 3))
        root[:, 0] = np.linspace(0, 1, frames)
        root[:, 1] = -HUMANML3D.rest_positions()[:, 1].min()
        rotations = np.zeros((frames, 22, 4))
        rotations[..., 0] = 1
        return Motion(fps=20, joints=HUMANML3D.rest_positions()[None] + root[:, None], rotations=rotations,
                      root_translation=root, offsets=HUMANML3D.rest_offsets, meta={"prompt": "timeline"})


@pytest.fixture
def scene(tmp_path, monkeypatch):
    yield from registered_scene(FakeTimelineModel(), tmp_path, monkeypatch)


def _fill(s, rows):
    s.timeline.clear()
    for prompt, seconds in rows:
        item = s.timeline.add()
        item.prompt, item.seconds = prompt, seconds


def test_segment_list_add_remove_move(scene):
    scn, _ = scene
    s = scn.motion_settings
    assert hasattr(bpy.types, "MOTION_UL_timeline") and hasattr(bpy.types, "VIEW3D_PT_motion_timeline")
    s.prompt = "walks"
    bpy.ops.motion.timeline_add()
    s.prompt = "jumps"
    bpy.ops.motion.timeline_add()
    assert [i.prompt for i in s.timeline] == ["walks", "jumps"] and s.timeline_index == 1
    s.timeline_index = 0
    s.prompt = "turns"
    bpy.ops.motion.timeline_add()           # inserted after the active row
    assert [i.prompt for i in s.timeline] == ["walks", "turns", "jumps"] and s.timeline_index == 1
    bpy.ops.motion.timeline_move(direction="UP")
    assert [i.prompt for i in s.timeline] == ["turns", "walks", "jumps"] and s.timeline_index == 0
    assert bpy.ops.motion.timeline_move(direction="UP") == {"CANCELLED"}
    bpy.ops.motion.timeline_remove()
    assert [i.prompt for i in s.timeline] == ["walks", "jumps"]


def test_generate_timeline_operator_makes_one_take(scene):
    scn, model = scene
    s = scn.motion_settings
    s.seed, s.start_frame = 7, 5
    _fill(s, [("walks", 1.5), ("jumps", 1.0), ("waves", 0.5)])
    assert bpy.ops.motion.generate_timeline() == {"FINISHED"}
    assert model.calls == [([("walks", 1.5), ("jumps", 1.0), ("waves", 0.5)], 7, {})]
    (action,) = takes.takes_of(s.target)
    assert action.name == "walks → jumps → +1 · s7 · take1"
    assert tuple(action.frame_range) == (5.0, 64.0)      # 3 s at 20 fps
    assert action[takes.FILE_PROP].endswith(".npz")


def test_generate_timeline_refuses_an_empty_or_blank_timeline(scene):
    scn, model = scene
    scn.motion_settings.timeline.clear()
    with pytest.raises(RuntimeError, match="timeline is empty"):
        bpy.ops.motion.generate_timeline()
    _fill(scn.motion_settings, [("walks", 1.0), ("  ", 1.0)])
    with pytest.raises(RuntimeError, match="segment 2 has no prompt"):
        bpy.ops.motion.generate_timeline()
    assert model.calls == []


def test_api_timeline(scene):
    scn, model = scene
    import motion_addon.api as api
    (action,) = api.timeline([("sits down", 1.0), ("stands up", 1.0)], armature=scn.motion_settings.target, seed=3)
    assert action.name == "sits down → stands up · s3 · take1" and model.calls[0][1] == 3


def test_api_timeline_sends_a_path_and_pins(scene):
    scn, model = scene
    import motion_addon.api as api
    pose = HUMANML3D.rest_positions().tolist()
    api.timeline([("walks", 1.0), ("waves", 1.0)], armature=scn.motion_settings.target, seed=1,
                 path={"curve": [[0.0, 0.0], [1.0, 2.0]]}, pins=[{"frame": 25, "joints": pose}])
    guides = model.calls[-1][2]
    assert guides["path"] == {"curve": [[0.0, 0.0], [1.0, 2.0]]} and guides["pins"][0]["frame"] == 25


@pytest.mark.slow
def test_timeline_through_the_real_worker_with_a_tiny_model(scene, tmp_path):
    from motion_core.engine import Engine, tiny_config
    checkpoint = str(Engine.random(tiny_config(), seed=0).save(tmp_path / "tiny"))
    scn, _ = scene
    engine = ec.SubprocessEngine(python=sys.executable, cwd=str(ROOT))
    session.set_engine(engine)
    settings = session.EngineSettings(checkpoint=checkpoint, device="cpu")
    task = generation.submit_timeline(engine, settings, scn.motion_settings.target, scn,
                                      [("walks", 1.0), ("jumps", 1.0)], 4, 1.0, 1, 1)
    deadline = time.monotonic() + 120
    while task.step() == modal.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert task.status == modal.FINISHED, task.error
    (action,) = task.actions
    path = Path(action[takes.FILE_PROP])
    # A worker job publishes its files in one folder of their own inside out_dir (all or nothing).
    assert path.parent.parent == tmp_path and path.is_file()
    assert Motion.load(path).num_frames == 40 and tuple(action.frame_range) == (1.0, 40.0)

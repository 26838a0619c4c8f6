"""Auto length in the add-on: the scene setting and its panel row, requests that carry no length so the model
picks one (in-process with a fake model, and the real worker with a tiny model that has a length predictor),
explicit Duration when it is off, and `api.generate(seconds=None)`."""
import json
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
FPS = 20
PREDICTED = {"a person jumps forward": 40, "a person walks forward": 68}   # frames the fake model "predicts"


def walking_motion(frames: int, meta: dict) -> Motion:
    root = np.zeros((frames, 3))
    root[:, 0] = np.linspace(0, 0.5, frames)
    root[:, 1] = -HUMANML3D.rest_positions()[:, 1].min()
    rotations = np.zeros((frames, 22, 4))
    rotations[..., 0] = 1
    return Motion(fps=FPS, joints=HUMANML3D.rest_positions()[None] + root[:, None], rotations=rotations,
                  root_translation=root, offsets=HUMANML3D.rest_offsets, meta=meta)


class PredictingModel:
    """Engine stand-in with the real engine's length policy: no seconds -> a per-prompt predicted length."""

    def __init__(self):
        self.calls = []

    def generate(self, prompts, seconds=None, seed=0, guidance=7.5, steps=20, progress=None, should_cancel=None):
        self.calls.append(("generate", list(prompts), seconds))
        progress(1.0, "done")
        motions = []
        for k, prompt in enumerate(prompts):
            frames = PREDICTED[prompt] if seconds is None else round(seconds * FPS)
            source = "predicted" if seconds is None else "requested"
            motions.append(walking_motion(frames, {"prompt": prompt, "seed": seed + k, "length_source": source}))
        return motions

    def extend(self, motion, prompt, seconds=None, seed=0, guidance=7.5, steps=20, progress=None,
               should_cancel=None):
        self.calls.append(("extend", prompt, seconds))
        return walking_motion(round(seconds * FPS), {"prompt": prompt, "seed": seed, "length_source": "requested"})


@pytest.fixture
def scene(tmp_path, monkeypatch):
    yield from registered_scene(PredictingModel(), tmp_path, monkeypatch)


@pytest.fixture
def sent(scene, monkeypatch):
    """The params of every request the add-on submits to the (pinned in-process) engine."""
    engine = session.get_engine(session.EngineSettings())
    requests, submit = [], engine.submit
    monkeypatch.setattr(engine, "submit", lambda method, params: requests.append((method, params)) or
                        submit(method, params))
    return requests


class Layout:
    """Stands in for UILayout (headless Blender cannot draw): records each property shown and whether the
    layout holding it is enabled (a sub-layout is enabled only if all its parents are)."""

    def __init__(self, log, parent=None):
        object.__setattr__(self, "log", log)
        object.__setattr__(self, "parent", parent)
        object.__setattr__(self, "enabled", True)

    def effective(self) -> bool:
        return self.enabled and (self.parent is None or self.parent.effective())

    def __getattr__(self, name):
        def call(*args, **kwargs):
            if name == "prop":
                self.log[args[1]] = self.effective()
            return Layout(self.log, self)
        return call


def draw_main_panel(context) -> dict:
    from addon import ui
    log = {}
    ui.VIEW3D_PT_motion.draw(type("P", (), {"layout": Layout(log)})(), context)
    return log


def test_auto_length_defaults_on_and_greys_out_duration(scene):
    scn, _ = scene
    s = scn.motion_settings
    prop = s.bl_rna.properties["auto_length"]
    assert prop.type == "BOOLEAN" and prop.default is True and s.auto_length is True
    assert "length" in prop.description
    shown = draw_main_panel(bpy.context)
    assert shown["auto_length"] is True and shown["seconds"] is False     # Duration shown but disabled
    s.auto_length = False
    assert draw_main_panel(bpy.context)["seconds"] is True


def test_auto_length_sends_no_seconds_and_keys_the_predicted_length(scene, sent):
    scn, model = scene
    s = scn.motion_settings
    s.prompt, s.seed, s.takes, s.seconds, s.start_frame = "a person jumps forward", 3, 2, 7.0, 10
    assert bpy.ops.motion.generate() == {"FINISHED"}
    (method, params), = sent
    assert method == "generate" and "seconds" not in params and "frames" not in params
    assert model.calls == [("generate", ["a person jumps forward"] * 2, None)]
    actions = takes.takes_of(s.target)
    assert len(actions) == 2
    for action in actions:
        assert tuple(action.frame_range) == (10.0, 10.0 + PREDICTED["a person jumps forward"] - 1)
        assert action[takes.SECONDS_PROP] == pytest.approx(PREDICTED["a person jumps forward"] / FPS)
        assert action[takes.LENGTH_SOURCE_PROP] == "predicted"
    # Extend keeps its explicit length whatever Auto length says.
    s.extend_seconds = 1.0
    assert bpy.ops.motion.extend() == {"FINISHED"}
    assert sent[-1][0] == "extend" and sent[-1][1]["seconds"] == 1.0 and model.calls[-1][2] == 1.0


def test_auto_length_off_sends_the_duration(scene, sent):
    scn, model = scene
    s = scn.motion_settings
    s.prompt, s.auto_length, s.seconds, s.start_frame = "a person walks forward", False, 1.5, 1
    assert bpy.ops.motion.generate() == {"FINISHED"}
    assert sent[0][1]["seconds"] == 1.5 and model.calls == [("generate", ["a person walks forward"], 1.5)]
    action = s.target.animation_data.action
    assert tuple(action.frame_range) == (1.0, 30.0)
    assert action[takes.SECONDS_PROP] == pytest.approx(1.5) and action[takes.LENGTH_SOURCE_PROP] == "requested"


def test_api_generate_without_seconds_uses_the_predicted_length(scene, sent):
    scn, model = scene
    import motion_addon.api as api
    obj = scn.motion_settings.target
    (walk,) = api.generate("a person walks forward", armature=obj, seed=1, start_frame=1)
    (jump,) = api.generate("a person jumps forward", armature=obj, seconds=None, seed=1, start_frame=1)
    assert [params.get("seconds") for _, params in sent] == [None, None]
    assert walk.frame_range[1] == PREDICTED["a person walks forward"]
    assert jump.frame_range[1] == PREDICTED["a person jumps forward"]
    (exact,) = api.generate("a person walks forward", armature=obj, seconds=2, seed=1, start_frame=1)
    assert sent[-1][1]["seconds"] == 2.0 and isinstance(sent[-1][1]["seconds"], float)
    assert exact.frame_range[1] == 40 and exact[takes.LENGTH_SOURCE_PROP] == "requested"


@pytest.mark.parametrize("bad, message", [(0, "must be positive, got 0"), (-1.5, "must be positive, got -1.5"),
                                          (float("nan"), "must be positive"), ("4", "must be a number"),
                                          (True, "must be a number")])
def test_api_generate_rejects_bad_seconds_before_submitting(scene, sent, bad, message):
    scn, model = scene
    import motion_addon.api as api
    with pytest.raises(ValueError, match=message):
        api.generate("a person walks forward", armature=scn.motion_settings.target, seconds=bad, seed=1)
    assert sent == [] and model.calls == [] and takes.takes_of(scn.motion_settings.target) == []


@pytest.mark.slow
def test_auto_length_through_the_real_worker_with_a_length_predictor(scene, tmp_path, monkeypatch):
    """The JSON request carries no seconds; the worker's engine predicts the length; the take is that long."""
    import torch
    from motion_core.engine import Engine, tiny_config
    from motion_core.models.length_predictor import LengthPredictor, LengthPredictorConfig
    engine_model = Engine.random(tiny_config(), seed=0)
    tokens, _ = engine_model.text_encoder.encode(["x"])
    torch.manual_seed(0)   # an untrained predictor still gives a deterministic, prompt-dependent length
    engine_model.set_length_predictor(LengthPredictor(LengthPredictorConfig(
        text_dim=tokens.shape[-1], hidden_dim=16, min_frames=8, max_frames=engine_model.max_frames)))
    checkpoint = str(engine_model.save(tmp_path / "tiny"))
    expected = Engine.load(checkpoint, device="cpu").predict_frames(["a person jumps forward"])[0]
    scn, _ = scene
    engine = ec.SubprocessEngine(python=sys.executable, cwd=str(ROOT))
    session.set_engine(engine)
    lines, send = [], engine._send
    monkeypatch.setattr(engine, "_send", lambda message: lines.append(json.loads(json.dumps(message))) or
                        send(message))
    settings = session.EngineSettings(checkpoint=checkpoint, device="cpu")
    task = generation.submit_generate(engine, settings, scn.motion_settings.target, scn, "a person jumps forward",
                                      None, 3, 2.0, 1, 1, 1)
    deadline = time.monotonic() + 120
    while task.step() == modal.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert task.status == modal.FINISHED, task.error
    request = next(line for line in lines if line.get("method") == "generate")
    assert "seconds" not in request["params"]
    (action,) = task.actions
    assert Motion.load(action[takes.FILE_PROP]).num_frames == expected
    assert tuple(action.frame_range) == (1.0, float(expected))
    assert action[takes.LENGTH_SOURCE_PROP] == "predicted"
    assert action[takes.SECONDS_PROP] == pytest.approx(expected / FPS)

"""Clip length from a curve (issue 23): a curve with no length gets a clip that walks it at the prompt's pace."""
import numpy as np
import pytest

from motion_core.controls.path import RootPath, ground_travel
from motion_core.engine import Engine, tiny_config
from motion_core.generation import curve_length

CURVE = {"curve": [[0.0, 0.0], [0.0, 1.5], [1.5, 3.0]]}        # 1.5 + 2.12 = 3.62 m


@pytest.fixture(scope="module")
def tiny():
    return Engine.random(tiny_config(), seed=0)


@pytest.fixture
def paces(monkeypatch):
    """Pretend prompts travel at given paces (m/s): the tiny model's own pace is noise."""
    table = {}
    monkeypatch.setattr(curve_length, "_paces", lambda engine, prompts, *rest: [table[p] for p in prompts])
    return table


def test_a_curve_without_a_length_sets_it_from_the_prompts_pace(tiny, paces):
    paces.update({"a person walks": 1.0, "a person waves": 0.05})
    walk, wave = tiny.generate(["a person walks", "a person waves"], steps=1, path=CURVE)
    length = RootPath.from_json(CURVE).length
    assert walk.num_frames == round(length / 1.0 * tiny.fps) + 1
    assert walk.meta["length_source"] == "path" and walk.meta["path_pace"] == 1.0
    assert wave.num_frames == 80 and wave.meta["length_source"] == "default"    # waving walks no curve
    (asked,) = tiny.generate(["a person walks"], seconds=2, steps=1, path=CURVE)
    assert asked.num_frames == 40 and asked.meta["length_source"] == "requested"


def test_a_curve_too_long_for_the_model_is_warned_and_pins_still_fit(tiny, paces):
    paces.update({"a person runs": 0.5, "a person walks": 4.0})
    (run,) = tiny.generate(["a person runs"], steps=1, path={"curve": [[0, 0], [0, 20]]})
    assert run.num_frames == tiny.max_frames and "walks only part of it" in run.meta["warnings"]
    pins = [{"frame": 60, "effectors": {"head": [0.0, 1.6, 1.0]}}]
    (walk,) = tiny.generate(["a person walks"], steps=1, path=CURVE, pins=pins)    # 3.6 m at 4 m/s: 19 frames
    assert walk.num_frames == 61


def test_pace_is_the_root_travel_over_the_clip(tiny):
    (take,) = tiny.generate(["a person walks"], frames=40, seed=4, steps=1)
    (pace,) = curve_length._paces(tiny, ["a person walks"], [4], [40], 7.5, curve_length.Progress(None), None)
    assert pace >= 0 and np.isfinite(pace)
    assert ground_travel(np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])) == pytest.approx(3.0, abs=0.3)


@pytest.mark.slow
def test_the_bundled_model_gets_a_clip_long_enough_for_a_long_curve():
    engine = Engine.load(None, device="cpu")
    short, long = (engine.generate(["a person walks forward"], seed=0, path={"curve": [[0, 0], [0, d]]})[0]
                   for d in (2.0, 6.0))
    assert short.meta["length_source"] == long.meta["length_source"] == "path"
    # 6 m at no more than the corpus's fastest walking pace (~1.5 m/s; its median 1.35 m/s, which model v10 keeps:
    # 90 frames at 20 fps)
    assert long.num_frames > 2 * short.num_frames and long.num_frames / engine.fps >= 6.0 / 1.5
    travelled = np.linalg.norm(np.diff(long.joints[:, 0, [0, 2]], axis=0), axis=1).sum()
    assert travelled > 5.0                                            # it walks (nearly) the whole curve

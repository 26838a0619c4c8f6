"""Paths and pins on `extend` and timelines (issue 23): engine, worker and CLI."""
import io
import json
import time

import numpy as np
import pytest

from motion_core.controls.path import RootPath, path_deviation
from motion_core.controls.pins import parse_pins, pin_errors
from motion_core.engine import Engine, InputError, tiny_config
from motion_core.formats.motion import Motion
from motion_core.interfaces.worker import Worker
from motion_core.kinematics.skeleton import HUMANML3D
from tests.test_controls_path import run_cli


@pytest.fixture(scope="module")
def tiny():
    return Engine.random(tiny_config(), seed=0)


@pytest.fixture(scope="module")
def start(tiny):
    (motion,) = tiny.generate(["a person walks"], frames=40, seed=1, steps=2)
    return motion


def ahead(motion: Motion, dx: float, dz: float) -> tuple[float, float]:
    """A ground point (dx, dz) metres from where `motion` ends."""
    x, _, z = motion.joints[-1, 0]
    return float(x) + dx, float(z) + dz


def test_extend_follows_a_path_from_where_the_motion_ends_and_meets_pins(tiny, start):
    x, z = ahead(start, 0.8, 1.2)
    path = {"waypoints": [{"frame": 29, "x": x, "z": z}]}
    head = [*ahead(start, 0.3, 0.4)]
    pins = [{"frame": 15, "effectors": {"head": [head[0], 1.6, head[1]]}}]
    result = tiny.extend(start, "a person walks", frames=40, steps=2, path=path, pins=pins)
    np.testing.assert_allclose(result.joints[:40], start.joints, atol=1e-5)      # the old frames as they were
    assert np.linalg.norm(result.joints[40 + 29, 0, [0, 2]] - [x, z]) < 0.01    # frames count from the new part
    assert pin_errors(result.joints[40:], parse_pins(pins, HUMANML3D))[0] < 0.01
    assert np.linalg.norm(result.joints[40, 0] - start.joints[-1, 0]) < 0.1      # no jump onto the path
    assert json.loads(result.meta["path"]) == RootPath.from_json(path).to_json() and "pins" in result.meta


def test_extend_follows_a_curve_from_the_motions_end(tiny, start):
    x, z = ahead(start, 0.0, 0.0)
    curve = {"curve": [[x + 0.5, z], [x + 0.5, z + 3.0]]}       # starts half a metre to the side
    result = tiny.extend(start, "a person walks", frames=40, steps=2, path=curve)
    assert np.linalg.norm(result.joints[40, 0, [0, 2]] - [x, z]) < 0.1           # led there, not teleported


def test_extend_lengthens_to_a_late_pin_and_refuses_bad_controls(tiny, start):
    pins = [{"frame": 70, "effectors": {"head": [0.0, 1.6, 0.0]}}]
    result = tiny.extend(start, "a person walks", steps=1, pins=pins)
    assert result.num_frames - start.num_frames >= 71
    with pytest.raises(InputError, match="frame 0"):
        tiny.extend(start, "a person walks", frames=20, steps=1,
                    path={"waypoints": [{"frame": 0, "x": 0, "z": 0}, {"frame": 10, "x": 0, "z": 1}]})
    with pytest.raises(InputError, match="beyond the clip"):
        tiny.extend(start, "a person walks", frames=20, steps=1, pins=pins)


def test_timeline_follows_a_path_and_meets_pins(tiny):
    path = {"waypoints": [{"frame": 50, "x": 1.0, "z": 2.0}, {"frame": 79, "x": 1.5, "z": 3.0}]}
    pins = [{"frame": 30, "effectors": {"head": [0.5, 1.6, 1.0]}}]
    motion = tiny.generate_timeline([("a person walks", 2.0), ("a person jumps", 2.0)], steps=2, path=path,
                                    pins=pins)
    assert path_deviation(motion.joints, RootPath.from_json(path), 20.0)["waypoint_max_cm"] < 1.0
    assert pin_errors(motion.joints, parse_pins(pins, HUMANML3D))[0] < 0.01
    with pytest.raises(InputError, match="beyond the clip"):
        tiny.generate_timeline([("a person walks", 1.0)], steps=1, pins=pins)


def job(method: str, params: dict) -> dict:
    out = io.StringIO()
    worker = Worker(out, engine_loader=lambda checkpoint, device: Engine.random(tiny_config()), log=io.StringIO())
    worker.handle_line(json.dumps({"id": "1", "method": method, "params": params}))
    for _ in range(600):
        final = [e for e in map(json.loads, out.getvalue().splitlines()) if e.get("event") in ("result", "error")]
        if final:
            return final[0]
        time.sleep(0.1)
    raise AssertionError("no reply")


def test_worker_extend_and_timeline_take_paths_and_pins(tiny, start, tmp_path):
    x, z = ahead(start, 0.5, 1.0)
    source = start.save(tmp_path / "start.npz")
    reply = job("extend", {"motion_path": str(source), "prompt": "a person walks", "frames": 30, "steps": 1,
                           "out_dir": str(tmp_path), "path": {"waypoints": [{"frame": 20, "x": x, "z": z}]}})
    assert reply["event"] == "result", reply
    extended = Motion.load(reply["motions"][0])
    assert np.linalg.norm(extended.joints[40 + 20, 0, [0, 2]] - [x, z]) < 0.01
    pins = [{"frame": 10, "effectors": {"head": [0.2, 1.6, 0.5]}}]
    reply = job("timeline", {"segments": [["a person walks", 1.5]], "steps": 1, "out_dir": str(tmp_path),
                             "pins": pins})
    assert reply["event"] == "result", reply
    assert pin_errors(Motion.load(reply["motions"][0]).joints, parse_pins(pins, HUMANML3D))[0] < 0.01
    bad = job("extend", {"motion_path": str(source), "prompt": "a person walks", "frames": 30,
                         "pins": [{"frame": 3, "effectors": {"hand": [0, 1, 0]}}]})
    assert bad["event"] == "error" and "params.pins" in bad["error"]["message"]


def test_cli_timeline_with_path_and_pins(tiny, tmp_path):
    checkpoint = tiny.save(tmp_path / "tiny")
    path = {"waypoints": [{"frame": 40, "x": 0.5, "z": 1.5}]}
    pins = [{"frame": 20, "effectors": {"head": [0.3, 1.6, 0.8]}}]
    (tmp_path / "path.json").write_text(json.dumps(path))
    (tmp_path / "pins.json").write_text(json.dumps(pins))
    out = tmp_path / "timeline.npz"
    result = run_cli("generate", "--prompt", "a person walks:1.5", "--prompt", "a person jumps:1.5", "--steps", "1",
                     "--path", tmp_path / "path.json", "--pins", tmp_path / "pins.json", "--out", out,
                     "--checkpoint", checkpoint, "--device", "cpu", "--quiet")
    assert result.returncode == 0, result.stderr
    motion = Motion.load(out)
    assert np.linalg.norm(motion.joints[40, 0, [0, 2]] - [0.5, 1.5]) < 0.01
    assert pin_errors(motion.joints, parse_pins(pins, HUMANML3D))[0] < 0.01

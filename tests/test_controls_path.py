"""Follow a path (issue 23, item 1): waypoints met, facing along the path, bad input refused, CLI and worker."""
import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from motion_core.controls.path import PathError, RootPath, follow_path, follow_path_joints, path_deviation
from motion_core.engine import Engine, InputError, tiny_config
from motion_core.formats.motion import Motion
from motion_core.interfaces.worker import Worker
from motion_core.kinematics.skeleton import HUMANML3D
from train.evaluation.actions import facing

ROOT = Path(__file__).resolve().parents[1]
TURN = {"waypoints": [{"frame": 20, "x": 0.5, "z": 1.2}, {"time": 2.0, "x": 1.6, "z": 1.8}]}


def walk(frames: int = 60, backwards: bool = False, speed: float = 0.06) -> np.ndarray:
    """The rest pose (facing +z) travelling +z (or -z when `backwards`) with a 3 cm side-to-side sway."""
    t = np.arange(frames)
    joints = HUMANML3D.rest_positions()[None].repeat(frames, 0) + [0.0, 0.9, 0.0]
    joints[..., 2] += (-1 if backwards else 1) * speed * t[:, None]
    joints[..., 0] += 0.03 * np.sin(2 * np.pi * t / 20)[:, None]
    return joints


def yaw(direction) -> float:
    return math.atan2(direction[0], direction[-1])


def angle_between(a: float, b: float) -> float:
    return abs(math.remainder(a - b, 2 * math.pi))


def test_parsing_round_trips_and_refuses_bad_paths():
    path = RootPath.from_json(TURN)
    assert RootPath.from_json(path.to_json()) == path and path.frames(20.0) == [20, 40]
    assert RootPath.from_json({"curve": [[0, 0], [1, 1]]}).curve == ((0.0, 0.0), (1.0, 1.0))
    bad = [{"waypoints": []}, {"waypoints": [{"frame": 0, "x": 0, "z": 0}]},            # too few
           {"waypoints": [{"frame": 5, "time": 1, "x": 0, "z": 0}]},                       # frame and time
           {"waypoints": [{"frame": 5, "x": float("nan"), "z": 0}]},                       # not finite
           {"waypoints": [{"frame": -1, "x": 0, "z": 0}]}, {"curve": [[0, 0]]}, {"curve": [[0, 0], [0, 0]]},
           {"curve": [[0, 0], [1]]}, {"route": []}, [1, 2], {"waypoints": [], "curve": []}]
    for value in bad:
        with pytest.raises(PathError):
            RootPath.from_json(value)
    with pytest.raises(PathError, match="beyond the clip"):
        path.frames(20.0, num_frames=30)
    with pytest.raises(PathError, match="time order"):
        RootPath.from_json({"waypoints": [{"frame": 9, "x": 0, "z": 1}, {"frame": 3, "x": 0, "z": 2}]}).frames(20)


def test_waypoints_are_met_and_the_body_faces_along_the_path():
    path = RootPath.from_json(TURN)
    joints = follow_path_joints(walk(), path, 20.0, HUMANML3D.face_joints)
    deviation = path_deviation(joints, path, 20.0)
    assert deviation["waypoint_max_cm"] < 1e-3 and deviation["mean_cm"] < 5
    np.testing.assert_allclose(joints[0, 0, [0, 2]], [0.0, 0.0], atol=1e-6)       # starts at the origin
    body = facing(joints)
    for frame in (10, 20, 30):   # along the path's direction of travel (over one sway period)
        travel = joints[frame + 10, 0, [0, 2]] - joints[frame - 10, 0, [0, 2]]
        assert angle_between(yaw(body[frame]), yaw(travel)) < math.radians(15), frame
    # bone lengths and the pose itself are untouched: a rigid turn per frame
    np.testing.assert_allclose(np.linalg.norm(joints[:, 15] - joints[:, 0], axis=-1),
                               np.linalg.norm(walk()[:, 15] - walk()[:, 0], axis=-1), atol=1e-9)


def test_a_walk_backwards_backs_along_the_path():
    path = RootPath.from_json(TURN)
    joints = follow_path_joints(walk(backwards=True), path, 20.0, HUMANML3D.face_joints)
    assert path_deviation(joints, path, 20.0)["waypoint_max_cm"] < 1e-3
    body = facing(joints)
    travel = joints[40, 0, [0, 2]] - joints[20, 0, [0, 2]]
    assert angle_between(yaw(body[30]), yaw(travel) + math.pi) < math.radians(15)


def test_a_curve_is_followed_at_the_motions_own_pace():
    curve = {"curve": [[1.5 * math.sin(a), 1.5 * (1 - math.cos(a))] for a in np.linspace(0, math.pi, 200)]}
    path = RootPath.from_json(curve)
    joints = follow_path_joints(walk(60, speed=0.05), path, 20.0, HUMANML3D.face_joints)
    assert path_deviation(joints, path, 20.0)["mean_cm"] < 4   # only the sway leaves the curve
    travelled = np.linalg.norm(np.diff(joints[:, 0, [0, 2]], axis=0), axis=1).sum()
    assert abs(travelled - 59 * 0.05) < 0.3


def test_follow_path_keeps_a_motion_whole_and_records_the_path():
    (motion,) = follow_path([Motion.from_joints(walk(), HUMANML3D)], RootPath.from_json(TURN))
    np.testing.assert_allclose(motion.forward_kinematics(), motion.joints, atol=1e-4)
    assert json.loads(motion.meta["path"]) == RootPath.from_json(TURN).to_json()


@pytest.fixture(scope="module")
def tiny():
    return Engine.random(tiny_config(), seed=0)


def test_engine_follows_a_path_and_refuses_bad_ones(tiny):
    takes = tiny.generate(["a person walks", "a person runs"], frames=60, seed=3, steps=2, path=TURN)
    for take in takes:
        assert path_deviation(take.joints, RootPath.from_json(TURN), 20.0)["waypoint_max_cm"] < 1.0
        assert "path" in take.meta
    with pytest.raises(InputError, match="beyond the clip"):
        tiny.generate(["a person walks"], frames=30, steps=1, path=TURN)
    with pytest.raises(InputError, match="finite"):
        tiny.generate(["a person walks"], frames=60, steps=1, path={"curve": [[0, 0], [1, float("inf")]]})
    # without a length, the clip is made long enough to reach the last waypoint
    (long_take,) = tiny.generate(["a person walks"], steps=1, path={"waypoints": [{"frame": 150, "x": 0, "z": 3}]})
    assert long_take.num_frames >= 151


@pytest.mark.slow
def test_the_bundled_model_walks_the_path():
    engine = Engine.load(None, device="cpu")
    path = {"waypoints": [{"time": 1.5, "x": 0.6, "z": 1.6}, {"time": 3.0, "x": 2.0, "z": 2.6},
                          {"time": 3.95, "x": 3.0, "z": 2.9}]}
    (take,) = engine.generate(["a person walks forward"], seconds=4, seed=0, path=path)
    deviation = path_deviation(take.joints, RootPath.from_json(path), engine.fps)
    assert deviation["waypoint_max_cm"] <= 5 and deviation["mean_cm"] <= 10
    body = facing(take.joints)
    travel = take.joints[50, 0, [0, 2]] - take.joints[40, 0, [0, 2]]
    assert angle_between(yaw(body[45]), yaw(travel)) < math.radians(30)


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "motion_core", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=180)


def test_cli_generate_with_a_path_file(tiny, tmp_path):
    checkpoint = tiny.save(tmp_path / "tiny")
    (tmp_path / "path.json").write_text(json.dumps(TURN))
    out = tmp_path / "walk.npz"
    result = run_cli("generate", "a person walks", "--seconds", "3", "--steps", "2", "--path", tmp_path / "path.json",
                     "--out", out, "--checkpoint", checkpoint, "--device", "cpu", "--quiet")
    assert result.returncode == 0, result.stderr
    motion = Motion.load(out)
    assert path_deviation(motion.joints, RootPath.from_json(TURN), 20.0)["waypoint_max_cm"] < 1.0
    (tmp_path / "bad.json").write_text('{"waypoints": [{"frame": 500, "x": 0, "z": 1}]}')
    bad = run_cli("generate", "walk", "--seconds", "3", "--path", tmp_path / "bad.json", "--out", tmp_path / "x.npz",
                  "--checkpoint", checkpoint, "--device", "cpu", "--quiet")
    assert bad.returncode == 2 and "beyond the clip" in bad.stderr
    broken = run_cli("generate", "walk", "--path", tmp_path / "missing.json", "--checkpoint", checkpoint)
    assert broken.returncode == 2 and "--path" in broken.stderr


class Lines(io.StringIO):
    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.getvalue().splitlines() if line.strip()]


def worker_reply(params: dict, loads: list) -> dict:
    """The final event of one generate request to an in-process worker whose engine loader counts its loads."""
    out = Lines()
    worker = Worker(out, engine_loader=lambda checkpoint, device: loads.append(1) or Engine.random(tiny_config()),
                    log=io.StringIO())
    worker.handle_line(json.dumps({"id": "1", "method": "generate", "params": params}))
    for _ in range(600):
        final = [e for e in out.events() if e.get("event") in ("result", "error")]
        if final:
            return final[0]
        time.sleep(0.1)
    raise AssertionError("no reply")


@pytest.mark.parametrize("path, message", [
    ({"waypoints": [{"frame": 0, "x": 0, "z": 0}]}, "after the start"),
    ({"waypoints": [{"frame": 100, "x": 0, "z": 1}]}, "beyond the clip"),
    ({"waypoints": [{"frame": 10, "x": "far", "z": 1}]}, "finite number"),
    ({"curve": [[0, 0]]}, "at least 2"),
    ("north", "a path must be"),
])
def test_worker_refuses_bad_paths_before_loading_a_model(path, message):
    loads = []
    reply = worker_reply({"prompts": ["a person walks"], "seconds": 2.0, "path": path}, loads)
    assert reply["event"] == "error" and reply["error"]["type"] == "invalid_params", reply
    assert message in reply["error"]["message"] and "params.path" in reply["error"]["message"] and not loads


def test_worker_generates_with_a_path(tmp_path):
    loads = []
    reply = worker_reply({"prompts": ["a person walks"], "seconds": 3.0, "steps": 2, "path": TURN,
                          "out_dir": str(tmp_path)}, loads)
    assert reply["event"] == "result", reply
    motion = Motion.load(reply["motions"][0])
    assert path_deviation(motion.joints, RootPath.from_json(TURN), 20.0)["waypoint_max_cm"] < 1.0

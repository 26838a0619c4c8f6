"""benchmarks/procedural_vs_real.py: the per-clip measurements on motions whose answers are known."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.procedural_vs_real import measure, real_action  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402


def _standing(frames: int) -> np.ndarray:
    pose = HUMANML3D.rest_positions()
    pose[:, 1] -= pose[:, 1].min()
    return np.repeat(pose[None], frames, axis=0)


def test_a_standing_pose_does_not_move_or_skate():
    m = measure(_standing(40))
    assert m["speed"] == 0 and m["pelvis_range"] == 0 and m["jerk_mean"] == 0
    assert m["skating_ratio"] == 0 and m["penetration_cm"] == 0 and m["cadence"] == 0


def test_a_gliding_pose_skates_on_every_frame():
    joints = _standing(41)
    joints[..., 2] += np.arange(41)[:, None] * (1.2 / 20)      # 1.2 m/s, feet on the floor
    m = measure(joints)
    assert m["speed"] == pytest.approx(1.2)
    assert m["skating_ratio"] == 1.0 and m["skating_share_contact"] == 1.0


def test_a_jump_raises_the_pelvis():
    joints = _standing(30)
    t = np.arange(30) / 20
    joints[10:20, :, 1] += 0.3 * np.sin(np.pi * (t[10:20] - t[10]) / 0.45)[:, None]
    assert measure(joints)["pelvis_range"] == pytest.approx(0.3, abs=0.01)


def test_real_action_matches_single_action_descriptions_only():
    assert real_action("walk") == real_action("slow walk") == "walk"
    assert real_action("run/jog") == "run/jog" and real_action("forward jump") == "jump"
    assert real_action("walk on uneven terrain") is None and real_action("run/jog, sudden stop") is None

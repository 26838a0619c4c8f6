"""Floor actions of the procedural corpus (issue 20): lying down and getting up, sit-ups, push-ups, crawling.

Beyond the physics every action meets (tests/test_procedural.py), a body on the floor rests on its flesh,
not on its joints: pelvis, spine and head joints stay a body part's thickness above the floor. Planted hands
and knees do not slide, joints stay within human ranges and nothing moves implausibly fast.
"""
from __future__ import annotations

import numpy as np
import pytest

from train.evaluation.body_frame import swings
from train.procedural import ACTIONS
from train.procedural.captions import phrases
from train.procedural.generate import render_sequence

FLOOR_ACTIONS = ("lie_down", "get_up", "lie_down_stomach", "get_up_stomach", "sit_ups", "push_ups", "crawl",
                 "crawl_backward")
PELVIS, SPINE3, NECK, HEAD = 0, 9, 12, 15
L_KNEE, R_KNEE, L_WRIST, R_WRIST = 4, 5, 20, 21


def _clip(action: str, seed: int = 0, **overrides):
    rng = np.random.default_rng([seed, 7])
    params = {**ACTIONS[action].sample(rng), **overrides}
    return render_sequence([(action, params)], rng)


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cos = (u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _bend(j: np.ndarray, a: int, b: int, c: int) -> np.ndarray:
    """Flexion at joint b (0 = straight) of the chain a-b-c."""
    return 180.0 - _angle(j[:, a] - j[:, b], j[:, c] - j[:, b])


@pytest.mark.parametrize("action", FLOOR_ACTIONS)
def test_the_trunk_rests_a_body_thickness_above_the_floor(action):
    for seed in range(3):
        j = _clip(action, seed).joints.astype(np.float64)
        assert j[:, [PELVIS, SPINE3, NECK, HEAD], 1].min() > 0.08, "a trunk joint on (or in) the floor"
        assert j[:, [L_KNEE, R_KNEE, L_WRIST, R_WRIST], 1].min() > 0.02, "a knee or wrist in the floor"


@pytest.mark.parametrize("action", FLOOR_ACTIONS)
def test_floor_actions_bend_joints_within_human_ranges_and_move_smoothly(action):
    for seed in range(3):
        j = _clip(action, seed).joints.astype(np.float64)
        for hip, knee, ankle, toe in ((1, 4, 7, 10), (2, 5, 8, 11)):
            assert _bend(j, hip, knee, ankle).max() < 150, "knee folded past its limit"
            shin_foot = _angle(j[:, knee] - j[:, ankle], j[:, toe] - j[:, ankle])
            assert 60 < shin_foot.min() and shin_foot.max() < 170, "ankle bent past its limit"
        for shoulder, elbow, wrist in ((16, 18, 20), (17, 19, 21)):
            assert _bend(j, shoulder, elbow, wrist).max() < 150, "elbow folded past its limit"
        speed = np.linalg.norm(np.diff(j, axis=0), axis=-1).max() * 20
        assert speed < 3.0, f"a joint moves at {speed:.1f} m/s (a pop)"


def test_lying_down_ends_on_the_back_and_getting_up_ends_standing():
    lying = _clip("lie_down").joints
    assert lying[-1, PELVIS, 1] < 0.2 and lying[-1, HEAD, 1] < 0.3
    assert lying[-1, HEAD, 2] < lying[-1, PELVIS, 2] - 0.4, "lying along the floor, head behind the pelvis"
    up = _clip("get_up").joints
    assert up[0, HEAD, 1] < 0.3 and up[-1, HEAD, 1] > 1.4


@pytest.mark.parametrize("action", ["get_up", "get_up_stomach"])
def test_getting_up_stands_before_the_clip_ends(action):
    """Standing is reached with time to spare and held: a rise that ends on the last frame teaches the model to
    stand only then."""
    for seed in range(3):
        up = _clip(action, seed).joints
        assert up[-max(len(up) // 8, 1):, HEAD, 1].min() > 1.4, "still rising in the clip's last eighth"


def test_lying_on_the_stomach_faces_the_floor_and_rests_on_the_hips():
    from train.evaluation.whole_body import lying_down
    prone = _clip("lie_down_stomach").joints.astype(np.float64)
    assert lying_down(-1)(prone) and not lying_down(+1)(prone)
    assert prone[-1, HEAD, 2] > prone[-1, PELVIS, 2] + 0.4, "lying along the floor, head ahead of the pelvis"
    up = _clip("get_up_stomach").joints
    assert up[0, PELVIS, 1] < 0.2 and up[-1, HEAD, 1] > 1.4


def test_lying_down_then_sit_ups_then_getting_up_is_one_continuous_motion():
    rng = np.random.default_rng(3)
    steps = [(n, ACTIONS[n].sample(rng)) for n in ("lie_down", "sit_ups", "get_up")]
    j = render_sequence(steps, rng).joints.astype(np.float64)
    assert np.linalg.norm(np.diff(j, axis=0), axis=-1).max() * 20 < 3.0


def _planted_slide_mm(j: np.ndarray, joint: int, height: float) -> float:
    """Largest per-frame horizontal move (mm) of `joint` between two frames it rests below `height`."""
    low = j[:, joint, 1] < height
    both = low[1:] & low[:-1]
    step = np.linalg.norm(np.diff(j[:, joint][:, [0, 2]], axis=0), axis=-1)
    return 1000 * float(step[both].max(initial=0.0))


@pytest.mark.parametrize("action", ("crawl", "crawl_backward", "push_ups"))
def test_planted_hands_and_knees_do_not_slide(action):
    for seed in range(3):
        j = _clip(action, seed).joints.astype(np.float64)
        for wrist in (L_WRIST, R_WRIST):
            assert _planted_slide_mm(j, wrist, j[:, wrist, 1].min() + 0.01) < 3.0, "a planted hand slides"
        if action != "push_ups":
            for knee in (L_KNEE, R_KNEE):
                assert _planted_slide_mm(j, knee, j[:, knee, 1].min() + 0.01) < 5.0, "a planted knee slides"


def test_crawling_moves_the_body_along_on_hands_and_knees():
    for action, sign in (("crawl", 1), ("crawl_backward", -1)):
        j = _clip(action).joints
        assert sign * (j[-1, PELVIS, 2] - j[0, PELVIS, 2]) > 0.3
        middle = j[len(j) // 2]
        assert middle[[L_WRIST, R_WRIST], 1].max() < 0.2 and middle[PELVIS, 1] < 0.6


@pytest.mark.parametrize("count", [1, 2, 3])
def test_push_ups_and_sit_ups_do_their_count(count):
    """The shoulders go down and back up once per push-up; the head rises and falls once per sit-up."""
    shoulders = _clip("push_ups", count=count).joints[:, [16, 17], 1].mean(-1)
    plank = shoulders < 0.7
    assert swings(shoulders[plank], 0.12) == 2 * count - 1
    head = _clip("sit_ups", count=count, crunch=False).joints[:, HEAD, 1]
    assert swings(head, 0.25) == 2 * count - 1
    for action in ("push_ups", "sit_ups"):
        text = " ".join(phrases(action, {**ACTIONS[action].sample(np.random.default_rng(0)), "count": count})[0])
        assert {1: "one", 2: "two", 3: "three"}[count] in text or {1: "a ", 2: "twice", 3: "three"}[count] in text

"""Hops that travel and say so, counted forward jumps: motion (travel, ballistic flights, one flight a hop) and
captions (forward, the count)."""
from __future__ import annotations

import numpy as np
import pytest

from train.procedural import ACTIONS
from train.procedural.actions.base import GRAVITY
from train.procedural.actions.jumps import CROUCH, LAND, PUSH
from train.procedural.captions import describe, phrases
from train.procedural.generate import MAX_FRAMES, render_sequence

PELVIS, L_ANKLE, R_ANKLE = 0, 7, 8


def _clip(action: str, seed: int = 0, **overrides):
    rng = np.random.default_rng([seed, 7])
    params = {k: v for k, v in ACTIONS[action].sample(rng).items() if k != "distance"}
    params.update(overrides)
    params["frames"] = params["count"] * (CROUCH + PUSH + params["flight_frames"] + LAND) + 8
    return render_sequence([(action, params)], rng), params


def _flights(clip) -> int:
    air = ~clip.contacts.any(axis=1)
    return int(np.sum(air[1:] & ~air[:-1]) + air[0])


def _flight_accel(clip) -> np.ndarray:
    j = clip.joints.astype(np.float64)
    air = ~clip.contacts.any(axis=1) & (j[..., 1].min(axis=1) > 0.02)
    inner = np.flatnonzero(air[1:-1] & air[:-2] & air[2:]) + 1
    return (j[inner + 1, PELVIS, 1] - 2 * j[inner, PELVIS, 1] + j[inner - 1, PELVIS, 1]) * 20.0 ** 2


@pytest.mark.parametrize("action", ["hop_left", "hop_right"])
@pytest.mark.parametrize("count, distance", [(1, 0.2), (2, 0.3), (3, 0.4), (4, 0.15)])
def test_a_travelling_hop_advances_count_times_distance_in_ballistic_flights(action, count, distance):
    clip, _ = _clip(action, count, count=count, distance=distance)
    j = clip.joints.astype(np.float64)
    travel = j[-1, PELVIS] - j[0, PELVIS]          # canonical frame: +z forward, +x left
    assert travel[2] == pytest.approx(count * distance, abs=0.03)
    assert abs(travel[0]) < 0.05 and abs(travel[1]) < 0.02, "straight ahead, ending at standing height"
    assert _flights(clip) == count, "one flight a hop"
    accel = _flight_accel(clip)
    assert accel.size >= 1
    np.testing.assert_allclose(accel, -GRAVITY, atol=0.5)
    # The raised foot is carried along: it stays near the body instead of waiting where the hops began.
    raised = R_ANKLE if action == "hop_left" else L_ANKLE
    gap = np.linalg.norm((j[:, raised] - j[:, PELVIS])[:, [0, 2]], axis=-1)
    assert gap.max() < 0.45


@pytest.mark.parametrize("action", ["hop_left", "hop_right"])
def test_a_hop_without_a_distance_stays_in_place(action):
    clip, params = _clip(action, 3, count=3)
    assert "distance" not in params
    travel = clip.joints[-1, PELVIS] - clip.joints[0, PELVIS]
    assert np.abs(travel).max() < 0.01 and _flights(clip) == 3


def test_hop_sampler_travels_in_about_half_the_clips_with_counts_one_to_four():
    rng = np.random.default_rng(0)
    samples = [ACTIONS["hop_left"].sample(rng) for _ in range(400)]
    travelling = [p for p in samples if "distance" in p]
    assert 0.4 < len(travelling) / len(samples) < 0.6
    assert all(0.15 <= p["distance"] <= 0.4 for p in travelling)
    counts = [p["count"] for p in samples]
    assert set(counts) == {1, 2, 3, 4} and np.mean([c in (2, 3) for c in counts]) > 0.5
    assert max(p["frames"] for p in samples) + 8 <= MAX_FRAMES


@pytest.mark.parametrize("count", [2, 3])
def test_jump_forward_counts_its_flights(count):
    clip, _ = _clip("jump_forward", count, count=count, distance=0.7)
    assert _flights(clip) == count
    np.testing.assert_allclose(_flight_accel(clip), -GRAVITY, atol=0.5)
    travel = clip.joints[-1, PELVIS] - clip.joints[0, PELVIS]
    assert travel[2] == pytest.approx(count * 0.7, abs=0.05)


def test_jump_forward_samples_counts_that_fit_a_clip():
    rng = np.random.default_rng(1)
    samples = [ACTIONS["jump_forward"].sample(rng) for _ in range(200)]
    assert {p["count"] for p in samples} == {1, 2, 3}
    longest = 3 * (CROUCH + PUSH + 10 + 2 + LAND) + 8         # three jumps sized "high" would add 2 flight frames
    assert max(p["frames"] for p in samples) <= longest and longest + 8 <= MAX_FRAMES


def test_a_travelling_two_hop_clip_is_captioned_forward_and_twice():
    params = {"count": 2, "flight_frames": 6, "depth": 0.08, "frames": 60, "distance": 0.3}
    train, held = phrases("hop_left", params)
    assert all("forward" in p or "ahead" in p for p in train)
    assert any("twice" in p for p in train) and any("two" in p for p in train)
    assert any("two" in p for p in held)
    captions = describe(np.random.default_rng(0), [("hop_left", params)], count=12, typos=False)
    assert all("forward" in c or "ahead" in c for c in captions)
    assert any("twice" in c or "two" in c for c in captions)


def test_hops_on_the_spot_never_say_forward_and_say_their_count():
    train, held = phrases("hop_right", {"count": 3})
    assert not [p for p in train + held if "forward" in p or "ahead" in p]
    assert any("three times" in p for p in train) and any("three" in p for p in held)
    train, _ = phrases("hop_right", {"count": 4})
    assert any("four" in p for p in train)


@pytest.mark.parametrize("count, word", [(1, "forward"), (2, "twice"), (3, "three times")])
def test_jump_forward_captions_say_the_count(count, word):
    train, held = phrases("jump_forward", {"count": count, "distance": 0.7})
    assert any(word in p for p in train) and held
    if count > 1:
        assert all("twice" in p or "two" in p or "three" in p or "thrice" in p for p in train + held)

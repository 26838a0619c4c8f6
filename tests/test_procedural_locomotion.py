"""Locomotion realism (corpus v2): a plain walk at real walking speed, step length and cadence; styles and slow
gaits keep their order; new locomotion actions do what their names say."""
from __future__ import annotations

import numpy as np
import pytest

from train.procedural import ACTIONS
from train.procedural.actions import GAITS
from train.procedural.actions.locomotion import STAIR_TREAD, stair_levels
from train.procedural.generate import render_sequence
from train.procedural.captions import phrases
from train.procedural.styles import STYLE_SPEED, apply_size

PELVIS = 0


def _clip(action: str, seed: int = 0, **overrides):
    rng = np.random.default_rng([seed, 99])
    params = ACTIONS[action].sample(rng)
    params.update(overrides)
    return render_sequence([(action, params)], rng)


def _cruise_speed(clip) -> float:
    """Best 1-second average pelvis speed (m/s)."""
    xz = clip.joints[:, PELVIS][:, [0, 2]].astype(np.float64)
    return float(np.convolve(np.linalg.norm(np.diff(xz, axis=0), axis=-1), np.ones(20), mode="valid").max())


@pytest.mark.parametrize("seed", range(4))
def test_normal_walk_speed_is_real_walking(seed):
    # Published normal walking: 1.2-1.5 m/s (the corpus was 0.84 m/s over a clip, v2 issue).
    assert 1.2 <= _cruise_speed(_clip("walk", seed, curve=0.0)) <= 1.5


def test_walk_step_length_and_cadence_are_human():
    gait = GAITS["walk"]
    for speed in np.linspace(*gait.speed, 5):
        steps_per_min = 120 * gait.cadence(speed)
        step_length = speed / (2 * gait.cadence(speed))
        assert 100 <= steps_per_min <= 120 and 0.65 <= step_length <= 0.8


def test_walk_clip_average_includes_little_start_and_stop():
    # Net displacement over the whole action (start, stop and settling included), what the real-data benchmark measures.
    speeds = []
    for seed in range(4):
        clip = _clip("walk", seed, curve=0.0)
        xz = clip.joints[:, PELVIS][:, [0, 2]].astype(np.float64)
        speeds.append(np.linalg.norm(xz[-1] - xz[0]) * 20 / (len(xz) - 1))
    assert np.mean(speeds) >= 0.95


def test_slow_and_quick_walks_keep_their_order():
    assert STYLE_SPEED["slowly"] < 1.0 < STYLE_SPEED["quickly"]
    walk = np.mean(GAITS["walk"].speed)
    for slow in ("sneak", "tiptoe", "limp", "stagger"):
        assert max(GAITS[slow].speed) < 0.7 * walk


def _airborne_frames(clip) -> np.ndarray:
    return ~clip.contacts.any(axis=1)


@pytest.mark.parametrize("seed", range(3))
def test_skip_has_a_flight_per_step_hop_and_travels_forward(seed):
    clip = _clip("skip", seed)
    air = _airborne_frames(clip)
    flights = int(np.sum(air[1:] & ~air[:-1]))
    count = ACTIONS["skip"].sample(np.random.default_rng([seed, 99]))["count"]
    assert flights == count, "one flight (both feet off the ground) per step-hop"
    xz = clip.joints[:, PELVIS][:, [0, 2]].astype(np.float64)
    assert xz[-1, 1] - xz[0, 1] > 0.6 * count * 0.5 * 1.4, "forward travel of ~speed x time"
    pelvis = clip.joints[:, PELVIS, 1]
    assert pelvis[air].mean() > np.median(pelvis) + 0.02, "the body rises during the flights"


def _step_length(clip) -> float:
    """Mean distance between consecutive landings of either ankle (m), from the contact labels."""
    spots = []
    for column, joint in ((0, 7), (2, 8)):
        planted = clip.contacts[:, column]
        downs = np.flatnonzero(planted[1:] & ~planted[:-1]) + 1
        spots += [(t, clip.joints[t, joint][[0, 2]]) for t in downs]
    spots = [xz for _, xz in sorted(spots, key=lambda s: s[0])]
    return float(np.mean([np.linalg.norm(b - a) for a, b in zip(spots[1:-2], spots[2:-1])]))


def test_small_and_big_steps_change_the_step_length():
    rng = np.random.default_rng(5)
    base = {**ACTIONS["walk"].sample(rng), "curve": 0.0, "speed": 1.3}
    lengths = {size: _step_length(render_sequence([("walk", apply_size(base, "walk", size))], np.random.default_rng(1)))
               for size in ("small", "big")}
    normal = _step_length(render_sequence([("walk", base)], np.random.default_rng(1)))
    assert lengths["small"] < 0.8 * normal < normal < 0.9 * lengths["big"]


def test_high_and_low_jumps_change_the_height():
    rng = np.random.default_rng(3)
    base = {**ACTIONS["jump_in_place"].sample(rng), "count": 1}
    base["frames"] = 40
    rise = {}
    for size in ("low", None, "high"):
        params = apply_size(base, "jump_in_place", size) if size else base
        pelvis = render_sequence([("jump_in_place", params)], np.random.default_rng(1)).joints[:, PELVIS, 1]
        rise[size] = pelvis.max() - pelvis[0]
    assert rise["low"] < 0.8 * rise[None] < rise[None] < 0.9 * rise["high"]


def test_size_words_reach_the_captions():
    train, held = phrases("walk", {"speed": 1.3, "curve": 0.0, "size": "big"})
    assert all("steps" in p or "strides" in p for p in train) and held
    train, _ = phrases("jump_in_place", {"count": 1, "size": "high"})
    assert all("high" in p for p in train)


@pytest.mark.parametrize("seed", range(3))
def test_stairs_land_each_foot_one_tread_on_and_one_rise_up_then_down(seed):
    clip = _clip("stairs", seed)
    p = clip.meta["segments"][0]["params"]
    levels = stair_levels(p["steps"], p["rise"])
    landings = []
    for column, joint in ((0, 7), (2, 8)):
        planted = clip.contacts[:, column]
        landings += [(t, clip.joints[t, joint]) for t in np.flatnonzero(planted[1:] & ~planted[:-1]) + 1]
    landings = [pos for _, pos in sorted(landings, key=lambda x: x[0])][:len(levels)]
    heights = np.array([pos[1] for pos in landings]) - landings[-1][1]     # the last landing is on the floor
    np.testing.assert_allclose(heights, levels, atol=0.01)
    forward = np.diff([pos[2] for pos in landings[:-1]])
    np.testing.assert_allclose(forward[1:], STAIR_TREAD, atol=0.03)     # the first step starts from rest
    # The body rises one rise per step up the flight (it rides between the feet, so it peaks half a rise below
    # the top tread) and comes back down to standing height.
    pelvis = clip.joints[:, PELVIS, 1]
    assert pelvis.max() - pelvis[0] == pytest.approx((p["steps"] - 0.5) * p["rise"], abs=0.05)
    downs = sorted(t for c in (0, 2) for t in np.flatnonzero(clip.contacts[1:, c] & ~clip.contacts[:-1, c]) + 1)
    up = np.diff(pelvis[np.array(downs[:p["steps"]]) + 4])
    np.testing.assert_allclose(up, p["rise"], atol=0.04)
    assert abs(pelvis[-1] - pelvis[0]) < 0.03

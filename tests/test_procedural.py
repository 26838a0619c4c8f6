"""Procedural motions: physics (rigid bones, planted feet, no floor penetration), action semantics, captions
(held-out paraphrases stay out of training text), determinism, and the written dataset loading through
`train.data`."""
from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest

from motion_core.kinematics.skeleton import HUMANML3D as S
from train.data import MotionTextDataset, load_samples
from train.procedural import ACTIONS, generate_clip, generate_dataset
from train.procedural.actions import FAMILIES
from train.procedural.captions import LEXICON, describe, phrases, tokens
from train.procedural.captions import CONNECTORS, HELDOUT_CONNECTORS, HELDOUT_SUBJECTS, SUBJECTS
from train.procedural.actions.locomotion import stair_levels
from train.procedural.generate import MAX_FRAMES, MIN_FRAMES, render_sequence
from train.procedural.phrase_sets import all_phrases

PELVIS, HEAD, L_WRIST, R_WRIST = 0, 15, 20, 21
CONTACT_JOINTS = (7, 10, 8, 11)        # order of Clip.contacts columns


def _clip(action: str, seed: int = 0, **overrides):
    rng = np.random.default_rng([seed, 99])
    params = ACTIONS[action].sample(rng)
    params.update(overrides)
    return render_sequence([(action, params)], rng)


def _stance_drift(clip) -> float:
    """Largest distance a planted ankle/toe moves from where its contact interval began."""
    worst = 0.0
    for column, joint in enumerate(CONTACT_JOINTS):
        planted = clip.contacts[:, column]
        for key, group in itertools.groupby(range(len(planted)), key=lambda t: planted[t]):
            frames = list(group)
            if key and len(frames) > 1:
                path = clip.joints[frames, joint]
                worst = max(worst, float(np.linalg.norm(path - path[0], axis=-1).max()))
    return worst


def _planted_step_mm(clip) -> float:
    """Largest per-frame move (mm) of a foot joint on a frame pair its contact label calls planted."""
    worst = 0.0
    for column, joint in enumerate(CONTACT_JOINTS):
        both = clip.contacts[1:, column] & clip.contacts[:-1, column]
        if both.any():
            step = np.linalg.norm(np.diff(clip.joints[:, joint].astype(np.float64), axis=0), axis=-1)
            worst = max(worst, float(step[both].max()))
    return 1000 * worst


def _knee_behind_cm(j) -> float:
    """Worst knee position behind the hip-ankle line along the facing direction: > 0 is hyperextension."""
    return _knee_behind_along(j, np.cross([0.0, 1.0, 0.0], j[:, 2] - j[:, 1]))


def _knee_behind_along(j: np.ndarray, forward: np.ndarray) -> float:
    """Worst knee position (cm) behind the hip-ankle line, measured along the per-frame `forward` axis."""
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    worst = -1.0
    for hip, knee, ankle in ((1, 4, 7), (2, 5, 8)):
        axis = j[:, ankle] - j[:, hip]
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        off = (j[:, knee] - j[:, hip]) - ((j[:, knee] - j[:, hip]) * axis).sum(-1, keepdims=True) * axis
        worst = max(worst, float(-(off * forward).sum(-1).max()))
    return 100 * worst


def _check_physics(clip) -> None:
    j = clip.joints.astype(np.float64)
    bones = np.linalg.norm(j[:, 1:] - j[:, list(S.parents[1:])], axis=-1)
    np.testing.assert_allclose(bones, np.broadcast_to(S.bone_lengths[1:], bones.shape), atol=1e-4)
    assert _stance_drift(clip) < 0.02
    assert _planted_step_mm(clip) < 5.0, "a planted foot slides"
    assert j[..., 1].min() > -0.01, "floor penetration"
    # Canonical clips put the lowest joint on y = 0, so penetration shows as planted toes standing above it.
    planted_toes = np.concatenate([j[clip.contacts[:, c], t, 1] for c, t in ((1, 10), (3, 11))])
    # Flat-ground clips stand on y = 0; a stairs clip's toes may also stand on its own treads (meta params).
    levels = np.array([0.0] + [v for seg in clip.meta["segments"] if seg["action"] == "stairs"
                               for v in stair_levels(seg["params"]["steps"], seg["params"]["rise"])])
    above = np.abs(planted_toes[:, None] - levels[None]).min(axis=1)
    assert planted_toes.size == 0 or np.median(above) < 0.01, "something goes > 1 cm below the floor"
    assert _knee_behind_cm(j) < 1.0, "knee bends backwards"
    assert MIN_FRAMES <= len(j) <= MAX_FRAMES and clip.features.shape == (len(j), 263)
    assert np.isfinite(clip.features).all()


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_is_physical(action):
    clip = _clip(action)
    _check_physics(clip)
    feet_y = clip.joints[:, CONTACT_JOINTS, 1]
    assert feet_y.min() < 0.03, "feet must touch the floor"


def test_random_sequences_are_physical():
    for index in range(12):
        _check_physics(generate_clip(7, index))


@pytest.mark.parametrize("gait", ["walk", "jog", "run", "sneak", "walk_backward"])
def test_gaits_plant_each_foot_a_good_part_of_the_time(gait):
    clip = _clip(gait, curve=0.0)
    planted = clip.contacts[:, [1, 3]].mean(0)         # toe contacts
    assert np.all(planted > 0.25) and np.all(planted < 0.95)
    assert _stance_drift(clip) < 0.02


def _root_travel(clip) -> np.ndarray:
    """Root displacement in the clip's initial facing frame (canonical: +z forward, +x left)."""
    return clip.joints[-1, PELVIS] - clip.joints[0, PELVIS]


def test_locomotion_moves_the_right_way():
    assert _root_travel(_clip("walk", curve=0.0))[2] > 1.0
    assert _root_travel(_clip("run", curve=0.0))[2] > 2.0
    back = _root_travel(_clip("walk_backward"))
    assert back[2] < -0.5 and abs(back[0]) < 0.2
    assert _root_travel(_clip("sidestep_left"))[0] > 0.3
    assert _root_travel(_clip("sidestep_right"))[0] < -0.3


def _final_heading_deg(clip) -> float:
    across = clip.joints[-1, 1] - clip.joints[-1, 2]            # right hip -> left hip = the character's left
    forward = np.cross(across, [0.0, 1.0, 0.0])
    return float(np.degrees(np.arctan2(forward[0], forward[2])))


def test_turns_end_facing_the_new_direction():
    assert _final_heading_deg(_clip("turn_left", angle_deg=90.0)) == pytest.approx(90, abs=20)
    assert _final_heading_deg(_clip("turn_right", angle_deg=90.0)) == pytest.approx(-90, abs=20)
    spin = _clip("spin")
    assert abs(_final_heading_deg(spin)) < 25


def test_jump_has_a_vertical_peak_with_both_feet_off_the_ground():
    clip = _clip("jump_in_place", count=1)
    pelvis_y = clip.joints[:, PELVIS, 1]
    assert pelvis_y.max() > pelvis_y[0] + 0.1
    airborne = clip.joints[:, CONTACT_JOINTS, 1].min(axis=1) > 0.08
    assert airborne.sum() >= 3 and airborne[int(np.argmax(pelvis_y))]
    assert abs(_root_travel(clip)[2]) < 0.15
    assert _root_travel(_clip("jump_forward"))[2] > 0.3


@pytest.mark.parametrize("side, wrist, other", [("left", L_WRIST, R_WRIST), ("right", R_WRIST, L_WRIST)])
def test_wave_raises_only_that_wrist_above_the_head(side, wrist, other):
    j = _clip(f"wave_{side}").joints
    assert np.any(j[:, wrist, 1] > j[:, HEAD, 1])
    assert np.all(j[:, other, 1] < j[:, HEAD, 1])
    assert np.sign(j[:, wrist, 0].mean() - j[:, PELVIS, 0].mean()) == (1 if side == "left" else -1)


def test_arm_overlay_rides_on_a_walk():
    rng = np.random.default_rng(4)
    params = {**ACTIONS["walk"].sample(rng), "curve": 0.0, "frames": 80,
              "overlay": {"action": "wave_right", "params": ACTIONS["wave_right"].sample(rng)}}
    clip = render_sequence([("walk", params)], rng)
    _check_physics(clip)
    j = clip.joints
    assert np.any(j[:, R_WRIST, 1] > j[:, HEAD, 1]) and np.all(j[:, L_WRIST, 1] < j[:, HEAD, 1])
    assert _root_travel(clip)[2] > 1.0 and clip.meta["actions"] == ["walk", "wave_right"]
    assert all("right" in line.caption for line in clip.captions)


def test_kick_lifts_the_named_foot_forward():
    j = _clip("kick_left").joints
    assert j[:, 7, 1].max() > 0.25 and j[:, 8, 1].max() < 0.1
    assert (j[:, 7, 2] - j[:, PELVIS, 2]).max() > 0.3


def test_squat_and_sitting_lower_the_pelvis():
    assert _clip("squat", count=1).joints[:, PELVIS, 1].min() < 0.6
    sit = _clip("sit_down").joints
    assert sit[-1, PELVIS, 1] < 0.55 and sit[0, PELVIS, 1] > 0.8


def test_generation_is_deterministic_under_a_seed():
    a, b, c = generate_clip(3, 11), generate_clip(3, 11), generate_clip(4, 11)
    np.testing.assert_array_equal(a.features, b.features)
    assert [x.caption for x in a.captions] == [x.caption for x in b.captions] and a.meta == b.meta
    assert a.features.shape != c.features.shape or not np.array_equal(a.features, c.features)


def test_heldout_phrases_never_occur_in_training_phrases_or_words_outside_lexicon():
    train, held = all_phrases()
    assert len(held) >= 40 and len(train) >= 150
    assert not [h for h in held if any(h in t for t in train)]
    words = train | held | set(SUBJECTS + HELDOUT_SUBJECTS + CONNECTORS + HELDOUT_CONNECTORS)
    unknown = {tok for text in words for tok in tokens(text) if tok.endswith("/X")}
    assert not unknown, f"words missing from the lexicon: {sorted(unknown)}"
    assert tokens("a person walks forward") == ("a/DET", "person/NOUN", "walk/VERB", "forward/ADV")
    assert "walks" in LEXICON


def _first_position(text: str, options: list[str], after: int) -> int:
    found = [text.find(o, after) for o in options if text.find(o, after) >= 0]
    assert found, f"none of {options} in {text!r} after position {after}"
    return min(found)


def test_captions_name_the_sequence_in_order():
    rng = np.random.default_rng(0)
    segments = [("walk", {"speed": 1.2, "curve": 0.0}), ("turn_left", {"angle_deg": 90.0}),
                ("wave_left", {"rate_hz": 2.0})]
    for heldout in (False, True):
        for caption in describe(rng, segments, 3 if not heldout else 2, heldout=heldout, typos=False):
            position = 0
            for action, params in segments:
                position = _first_position(caption.lower(), phrases(action, params)[int(heldout)], position) + 1
            assert "right" not in caption
def test_split_of_gives_the_first_clips_the_large_corpus_splits():
    from train.procedural.export import assign_splits, clip_id, splits_of_first
    large = assign_splits([clip_id(i) for i in range(2000)], 0)
    small = splits_of_first(300, 0, split_of=2000)
    assert sum(map(len, small.values())) == 300
    for name, ids in small.items():
        assert ids == [i for i in large[name] if int(i[1:]) < 300]   # the large corpus's split of each clip
    assert splits_of_first(300, 0) == assign_splits([clip_id(i) for i in range(300)], 0)
    with pytest.raises(ValueError, match="split_of"):
        splits_of_first(300, 0, split_of=100)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("procedural")
    summary = generate_dataset(root, 30, seed=5, workers=1, log=lambda *_: None)
    return root, summary


def test_written_dataset_loads_with_the_humanml3d_loader(written):
    root, summary = written
    assert summary["splits"] == {"train": 24, "val": 3, "test": 3}
    ds = MotionTextDataset(root, "train")
    assert ds.report.dropped.get("malformed_caption_lines", 0) == 0 and ds.report.motions_loaded == 24
    features, caption, length = ds[0]
    assert features.shape == (length, 263) and length % 4 == 0 and isinstance(caption, str)
    all_features = np.concatenate(ds.raw_motions())
    np.testing.assert_allclose(ds.normalizer.mean, all_features.mean(0), atol=1e-4)
    held, report = load_samples(root, "test", texts_dir="texts_heldout")
    assert report.motions_loaded == 3 and held
    meta = json.loads((root / "meta.json").read_text())
    assert len(meta["clips"]) == 30
    for motion_id, clip_meta in meta["clips"].items():
        joints = np.load(root / "new_joints" / f"{motion_id}.npy")
        assert joints.shape == (clip_meta["num_frames"], 22, 3)
        assert all(a in ACTIONS for a in clip_meta["actions"])
        named = [a for seg in clip_meta["segments"]
                 for a in (seg["action"], seg["params"].get("overlay", {}).get("action")) if a]
        assert named == clip_meta["actions"]


def test_subclip_captions_select_their_action_frames(written):
    root, _ = written
    meta = json.loads((root / "meta.json").read_text())["clips"]
    samples = load_samples(root, "train")[0] + load_samples(root, "val")[0] + load_samples(root, "test")[0]
    subclips = [s for s in samples if "@" in s.key]
    assert subclips, "multi-action clips with long segments should carry sub-clip captions"
    for s in subclips:
        spans = {(seg["start_frame"], seg["end_frame"]) for seg in meta[s.motion_id]["segments"]}
        assert (s.first, s.stop) in spans


def test_heldout_paraphrases_never_appear_in_training_captions(written):
    root, _ = written
    _, held = all_phrases()
    train_ids = (root / "train.txt").read_text().split()
    train_text = "\n".join((root / "texts" / f"{i}.txt").read_text().lower() for i in train_ids)
    assert not [h for h in held if h in train_text]
    for i in train_ids:
        lines = (root / "texts_heldout" / f"{i}.txt").read_text().lower().splitlines()
        assert lines and all(any(h in line for h in held) for line in lines)


@pytest.mark.slow
def test_output_does_not_depend_on_worker_count(written, tmp_path):
    root, _ = written
    generate_dataset(tmp_path, 30, seed=5, workers=2, log=lambda *_: None)
    for motion_id in ("p000000", "p000017", "p000029"):
        np.testing.assert_array_equal(np.load(root / "new_joint_vecs" / f"{motion_id}.npy"),
                                      np.load(tmp_path / "new_joint_vecs" / f"{motion_id}.npy"))
    assert (root / "train.txt").read_text() == (tmp_path / "train.txt").read_text()


# ---------------------------------------------------------------------------------------------------------
# Corpus v2 (issue 20): vocabulary size, physical rules on the corpus itself, held-out synonyms.

def test_vocabulary_has_at_least_100_actions_in_every_family():
    from train.procedural.actions import FAMILIES
    assert len(ACTIONS) >= 100
    assert {"locomotion", "turns", "jumps", "postures", "arms", "combat", "sports", "dance", "exercise"} <= set(FAMILIES)


@pytest.mark.parametrize("action", ["jump_in_place", "jump_forward", "tuck_jump", "long_jump"])
def test_jumps_are_ballistic_with_human_heights(action):
    from train.procedural.actions.base import GRAVITY
    clip = _clip(action, count=1)
    pelvis = clip.joints[:, PELVIS, 1].astype(np.float64)
    airborne = ~clip.contacts.any(axis=1)
    flight = np.flatnonzero(airborne)
    assert len(flight) >= 6
    inner = flight[1:-1]
    inner = inner[airborne[inner - 1] & airborne[inner + 1]]
    accel = (pelvis[inner + 1] - 2 * pelvis[inner] + pelvis[inner - 1]) * 20.0 ** 2
    np.testing.assert_allclose(accel, -GRAVITY, atol=0.5)          # the pelvis follows g in flight
    rise = pelvis.max() - pelvis[0]
    assert 0.25 <= rise <= 0.45, rise
    before = pelvis[: flight[0]]
    assert before.min() < pelvis[0] - 0.08, "a take-off crouch"
    after = pelvis[flight[-1] + 1:]
    assert after.min() < pelvis[0] - 0.05, "a landing that absorbs"


def _flight_accel(clip) -> np.ndarray:
    """Pelvis vertical acceleration (m/s^2) on flight frames with flight on either side. Flight: no foot
    contact and every joint > 2 cm off the floor."""
    j = clip.joints.astype(np.float64)
    airborne = ~clip.contacts.any(axis=1) & (j[..., 1].min(axis=1) > 0.02)
    inner = np.flatnonzero(airborne[1:-1] & airborne[:-2] & airborne[2:]) + 1
    return (j[inner + 1, PELVIS, 1] - 2 * j[inner, PELVIS, 1] + j[inner - 1, PELVIS, 1]) * 20.0 ** 2


@pytest.mark.parametrize("action", sorted(set(FAMILIES["jumps"]) | {"skip"}))
def test_every_jump_is_ballistic_with_a_human_rise(action):
    """Every action with a flight phase (the jumps family, the skip): the pelvis follows g while all joints are
    off the floor, and rises a human jump's height (skips ~0.07 m, hops ~0.12 m, tuck jumps ~0.45 m)."""
    from train.procedural.actions.base import GRAVITY
    for seed in range(2):
        clip = _clip(action, seed)
        accel = _flight_accel(clip)
        assert accel.size >= 1, "no flight phase"
        np.testing.assert_allclose(accel, -GRAVITY, atol=0.5)
        pelvis = clip.joints[:, PELVIS, 1]
        assert 0.05 <= pelvis.max() - pelvis[0] <= 0.6


def _bend_deg(j: np.ndarray, a: int, b: int, c: int) -> np.ndarray:
    """Flexion (degrees, 0 = straight) at joint b of the chain a-b-c."""
    u, v = j[:, a] - j[:, b], j[:, c] - j[:, b]
    cos = (u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _knee_behind_body_cm(j: np.ndarray) -> float:
    """Worst knee position behind the hip-ankle line along the pelvis's own forward (hips x spine), so that a
    lying or crawling body's knees are measured too (the facing-based `_knee_behind_cm` is blind to a supine
    leg: its forward is horizontal, along the leg)."""
    return _knee_behind_along(j, np.cross(j[:, 3] - j[:, 0], j[:, 2] - j[:, 1]))


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_keeps_joint_angles_within_human_limits(action):
    """Limits from the converted CMU clips (tests/test_procedural_vs_real.py's data): knees flex to 147 deg,
    elbows to 150 deg, the shin-foot angle goes down to 11 deg; no knee bends backwards, lying bodies included."""
    for seed in range(2):
        j = _clip(action, seed).joints.astype(np.float64)
        for hip, knee, ankle, toe in ((1, 4, 7, 10), (2, 5, 8, 11)):
            assert _bend_deg(j, hip, knee, ankle).max() < 155.0, "knee folded past its limit"
            assert 180.0 - _bend_deg(j, knee, ankle, toe).min() > 10.0, "foot folded up onto the shin"
        for shoulder, elbow, wrist in ((16, 18, 20), (17, 19, 21)):
            assert _bend_deg(j, shoulder, elbow, wrist).max() < 150.0, "elbow folded past its limit"
        assert _knee_behind_body_cm(j) < 1.0, "knee bends backwards"


def _cruise_speed(clip) -> float:
    """Best 1-second average pelvis speed (m/s): the gait's speed once it has accelerated."""
    xz = clip.joints[:, PELVIS][:, [0, 2]].astype(np.float64)
    step = np.linalg.norm(np.diff(xz, axis=0), axis=-1)
    return float(np.convolve(step, np.ones(20), mode="valid").max())


@pytest.mark.parametrize("gait, low, high", [("walk", 1.1, 1.6), ("run", 3.0, 4.5), ("sprint", 4.5, 7.0)])
def test_gait_speeds_are_human(gait, low, high):
    for seed in range(3):
        assert low <= _cruise_speed(_clip(gait, seed, curve=0.0)) <= high


@pytest.mark.parametrize("angle", [45.0, 90.0, 135.0, 180.0])
def test_turns_end_at_their_angle(angle):
    left = _final_heading_deg(_clip("turn_left", angle_deg=angle))
    right = _final_heading_deg(_clip("turn_right", angle_deg=angle))
    wrap = lambda d: (d + 180) % 360 - 180  # noqa: E731
    assert abs(wrap(left - angle)) < 20 and abs(wrap(right + angle)) < 20


def test_corpus_foot_skating_is_at_most_real_mocap():
    from motion_core.kinematics.motion_metrics import foot_skating
    shares = [foot_skating(generate_clip(11, i).joints, S, 20.0)["skating_share"] for i in range(40)]
    assert float(np.mean(shares)) <= 0.04


def test_heldout_synonyms_never_appear_in_training_phrasings():
    import re
    from train.procedural.heldout_words import HELDOUT_WORDS, swap_synonyms
    train, held = all_phrases()
    words = {w for t in train for w in re.findall(r"[a-z\-]+", t.lower())}
    assert not words & HELDOUT_WORDS
    assert "strolls" in HELDOUT_WORDS and "hops" not in HELDOUT_WORDS
    assert swap_synonyms("A person walks forward", np.random.default_rng(0)).split()[2] in ("strolls", "saunters")
    assert swap_synonyms("a person waves", np.random.default_rng(0)) is None
    assert not [w for w in HELDOUT_WORDS if tokens(w)[0].endswith("/X")]
    assert not [t for t in tokens("here, in this clip a person walks") if t.endswith("/X")]


def test_heldout_synonym_captions_are_written(written):
    root, _ = written
    from train.procedural.heldout_words import HELDOUT_WORDS
    files = list((root / "texts_heldout_synonyms").glob("*.txt"))
    assert files
    for f in files:
        for line in f.read_text().lower().splitlines():
            assert set(re.findall(r"[a-z\-]+", line.split("#")[0])) & HELDOUT_WORDS


def test_sitting_cross_legged_lowers_the_pelvis_and_crosses_the_feet_in():
    sit = _clip("sit_cross_legged").joints
    assert sit[-1, 0, 1] < sit[0, 0, 1] - 0.5                   # pelvis comes down to the floor
    width = lambda j: abs(j[7, 0] - j[8, 0])                   # ankles' lateral distance
    assert width(sit[-1]) < width(sit[0]) - 0.05                # feet drawn in towards the middle
    rng = np.random.default_rng([0, 99])
    steps = [(n, ACTIONS[n].sample(rng)) for n in ("sit_cross_legged", "stand_up_cross_legged")]
    both = render_sequence(steps, rng).joints
    assert both[-1, 0, 1] > both[:, 0, 1].min() + 0.5          # and back up to standing

"""The shipped default model does what its prompts say, as judged by the corpus's per-action checks.

Thresholds sit below the rates measured when the model shipped (README, "The default model").
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from motion_core.formats.bvh import read_bvh
from motion_core.engine import DEFAULT_MODEL_DIR, Engine
from motion_core.kinematics.skeleton import HUMANML3D
from train.evaluation.actions import check_action
from train.evaluation.flights import flights, travel

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not (DEFAULT_MODEL_DIR / "config.json").is_file(), reason="no bundled model")

# (prompt, action label, minimum passes out of SEEDS), each at the length the model predicts for its prompt.
# The shipped model (v2, 2026-12-04) passed 4/4 seeds of these training-phrased prompts except spin (3/4), and
# 8/8 of the two unseen phrasings below (benchmarks/results/model_v2_sitting2_20261204); the minimums sit below
# that, so the test catches a broken model, text path or swapped checkpoint rather than sampling noise.
CASES = [
    ("a person walks forward", "walk", 3),
    ("a person walks backwards", "walk_backward", 3),
    ("a person jumps in place", "jump_in_place", 3),
    ("a person waves with the left hand", "wave_left", 3),
    ("a person waves with the right hand", "wave_right", 3),
    ("a person sits down", "sit_down", 3),
    ("a person spins around", "spin", 2),
    # actions only corpus v2 has (4/4 each when measured)
    ("a person marches forward", "march", 3),
    ("a person kneels down on both knees", "kneel_both", 3),
    ("a person does jumping jacks", "jumping_jacks", 3),
]
UNSEEN_PHRASING_CASES = [   # phrasings no training caption uses (benchmarks/action_checks.py, UNSEEN_PROMPTS)
    ("the man lowers himself onto a chair behind him", "sit_down", 3),
    ("a player kicks an imaginary ball with his right foot", "kick_right", 3),
]
SEEDS = 4


@pytest.fixture(scope="module")
def engine():
    return Engine.load(device="cpu")


def passes(engine, prompt: str, label: str) -> int:
    motions = engine.generate([prompt] * SEEDS, seed=0)
    assert all(m.meta["length_source"] == "predicted" for m in motions)
    return sum(bool(check_action(label, m.joints)) for m in motions)


@pytest.mark.parametrize("prompt,label,minimum", CASES, ids=[c[1] for c in CASES])
def test_shipped_model_follows_the_prompt(engine, prompt, label, minimum):
    count = passes(engine, prompt, label)
    assert count >= minimum, f"{label}: {count}/{SEEDS} generations pass the check"


@pytest.mark.parametrize("prompt,label,minimum", UNSEEN_PHRASING_CASES, ids=[c[1] for c in UNSEEN_PHRASING_CASES])
def test_shipped_model_follows_an_unseen_phrasing(engine, prompt, label, minimum):
    count = passes(engine, prompt, label)
    assert count >= minimum, f"{label}: {count}/{SEEDS} generations of {prompt!r} pass the check"


def test_actions_are_told_apart(engine):
    """The same seeds with a different prompt must not pass: the checks measure the prompt, not luck."""
    motions = engine.generate(["a person sits down"] * SEEDS, seconds=4.0, seed=0)
    assert sum(check_action("walk", m.joints) for m in motions) <= 1
    motions = engine.generate(["a person walks forward"] * SEEDS, seed=0)
    assert sum(check_action("jump_in_place", m.joints) for m in motions) == 0


def generated_by_the_cli(tmp_path, prompt: str) -> np.ndarray:
    """(T, J, 3) joints of `motion-core generate PROMPT --out FILE.bvh` run as a subprocess on the CPU."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = tmp_path / "take.bvh"
    done = subprocess.run([sys.executable, "-m", "motion_core", "generate", prompt, "--out", out,
                           "--device", "cpu"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    bvh = read_bvh(out)
    return bvh.positions[:, [bvh.names.index(n) for n in HUMANML3D.joint_names]]   # back to skeleton order


def test_the_command_line_jump_jumps(tmp_path):
    """Issue #4's acceptance: `motion-core generate "a person jumps forward" --out jump.bvh` on a CPU."""
    joints = generated_by_the_cli(tmp_path, "a person jumps forward")
    rise = joints[:, 0, 1].max() - np.median(joints[:, 0, 1])
    assert check_action("jump_forward", joints), f"pelvis rises {rise:.3f} m over {len(joints)} frames"


def test_a_jump_rises_like_a_real_one(engine):
    """A standing jump lifts the pelvis 25-40 cm in real mocap; the first model managed about 10 cm."""
    motions = engine.generate(["a person jumps in place"] * SEEDS, seed=0)
    rises = [float(m.joints[:, 0, 1].max() - np.median(m.joints[:, 0, 1])) for m in motions]
    assert np.median(rises) > 0.2, f"pelvis rises {np.round(rises, 2)} m"


def test_a_short_walk_stands_on_the_floor(engine):
    """The model's short walks floated up: the lowest foot joint 4.6-6.9 cm above the floor over a 2.6-s take (the
    median frame), up to 9 cm by its end; `controls.floor_drift` sets the body down where it stands. Mocap walks
    keep it about 1 cm up (the HumanML3D sample in tests/data: 1.0 cm), their feet rolling heel to toe."""
    feet = list(HUMANML3D.left_foot) + list(HUMANML3D.right_foot)
    motions = engine.generate(["a person walks forward"] * SEEDS, seconds=2.6, seed=0)
    hover = [float(np.median(m.joints[:, feet, 1].min(axis=1))) for m in motions]
    assert max(hover) < 0.03, f"lowest foot joint, median frame: {np.round(hover, 3)} m"


def test_a_bare_verb_jumps_once(engine):
    """Typed as animators type it, "jump": the length predictor learned from captions that all say who moves, and
    read a bare "jump" as 4.2 s, three jumps; it now reads it as "a person jump" (2.2 s), one jump."""
    motions = engine.generate(["jump"] * SEEDS, seed=0)
    assert sum(flights(m.joints) == 1 for m in motions) >= 3, [flights(m.joints) for m in motions]
    assert motions[0].num_frames <= engine.predict_frames(["a person jumps"])[0] + 6


def test_someone_hops_forward_twice(engine):
    """Issue 21's acceptance prompt, at the predicted length: two hops, travelling forward."""
    motions = engine.generate(["someone hops forward twice"] * SEEDS, seed=0)
    results = [(flights(m.joints), travel(m.joints)) for m in motions]
    assert sum(count == 2 and metres > 0.3 for count, metres in results) >= 3, f"(flights, travel m): {results}"


@pytest.mark.parametrize("prompt, count", [("someone hops forward two times", 2), ("a person jumps forward 3 times", 3),
                                           ("someone jumps up and down five times", 5)])
def test_a_count_spelled_as_training_never_did(engine, prompt, count):
    """The count sets the length whatever its spelling (training captions say "twice", "three times"), and also
    where captions rarely say it (five: the length extended per repeat, `extrapolate_counts_above`)."""
    motions = engine.generate([prompt] * SEEDS, seed=0)
    results = [flights(m.joints) for m in motions]
    assert sum(found == count for found in results) >= 3, f"flights per seed: {results}"


def test_the_command_line_hops_forward_twice(tmp_path):
    """Issue 21's acceptance: `motion-core generate "someone hops forward twice"` on a fresh CPU machine."""
    joints = generated_by_the_cli(tmp_path, "someone hops forward twice")
    assert flights(joints) == 2 and travel(joints) > 0.3, f"{flights(joints)} flights, {travel(joints):.2f} m forward"


def test_out_of_vocabulary_prompts_are_flagged(engine):
    """The shipped model says what it has not learned, and stays quiet on a synonym it was never shown."""
    assert "has not learned 'cartwheel'" in engine.vocabulary.warning("a person does a cartwheel")
    assert engine.vocabulary.warning("someone strolls forward") is None       # a held-out synonym of "walks"
    assert engine.vocabulary.warning("a person marches forward quickly") is None
    # word vectors alone put "swims" next to "swings" (shared pieces); the sentence gist's view does not agree
    assert "has not learned 'swims'" in engine.vocabulary.warning("a man swims forward")


def test_a_made_up_word_is_flagged_though_its_pieces_sit_near_known_words(engine):
    """The word vectors put "xyzzy" and "florps" near training words by their pieces (cosine 0.40 and 0.32, above
    the shipped 0.30): without the dictionary both prompts made an arbitrary motion without a word."""
    assert "has not learned 'xyzzy'" in engine.vocabulary.warning("a person does a xyzzy")
    assert "has not learned 'florps'" in engine.vocabulary.warning("a person florps")
    assert engine.vocabulary.warning("a kickboxer throws a kick") is None    # two words run together: vectors judge
    assert engine.vocabulary.warning("Liam jumps twice") is None             # a name: who moves, not what

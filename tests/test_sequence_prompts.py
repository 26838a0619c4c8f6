"""Prompts that tell actions in order ("jumps over a puddle, then waves") are played as timelines of their clauses.

Measured in benchmarks/sequence_prompts.py: the model follows one action per prompt far better than two told in
one sentence. Here: how prompts are cut into clauses, and what `Engine.generate` makes of them.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from motion_core.engine import Engine, InputError
from motion_core.generation.timeline import timeline_segments
from motion_core.text.sequence import action_clauses, subject_of


@pytest.mark.parametrize("prompt, clauses", [
    ("a person jumps over a puddle, then waves", ["a person jumps over a puddle", "a person waves"]),
    ("someone jumps twice and then spins, after that sits down",
     ["someone jumps twice", "someone spins", "someone sits down"]),
    ("A man walks in. He then sits down.", ["A man walks in", "He sits down"]),
    ("she crawls forward and afterwards claps", ["she crawls forward", "she claps"]),
    ("the woman bows, subsequently the man waves", ["the woman bows", "the man waves"]),
    ("walk forward then wave", ["walk forward", "wave"]),              # an order stays an order
    ("first hops, next spins, finally bows", ["hops", "spins", "bows"]),
    # a connective opening a sentence, an opener of the first
    ("First he jumps. Then he waves. Finally he bows.", ["he jumps", "he waves", "he bows"]),
    ("A man jumps. Then waves.", ["A man jumps", "a person waves"]),
    ("To start, the woman bows. After that she claps.", ["the woman bows", "she claps"]),
    # a new action opened by how it is done; a name is a subject of its own, and a first one is "a person" later
    ("a person walks, then slowly sits down", ["a person walks", "a person slowly sits down"]),
    ("a person walks, then Emma waves", ["a person walks", "Emma waves"]),
    ("José jumps, then waves", ["José jumps", "a person waves"]),
    ("a person waves, then Mr. Smith bows", ["a person waves", "Mr. Smith bows"]),   # no sentence ends at "Mr."
])
def test_a_prompt_telling_actions_in_order_is_cut_at_its_connectives(prompt, clauses):
    assert action_clauses(prompt) == clauses


@pytest.mark.parametrize("prompt", [
    "a person waves",
    "a person walks forward while waving",                       # together, not in order
    "someone jumps and claps",
    "she walks next to the wall",                                # "next to" is a place
    "a person walks to the next room",                           # and so is "the next room"
    "a person walks, then slowly",                               # how, and no new action
    "She trots over a few stairs, ascending then descending",    # the same action going on
    "right-handed underhand lob, arm swinging low then forward",
    "pushing one arm and then the other through the sleeves",
    "Then he waves.",
    "a person bows at the waist, then straightens up",           # undoing it: one action told in phases
    "a person ascends a few stairs, then descends",
    "karate guy does a left side kick, then puts the foot back down",
])
def test_a_prompt_telling_one_action_stays_whole(prompt):
    assert action_clauses(prompt) == [prompt]


@pytest.fixture(scope="module")
def engine():
    return Engine.random()


def test_generate_plays_a_sequence_as_a_timeline_of_its_clauses(engine):
    prompts = ["a person walks, then waves", "a person claps"]
    sequence, single = engine.generate(prompts, seed=5, steps=2)
    segments = timeline_segments(sequence)
    assert [s.prompt for s in segments] == ["a person walks", "a person waves"]
    assert sequence.meta["prompt"] == prompts[0] and sequence.meta["seed"] == 5
    assert sequence.num_frames == segments[-1].end_frame == sum(s.frames for s in segments)
    assert sequence.meta["length_source"] == "default"          # this engine has no length predictor: 4 s each
    assert sequence.meta["played_as"] == "played in order as 'a person walks' (4.0 s), 'a person waves' (4.0 s)"
    assert sequence.num_frames == 2 * round(4.0 * engine.fps)
    assert "timeline" not in single.meta and single.meta["seed"] == 6
    alone = engine.generate(["a person claps"], seed=6, steps=2)[0]   # the batch partner is unchanged
    assert alone.joints.shape == single.joints.shape
    assert abs(alone.joints - single.joints).max() < 1e-4


def test_a_requested_length_is_shared_among_the_clauses(engine):
    motion = engine.generate(["a person walks, then waves, then sits"], seconds=6.0, seed=0, steps=2)[0]
    segments = timeline_segments(motion)
    assert len(segments) == 3 and motion.num_frames == round(6.0 * engine.fps)
    assert motion.meta["length_source"] == "requested"
    # too short to give each clause the shortest segment a timeline takes: sampled whole
    short = engine.generate(["a person walks, then waves, then sits"], seconds=1.0, seed=0, steps=2)[0]
    assert "timeline" not in short.meta and short.num_frames == round(1.0 * engine.fps)
    assert short.meta["played_as"].startswith("played as one prompt: 1.0 s cannot hold its 3 actions")
    # a timeline may run past the model's window: so may a prompt told in clauses, but not one of one action
    long = engine.generate(["a person walks, then waves, then sits"], seconds=20.0, seed=0, steps=2)[0]
    assert len(timeline_segments(long)) == 3 and long.num_frames == round(20.0 * engine.fps)
    with pytest.raises(InputError, match="tell the actions in order"):
        engine.generate(["a person walks", "a person walks, then waves"], seconds=20.0, seed=0, steps=2)


def test_clauses_without_a_subject_take_the_one_given_or_the_first_clauses():
    assert action_clauses("then jumps, then waves", subject="he") == ["he jumps", "he waves"]
    assert action_clauses("the kid jumps, then waves", subject="he") == ["the kid jumps", "a person waves"]
    assert action_clauses("jumps, then kid waves", subject="a person") == ["a person jumps", "kid waves"]
    assert action_clauses("jumps", subject="a person") == ["a person jumps"]
    assert action_clauses("jumps") == ["jumps"] and action_clauses("jump, then wave") == ["jump", "wave"]
    assert subject_of("The woman walks forward, then waves") == "a person" and subject_of("walk forward") is None


def test_extend_continues_with_actions_told_in_order_clause_by_clause(engine):
    (walk,) = engine.generate(["a person walks"], frames=40, seed=0, steps=2)
    both = engine.extend(walk, "then jumps, then waves", seconds=3.0, seed=1, steps=2)
    assert both.num_frames == 40 + round(3.0 * engine.fps)
    # clauses without a subject go on about whoever the take was about (its prompt's subject)
    assert both.meta["played_as"].startswith("continued in order with 'a person jumps'")
    assert both.meta["extend_start_frame"] == 40 and both.meta["prompt"] == "a person walks | then jumps, then waves"
    np.testing.assert_allclose(both.joints[:40], walk.joints, atol=1e-4)       # the motion it continues is kept
    assert "'a person waves'" in both.meta["played_as"]
    (he,) = engine.generate(["walk forward"], frames=40, seed=0, steps=2)    # an order names no one: as typed
    assert engine.extend(he, "then jumps, then waves", seed=1, steps=2).meta["played_as"].startswith(
        "continued in order with 'jumps'")
    whole = engine.extend(walk, "then jumps, then waves", seconds=3.0, seed=1, steps=2, sequences=False)
    assert "played_as" not in whole.meta and whole.num_frames == both.num_frames
    with pytest.raises(InputError, match="one extend makes"):
        engine.extend(walk, "then jumps, then waves", seconds=60.0, seed=1, steps=2)
    # a take played in order, extended with one action: its note was about the earlier prompt, not this one
    (told,) = engine.generate(["a person walks, then waves"], seed=0, steps=2)
    assert "played_as" in told.meta and "played_as" not in engine.extend(told, "then sits down", seed=1, steps=2).meta
    # too short to give each clause the shortest segment: one extend, and it says so as generate does
    short = engine.extend(walk, "then jumps, then waves", seconds=0.8, seed=1, steps=2)
    assert short.num_frames == 40 + round(0.8 * engine.fps)
    assert short.meta["played_as"].startswith("played as one prompt: 0.8 s cannot hold its 2 actions")


def test_sequences_off_a_loop_a_path_or_pins_keep_the_prompt_whole(engine):
    prompt = ["a person walks, then waves"]
    for options in ({"sequences": False}, {"loop": True},
                    {"path": {"waypoints": [{"frame": 10, "x": 0.0, "z": 1.0}]}}):
        motion = engine.generate(prompt, seconds=2.0, seed=0, steps=2, **options)[0]
        assert "timeline" not in motion.meta, options
        assert motion.num_frames == round(2.0 * engine.fps)


def test_the_cli_writes_a_sequence_as_one_motion(tmp_path):
    import subprocess
    import sys
    out = tmp_path / "take.npz"
    run = subprocess.run([sys.executable, "-m", "motion_core", "generate", "a person jumps, then waves",
                          "--steps", "2", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "note: 'a person jumps, then waves': played in order as 'a person jumps' (" in run.stderr
    from motion_core.formats.motion import Motion
    motion = Motion.load(out)
    assert [s["prompt"] for s in json.loads(motion.meta["timeline"])] == ["a person jumps", "a person waves"]
    whole = tmp_path / "whole.npz"
    run = subprocess.run([sys.executable, "-m", "motion_core", "generate", "a person jumps, then waves",
                          "--steps", "2", "--whole-prompt", "--out", str(whole)], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    assert "timeline" not in Motion.load(whole).meta

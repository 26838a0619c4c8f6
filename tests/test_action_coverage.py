"""Every action the procedural corpus emits has a physical check, ground truth passes it, other actions fail it.

The label list comes from the corpus registry at run time, so an action added to `train.procedural` without a
check fails `test_every_corpus_action_has_a_check` (intended: a new action needs its check). Ground truth is a
few clips per action rendered by the corpus's own generator (`train.evaluation.reference_clips`).

Discrimination is measured as each check's pass rate on clips of actions from *other* families (a wave must
not pass "walk"; a golf swing must not pass "squat"); within a family similar actions may share a signature
(cheer / raise both / reach up both all raise both arms), which is not counted against a check.
"""
from __future__ import annotations

import numpy as np
import pytest

from train.evaluation.actions import ACTION_CHECKS, check_action, check_prompted_action, mirrored
from train.evaluation.reference_clips import (corpus_actions, family_of, heldout_prompts, reference_clips,
                                              synonym_prompts, training_prompts)
from train.procedural.actions import ACTIONS
from train.procedural.captions import HELDOUT_SUBJECTS, SUBJECTS, phrases

CLIPS = 10                      # per action: >= 90 % means at most one failure
MIN_GT_PASS = 0.9
MAX_CROSS_FAMILY = 0.10         # per check: share of other families' clips that pass it
MAX_MEAN_CROSS_FAMILY = 0.05    # over all checks
# Labels other corpus branches are adding; their checks exist already and are calibrated once registered.
LIKELY_NEW = ("lie_down", "crawl", "push_ups", "sit_ups", "sit_cross_legged", "skip", "stairs_up", "stairs_down")
# Checks that predate issue 21 and are kept loose. They pass on many other actions: punch / hook only ask that
# one wrist reaches 3 cm further forward than the other, clap any moment the hands meet. Measured cross-family
# rates (10 clips per action, with the floor actions): punch_right / hook_right 0.17, punch_left / hook_left
# 0.12 (0.70 / 0.31 before the 3 cm margin), clap 0.14, soccer_kick 0.10. The jump check no longer counts a
# seated (or lying, crawling) clip's drop from its standing start as a jump: 0.01 (it was 0.13).
LEGACY_LOOSE = {"punch_left": 0.15, "punch_right": 0.2, "hook_left": 0.15, "hook_right": 0.2, "clap": 0.16,
                "soccer_kick": 0.12}


@pytest.fixture(scope="module")
def clips() -> dict[str, list[np.ndarray]]:
    return {label: reference_clips(label, CLIPS) for label in corpus_actions()}


@pytest.fixture(scope="module")
def pass_table(clips) -> dict[str, dict[str, float]]:
    """{check label: {clip label: pass rate of that check on that action's clips}}."""
    return {check: {label: float(np.mean([check_action(check, j) for j in group])) for label, group in clips.items()}
            for check in clips if check in ACTION_CHECKS}


def test_every_corpus_action_has_a_check():
    missing = [label for label in corpus_actions() if label not in ACTION_CHECKS]
    assert not missing, f"corpus actions without a check: {missing}"


@pytest.mark.parametrize("label", LIKELY_NEW)
def test_likely_new_actions_have_checks_and_pass_their_ground_truth(label):
    assert label in ACTION_CHECKS
    if label not in ACTIONS:
        pytest.skip(f"{label} is not a corpus action (yet)")
    rate = np.mean([check_action(label, j) for j in reference_clips(label, CLIPS)])
    assert rate >= MIN_GT_PASS, f"{label}: ground truth passes {rate:.0%}"


def test_ground_truth_passes_its_own_check(pass_table):
    failing = {label: row[label] for label, row in pass_table.items() if row[label] < MIN_GT_PASS}
    assert not failing, f"checks the ground truth fails (bad checks): {failing}"


def cross_family_rates(pass_table) -> dict[str, float]:
    return {check: float(np.mean([rate for label, rate in row.items() if family_of(label) != family_of(check)]))
            for check, row in pass_table.items()}


def test_checks_reject_clearly_different_actions(pass_table):
    rates = cross_family_rates(pass_table)
    loose = {check: rate for check, rate in rates.items() if rate > LEGACY_LOOSE.get(check, MAX_CROSS_FAMILY)}
    assert not loose, f"checks passing too many other families' clips: {loose}"
    assert np.mean(list(rates.values())) <= MAX_MEAN_CROSS_FAMILY


def test_standing_actions_do_not_pass_locomotion(pass_table):
    """A wave, a nod or a golf swing on the spot must not count as walking (or any travel)."""
    travelling = [c for c in pass_table if family_of(c) == "locomotion"]
    standing = [label for label in pass_table if family_of(label) in ("arms", "sports", "dance", "exercise")
                and label not in ("pirouette", "salsa_basic")]
    passed = {(c, label): pass_table[c][label] for c in travelling for label in standing if pass_table[c][label] > 0}
    assert not passed, passed


def test_a_still_body_passes_no_check(clips):
    still = np.repeat(clips["clap"][0][:1], 60, axis=0)
    passed = [label for label in ACTION_CHECKS if check_action(label, still) and label not in LEGACY_LOOSE]
    assert not passed


def training_phrases(label: str, samples: int = 30) -> set[str]:
    rng = np.random.default_rng(0)
    return {p.lower() for _ in range(samples) for p in phrases(label, ACTIONS[label].sample(rng))[0]}


def _predicate(prompt: str) -> str:
    text = prompt.lower().rstrip(".")
    for subject in sorted(SUBJECTS + HELDOUT_SUBJECTS, key=len, reverse=True):
        if text.startswith(subject + " "):
            return text[len(subject) + 1:]
    return text


def test_training_prompts_are_training_phrasings():
    for label in corpus_actions():
        prompts = training_prompts(label)
        assert len(prompts) == len(set(prompts)) >= 1, label
        assert all(_predicate(p) in training_phrases(label, samples=200) for p in prompts), label


def test_benchmark_prompts_are_not_training_captions():
    for label in corpus_actions():
        prompts = heldout_prompts(label)
        assert prompts, label
        seen = training_phrases(label)
        for prompt in prompts + synonym_prompts(label):
            assert _predicate(prompt) not in seen, f"{label}: {prompt!r} is a training phrasing"


def test_a_prompt_that_names_no_side_is_not_held_to_one():
    right_kick = reference_clips("kick_right", 1)[0]
    assert not check_action("kick_left", right_kick)
    assert check_prompted_action("kick_left", "a person throws a kick", right_kick)
    assert not check_prompted_action("kick_left", "a person kicks with the left leg", right_kick)
    assert not check_prompted_action("kick_left", "someone kicks leftward", right_kick)
    assert mirrored("turn_left") == "turn_right" and mirrored("walk") is None
    walk = reference_clips("walk", 1)[0]
    assert check_prompted_action("walk", "a person walks", walk) == check_action("walk", walk)

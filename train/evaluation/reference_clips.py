"""Ground-truth clips of one corpus action each, and prompts for them in phrasings training never uses.

The checks of `actions` are calibrated on these clips, and `benchmarks/model_report.py` compares a model with
them: the same procedural generator as the corpus (`train.procedural`), one action per clip with the corpus's
own parameter sampler and no style or overlay, so a clip's label is unambiguous. Clip `index` of an action depends
only on (seed, action, index).
"""
from __future__ import annotations

import zlib

import numpy as np

from train.procedural.actions import ACTIONS, FAMILIES
from train.procedural.captions import HELDOUT_SUBJECTS, SUBJECTS, describe_heldout_synonyms, phrases
from train.procedural.generate import render_sequence

# The actions the first corpus (and the bundled model v1) knows; the rest came with corpus v2.
V1_ACTIONS = ("walk", "jog", "run", "sneak", "walk_backward", "sidestep_left", "sidestep_right", "turn_left",
              "turn_right", "spin", "jump_in_place", "jump_forward", "wave_left", "wave_right", "wave_both",
              "raise_left", "raise_right", "raise_both", "squat", "sit_down", "stand_up", "kick_left",
              "kick_right", "punch_left", "punch_right", "clap", "bow")


def corpus_actions() -> list[str]:
    """Every action label the corpus can emit, read from its registry (so new actions show up here)."""
    return list(ACTIONS)


def family_of(label: str) -> str:
    return next((family for family, names in FAMILIES.items() if label in names), "other")


def _rng(seed: int, label: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(label.encode()), index])


def reference_clip(label: str, index: int, seed: int = 0) -> tuple[np.ndarray, dict]:
    """(joints (T, 22, 3) float64, params) of ground-truth clip `index` of `label`.

    An action that starts seated (stand_up) is rendered from that posture, as a prompt asking for it alone
    would be; the whole clip (a few frames of lead-in included) is returned, as a generated motion would be.
    """
    rng = _rng(seed, label, index)
    params = ACTIONS[label].sample(rng)
    clip = render_sequence([(label, params)], rng, captions_per_clip=1, heldout_per_clip=1)
    return clip.joints.astype(np.float64), params


def reference_clips(label: str, count: int, seed: int = 0) -> list[np.ndarray]:
    return [reference_clip(label, i, seed)[0] for i in range(count)]


def _phrased_prompts(label: str, count: int, rng: np.random.Generator, subjects: tuple[str, ...],
                     kept: int) -> list[str]:
    """Up to `count` distinct "<subject> <phrase>" prompts of `label`, phrases from `phrases(...)[kept]` (0: the
    training phrasings, 1: the held-out ones) under freshly sampled parameters, subjects and phrases in turn."""
    out: list[str] = []
    for attempt in range(count * 8):
        pool = phrases(label, ACTIONS[label].sample(rng))[kept]
        text = f"{subjects[attempt % len(subjects)]} {pool[attempt % len(pool)]}"
        if text not in out:
            out.append(text)
        if len(out) == count:
            break
    return out


def heldout_prompts(label: str, count: int = 2, seed: int = 0) -> list[str]:
    """Up to `count` distinct held-out paraphrases of `label` (texts_heldout/ style: held-out subject and phrase)."""
    return _phrased_prompts(label, count, _rng(seed + 1, label, 0), HELDOUT_SUBJECTS, kept=1)


def training_prompts(label: str, count: int = 2, seed: int = 0) -> list[str]:
    """Up to `count` distinct prompts of `label` in its *training* phrasings (a training subject and phrase): the
    calibration of a held-out rate. A model that fails these has not learned the motion; one that passes these and
    fails the held-out ones has learned the motion but not the words."""
    return _phrased_prompts(label, count, _rng(seed + 3, label, 0), SUBJECTS, kept=0)


def synonym_prompts(label: str, count: int = 1, seed: int = 0) -> list[str]:
    """Up to `count` training-style captions of `label` with a held-out synonym swapped in; [] if none applies."""
    rng = _rng(seed + 2, label, 0)
    out: list[str] = []
    for _ in range(4):
        for text in describe_heldout_synonyms(rng, [(label, ACTIONS[label].sample(rng))], count):
            if text not in out:
                out.append(text)
        if len(out) >= count:
            break
    return out[:count]

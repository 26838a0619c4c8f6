"""One procedural clip: a random sequence of actions -> channels -> joints -> features + captions + labels.

Everything a clip contains is a function of its `np.random.Generator`, which `generate_clip` derives from
(seed, index) so a dataset is identical whatever the number of worker processes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_core.kinematics.representation import canonicalize, joints_to_features
from motion_core.kinematics.skeleton import HUMANML3D
from train.data.texts import CaptionLine
from train.procedural.actions import ACTIONS
from train.procedural.body import FPS, LEFT, RIGHT
from train.procedural.build import build_motion
from train.procedural.captions import caption_lines, describe, describe_heldout_synonyms, describe_written
from train.procedural.styles import SIZE_ACTIONS, SIZE_PROBABILITY, STYLE_GAITS, STYLE_PROBABILITY, STYLE_SPEED, STYLES
from train.procedural.styles import apply_size, apply_style
from train.procedural.timeline import Channels

MIN_FRAMES, MAX_FRAMES = 40, 199          # 2 s .. just under 10 s (HumanML3D drops clips of 200+ frames)
SEQUENCE_LENGTHS = (1, 2, 3)
SEQUENCE_WEIGHTS = (0.45, 0.35, 0.2)
SUBCLIP_MIN_FRAMES = 44


@dataclass
class Clip:
    joints: np.ndarray                 # (T, 22, 3) canonical frame (root starts at the origin facing +z)
    features: np.ndarray               # (T, 263)
    captions: list[CaptionLine]        # training captions (whole clip and per-action sub-clips)
    heldout_captions: list[CaptionLine]
    heldout_synonym_captions: list[CaptionLine]   # training captions with held-out synonyms swapped in
    contacts: np.ndarray               # (T, 4) bool planted flags: left ankle, left toe, right ankle, right toe
    meta: dict                         # {"actions": [...], "segments": [...], "num_frames": T}


def _next_action(rng: np.random.Generator, previous: str | None) -> str:
    """Any action but the previous one; after one that ends in a posture (seated), one that starts in it."""
    posture = ACTIONS[previous].ends_in if previous is not None else None
    names = [n for n in ACTIONS if ACTIONS[n].starts_in == posture and n != previous]
    return str(rng.choice(names))


# Arm actions that may ride on top of a calm gait ("walks forward while waving"), and how often they do.
OVERLAY_ACTIONS = ("wave_left", "wave_right", "wave_both", "raise_left", "raise_right", "raise_both", "clap", "carry")
OVERLAY_GAITS = ("walk", "walk_backward", "sneak", "sidestep_left", "sidestep_right")
OVERLAY_PROBABILITY = 0.25


def _sample_params(rng: np.random.Generator, name: str) -> dict:
    params = ACTIONS[name].sample(rng)
    if name in STYLE_GAITS and rng.random() < STYLE_PROBABILITY:
        style = str(rng.choice(STYLES))
        params["style"] = style
        params["speed"] = round(params["speed"] * STYLE_SPEED[style], 3)
    elif name in OVERLAY_GAITS and rng.random() < OVERLAY_PROBABILITY:
        overlay = str(rng.choice(OVERLAY_ACTIONS))
        params["overlay"] = {"action": overlay, "params": ACTIONS[overlay].sample(rng)}
    # Drawn last and only for the sized actions, so every other action samples as before.
    if name in SIZE_ACTIONS and "style" not in params and rng.random() < SIZE_PROBABILITY:
        params = apply_size(params, name, str(rng.choice(SIZE_ACTIONS[name])))
    return params


def sample_sequence(rng: np.random.Generator) -> list[tuple[str, dict]]:
    """Actions with parameters whose total length fits MAX_FRAMES (padding included)."""
    for _ in range(50):
        count = int(rng.choice(SEQUENCE_LENGTHS, p=SEQUENCE_WEIGHTS))
        segments, previous = [], None
        for _ in range(count):
            previous = _next_action(rng, previous)
            segments.append((previous, _sample_params(rng, previous)))
        if ACTIONS[segments[-1][0]].ends_seated and count < 3 and rng.random() < 0.5:
            up = _next_action(rng, segments[-1][0])
            segments.append((up, ACTIONS[up].sample(rng)))
        if sum(p["frames"] for _, p in segments) + 8 <= MAX_FRAMES:
            return segments
    raise RuntimeError("could not fit an action sequence into the clip length")


def _layout(rng, segments) -> tuple[int, list[tuple[int, int]]]:
    """Frame ranges of the segments after a short random lead-in, and the clip length (>= MIN_FRAMES)."""
    lead = int(rng.integers(0, 5))
    spans, t = [], lead
    for _, p in segments:
        spans.append((t, t + p["frames"]))
        t += p["frames"]
    total = max(MIN_FRAMES, t + int(rng.integers(0, 5)))
    if ACTIONS[segments[0][0]].starts_seated:     # open in the posture rather than drop into it from standing
        spans[0] = (0, spans[0][1])
    if ACTIONS[segments[-1][0]].ends_seated:      # stay seated to the end rather than pop back up
        spans[-1] = (spans[-1][0], total)
    return total, spans


def _seconds(frame: int) -> float:
    """Sub-clip boundary in seconds, a quarter frame late so int(seconds * fps) recovers the frame exactly."""
    return round((frame + 0.25) / FPS, 4)


def render_sequence(segments: list[tuple[str, dict]], rng: np.random.Generator, captions_per_clip: int = 3,
                    heldout_per_clip: int = 2, written_per_clip: int = 0,
                    written_rng: np.random.Generator | None = None) -> Clip:
    """Build, caption and label a given sequence of (action, params).

    `written_per_clip` more training captions in the written phrasings (`captions.describe_written`), drawn from
    `written_rng`: a generator of their own, so a corpus with them has the same clips and other captions as one
    without."""
    total, spans = _layout(rng, segments)
    channels = Channels(total)
    for (name, params), (a, b) in zip(segments, spans):
        ACTIONS[name].fill(channels, a, b, params)
        if "overlay" in params:    # arms only: the gait's arm swing gives way to the overlay's weights
            ACTIONS[params["overlay"]["action"]].fill(channels, a, b, params["overlay"]["params"])
        if "style" in params:
            apply_style(channels, a, b, params["style"])
    built = build_motion(channels, rng)
    joints = canonicalize(built.joints, HUMANML3D)
    features = joints_to_features(joints, HUMANML3D)
    captions = caption_lines(describe(rng, segments, captions_per_clip))
    if len(segments) > 1:
        for (name, params), (a, b) in zip(segments, spans):
            if b - a >= SUBCLIP_MIN_FRAMES:
                captions += caption_lines(describe(rng, [(name, params)], 1), _seconds(a), _seconds(b))
    if written_per_clip:
        if written_rng is None:
            raise ValueError("written captions need their own generator (written_rng)")
        captions += caption_lines(describe_written(written_rng, segments, written_per_clip))
    heldout = caption_lines(describe(rng, segments, heldout_per_clip, heldout=True))
    synonyms = caption_lines(describe_heldout_synonyms(rng, segments, heldout_per_clip))
    contacts = np.stack([f for s in (LEFT, RIGHT) for f in (built.feet[s].ankle_contact, built.feet[s].toe_contact)], -1)
    meta = {"actions": segment_actions(segments),
            "num_frames": total,
            "segments": [{"action": n, "start_frame": a, "end_frame": b, "params": p}
                         for (n, p), (a, b) in zip(segments, spans)]}
    return Clip(joints.astype(np.float32), features.astype(np.float32), captions, heldout, synonyms, contacts, meta)


def segment_actions(segments: list[tuple[str, dict]]) -> list[str]:
    """The action labels a sequence shows, in order: each segment's, then its overlay's (arms over a gait)."""
    return [a for n, p in segments for a in (n, p.get("overlay", {}).get("action")) if a]


def generate_clip(seed: int, index: int, captions_per_clip: int = 3, heldout_per_clip: int = 2,
                  written_per_clip: int = 0) -> Clip:
    """Clip `index` of the dataset generated with `seed` (independent of any other clip)."""
    rng = np.random.default_rng([seed, index])
    return render_sequence(sample_sequence(rng), rng, captions_per_clip, heldout_per_clip, written_per_clip,
                           np.random.default_rng([seed, index, 1]))

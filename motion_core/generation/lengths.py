"""Length planning: how many frames each motion gets.

The caller's request (seconds or frames, checked against the model's window), else the checkpoint's length
predictor (a length per prompt, from its text), else `DEFAULT_SECONDS`. See "Length policy" in
`motion_core.engine`.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from motion_core.generation.requests import InputError, check_prompts
from motion_core.generation.sampling import encode_prompts
from motion_core.text.counts import MAX_COUNT
from motion_core.text.sequence import as_caption

MIN_SECONDS = 0.5                 # shorter clips are below anything the model saw in training
DEFAULT_SECONDS = 4.0


def min_frames(fps: float) -> int:
    """Shortest motion `generate` and `extend` accept (MIN_SECONDS at `fps`)."""
    return max(1, math.ceil(MIN_SECONDS * fps))


def resolve_frames(seconds, frames, fps: float, limit: int, what: str) -> int:
    """Validate the requested length and return it in frames (seconds are rounded to whole frames)."""
    if seconds is not None and frames is not None:
        raise InputError("give either seconds or frames, not both")
    minimum = min_frames(fps)
    if frames is None:
        value = DEFAULT_SECONDS if seconds is None else seconds
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"seconds must be a finite number, got {value!r}")
        if value <= 0:
            raise InputError(f"seconds must be positive, got {value}")
        frames = max(1, round(value * fps))
    elif isinstance(frames, bool) or not isinstance(frames, (int, np.integer)):
        raise InputError(f"frames must be an integer, got {frames!r}")
    frames = int(frames)
    if frames < minimum:
        raise InputError(f"{what}: {frames} frame(s) is too short; the minimum is {minimum} frames "
                         f"({MIN_SECONDS} s at {fps:g} fps)")
    if frames > limit:
        hint = ("; for longer motions tell the actions in order (\"walks to the door, then sits down\"), play a "
                "timeline (the CLI's PROMPT:SECONDS) or continue with extend" if what == "generate"
                else "; call extend repeatedly to add more")
        raise InputError(f"{what}: {frames} frames ({frames / fps:.2f} s) exceeds the {limit} frames "
                         f"({limit / fps:.2f} s) this model supports{hint}")
    return frames


def predict_frames(engine, prompts) -> list[int]:
    """The length (frames) `generate` gives each prompt when the caller names none.

    With a length predictor: its estimate from the prompt's text (and, where it reads one, the count the prompt
    says as written, before unseen words are swapped; the text then without the count if the predictor reads
    them apart), within the lengths `generate` accepts.
    Without one: `DEFAULT_SECONDS` for every prompt. Deterministic (no sampling).
    """
    return [min(frames, engine.max_frames) for frames in _wanted_frames(engine, check_prompts(prompts))]


def _wanted_frames(engine, prompts: list[str]) -> list[int]:
    """`predict_frames` before the model's longest clip caps them: a count extended past it asks for more."""
    default = resolve_frames(None, None, engine.fps, limit=engine.max_frames, what="generate")
    if engine.length_predictor is None:
        return [default] * len(prompts)
    frames: list[int] = []
    shortest = min_frames(engine.fps)
    predictor = engine.length_predictor
    with torch.inference_mode():
        for start in range(0, len(prompts), engine.max_batch):
            # told as the captions it learned from ("jump" -> "a person jump": see `as_caption`)
            chunk = [as_caption(prompt) for prompt in prompts[start:start + engine.max_batch]]
            tokens, mask = encode_prompts(engine, predictor.text_inputs(chunk))
            predicted = predictor.prompt_frames(tokens, mask, chunk, clamp=False)
            frames.extend(max(int(f), shortest) for f in predicted.tolist())
    return frames


def plan_lengths(engine, prompts: list[str], seconds, frames) -> tuple[list[int], str, list[str | None]]:
    """(frames per prompt, length source, a warning per prompt or None) for `generate`: the request, else the
    predictor, else the default. A prompt whose count needs more than the model's longest clip is warned."""
    if seconds is not None or frames is not None:
        return [resolve_frames(seconds, frames, engine.fps, limit=engine.max_frames, what="generate")] \
            * len(prompts), "requested", [None] * len(prompts)
    source = "predicted" if engine.length_predictor is not None else "default"
    wanted = _wanted_frames(engine, prompts)
    warnings = [_too_long(engine, prompt, f) for prompt, f in zip(prompts, wanted)]
    return [min(f, engine.max_frames) for f in wanted], source, warnings


def _too_long(engine, prompt: str, wanted: int) -> str | None:
    """The warning for a count extended past the longest clip (not for a fitted length the model's window cuts:
    a predictor fitted for longer clips than this model makes says nothing about repeats)."""
    predictor = engine.length_predictor
    if wanted <= engine.max_frames:   # also every length without a predictor (the default fits)
        return None
    count = int(predictor.spoken_counts([prompt])[0])
    if count <= predictor.config.extrapolate_counts_above:
        return None
    about = "at least" if count >= MAX_COUNT else "about"   # counts past MAX_COUNT are read as it (text.counts)
    return (f"the prompt's count needs {about} {wanted / engine.fps:.1f} s and the longest clip this model makes is "
            f"{engine.max_frames / engine.fps:.1f} s, so the take holds fewer repeats: ask for fewer and continue "
            f"with extend")

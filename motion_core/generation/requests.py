"""Checking what a caller asked for, before any work: prompts, seeds, guidance, steps, motions to extend.

Every refusal is an `InputError` whose message says what to change. The rules are shared by every way in
(`generate`, `extend`, timelines, the CLI, the worker), so one prompt is valid or invalid everywhere.
"""
from __future__ import annotations

import math
import secrets

import numpy as np

from motion_core.formats.motion import Motion
from motion_core.kinematics.skeleton import Skeleton

MAX_STEPS = 1000
GUIDANCE_RANGE = (0.0, 30.0)
MAX_SEED = 2 ** 62
MAX_PROMPT_CHARS = 1000           # longer prompts are refused (see "Prompt policy" in motion_core.engine)


class InputError(ValueError):
    """An argument the caller can fix (empty prompt list, length out of range, ...)."""


def check_prompts(prompts) -> list[str]:
    """`prompts` as a list of valid prompts (a single string is refused: it is a common slip)."""
    if isinstance(prompts, str):
        raise InputError("prompts must be a list of strings, got a single string (wrap it in a list)")
    try:
        prompts = list(prompts)
    except TypeError:
        raise InputError(f"prompts must be a list of strings, got {type(prompts).__name__}") from None
    if not prompts:
        raise InputError("prompts is empty: give at least one prompt")
    # counted from 1 in messages, as people count them (and timeline segments are)
    return [check_prompt(prompt, f"prompt {i}") for i, prompt in enumerate(prompts, start=1)]


def check_prompt(prompt, what: str) -> str:
    """`prompt` if it is a non-empty string of at most `MAX_PROMPT_CHARS` characters, else InputError naming
    `what` ("prompt 3", "segment 2"): one rule for batches, extends and timelines alike."""
    if not isinstance(prompt, str):
        raise InputError(f"{what} must be a string, got {type(prompt).__name__} {prompt!r:.40}")
    if not prompt.strip():
        raise InputError(f"{what} is empty: describe the motion (e.g. \"a person walks forward\")")
    if not any(c.isalpha() for c in prompt):   # "!!!", "🕺💃", "123": nothing to read, the model would idle
        raise InputError(f"{what} has no words: {prompt!r:.40}; describe the motion in words (e.g. \"a person "
                         "dances\")")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"{what} is {len(prompt)} characters long; the limit is {MAX_PROMPT_CHARS} "
                         "(the text encoder reads only the first few dozen words anyway)")
    return prompt


def check_guidance(guidance) -> float:
    low, high = GUIDANCE_RANGE
    if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not math.isfinite(guidance) \
            or not low <= guidance <= high:
        raise InputError(f"guidance must be a number in [{low:g}, {high:g}], got {guidance!r}")
    return float(guidance)


def check_steps(steps, num_train_steps: int) -> int:
    high = min(MAX_STEPS, num_train_steps)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= high:
        raise InputError(f"steps must be an integer in [1, {high}], got {steps!r}")
    return int(steps)


def sampling_settings(engine, guidance, steps) -> tuple[float, int]:
    """(guidance, steps) checked, None replaced by the engine's checkpoint defaults."""
    guidance = engine.default_guidance if guidance is None else guidance
    steps = engine.default_steps if steps is None else steps
    return check_guidance(guidance), check_steps(steps, engine.schedule.num_train_steps)


def seed_list(seed, count: int) -> list[int]:
    """Seeds ``seed .. seed + count - 1``, every one of them within [0, MAX_SEED]: a seed that a call records
    (in meta, in file names) must be one that a later call accepts, to regenerate that motion alone.
    Seed None draws a random base seed."""
    if seed is None:
        seed = secrets.randbelow(2 ** 31)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"seed must be an integer in [0, {MAX_SEED}] or None, got {seed!r}")
    if seed + count - 1 > MAX_SEED:
        raise InputError(f"seed {seed} is too large for {count} motions: motion k uses seed + k, and seeds go up "
                         f"to {MAX_SEED}, so the seed can be at most {MAX_SEED - count + 1}")
    return [int(seed) + i for i in range(count)]


def check_seeds(seed, count: int) -> None:
    """Refuse `seed` for a run of `count` motions (motion k uses seed + k) before any work, as `generate` would."""
    seed_list(seed, count)


def check_motion(motion, skeleton: Skeleton, fps: float) -> None:
    """Refuse a motion `extend` cannot continue: not a Motion, another skeleton or frame rate."""
    if not isinstance(motion, Motion):
        raise InputError(f"extend needs a Motion, got {type(motion).__name__}")
    if motion.skeleton.name != skeleton.name:
        raise InputError(f"the motion uses skeleton {motion.skeleton.name!r}; this model makes {skeleton.name!r}")
    if abs(motion.fps - fps) > 1e-6:
        raise InputError(f"the motion runs at {motion.fps:g} fps; this model works at {fps:g} fps")

"""What a motion records about how it was made (``Motion.meta``): prompt, seed, settings, model, warnings."""
from __future__ import annotations

from motion_core import __version__
from motion_core.formats.motion import Motion

TRUNCATED_NOTE = "the prompt is longer than the text encoder reads; only its beginning was used"


def motion_meta(engine, prompt: str, seed: int, guidance: float, steps: int, frames: int,
                length_source: str = "requested") -> dict:
    meta = {"prompt": prompt, "seed": seed, "guidance": guidance, "steps": steps, "frames": frames,
            "seconds": frames / engine.fps, "model": engine.model_version, "sampler": engine.sampler,
            "length_source": length_source, "motion_core": __version__}
    read_as = engine.read(prompt).read_as
    if read_as:   # the unseen words the model was given trained ones for: "read 'leaps' as 'jumps'"
        meta["read_as"] = describe_reading(read_as)
    return meta


def describe_reading(read_as: dict) -> str:
    """{"leaps": "jumps"} -> "read 'leaps' as 'jumps'"."""
    return ", ".join(f"read {word!r} as {trained!r}" for word, trained in read_as.items())


def extend_meta(engine, motion: Motion, prompt: str, seed: int, guidance: float, steps: int,
                frames: int, length_source: str) -> dict:
    """The meta of `motion` continued by `frames` new frames of `prompt`: prompts joined with " | "."""
    meta = dict(motion.meta)
    meta.pop("played_as", None)   # how the earlier prompt was played, not this one
    previous = str(meta.get("prompt", ""))
    meta.update(motion_meta(engine, prompt, seed, guidance, steps, motion.num_frames + frames, length_source))
    meta.update(prompt=f"{previous} | {prompt}" if previous else prompt, extend_prompt=prompt,
                extend_start_frame=motion.num_frames)
    return meta


def vocabulary_warning(engine, prompt: str) -> str | None:
    """"the bundled model has not learned 'cartwheel'; nearest: spin, jump" or None: a prompt whose words the
    model never met gets an arbitrary known action, and the user should hear so (issue 21)."""
    check = engine.vocabulary
    return None if check is None or not prompt.strip() else check.warning(prompt)


def with_warnings(meta: dict, *warnings: str | None) -> dict:
    """`meta` with `warnings` (None entries skipped, repeats once) joined onto ``meta["warnings"]``."""
    joined = [w for w in dict.fromkeys([meta.get("warnings"), *warnings]) if w]
    if joined:
        meta["warnings"] = "; ".join(joined)
    return meta


def truncated_prompts(engine, prompts: list[str]) -> list[bool]:
    """Which prompts the text encoder will shorten (encoders without a tokenizer report none)."""
    tokenize = getattr(engine.text_encoder, "tokenize", None)
    if tokenize is None:
        return [False] * len(prompts)
    return list(tokenize(prompts).truncated)

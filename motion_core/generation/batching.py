"""`generate`'s work: many prompts in batched sampling passes, with the out-of-memory policy.

A pass holds prompts of one length. When a pass runs out of (GPU) memory it is retried in halves down to one
prompt per pass, then the call finishes on the CPU and the engine moves back afterwards. Each fallback is
reported through progress and recorded in ``meta["warnings"]`` of the motions made after it.
"""
from __future__ import annotations

import collections
import math
from typing import Callable, Sequence

import torch

from motion_core.formats.motion import Motion
from motion_core.generation.constraints import Constraints, check_constraints, finish, guide_for
from motion_core.generation.curve_length import curve_lengths
from motion_core.generation.decoding import decode_latents, ik_on_device, solve_motions
from motion_core.generation.lengths import plan_lengths
from motion_core.generation.meta import (TRUNCATED_NOTE, motion_meta, truncated_prompts, vocabulary_warning,
                                         with_warnings)
from motion_core.generation.progress import Progress, ProgressFn, monotonic
from motion_core.generation.requests import check_prompts, sampling_settings, seed_list
from motion_core.generation.sampling import sample_latents
from motion_core.runtime.device import is_out_of_memory


def generate_motions(engine, prompts: Sequence[str], seconds, frames, seed, guidance, steps,
                     progress: ProgressFn | None, should_cancel: Callable[[], bool] | None,
                     foot_cleanup: bool = True, loop: bool = False, path=None, pins=None) -> list[Motion]:
    """`Engine.generate`'s sampling: one Motion per prompt, in prompt order (see its docstring). `seed`: the
    first prompt's (prompt k gets seed + k), or a list of each prompt's own (`generation.sequences`)."""
    prompts = check_prompts(prompts)
    seeds = [int(s) for s in seed] if isinstance(seed, list) else seed_list(seed, len(prompts))
    lengths, source, too_long = plan_lengths(engine, prompts, seconds, frames)
    constraints, lengths = check_constraints(engine, path, pins, lengths, requested=source == "requested")
    guidance, steps = sampling_settings(engine, guidance, steps)
    report = Progress(monotonic(progress))
    fits = [None] * len(prompts)
    if source != "requested" and constraints.path is not None and constraints.path.curve:
        # no length asked for: long enough to walk the curve at the prompt's pace (generation.curve_length)
        report(0.0, "measuring the prompts' pace for the curve")
        fits = curve_lengths(engine, prompts, seeds, lengths, constraints.path, constraints.last_frame(engine.fps) + 1,
                             guidance, report.sub(0.0, 0.15), should_cancel)
        lengths = [fit.frames for fit in fits]
    truncated = truncated_prompts(engine, prompts)
    if any(truncated):
        report(0.0, f"warning: {sum(truncated)} prompt(s) exceed the text encoder's window and were shortened")
    home, notes = engine.device, []   # notes: out-of-memory fallbacks, recorded in the meta of later motions
    motions: list[Motion | None] = [None] * len(prompts)
    try:
        for batch, features in batched_features(engine, prompts, seeds, lengths, guidance, steps, report,
                                                should_cancel, notes, constraints):
            metas = [_take_meta(engine, prompts[i], seeds[i], guidance, steps, lengths[i], source, fits[i],
                                [*notes, TRUNCATED_NOTE if truncated[i] else None, too_long[i]]) for i in batch]
            solved = finish(solve_motions(engine, features, metas), features, constraints, engine.skeleton,
                            foot_cleanup, loop)   # path, foot cleanup, loop, pins (generation.constraints)
            for i, motion in zip(batch, solved):
                motions[i] = motion
    finally:
        _return_to(engine, home, report)
    report(1.0, "done")
    return motions


def _take_meta(engine, prompt: str, seed: int, guidance: float, steps: int, frames: int, source: str, fit,
               notes: list) -> dict:
    """One take's meta: its settings, where its length came from (a `curve_length.CurveLength` `fit`: the
    curve, and the pace measured), and its warnings."""
    meta = motion_meta(engine, prompt, seed, guidance, steps, frames, "path" if fit is not None and fit.fitted
                       else source)
    if fit is not None:
        meta["path_pace"] = round(fit.pace, 3)
    return with_warnings(meta, *notes, vocabulary_warning(engine, prompt), fit and fit.warning)


def batched_features(engine, prompts, seeds, lengths, guidance, steps, report: Progress, should_cancel, notes,
                     constraints: Constraints | None = None):
    """Yield (prompt indices, decoded features) per sampling pass of at most `engine.max_batch` prompts.

    A pass holds prompts of one length (`lengths[i]` frames for prompt i); lengths are taken in order of
    first appearance, so a call with one length batches exactly as it always did. A prompt's seed, not
    its pass, fixes its noise, so grouping changes no result. On out-of-memory a pass is retried with half
    as many prompts (and later passes keep the smaller size); a single prompt that still does not fit
    moves the engine to the CPU for the rest of the call. `constraints` (a path, pins) steer the sampling.
    """
    limit, done, number = engine.max_batch, 0, 0
    groups: dict[int, list[int]] = {}
    for i, length in enumerate(lengths):
        groups.setdefault(length, []).append(i)
    pending = [i for group in groups.values() for i in group]
    while pending:
        num_frames = lengths[pending[0]]
        batch = [i for i in pending[:limit] if lengths[i] == num_frames]
        number += 1
        remaining = collections.Counter(lengths[i] for i in pending)
        planned = number - 1 + sum(math.ceil(count / limit) for count in remaining.values())
        label = f"batch {number}/{planned}: " if planned > 1 else ""
        span = (done / len(prompts), (done + len(batch)) / len(prompts))
        try:
            guide = guide_for(engine, constraints or Constraints(), num_frames, len(batch))
            latents = sample_latents(engine, [prompts[i] for i in batch], [seeds[i] for i in batch], num_frames,
                                     guidance, steps, report.sub(*span, label), should_cancel, guide=guide)
            features = decode_latents(engine, latents, num_frames,
                                      on_device=ik_on_device(engine, len(batch), num_frames))
        except Exception as exc:  # handled below, outside the except block, so the failed tensors are freed
            if not is_out_of_memory(exc):
                raise
            features = None
        if features is None:
            number -= 1
            limit = _after_out_of_memory(engine, len(batch), report, notes)
            continue
        yield batch, features
        done += len(batch)
        pending = pending[len(batch):]


def _after_out_of_memory(engine, batch_size: int, report: Progress, notes: list[str]) -> int:
    """The batch size to retry with after a pass of `batch_size` prompts ran out of memory."""
    _release_cached_memory(engine.device)
    if batch_size > 1:
        limit = (batch_size + 1) // 2
        note = f"out of memory on {engine.device} with {batch_size} prompts per pass; retried with {limit}"
    elif engine.device.type != "cpu":
        limit = 1
        note = f"out of memory on {engine.device} even for one prompt; fell back to the CPU"
        engine.move_to(torch.device("cpu"))
    else:
        raise MemoryError("out of memory on the CPU even for a single prompt; ask for a shorter motion or "
                          "free some memory")
    report(0.0, "warning: " + note)
    notes.append(note)
    return limit


def _return_to(engine, home: torch.device, report: Progress) -> None:
    """Move back to `home` after a CPU fallback; if that fails (memory still short) stay on the CPU."""
    if engine.device == home:
        return
    try:
        engine.move_to(home)
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        engine.move_to(torch.device("cpu"))
        report(1.0, f"warning: could not move back to {home} (out of memory); staying on the CPU")


def _release_cached_memory(device: torch.device) -> None:
    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()

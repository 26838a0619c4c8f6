"""`generate` for prompts that tell actions in order: each such prompt is played as a timeline of its clauses.

"a person jumps over a puddle, then waves" becomes the timeline [("a person jumps over a puddle", 2.2 s),
("a person waves", 3.0 s)]: each clause at the length the length predictor gives it, or, when the caller asks
for a length, that length shared among the clauses in the same proportions. Why: the model follows one action
per prompt better (`motion_core.text.sequence`). The take is one continuous motion
(`motion_core.generation.timeline`); its meta keeps the prompt as typed, records the clauses under
``"timeline"`` and says how it was played under ``"played_as"`` (the CLI prints it as a note). Prompts that
tell one action are sampled together in batches, as always.

A loop, a path or pins keep every prompt whole: a loop is made of one window, and a path steers the sampling of
one window only (a timeline meets it afterwards).
"""
from __future__ import annotations

from typing import Callable, Sequence

from motion_core.formats.motion import Motion
from motion_core.generation.batching import generate_motions
from motion_core.generation.extend import context_length, extend_motion
from motion_core.generation.lengths import plan_lengths, resolve_frames
from motion_core.generation.meta import with_warnings
from motion_core.generation.progress import Progress, ProgressFn, monotonic
from motion_core.generation.requests import InputError, check_motion, check_prompts, seed_list
from motion_core.generation.timeline import MAX_TOTAL_SECONDS, generate_timeline, shortest_segment_frames
from motion_core.text.sequence import action_clauses, subject_of


def generate_takes(engine, prompts: Sequence[str], seconds, frames, seed, guidance, steps,
                   progress: ProgressFn | None, should_cancel: Callable[[], bool] | None, foot_cleanup: bool = True,
                   loop: bool = False, path=None, pins=None, sequences: bool = True) -> list[Motion]:
    """`Engine.generate`: one Motion per prompt, in prompt order; `sequences`: prompts telling several actions
    in order are played as timelines of their clauses (see the module docstring)."""
    prompts = check_prompts(prompts)
    seeds = seed_list(seed, len(prompts))
    whole = not sequences or loop or path is not None or pins is not None
    told = [[prompt] if whole else action_clauses(prompt) for prompt in prompts]
    # the length asked for, checked once and before any work (a bad one fails as for single prompts); a prompt told
    # in clauses plays as a timeline, which may run past one window (prompts of one action are held to it below)
    several = any(len(clauses) > 1 for clauses in told)
    limit = round(MAX_TOTAL_SECONDS * engine.fps) if several else engine.max_frames
    requested = None if seconds is None and frames is None else \
        resolve_frames(seconds, frames, engine.fps, limit=limit, what="generate")
    plans = {i: _clause_frames(engine, clauses, requested) for i, clauses in enumerate(told) if len(clauses) > 1}
    squeezed = [i for i, plan in plans.items() if plan is None]   # the length asked for cannot hold the clauses
    plans = {i: plan for i, plan in plans.items() if plan is not None}
    if not plans:
        motions = generate_motions(engine, prompts, seconds, frames, seeds, guidance, steps, progress,
                                   should_cancel, foot_cleanup=foot_cleanup, loop=loop, path=path, pins=pins)
        return _say_squeezed(engine, motions, squeezed, told, requested)
    report = Progress(monotonic(progress))
    singles = [i for i in range(len(prompts)) if i not in plans]
    motions: list[Motion | None] = [None] * len(prompts)
    share = len(singles) / len(prompts)
    if singles:   # no loop, path or pins here: with any of them nothing was cut (`whole`)
        made = generate_motions(engine, [prompts[i] for i in singles], seconds, frames, [seeds[i] for i in singles],
                                guidance, steps, report.sub(0.0, share), should_cancel, foot_cleanup=foot_cleanup)
        for i, motion in zip(singles, made):
            motions[i] = motion
    for n, (i, (lengths, source, warnings)) in enumerate(plans.items()):
        low = share + (1 - share) * n / len(plans)
        high = share + (1 - share) * (n + 1) / len(plans)
        label = f"take {n + 1}/{len(plans)}: " if len(plans) > 1 else ""
        segments = [(clause, length / engine.fps) for clause, length in zip(told[i], lengths)]
        motion = generate_timeline(engine, segments, seed=seeds[i], guidance=guidance, steps=steps,
                                   progress=report.sub(low, high, label), should_cancel=should_cancel,
                                   foot_cleanup=foot_cleanup)
        motion.meta.update(prompt=prompts[i], length_source=source,
                           played_as=f"played in order as {_listed(engine, told[i], lengths)}")
        with_warnings(motion.meta, *warnings)
        motions[i] = motion
    report(1.0, "done")
    return _say_squeezed(engine, motions, squeezed, told, requested)


def _say_squeezed(engine, motions: list, squeezed: list[int], told: list[list[str]], total: int | None) -> list:
    """Say, in their `played_as`, why prompts told in clauses were sampled whole: the length asked for is too short
    to give each clause the shortest segment a timeline takes."""
    shortest = shortest_segment_frames(engine) / engine.fps
    for i in squeezed:
        motions[i].meta["played_as"] = (f"played as one prompt: {total / engine.fps:.1f} s cannot hold its "
                                        f"{len(told[i])} actions in order ({shortest:.1f} s each at least)")
    return motions


def extend_in_order(engine, motion: Motion, prompt: str, seconds, frames, seed, guidance, steps,
                    progress: ProgressFn | None, should_cancel: Callable[[], bool] | None, foot_cleanup: bool = True,
                    smooth_joins: bool = True, path=None, pins=None, sequences: bool = True) -> Motion:
    """`Engine.extend`: a prompt telling actions in order ("then jumps, then waves") continues the motion clause
    by clause, each at its own length (a length asked for is shared among them as in `generate_takes`, each share
    at most what one extend makes); clause k takes seed + k. Anything else, or a path or pins, is one extend."""
    check_motion(motion, engine.skeleton, engine.fps)   # before its length is read below
    (prompt,) = check_prompts([prompt])
    previous = str(motion.meta.get("prompt", ""))
    clauses = [prompt] if not sequences or path is not None or pins is not None else \
        action_clauses(prompt, subject=_last_subject(previous))
    requested = None if seconds is None and frames is None else \
        resolve_frames(seconds, frames, engine.fps, limit=round(MAX_TOTAL_SECONDS * engine.fps), what="extend")
    plan = _clause_frames(engine, clauses, requested) if len(clauses) > 1 else None
    if plan is None:   # one action (as typed: its length is not predicted), or clauses the length cannot hold
        whole = extend_motion(engine, motion, prompt, seconds, frames, seed, guidance, steps, progress, should_cancel,
                              foot_cleanup=foot_cleanup, smooth_joins=smooth_joins, path=path, pins=pins)
        return _say_squeezed(engine, [whole], [0] if len(clauses) > 1 else [], [clauses], requested)[0]
    limit = engine.max_frames - context_length(engine, motion.num_frames)
    lengths = [min(n, limit) if requested is None else n for n in plan[0]]
    if max(lengths) > limit:
        raise InputError(f"extend: {requested / engine.fps:.2f} s for {len(clauses)} actions in order gives one "
                         f"more than the {limit / engine.fps:.2f} s one extend makes; ask for less and extend again")
    report = Progress(monotonic(progress))
    start = motion.num_frames
    for k, (clause, length) in enumerate(zip(clauses, lengths)):
        motion = extend_motion(engine, motion, clause, None, length, None if seed is None else seed + k, guidance,
                               steps, report.sub(k / len(clauses), (k + 1) / len(clauses),
                                                 f"action {k + 1}/{len(clauses)}: "),
                               should_cancel, foot_cleanup=foot_cleanup, smooth_joins=smooth_joins)
    motion.meta.update(prompt=f"{previous} | {prompt}" if previous else prompt, extend_prompt=prompt,
                       extend_start_frame=start, seed=motion.meta.get("seed") if seed is None else seed,
                       length_source=plan[1], played_as=f"continued in order with {_listed(engine, clauses, lengths)}")
    report(1.0, "done")
    return motion


def _last_subject(joined: str) -> str | None:
    """Who the take's prompts were last about ("a person walks | then he waves" -> "he")."""
    return next((s for part in reversed(joined.split(" | ")) if (s := subject_of(part)) is not None), None)


def _listed(engine, clauses: list[str], lengths: list[int]) -> str:
    """"'a person jumps' (2.2 s), 'a person waves' (3.0 s)": how a prompt's clauses were played."""
    return ", ".join(f"{clause!r} ({length / engine.fps:.1f} s)" for clause, length in zip(clauses, lengths))


def _clause_frames(engine, clauses: list[str], total: int | None) -> tuple[list[int], str, list] | None:
    """(frames per clause, length source, warnings) of one prompt's timeline, or None where the length asked for
    (`total` frames; None: none asked for) cannot give every clause the shortest segment a timeline takes (the
    prompt is then sampled whole)."""
    lengths, source, warnings = plan_lengths(engine, clauses, None, None)
    if total is None:
        return lengths, source, warnings
    shortest = shortest_segment_frames(engine)
    if total < shortest * len(clauses):
        return None
    bounds = [round(total * sum(lengths[:k]) / sum(lengths)) for k in range(len(lengths) + 1)]
    shares = [b - a for a, b in zip(bounds, bounds[1:])]
    if min(shares) < shortest:   # a clause squeezed below the shortest segment: equal shares instead
        bounds = [round(total * k / len(clauses)) for k in range(len(clauses) + 1)]
        shares = [b - a for a, b in zip(bounds, bounds[1:])]
    return shares, "requested", [None] * len(clauses)


__all__ = ["generate_takes", "extend_in_order"]

"""Long motions from a prompt timeline, at a cost linear in their duration.

A timeline is a list of ``(prompt, seconds)`` segments played one after the other. It becomes ONE continuous
latent sequence, sampled window by window:

* Every window is at most the model's training length (``engine.max_frames``, 196 frames = 49 latents) and
  starts with a fixed context (``engine.context_frames``, 40 frames = 10 latents) copied from the latents
  already made. The context is held fixed while the window's new latents are sampled (inpainting), so the
  new frames continue what came before. The first window has no context.
* A window's new latents all belong to one segment and it is conditioned on that segment's prompt, so at a
  segment boundary the next window already uses the new prompt while its context shows the old motion.
* Work per new latent is bounded (window length is bounded, the denoiser never sees more than one window),
  so time and memory grow linearly with the duration; there is no attention over the whole sequence.

The finished latent sequence is decoded in overlapping chunks. The VAE decoder is convolutional with a
finite receptive field, so a chunk that extends one receptive radius past the frames it keeps reproduces
exactly what decoding the whole sequence at once would give (no cross-fades, no seams). The features carry
root velocities, so integrating them once over the whole sequence gives one continuous root trajectory.

Boundaries: segment k covers frames ``[round(t_k * fps), round(t_{k+1} * fps))`` where ``t_k`` is the sum of
the durations before it (rounding cumulative times keeps the total from drifting). The model's prompt switch
happens at the nearest latent boundary, i.e. within half a latent (2 frames) of that frame. The segments are
recorded in the motion's meta as JSON under ``"timeline"``; `timeline_segments(motion)` reads them back.

Seeds: window 0 uses ``seed`` itself (a one-window timeline equals ``engine.generate`` with that seed); window
j > 0 uses a seed derived from ``(seed, j)``, so windows get independent noise.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from motion_core.controls.foot_cleanup import clean_feet, contacts_from_features
from motion_core.controls.joins import smooth_joins as smoothed_joins
from motion_core.controls.path import follow_path
from motion_core.formats.motion import Motion
from motion_core.generation.constraints import check_constraints, meet_pins
from motion_core.generation.decoding import body_frames, decode_latents_chunked
from motion_core.generation.diffusion import Cancelled
from motion_core.generation.meta import motion_meta, vocabulary_warning, with_warnings
from motion_core.generation.progress import Progress, ProgressFn
from motion_core.generation.requests import InputError, check_prompt, sampling_settings, seed_list
from motion_core.generation.sampling import sample_latents

__all__ = ["TimelineSegment", "Window", "check_timeline", "plan_windows", "generate_timeline",
           "timeline_segments", "segment_index_per_frame", "shortest_segment_frames",
           "MAX_SEGMENTS", "MAX_TOTAL_SECONDS", "MIN_SEGMENT_SECONDS"]

MAX_SEGMENTS = 1000              # a timeline is edited by hand; thousands of segments is a bug upstream
MAX_TOTAL_SECONDS = 3600.0       # one hour; 72,000 frames at 20 fps
MIN_SEGMENT_SECONDS = 0.5        # shorter segments are below anything the model saw in training
_SAMPLING_SHARE = 0.9            # of the progress bar; decoding and joint rotations take the rest


@dataclass(frozen=True)
class TimelineSegment:
    """One resolved segment: its prompt and the frames it covers, ``[start_frame, end_frame)``."""
    prompt: str
    seconds: float
    start_frame: int
    end_frame: int

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


@dataclass(frozen=True)
class Window:
    """One sampling pass over latents ``[start, end)``: ``[start, new_start)`` is known context, the rest new.

    `segment` is the index of the segment that owns the new latents (whose prompt conditions the window).
    """
    segment: int
    start: int
    new_start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


# ---- validation and planning ------------------------------------------------------------------------------

def check_timeline(segments, fps: float, min_frames: int = 1) -> list[TimelineSegment]:
    """Validate ``[(prompt, seconds), ...]`` and resolve each segment to its frame range.

    Raises `InputError` naming the offending segment: empty timelines, prompts that are not strings, are empty
    or run past `MAX_PROMPT_CHARS` (the rules of `engine.generate`), durations that are
    not finite positive numbers or shorter than `MIN_SEGMENT_SECONDS` (or than `min_frames` once rounded),
    more than `MAX_SEGMENTS` segments, or a total beyond `MAX_TOTAL_SECONDS`.
    """
    if isinstance(segments, (str, bytes)) or not isinstance(segments, Sequence):
        raise InputError("a timeline must be a list of (prompt, seconds) pairs, got "
                         f"{type(segments).__name__}")
    if not segments:
        raise InputError("the timeline is empty: give at least one (prompt, seconds) segment")
    if len(segments) > MAX_SEGMENTS:
        raise InputError(f"the timeline has {len(segments)} segments; at most {MAX_SEGMENTS} are supported")
    # segments are counted from 1 in messages, as people (and the add-on's panel) count them
    pairs = [_check_segment(i, item) for i, item in enumerate(segments, start=1)]
    total = math.fsum(seconds for _, seconds in pairs)
    if total > MAX_TOTAL_SECONDS:
        raise InputError(f"the timeline lasts {total:.1f} s; at most {MAX_TOTAL_SECONDS:.0f} s are supported "
                         "(split it into several takes)")
    resolved, elapsed, start = [], 0.0, 0
    for i, (prompt, seconds) in enumerate(pairs, start=1):
        elapsed += seconds
        end = round(elapsed * fps)
        if end - start < min_frames:
            raise InputError(f"segment {i} ({prompt!r:.40}) covers {end - start} frame(s) at {fps:g} fps; "
                             f"each segment needs at least {min_frames}")
        resolved.append(TimelineSegment(prompt, seconds, start, end))
        start = end
    return resolved


def _check_segment(index: int, item) -> tuple[str, float]:
    if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
        raise InputError(f"segment {index} must be a (prompt, seconds) pair, got {item!r:.60}")
    prompt, seconds = item
    if not isinstance(prompt, str):
        raise InputError(f"segment {index}: the prompt must be a string, got {type(prompt).__name__} "
                         f"{prompt!r:.40}")
    check_prompt(prompt, f"segment {index}'s prompt")   # the rules of plain prompts: non-empty, not a document
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.integer, np.floating)) \
            or not math.isfinite(seconds):
        raise InputError(f"segment {index} ({prompt!r:.40}): seconds must be a finite number, got {seconds!r}")
    if seconds <= 0:
        raise InputError(f"segment {index} ({prompt!r:.40}): seconds must be positive, got {seconds}")
    if seconds < MIN_SEGMENT_SECONDS:
        raise InputError(f"segment {index} ({prompt!r:.40}) lasts {seconds} s; the minimum is "
                         f"{MIN_SEGMENT_SECONDS} s")
    return prompt, float(seconds)


def latent_bounds(segments: list[TimelineSegment], factor: int) -> list[int]:
    """Latent index where each segment's prompt takes over, plus the total latent count at the end."""
    total = -(-segments[-1].end_frame // factor)
    bounds = [0] + [round(s.start_frame / factor) for s in segments[1:]] + [total]
    if any(b <= a for a, b in zip(bounds, bounds[1:])):
        raise InputError(f"a segment is shorter than one latent ({factor} frames); make it longer")
    return bounds


def plan_windows(bounds: list[int], window: int, context: int) -> list[Window]:
    """Windows covering latents ``[0, bounds[-1])``: each at most `window` long, with up to `context` known
    latents in front of its new ones, new latents never crossing a segment bound."""
    if not 0 < context < window:
        raise ValueError(f"need 0 < context ({context}) < window ({window}) latents")
    windows = []
    for segment, (low, high) in enumerate(zip(bounds, bounds[1:])):
        new_start = low
        while new_start < high:
            known = min(context, new_start)
            end = min(high, new_start + window - known)
            windows.append(Window(segment, new_start - known, new_start, end))
            new_start = end
    return windows


def shortest_segment_frames(engine) -> int:
    """Frames of the shortest segment this engine's timelines take: `MIN_SEGMENT_SECONDS`, and one latent."""
    return max(engine.vae.config.downsample_factor, math.ceil(MIN_SEGMENT_SECONDS * engine.fps))


# ---- generation -----------------------------------------------------------------------------------------------

def generate_timeline(engine, segments, seed: int | None = 0, guidance: float | None = None,
                      steps: int | None = None,
                      progress: ProgressFn | None = None,
                      should_cancel: Callable[[], bool] | None = None, foot_cleanup: bool = True,
                      smooth_joins: bool = True, path=None, pins=None) -> Motion:
    """One continuous Motion playing `segments` (``[(prompt, seconds), ...]``) in order; see the module doc.
    `path` and `pins` as in `generate`, frames counted from the timeline's start."""
    factor = engine.vae.config.downsample_factor
    resolved = check_timeline(segments, engine.fps, min_frames=shortest_segment_frames(engine))
    constraints, _ = check_constraints(engine, path, pins, [resolved[-1].end_frame], requested=True)
    guidance, steps = sampling_settings(engine, guidance, steps)
    (seed,) = seed_list(seed, 1)
    window, context = engine.max_frames // factor, engine.context_frames // factor
    if not 0 < context < window:
        raise ValueError(f"this model's window ({engine.max_frames} frames) leaves no room past its context "
                         f"({engine.context_frames} frames) for new frames")
    windows = plan_windows(latent_bounds(resolved, factor), window, context)
    report = Progress(progress)
    latents = _sample_windows(engine, resolved, windows, seed, guidance, steps, report, should_cancel)
    num_frames = resolved[-1].end_frame
    report(_SAMPLING_SHARE, "decoding")
    features = decode_latents_chunked(engine, latents, num_frames)
    report(_SAMPLING_SHARE + 0.03, "solving joint rotations")
    meta = _timeline_meta(engine, resolved, seed, guidance, steps, window * factor, context * factor,
                          len(windows))
    # The body (bone lengths the joints are made rigid on) is measured on the first segment's frames that later
    # segments cannot change, exactly as `generate` measures a take of that length: appending never changes
    # earlier frames, and a one-window timeline stays a plain `generate`.
    motion = Motion.from_features(features, engine.skeleton, fps=engine.fps, meta=meta,
                                  body_frames=body_frames(engine.vae, resolved[0].end_frame))
    contacts = contacts_from_features(features, engine.skeleton)
    if constraints.path is not None:   # the root onto the path (controls.path); the feet are planted after it
        (motion,) = follow_path([motion], constraints.path)
    if foot_cleanup:   # planted feet locked by leg IK (motion_core.controls.foot_cleanup)
        motion = clean_feet(motion, contacts)
    if smooth_joins and len(resolved) > 1:   # no pop where segments meet (controls.joins), after the feet
        motion = smoothed_joins(motion, [s.start_frame for s in resolved[1:]])
        if foot_cleanup:   # smoothing a join where the body rises fast (sits, then waves) drew feet 16 cm under
            motion = clean_feet(motion, np.zeros_like(contacts))   # the floor: leg IK lifts them
    if constraints.pins:   # last: the hard constraint (generation.constraints)
        (motion,) = meet_pins([motion], constraints.pins, contacts[None] if foot_cleanup else None)
    report(1.0, "done")
    return motion


def _sample_windows(engine, segments: list[TimelineSegment], windows: list[Window], seed: int, guidance: float,
                    steps: int, report: Progress, should_cancel) -> torch.Tensor:
    """All latents (L, C) on the CPU, window after window; each window's context comes from the previous."""
    total = windows[-1].end
    latents = torch.zeros(total, engine.vae.config.latent_dim)
    factor = engine.vae.config.downsample_factor
    cost = np.cumsum([0] + [w.length for w in windows]) / sum(w.length for w in windows) * _SAMPLING_SHARE
    for j, w in enumerate(windows):
        if should_cancel is not None and should_cancel():
            raise Cancelled("timeline cancelled")
        known = None
        if w.new_start > w.start:
            known = (latents[w.start:w.new_start] * engine.latent_scale)[None].to(engine.device)
        prompt = segments[w.segment].prompt
        label = f"window {j + 1}/{len(windows)} ({prompt[:30]}): "
        sub = Progress(report.callback, cost[j], cost[j + 1], label)
        out = sample_latents(engine, [prompt], [_window_seed(seed, j)], w.length * factor, guidance, steps, sub,
                             should_cancel, known=known)
        latents[w.new_start:w.end] = out[0, w.new_start - w.start:].float().cpu()
    return latents


def _window_seed(seed: int, index: int) -> int:
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0]) >> 1


# ---- metadata -------------------------------------------------------------------------------------------------

def _timeline_meta(engine, segments: list[TimelineSegment], seed: int, guidance: float, steps: int,
                   window_frames: int, context_frames: int, num_windows: int) -> dict:
    prompt = " | ".join(s.prompt for s in segments)
    meta = motion_meta(engine, prompt, seed, guidance, steps, segments[-1].end_frame)
    meta.update(timeline=json.dumps([asdict(s) for s in segments]), timeline_segments=len(segments),
                window_frames=window_frames, context_frames=context_frames, windows=num_windows)
    # One warning per segment prompt that leaves the training vocabulary (issue 21).
    with_warnings(meta, *(vocabulary_warning(engine, s.prompt) for s in segments))
    return meta


def timeline_segments(motion: Motion) -> list[TimelineSegment]:
    """The segments recorded in a timeline motion's meta (empty for a motion that is not a timeline)."""
    text = motion.meta.get("timeline")
    if not isinstance(text, str):
        return []
    return [TimelineSegment(str(d["prompt"]), float(d["seconds"]), int(d["start_frame"]), int(d["end_frame"]))
            for d in json.loads(text)]


def segment_index_per_frame(motion: Motion) -> np.ndarray:
    """(T,) index of the segment each frame belongs to (-1 where none: not a timeline motion)."""
    owners = np.full(motion.num_frames, -1, dtype=np.int64)
    for i, segment in enumerate(timeline_segments(motion)):
        owners[segment.start_frame:segment.end_frame] = i
    return owners

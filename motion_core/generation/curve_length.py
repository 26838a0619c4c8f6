"""Clip length from a curve (issue 23): a curve given with no length gets a clip long enough to walk it.

A curve says where the character goes, not when: each take travels along it at the pace the model gives its
prompt (`controls.path`), so a long curve in a clip of the predicted length would be walked only in part. When
the caller names no length, each prompt's pace is measured on one cheap sample (its own seed, no path,
`PACE_STEPS` denoising steps, at the length it would otherwise get): the root's ground travel, measured as a
curve is paced (`controls.path.ground_travel`), over the clip's duration. The clip then lasts curve length /
pace, within the model's window and never short of the last pin. A prompt that barely travels (slower than
`MIN_PACE`: waving, sitting) keeps its length, as no pace of it walks a curve.

``meta["length_source"]`` is then "path" and ``meta["path_pace"]`` the measured pace (m/s); a curve longer than
the model's longest clip walks at that pace gets a warning in ``meta["warnings"]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_core.controls.path import RootPath, ground_travel
from motion_core.generation.decoding import decode_latents
from motion_core.generation.progress import Progress
from motion_core.generation.sampling import sample_latents
from motion_core.kinematics.representation import features_to_joints

__all__ = ["CurveLength", "curve_lengths", "PACE_STEPS", "MIN_PACE"]

# Denoising steps of the pace sample. The root's travel settles before the details, but not by 5 steps for model
# v3: "walks forward" measured 1.39 m/s at 5 steps, 1.25 at 10, and the 6-m take then walked 4.5 m vs 5.4 m.
PACE_STEPS = 10
MIN_PACE = 0.2      # m/s: slower than this a prompt does not travel (controls.path.MIN_SPEED)


@dataclass(frozen=True)
class CurveLength:
    """One prompt's clip length for a curve: `frames`, the measured `pace` (m/s), whether the length came from
    the curve (`fitted`: False when the prompt does not travel) and a `warning` (or None)."""
    frames: int
    pace: float
    fitted: bool = True
    warning: str | None = None


def _paces(engine, prompts, seeds, lengths, guidance, report: Progress, should_cancel) -> list[float]:
    """Each prompt's ground speed (m/s) in one unguided sample of `PACE_STEPS` steps at its length."""
    paces = [0.0] * len(prompts)
    groups: dict[int, list[int]] = {}
    for i, length in enumerate(lengths):
        groups.setdefault(length, []).append(i)
    batches = [(length, group[k:k + engine.max_batch]) for length, group in groups.items()
               for k in range(0, len(group), engine.max_batch)]
    for n, (length, batch) in enumerate(batches):
        latents = sample_latents(engine, [prompts[i] for i in batch], [seeds[i] for i in batch], length, guidance,
                                 min(PACE_STEPS, engine.default_steps), report.sub(n / len(batches),
                                                                                   (n + 1) / len(batches)),
                                 should_cancel)
        roots = features_to_joints(decode_latents(engine, latents, length), engine.skeleton)[:, :, 0]
        for i, root in zip(batch, np.asarray(roots)):
            paces[i] = ground_travel(root[:, [0, 2]]) / ((length - 1) / engine.fps)
    return paces


def curve_lengths(engine, prompts, seeds, lengths: list[int], path: RootPath, least: int, guidance: float,
                  report: Progress, should_cancel) -> list[CurveLength]:
    """Per prompt, the clip length that walks the curve `path` at its pace (see the module doc); `least`: the
    fewest frames (the last pin's frame + 1, or 0)."""
    paces = _paces(engine, prompts, seeds, lengths, guidance, report, should_cancel)
    out = []
    for length, pace in zip(lengths, paces):
        if pace < MIN_PACE:
            out.append(CurveLength(length, pace, fitted=False))
            continue
        wanted = int(round(path.length / pace * engine.fps)) + 1
        frames = min(max(wanted, least, engine.min_frames), engine.max_frames)
        warning = None
        if wanted > engine.max_frames:
            warning = (f"the {path.length:.1f} m curve takes {wanted / engine.fps:.1f} s at this prompt's pace "
                       f"({pace:.2f} m/s); this model's clips last at most {engine.max_seconds:.1f} s, so the take "
                       "walks only part of it (extend it, or draw a shorter curve)")
        out.append(CurveLength(frames, pace, warning=warning))
    return out

"""`generate`'s spatial controls (issue 23, items 1 and 3): a root path and key-pose pins, end to end.

Checked up front (`check_constraints`: InputError for bad input, before any sampling), the path steered during
sampling (`guide_for`: `generation.guidance`) and both met exactly afterwards (`finish`: `controls.path`, then the foot
cleanup the caller asked for, then `controls.pins`, and with foot cleanup, rounds of re-planting the feet where the
pins put them (`controls.pinned_feet`) and meeting the pins again), in that order: feet are re-planted after the
path turned the poses and after the pins' blend moved them, and the pins come last because they are the hard
constraint.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motion_core.controls.foot_cleanup import clean_feet_batch, contacts_from_features
from motion_core.controls.loop import make_loop
from motion_core.controls.path import PathError, RootPath, follow_path
from motion_core.controls.pinned_feet import pinned_contacts
from motion_core.controls.pins import PinError, PosePin, apply_pins, parse_pins, pin_errors
from motion_core.generation.guidance import Guide
from motion_core.generation.meta import with_warnings
from motion_core.generation.requests import InputError

__all__ = ["Constraints", "check_constraints", "guide_for", "finish", "meet_pins", "GUIDE_PINS", "PIN_PASSES"]


@dataclass
class Constraints:
    path: RootPath | None = None
    pins: list[PosePin] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.path is not None or bool(self.pins)

    def last_frame(self, fps: float) -> int:
        """The latest frame a waypoint or pin names (-1: none; curves name none)."""
        frames = [p.frame for p in self.pins]
        if self.path is not None and self.path.waypoints:
            frames += self.path.frames(fps)
        return max(frames, default=-1)


def check_constraints(engine, path, pins, lengths: list[int], requested: bool, limit: int | None = None
                      ) -> tuple[Constraints, list[int]]:
    """(constraints, lengths): `path` and `pins` parsed and checked against every clip's length. A clip whose
    length was not requested is lengthened (up to `limit`, default the model's) to reach the last waypoint or
    pin."""
    limit = engine.max_frames if limit is None else limit
    try:
        constraints = Constraints(None if path is None else RootPath.from_json(path),
                                  [] if pins is None else parse_pins(pins, engine.skeleton))
        last = constraints.last_frame(engine.fps)
        if not requested and last >= 0:
            lengths = [max(length, min(last + 1, limit)) for length in lengths]
        for length in sorted(set(lengths))[:1]:   # the shortest clip is the one a frame can fall beyond
            if constraints.path is not None and constraints.path.waypoints:
                constraints.path.frames(engine.fps, length)
            parse_pins(constraints.pins, engine.skeleton, length)
    except (PathError, PinError) as exc:
        raise InputError(str(exc)) from None
    return constraints, lengths


# Pins are met by the final correction alone. Steering sampling towards them as well (the Guide can) was measured
# worse: on 12 CPU takes (benchmarks/results/paths_20261204) the foot-skating share with pins was 0.045 with the
# correction only and 0.064 guided (0.030 without pins), pin errors the same (< 0.3 cm either way).
GUIDE_PINS = False


# Rounds of (contacts read from the pinned motion, foot cleanup, pins met again) after the pins: each round's cleanup
# changes the foot heights the next round's contacts are read from. On the 12 pinned takes of benchmarks/paths.py
# the skating share was 0.045 after 1 round, 0.026 after 2, 3 and 4 (0.014 without pins; 0.16 with the model's
# own contacts). Three rounds cost little: a whole pose's fit, most of the work, is kept between them
# (controls.pins); finishing a pinned take took 0.78 s of CPU against 0.88 s for the one round before.
PIN_PASSES = 3


def guide_for(engine, constraints: Constraints, num_frames: int, batch: int) -> Guide | None:
    """The sampling guide of one pass (the path's; pins too with `GUIDE_PINS`), or None when there is none."""
    pins = constraints.pins if GUIDE_PINS else []
    if constraints.path is None and not pins:
        return None
    return Guide(engine, constraints.path, pins, num_frames, batch)


def finish(motions: list, features, constraints: Constraints, skeleton, foot_cleanup: bool, loop: bool) -> list:
    """One pass's solved motions with the path followed, feet cleaned, loops closed and pins met (as asked)."""
    if constraints.path is not None:
        motions = follow_path(motions, constraints.path)
    if foot_cleanup:   # planted feet locked by leg IK, rotations re-solved (controls.foot_cleanup)
        motions = clean_feet_batch(motions, contacts_from_features(features, skeleton))
    if loop:           # the last frame flows into the first (controls.loop)
        motions = [make_loop(motion) for motion in motions]
    if constraints.pins:
        contacts = contacts_from_features(features, skeleton) if foot_cleanup else None
        motions = meet_pins(motions, constraints.pins, contacts)
    return motions


def meet_pins(motions: list, pins: list[PosePin], contacts=None, keep_before: int = 0) -> list:
    """Equally long motions with `pins` met (`controls.pins`); given the model's `contacts` (B, T, 4), their feet
    are then planted where the pins put them (`controls.pinned_feet`) and the pins met again, `PIN_PASSES`
    times. Frames before `keep_before` stay as they are (`extend`). A pin the body cannot reach is met as
    closely as it can be, and ``meta["warnings"]`` says by how much it was missed."""
    return [_say_missed_pins(motion, pins) for motion in _met(motions, pins, contacts, keep_before)]


# How far (m) a pinned joint may end from its target before the take says so: a wrist pinned 5 m up lifted the
# whole body 1.2 m off the floor and still ended over 2 m short, with no word (a tester, 2026-12-07).
PIN_MISS_WARNING = 0.05


def _say_missed_pins(motion, pins: list[PosePin]):
    missed = [(pin.frame, error) for pin, error in zip(pins, pin_errors(motion.joints, pins))
              if error > PIN_MISS_WARNING]
    if missed:
        text = ", ".join(f"frame {frame} by {error:.2f} m" for frame, error in missed)
        with_warnings(motion.meta, f"pins out of the body's reach, met as closely as it can: {text}")
    return motion


def _met(motions: list, pins: list[PosePin], contacts, keep_before: int) -> list:
    motions = [apply_pins(motion, pins, keep_before=keep_before) for motion in motions]
    if contacts is None:
        return motions
    previous = None
    for _ in range(PIN_PASSES):
        planted = [pinned_contacts(motion, c, pins, keep_before) for motion, c in zip(motions, contacts)]
        feet = np.stack([c for c, _ in planted])
        if previous is not None and np.array_equal(feet, previous):
            break          # the feet are planted where the last round planted them: nothing left to change
        motions = clean_feet_batch(motions, feet, keep_before=keep_before, anchors=[a for _, a in planted])
        motions = [apply_pins(motion, pins, keep_before=keep_before) for motion in motions]
        previous = feet
    return motions

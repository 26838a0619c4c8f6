"""Paths and pins on a continuation (`extend`, issue 23).

Both are given in the continued motion's own world coordinates (where its joints are: the add-on's "from current
pose" context is in the rig's frame, as its `generate` paths and pins are), with frames counted from the first
new frame (frame 0 is the frame right after the motion's last one).

* Path: the new part starts where the motion ends, so its path does too. A curve is followed from the motion's
  last root point (put in front of the curve: no jump to the curve's start); waypoints lead from there to their
  points, and one on frame 0 is refused (the first new frame cannot jump there). The new frames are moved onto it
  (`controls.path.follow_path_joints`) together with the motion's last frame, and the change that frame would
  get (the turn onto the path's direction) is faded out over the seam blend instead, as `extend` fades its seam.
  Unlike `generate`, the path does not steer sampling: this correction alone meets it.
* Pins: moved past the old frames and met with those kept as they are (`constraints.meet_pins`); the old body is
  kept too, so a whole pose is met as closely as that body allows.

With no length given, the new part is made long enough to reach the last waypoint or pin (within the model's
window next to the context).
"""
from __future__ import annotations

import numpy as np

from motion_core.controls.path import PathError, RootPath, follow_path_joints
from motion_core.controls.pins import PosePin
from motion_core.generation.requests import InputError

__all__ = ["follow_from", "shifted_pins"]

_SAME_POINT = 0.01   # m: a curve starting this close to the motion's last root point starts there already


def _seam_path(path: RootPath, start_xz: np.ndarray, fps: float) -> RootPath:
    """`path` in frames of the seam window (its frame 0 is the motion's last frame), starting at `start_xz`."""
    if path.curve:
        first = np.asarray(path.curve[0])
        lead = () if np.linalg.norm(first - start_xz) < _SAME_POINT else ((float(start_xz[0]), float(start_xz[1])),)
        return RootPath(curve=lead + tuple(path.curve))
    if path.frames(fps)[0] == 0:
        raise InputError("a continuation's path cannot have a waypoint on frame 0 (time 0): the new part starts "
                         "where the motion ends; put the first waypoint later")
    return RootPath(waypoints=tuple((None if f is None else f + 1, None if t is None else t + 1.0 / fps, x, z)
                                    for f, t, x, z in path.waypoints))


def follow_from(last: np.ndarray, new: np.ndarray, path: RootPath, fps: float, face_joints, blend: int
                ) -> np.ndarray:
    """New joints (N, J, 3) continuing the pose `last` (J, 3), moved onto `path` (see the module doc)."""
    try:
        seam = _seam_path(path, last[0, [0, 2]].astype(np.float64), fps)
    except PathError as exc:
        raise InputError(str(exc)) from None
    window = follow_path_joints(np.concatenate((last[None], new)), seam, fps, face_joints)
    fade = np.clip(1.0 - np.arange(len(window)) / max(1, blend), 0.0, 1.0)
    window += fade[:, None, None] * (last - window[0])[None]      # the last old frame stays where it was
    return window[1:]


def shifted_pins(pins: list[PosePin], old_frames: int) -> list[PosePin]:
    """Pins on new-part frames as frames of the whole result (old + new)."""
    return [PosePin(p.frame + old_frames, p.targets, p.whole) for p in pins]

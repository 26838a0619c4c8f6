"""Generate from the pose the character is in, and the issue-23 guides (path, pins) a request carries.

"From current pose": when the armature is already animated before the start frame, its last second of
evaluated motion there becomes a 20 fps engine Motion (`rig_pose`), sent to the worker's ``extend`` as a
motion file. The result repeats that context then continues it; only the new frames are keyed, from the start
frame on, placed with the mapping the context was read with (so they start where the character is), and the
old animation keeps playing before the start frame (its NLA track unmuted, the take holding forward only).

No bpy import at module level: the pieces are plain functions over objects passed in.
"""
from __future__ import annotations

import dataclasses
import re
import uuid

import numpy as np

from . import rig_pose, session, takes
from .inverse_retarget import BodyFit
from .motion_io import MotionData

GUIDE_PARAMS = ("path", "pins")


@dataclasses.dataclass
class Context:
    """The context Motion sent to `extend` and what is needed to key its continuation."""
    path: str
    frames: int
    root: np.ndarray          # (frames, 3) the context's root, to find it again at the result's start
    fit: BodyFit


def write_context(armature, scene, start_frame: float, mapping=None) -> Context:
    """Sample the armature's last second before `start_frame` and save it as a motion file for `extend`."""
    mapping = takes.bone_map(armature) if mapping is None else mapping
    fit = rig_pose.fit_for(armature, mapping)
    joints = rig_pose.context_joints(armature, scene, start_frame, mapping=mapping)
    motion = rig_pose.context_motion(joints)
    path = motion.save(session.takes_dir() / f"context_{uuid.uuid4().hex[:12]}.npz")
    return Context(str(path), motion.num_frames, np.asarray(motion.root_translation, np.float64), fit)


def new_part(result, context: Context) -> MotionData:
    """The frames of an `extend` result after the context (the engine returns context + continuation; one
    that returns only the continuation is kept whole)."""
    n = context.frames
    root = np.asarray(result.root_translation, np.float64)
    repeats = result.num_frames > n and np.allclose(root[:n], context.root, atol=1e-3)
    start = n if repeats else 0
    return MotionData(fps=result.fps, joints=np.asarray(result.joints)[start:],
                      rotations=np.asarray(result.rotations)[start:],
                      root_translation=np.asarray(result.root_translation)[start:],
                      offsets=np.asarray(result.offsets), skeleton=result.skeleton,
                      meta=dict(getattr(result, "meta", {}) or {}))


def save_new_part(new: MotionData) -> str | None:
    """Save the continuation alone as the take's file (so Extend later continues this take, not the context);
    None where motion_core is not importable to write it."""
    try:
        from motion_core.formats.motion import Motion
    except ImportError:
        return None
    motion = Motion(fps=new.fps, joints=new.joints, rotations=new.rotations,
                    root_translation=new.root_translation, offsets=new.offsets, meta=new.meta)
    return session.persist_motion(motion)


def placed_options(obj, fit: BodyFit):
    """Retarget options putting engine coordinates where `fit` read them: its scale, engine (0, 0) at the
    rig's rest spot (what pose context, paths and pins are expressed in)."""
    return dataclasses.replace(takes.options_for(obj), scale=fit.scale, origin=(0.0, 0.0))


def keep_old_playing(obj, previous_action_name: str | None) -> None:
    """The animation the take continues plays up to the start frame: its stash track is unmuted and the take
    holds only forward (before its first key it leaves the pose to the NLA)."""
    ad = obj.animation_data
    if ad is None:
        return
    ad.action_extrapolation = "HOLD_FORWARD"
    if previous_action_name is None:
        return
    for track in takes.stash_tracks(obj, previous_action_name):
        track.mute = False


def guide_params(armature, scene, start_frame: float, path=None, pins=None) -> tuple[dict, list[str]]:
    """The ``path`` and ``pins`` params of a generate request, and warnings.

    path: a curve or animated empty object (sampled here), a ready param dict, or None. pins: a list of
    ``{"frame", "joints"}`` dicts (engine frames after the start), True for the armature's stored pins, or
    None/False for none."""
    params, warnings = {}, []
    if path is not None:
        if isinstance(path, dict):
            params["path"] = path
        else:
            from .path_guide import path_param
            params["path"] = path_param(path, armature, scene, start_frame, rig_pose.fit_for(armature))
    if pins is True:
        stored, warnings = rig_pose.pin_params(armature, scene, start_frame)
        if stored:
            params["pins"] = stored
    elif pins:
        params["pins"] = [check_pin(p) for p in pins]
    return params, warnings


def continuation_guides(params: dict) -> dict:
    """`guide_params` for an ``extend`` from the current pose: a continuation starts where the character is, so a
    waypoint on its first frame (an animated empty keyed at the start frame) is left out; the engine would refuse
    it rather than jump there."""
    path = params.get("path")
    if not path or "waypoints" not in path:
        return params
    later = [w for w in path["waypoints"] if w.get("frame", 1) != 0]
    if not later:
        return {k: v for k, v in params.items() if k != "path"}
    return {**params, "path": {"waypoints": later}}


def check_pin(pin) -> dict:
    """A pin dict as the worker expects it: an int frame >= 0 and 22 [x, y, z] joints."""
    frame, joints = pin.get("frame"), np.asarray(pin.get("joints"), np.float64)
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or frame < 0:
        raise ValueError(f"a pin's frame must be a whole number of engine frames >= 0, got {frame!r}")
    if joints.shape != (22, 3) or not np.isfinite(joints).all():
        raise ValueError(f"a pin's joints must be 22 finite [x, y, z] points, got shape {joints.shape}")
    return {"frame": int(frame), "joints": joints.tolist()}


def ignored_guides(engine, mark, sent) -> str | None:
    """A warning when the worker said (on stderr) that it ignored the request's path or pins: a worker that
    does not know them yet skips unknown params instead of refusing them, so the take was made without."""
    since = getattr(engine, "stderr_since", None)
    if since is None or mark is None:
        return None
    for line in since(mark):
        named = [k for k in GUIDE_PARAMS if k in sent and re.search(rf"\b{k}\b", line)]
        if named and "ignor" in line:
            what = " and ".join(named)
            return (f"the engine ignored the {what}: this motion-core does not support {what} yet (issue 23); "
                    f"the take was generated without {'it' if len(named) == 1 else 'them'}. Update motion-core")
    return None


_REFUSAL = re.compile(r"unknown|unexpected|unsupported|not supported|not allowed|unrecognized", re.I)


def unsupported_explainer(sent):
    """An error rewriter for a request that carried issue-23 guides: an engine or worker that does not know
    `path`/`pins` refuses them with its own words (an unknown param, an unexpected keyword); say what that
    means and what to do."""
    sent = [k for k in GUIDE_PARAMS if k in sent]

    def explain(error: str) -> str:
        named = [k for k in sent if re.search(rf"\b{k}\b", error)]
        if not named or not _REFUSAL.search(error):
            return error
        what = " and ".join(named)
        return (f"this motion engine does not support {what} yet (issue 23 needs a newer motion-core); update "
                f"motion-core, or generate without {'it' if len(named) == 1 else 'them'} (clear Path / turn off "
                f"Use pins). The engine said: {error}")
    return explain

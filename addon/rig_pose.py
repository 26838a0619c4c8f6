"""Reading an armature's evaluated pose as the engine's 22 joints (issue 23): the context a take continues
from, and the poses pinned at frames. The math is `inverse_retarget`; this module only samples Blender.

Heads are read from the evaluated armature after `frame_set`, so constraint-driven bones (Rigify's DEF bones),
NLA strips and drivers count: the pose is the one the viewport shows, not the keys of one action.
"""
from __future__ import annotations

import io
import json

import numpy as np

from . import inverse_retarget as inv
from . import takes
from .armature import rig_rest
from .skeleton_data import humanml3d

ENGINE_FPS = 20.0
CONTEXT_FRAMES = 20          # one second of the character's motion before the start frame (velocity known)


def fit_for(obj, mapping=None) -> inv.BodyFit:
    """The armature -> engine mapping of `obj` under its bone map."""
    mapping = takes.bone_map(obj) if mapping is None else mapping
    return inv.body_fit(rig_rest(obj), mapping, humanml3d())


def _set_frame(scene, frame: float) -> None:
    whole = int(np.floor(frame))
    scene.frame_set(whole, subframe=float(frame - whole))


def sample_bones(obj, scene, frames, mapping=None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """({joint: (T, 3)} heads, same for tails) of the mapped bones, armature space, at (fractional) scene
    `frames`, evaluated. The scene's current frame is restored afterwards."""
    import bpy
    mapping = takes.bone_map(obj) if mapping is None else mapping
    current = (scene.frame_current, scene.frame_subframe)
    heads = {joint: np.empty((len(frames), 3)) for joint in mapping}
    tails = {joint: np.empty((len(frames), 3)) for joint in mapping}
    try:
        for t, frame in enumerate(frames):
            _set_frame(scene, frame)
            bones = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).pose.bones
            for joint, bone in mapping.items():
                heads[joint][t], tails[joint][t] = tuple(bones[bone].head), tuple(bones[bone].tail)
    finally:
        scene.frame_set(current[0], subframe=current[1])
    return heads, tails


def pose_joints(obj, scene, frames, mapping=None) -> np.ndarray:
    """(T, 22, 3) engine joints of the armature's evaluated pose at scene `frames`."""
    mapping = takes.bone_map(obj) if mapping is None else mapping
    rig = rig_rest(obj)
    fit = inv.body_fit(rig, mapping, humanml3d())
    bones = obj.data.bones
    rest_heads = {joint: np.array(bones[bone].head_local) for joint, bone in mapping.items()}
    rest_tails = {joint: np.array(bones[bone].tail_local) for joint, bone in mapping.items()}
    heads, tails = sample_bones(obj, scene, frames, mapping)
    return inv.joints_from_heads(heads, rest_heads, fit, humanml3d(), tails, rest_tails)


def context_joints(obj, scene, start_frame: float, frames: int = CONTEXT_FRAMES, mapping=None) -> np.ndarray:
    """(frames, 22, 3) the last `frames` engine frames (20 fps) before `start_frame`."""
    times = inv.context_times(start_frame, takes.scene_fps(scene), frames, ENGINE_FPS)
    return pose_joints(obj, scene, times, mapping)


def has_animation_before(obj, frame: float) -> bool:
    """Does anything animate the armature before `frame` (its action or an unmuted NLA strip)? Then a take
    starting there continues that motion instead of starting from rest."""
    ad = obj.animation_data
    if ad is None:
        return False
    if ad.action is not None and ad.action.frame_range[0] < frame:
        return True
    return any(not track.mute and strip.action is not None and strip.frame_start < frame
               for track in ad.nla_tracks for strip in track.strips)


def context_motion(joints: np.ndarray):
    """A 20 fps engine Motion of `joints` solved on the engine's rest body: with motion_core importable, by
    its IK; otherwise a file of the joints alone (identity rotations), which is all `extend` reads of it."""
    skeleton = humanml3d()
    meta = {"source": "armature pose"}
    try:
        from motion_core.formats.motion import Motion
    except ImportError:
        return _UnsolvedMotion(joints, skeleton, meta)
    return Motion.from_joints(joints, skeleton, fps=ENGINE_FPS, meta=meta, offsets=skeleton.rest_offsets)


class _UnsolvedMotion:
    """The fields of a Motion file for joints whose rotations are not solved here (no motion_core in
    Blender's Python); saved in the documented .npz layout that motion_io and Motion.load read."""

    def __init__(self, joints, skeleton, meta):
        self.fps, self.skeleton, self.meta = ENGINE_FPS, skeleton, dict(meta, rotations="unsolved")
        self.joints = np.asarray(joints, np.float32)
        self.rotations = np.zeros(self.joints.shape[:2] + (4,), np.float32)
        self.rotations[..., 0] = 1.0
        self.root_translation = self.joints[:, 0].copy()
        self.offsets = np.asarray(skeleton.rest_offsets, np.float32)

    @property
    def num_frames(self) -> int:
        return self.joints.shape[0]

    def save(self, path):
        archive = io.BytesIO()
        np.savez(archive, joints=self.joints, rotations=self.rotations, root_translation=self.root_translation,
                 offsets=self.offsets, fps=np.float64(self.fps), skeleton=np.str_(self.skeleton.name),
                 meta=np.str_(json.dumps(self.meta)), format_version=np.int64(1))
        with open(path, "wb") as handle:
            handle.write(archive.getbuffer())
        return path


# ---------------------------------------------------------------------------------------------------------
# Pins
# ---------------------------------------------------------------------------------------------------------

def pin_pose(obj, scene, frame: int | None = None):
    """Store the armature's evaluated pose at `frame` (default: the current frame) as a pin on it, replacing a
    pin already at that frame. Returns the pin item."""
    frame = scene.frame_current if frame is None else int(frame)
    joints = pose_joints(obj, scene, [float(frame)])[0]
    pins = obj.motion_retarget.pins
    for i, pin in enumerate(pins):
        if pin.frame == frame:
            pins.remove(i)
            break
    pin = pins.add()
    pin.frame = frame
    pin.joints = json.dumps(np.round(joints, 5).tolist())
    _sort_pins(pins)   # listed in time order
    return next(p for p in pins if p.frame == frame)


def _sort_pins(pins) -> None:
    """Keep the collection in frame order (a simple insertion sort with `move`)."""
    for i in range(1, len(pins)):
        j = i
        while j > 0 and pins[j - 1].frame > pins[j].frame:
            pins.move(j, j - 1)
            j -= 1


def pin_params(obj, scene, start_frame: float) -> tuple[list[dict], list[str]]:
    """The armature's pins as the worker's ``pins`` param (frames relative to the start, at 20 fps), and
    warnings for pins before the start frame (left out)."""
    out, early = [], []
    for pin in getattr(obj.motion_retarget, "pins", ()):
        frame = float(inv.engine_frames([pin.frame], start_frame, takes.scene_fps(scene), ENGINE_FPS)[0])
        if frame < 0:
            early.append(pin.frame)
            continue
        out.append({"frame": int(round(frame)), "joints": json.loads(pin.joints)})
    warnings = [f"pins at frames {', '.join(map(str, early))} are before the start frame and were not sent"]
    return out, warnings if early else []

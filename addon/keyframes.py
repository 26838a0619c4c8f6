"""Bulk keyframe writing: one F-curve per channel, all keys set with a single `foreach_set`.

`keyframe_insert` per bone per frame costs a Python -> RNA round trip and a curve re-sort per key; adding
n points at once and filling their coordinates from a flat array is orders of magnitude faster
(benchmarks/bench_keyframes.py measures it).

Blender 4.4+ actions are layered: F-curves live in a channelbag of (layer, keyframe strip, slot), and
`Action.fcurves` is gone in 5.0. Older versions (4.2, 4.3) keep F-curves on the action itself. `fcurve_sink`
hides the difference.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from . import qmath
from .retarget import PoseChannels


@dataclass
class Channel:
    data_path: str
    index: int
    group: str
    values: np.ndarray   # (n,) one value per frame


def is_layered(action) -> bool:
    return hasattr(action, "layers") and hasattr(action, "slots")


def ensure_slot(action, obj):
    """The action's slot for `obj` (created if needed); None for legacy actions."""
    if not is_layered(action):
        return None
    for slot in action.slots:
        if slot.target_id_type in ("OBJECT", "UNSPECIFIED"):
            return slot
    return action.slots.new(id_type="OBJECT", name=obj.name)


def fcurve_sink(action, slot):
    """Something with `fcurves.new(data_path, index, group)` semantics for either action kind."""
    if slot is None:
        return _LegacySink(action)
    layer = action.layers[0] if len(action.layers) else action.layers.new("Layer")
    strip = layer.strips[0] if len(layer.strips) else layer.strips.new(type="KEYFRAME")
    return _ChannelbagSink(strip.channelbag(slot, ensure=True))


class _ChannelbagSink:
    def __init__(self, channelbag):
        self.channelbag = channelbag

    def new(self, data_path: str, index: int, group: str):
        return self.channelbag.fcurves.new(data_path, index=index, group_name=group)


class _LegacySink:
    def __init__(self, action):
        self.action = action

    def new(self, data_path: str, index: int, group: str):
        return self.action.fcurves.new(data_path, index=index, action_group=group)


def write_channels(sink, frames: np.ndarray, channels: list[Channel]) -> None:
    """Create one F-curve per channel and fill all its keys at once (Bezier, auto-clamped handles)."""
    frames = np.asarray(frames, dtype=np.float32)
    n = frames.shape[0]
    co = np.empty((n, 2), dtype=np.float32)
    co[:, 0] = frames
    for ch in channels:
        values = np.asarray(ch.values, dtype=np.float32)
        if values.shape != (n,):
            raise ValueError(f"channel {ch.data_path}[{ch.index}] has {values.shape} values for {n} frames")
        fc = sink.new(ch.data_path, ch.index, ch.group)
        fc.keyframe_points.add(n)
        co[:, 1] = values
        fc.keyframe_points.foreach_set("co", co.ravel())
        fc.update()   # sorts keys and computes the auto handles


def pose_bone_path(bone: str, prop: str) -> str:
    return f'pose.bones["{bpy.utils.escape_identifier(bone)}"].{prop}'


def rotation_channels(bone: str, quats: np.ndarray, mode: str) -> list[Channel]:
    """Channels for a bone's rotation in its own rotation mode, so the rig's settings are left alone."""
    if mode == "QUATERNION":
        path, values = pose_bone_path(bone, "rotation_quaternion"), quats
    elif mode == "AXIS_ANGLE":
        path, values = pose_bone_path(bone, "rotation_axis_angle"), _axis_angle(quats)
    else:
        eul = qmath.euler_make_continuous(qmath.matrix_to_euler(qmath.quat_to_matrix(quats), mode))
        path, values = pose_bone_path(bone, "rotation_euler"), eul
    return [Channel(path, i, bone, values[:, i]) for i in range(values.shape[1])]


def _axis_angle(quats: np.ndarray) -> np.ndarray:
    """(T, 4) quaternions -> (T, 4) Blender axis-angle (angle, x, y, z)."""
    w = np.clip(quats[:, 0], -1.0, 1.0)
    s = np.sqrt(np.maximum(1 - w * w, 0.0))
    axis = np.where(s[:, None] > 1e-8, quats[:, 1:] / np.maximum(s, 1e-8)[:, None], [0.0, 1.0, 0.0])
    return np.concatenate((np.unwrap(2 * np.arccos(w))[:, None], axis), axis=1)


def pose_channels(obj, pose: PoseChannels) -> list[Channel]:
    """All channels for a retargeted pose on armature object `obj`."""
    channels = []
    for bone, quats in pose.rotations.items():
        channels += rotation_channels(bone, quats, obj.pose.bones[bone].rotation_mode)
    for bone, loc in pose.locations.items():
        path = pose_bone_path(bone, "location")
        channels += [Channel(path, i, bone, loc[:, i]) for i in range(3)]
    for (bone, prop), values in pose.properties.items():
        path = f'pose.bones["{bpy.utils.escape_identifier(bone)}"]["{bpy.utils.escape_identifier(prop)}"]'
        channels.append(Channel(path, 0, bone, values))
    return channels


def build_action(obj, name: str, pose: PoseChannels, start_frame: float):
    """A new, complete action for `obj` (not yet assigned). It exists whole or not at all: a failure while
    writing removes the half-built action before re-raising."""
    action = bpy.data.actions.new(name)
    try:
        slot = ensure_slot(action, obj)
        frames = start_frame + np.arange(pose.num_frames, dtype=np.float64)
        write_channels(fcurve_sink(action, slot), frames, pose_channels(obj, pose))
    except BaseException:
        bpy.data.actions.remove(action)
        raise
    return action

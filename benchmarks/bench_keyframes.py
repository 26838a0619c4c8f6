"""Keyframe writing speed: bulk F-curve filling (addon/keyframes.py) vs `keyframe_insert` per frame.

A 20 s clip (400 frames at 20 fps) resampled to the scene's 30 fps (599 frames) on a 60-bone rig (the
22-bone SMPL armature plus 19 finger bones per hand). Run:

    /work/venv/bin/python benchmarks/bench_keyframes.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import bpy
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from addon import armature, keyframes, qmath, retarget, takes  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402

SCENE_FPS = 30
SOURCE_FRAMES = 400


def sixty_bone_rig(context):
    obj = armature.create_smpl_armature(context, name="Rig60")
    bpy.ops.object.mode_set(mode="EDIT")
    bones = obj.data.edit_bones
    for side in ("left", "right"):
        wrist = bones[f"{side}_wrist"]
        for finger in range(5):
            parent = wrist
            for seg in range(4 if finger else 3):
                b = bones.new(f"{side}_finger{finger}_{seg}")
                b.head = parent.tail
                b.tail = b.head + (wrist.tail - wrist.head) * 0.3
                b.parent = parent
                parent = b
    bpy.ops.object.mode_set(mode="OBJECT")
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    assert len(obj.data.bones) == 60, len(obj.data.bones)
    return obj


def source_motion():
    rng = np.random.default_rng(0)
    t = np.arange(SOURCE_FRAMES) / 20.0
    axis = rng.normal(size=(22, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = 0.6 * np.sin(t[:, None] * rng.uniform(0.5, 3, 22))
    q = np.concatenate([np.cos(angle / 2)[..., None], np.sin(angle / 2)[..., None] * axis], -1)
    root = np.stack([0.5 * t, 0.9 + 0.02 * np.sin(3 * t), 0 * t], 1)
    return retarget.SourceMotion(20.0, q, root, HUMANML3D.rest_offsets, HUMANML3D.parents, HUMANML3D.joint_names)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_pipeline(obj, src):
    """Resample + retarget + bulk write of the 22 mapped bones (what Generate does)."""
    def run():
        s = retarget.resample(src, SCENE_FPS)
        pose = retarget.retarget(s, armature.rig_rest(obj), takes.bone_map(obj))
        return keyframes.build_action(obj, "pipeline", pose, 1)
    return timed(run)


def all_bone_quats(obj, frames):
    rng = np.random.default_rng(1)
    q = qmath.quat_normalize(rng.normal(size=(frames, 4)) * 0.1 + [1, 0, 0, 0])
    return {pb.name: q for pb in obj.pose.bones}


def bench_bulk(obj, quats, frames):
    def run():
        action = bpy.data.actions.new("bulk")
        sink = keyframes.fcurve_sink(action, keyframes.ensure_slot(action, obj))
        channels = [c for bone, q in quats.items() for c in keyframes.rotation_channels(bone, q, "QUATERNION")]
        keyframes.write_channels(sink, 1 + np.arange(frames), channels)
        return action
    return timed(run)


def bench_insert(obj, quats, frames):
    def run():
        obj.animation_data_create()
        obj.animation_data.action = bpy.data.actions.new("insert")
        for f in range(frames):
            for name, q in quats.items():
                pb = obj.pose.bones[name]
                pb.rotation_quaternion = q[f]
                pb.keyframe_insert("rotation_quaternion", frame=1 + f)
        return obj.animation_data.action
    return timed(run)


def main():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    context = bpy.context
    context.scene.render.fps = SCENE_FPS
    obj = sixty_bone_rig(context)
    src = source_motion()
    frames = retarget.resample(src, SCENE_FPS).num_frames
    quats = all_bone_quats(obj, frames)
    t_pipe, _ = bench_pipeline(obj, src)
    t_bulk, _ = bench_bulk(obj, quats, frames)
    t_insert, _ = bench_insert(obj, quats, frames)
    keys = len(quats) * 4 * frames
    print(f"20 s clip: {SOURCE_FRAMES} frames @20 fps -> {frames} frames @{SCENE_FPS} fps, 60-bone rig")
    print(f"{'method':<52}{'seconds':>10}{'keys/s':>14}")
    print(f"{'generate pipeline (resample+retarget+bulk, 22 bones)':<52}{t_pipe:>10.3f}"
          f"{(22 * 4 + 3) * frames / t_pipe:>14,.0f}")
    print(f"{'bulk foreach_set, 60 bones x 4 channels':<52}{t_bulk:>10.3f}{keys / t_bulk:>14,.0f}")
    print(f"{'keyframe_insert per bone per frame, 60 bones':<52}{t_insert:>10.3f}{keys / t_insert:>14,.0f}")
    print(f"speed-up bulk vs keyframe_insert: {t_insert / t_bulk:.0f}x")


if __name__ == "__main__":
    main()

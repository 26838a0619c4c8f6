"""A path for the character from a Blender curve or an animated empty (issue 23), as the worker's ``path`` param.

Places are turned into the engine's ground coordinates (x, z; metres on the engine's body) by the same mapping
the rig's pose is read with (`inverse_retarget.BodyFit`): the rig's rest spot is the engine's (0, 0), its
facing the engine's +z. Takes that follow a path are keyed with that mapping (origin (0, 0)), so the character
walks where the curve is drawn.

* a curve: ``{"curve": [[x, z], ...]}``, `MAX_POINTS` points evenly spaced along it;
* an animated empty: ``{"waypoints": [{"frame": F, "x": X, "z": Z}, ...]}`` at its keyframes from the start
  frame on, F in engine frames (20 fps) after the start frame.
"""
from __future__ import annotations

import numpy as np

from . import takes
from .inverse_retarget import BodyFit, engine_frames

MAX_POINTS = 100          # ~2 kB of JSON; enough for any path a take of a few seconds walks
ENGINE_FPS = 20.0


def _armature_space(armature, world_points: np.ndarray) -> np.ndarray:
    inverse = np.linalg.inv(np.array(armature.matrix_world))
    return world_points @ inverse[:3, :3].T + inverse[:3, 3]


def curve_points(curve) -> np.ndarray:
    """(N, 3) world-space points along a curve object (its evaluated shape, modifiers included), in order."""
    import bpy
    evaluated = curve.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    try:
        local = np.array([tuple(v.co) for v in mesh.vertices], np.float64).reshape(-1, 3)
    finally:
        evaluated.to_mesh_clear()
    if len(local) < 2:
        raise ValueError(f"curve {curve.name!r} has no length to follow")
    mw = np.array(curve.matrix_world)
    return local @ mw[:3, :3].T + mw[:3, 3]


def even_points(points: np.ndarray, count: int = MAX_POINTS) -> np.ndarray:
    """`count` points evenly spaced by arc length along a polyline (its ends kept): the engine sees the shape
    drawn, not where the curve happened to have its control points."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate(([0.0], np.cumsum(seg)))
    if arc[-1] <= 0:
        raise ValueError("the path has no length")
    at = np.linspace(0.0, arc[-1], count)
    return np.stack([np.interp(at, arc, points[:, k]) for k in range(points.shape[1])], axis=1)


def curve_param(curve, armature, fit: BodyFit) -> dict:
    """The ``path`` param for a curve object."""
    ground = fit.ground(_armature_space(armature, even_points(curve_points(curve))))
    return {"curve": np.round(ground, 4).tolist()}


def key_frames(obj) -> list[float]:
    """Frames at which the object's own action has keys (any channel), sorted."""
    from .loops import action_fcurves
    ad = obj.animation_data
    if ad is None or ad.action is None:
        return []
    frames = {float(k.co[0]) for fc in action_fcurves(ad.action) for k in fc.keyframe_points}
    return sorted(frames)


def waypoint_param(empty, armature, scene, start_frame: float, fit: BodyFit) -> dict:
    """The ``path`` param for an animated empty: its world position at each of its keyframes from the start."""
    frames = [f for f in key_frames(empty) if f >= start_frame]
    if not frames:
        raise ValueError(f"{empty.name!r} has no keyframes from frame {start_frame:g} on; animate its location "
                         "(or use a curve) to give a path")
    current = (scene.frame_current, scene.frame_subframe)
    world = []
    try:
        for frame in frames:
            scene.frame_set(int(frame), subframe=float(frame - int(frame)))
            world.append(tuple(empty.matrix_world.translation))
    finally:
        scene.frame_set(current[0], subframe=current[1])
    ground = fit.ground(_armature_space(armature, np.array(world)))
    when = engine_frames(frames, start_frame, takes.scene_fps(scene), ENGINE_FPS)
    return {"waypoints": [{"frame": int(round(f)), "x": round(float(x), 4), "z": round(float(z), 4)}
                          for f, (x, z) in zip(when, ground)]}


def path_param(obj, armature, scene, start_frame: float, fit: BodyFit) -> dict:
    """The worker's ``path`` param for a curve or an animated empty; ValueError for anything else."""
    if obj.type == "CURVE":
        return curve_param(obj, armature, fit)
    if obj.type == "EMPTY":
        return waypoint_param(obj, armature, scene, start_frame, fit)
    raise ValueError(f"a path comes from a curve or an animated empty; {obj.name!r} is a {obj.type.lower()}")

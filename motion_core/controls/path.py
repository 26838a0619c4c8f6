"""Follow a path (issue 23, item 1): the root's ground track made to pass given points or trace a drawn curve.

Coordinates are the engine's world frame (`motion_core.kinematics.representation`): metres, y up, the floor at
y = 0; a generated motion starts with its root above the origin, facing +z (its first frame is the canonical
frame HumanML3D's features are decoded in). A path is given in that frame, as one of

* waypoints ``{"waypoints": [{"frame": F, "x": X, "z": Z}, ...]}`` (or ``"time": seconds`` instead of a
  frame): the root's ground point is at (X, Z) at that frame. Frame 0 is the start: without a waypoint there
  the start is the origin, with one the motion starts at that point. Between waypoints the track is a smooth
  cubic (Catmull-Rom in time) through them; after the last one the motion carries on as it was generated,
  turned to the direction it arrived in;
* a curve ``{"curve": [[x, z], ...]}``: a dense polyline starting where the motion starts, followed at the
  pace the prompt implies: the distance the generated root travels by frame t is laid along the curve (so
  the clip's length and the prompt set how far along it the character gets; a take that travels farther
  carries on past the curve's end as it was generated, turned to the direction it arrived in).

How (`follow_path_joints`): each frame's pose, relative to its root's ground point, is moved to the path's
point and turned about +y by the angle between the path's direction of travel there and the motion's own. So
the character keeps its own facing relative to where it goes: a walk faces along the path, a walk backwards
backs along it, a sidestep goes sideways along it. Where either does not travel (standing still), the angle is
carried over from the nearest frames that do. The result is exact on the root; planted feet are then re-locked
by `controls.foot_cleanup` (the engine runs it after this), since turning a pose about its root slides its feet.
The engine first steers sampling towards the path (`generation.guidance`), so this correction stays smaller.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from motion_core.formats.motion import Motion

__all__ = ["RootPath", "PathError", "follow_path_joints", "follow_path", "path_json", "ground_travel", "path_targets", "path_deviation",
           "MIN_SPEED", "MAX_WAYPOINTS", "MAX_CURVE_POINTS"]

MIN_SPEED = 0.2            # m/s: slower than this, a track's direction is noise (standing, shifting weight)
SMOOTH_FRAMES = 2.0        # sigma (frames) of the smoothing of turn angles and tangents: no jitter
TRACK_SECONDS = 0.5        # sigma of the root track's smoothing: about one stride, so the sway averages out
MAX_WAYPOINTS = 1000
MAX_CURVE_POINTS = 100_000
_GROUND = [0, 2]


class PathError(ValueError):
    """A path the caller can fix (malformed JSON, a waypoint beyond the clip, too few points)."""


@dataclass(frozen=True)
class RootPath:
    """A root path: `waypoints` ((frame or None, time or None, x, z), ...) or `curve` ((x, z), ...)."""
    waypoints: tuple = ()
    curve: tuple = ()

    @classmethod
    def from_json(cls, data) -> "RootPath":
        """A RootPath from its JSON form (see the module doc), or PathError saying what is wrong."""
        if isinstance(data, RootPath):
            return data
        if not isinstance(data, dict) or len(set(data) & {"waypoints", "curve"}) != 1:
            raise PathError('a path must be {"waypoints": [...]} or {"curve": [[x, z], ...]}, got '
                            f"{_short(data)}")
        if "curve" in data:
            return cls(curve=_parse_curve(data["curve"]))
        return cls(waypoints=_parse_waypoints(data["waypoints"]))

    def to_json(self) -> dict:
        if self.curve:
            return {"curve": [list(p) for p in self.curve]}
        return {"waypoints": [{**({"frame": f} if f is not None else {"time": t}), "x": x, "z": z}
                              for f, t, x, z in self.waypoints]}

    @property
    def length(self) -> float:
        """A curve's length (m); 0 for waypoints."""
        return float(np.linalg.norm(np.diff(np.asarray(self.curve, dtype=np.float64), axis=0), axis=1).sum()) \
            if len(self.curve) > 1 else 0.0

    def frames(self, fps: float, num_frames: int | None = None) -> list[int]:
        """Each waypoint's frame (times rounded to the nearest frame); PathError for one beyond the clip, or
        for frames that do not increase."""
        frames = [f if f is not None else int(round(t * fps)) for f, t, _, _ in self.waypoints]
        for (f, t, _, _), frame in zip(self.waypoints, frames):
            if num_frames is not None and frame >= num_frames:
                when = f"frame {f}" if f is not None else f"time {t:g} s (frame {frame})"
                raise PathError(f"path waypoint at {when} is beyond the clip ({num_frames} frames, last frame "
                                f"{num_frames - 1}); make the clip longer or the path shorter")
        if any(b <= a for a, b in zip(frames, frames[1:])):
            raise PathError(f"path waypoints must be in time order, one per frame; their frames are {frames}")
        return frames


def _short(value) -> str:
    return repr(value)[:80]


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PathError(f"{what} must be a finite number, got {_short(value)}")
    return float(value)


def _parse_waypoints(items) -> tuple:
    if not isinstance(items, list) or not items:
        raise PathError("path waypoints must be a non-empty list of {\"frame\" or \"time\", \"x\", \"z\"}")
    if len(items) > MAX_WAYPOINTS:
        raise PathError(f"a path has at most {MAX_WAYPOINTS} waypoints, got {len(items)}")
    parsed = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or len(set(item) & {"frame", "time"}) != 1:
            raise PathError(f"path waypoint {i} must have exactly one of \"frame\" and \"time\", got {_short(item)}")
        frame = time = None
        if "frame" in item:
            frame = item["frame"]
            if isinstance(frame, float) and frame.is_integer():
                frame = int(frame)
            if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
                raise PathError(f"path waypoint {i}: frame must be a whole number >= 0, got {_short(frame)}")
        else:
            time = _number(item["time"], f"path waypoint {i}: time")
            if time < 0:
                raise PathError(f"path waypoint {i}: time must be >= 0, got {time:g}")
        parsed.append((frame, time, _number(item.get("x"), f"path waypoint {i}: x"),
                       _number(item.get("z"), f"path waypoint {i}: z")))
    if len(parsed) == 1 and (parsed[0][0] == 0 or parsed[0][1] == 0):
        raise PathError("a path needs a waypoint after the start (frame 0); only a start point was given")
    return tuple(parsed)


def _parse_curve(points) -> tuple:
    if not isinstance(points, list) or len(points) < 2:
        raise PathError("a path curve must be a list of at least 2 [x, z] points")
    if len(points) > MAX_CURVE_POINTS:
        raise PathError(f"a path curve has at most {MAX_CURVE_POINTS} points, got {len(points)}")
    parsed = []
    for i, point in enumerate(points):
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise PathError(f"path curve point {i} must be [x, z], got {_short(point)}")
        parsed.append((_number(point[0], f"path curve point {i}: x"), _number(point[1], f"path curve point {i}: z")))
    length = sum(math.dist(a, b) for a, b in zip(parsed, parsed[1:]))
    if length < 1e-3:
        raise PathError("a path curve must have some length; its points all coincide")
    return tuple(parsed)


# ---- targets -------------------------------------------------------------------------------------------------

def _smooth(x: np.ndarray, sigma: float = SMOOTH_FRAMES) -> np.ndarray:
    """Gaussian smoothing along axis 0. Padded by point reflection, which keeps a steady drift steady up to the
    clip's ends (edge padding would slow a walk's smoothed track down near its first and last frames)."""
    x = np.asarray(x, dtype=np.float64)
    radius = int(4 * sigma + 0.5)
    if len(x) < 2 or radius == 0:
        return x.copy()
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x, ((radius, radius), (0, 0)), mode="reflect", reflect_type="odd")
    return np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(x.shape[1])], axis=1)


def _catmull_rom(frames: np.ndarray, points: np.ndarray, num: int) -> np.ndarray:
    """(num, 2) track through `points` (K, 2) at `frames` (K,), cubic Hermite with Catmull-Rom tangents in time;
    frames after the last knot get the last point (callers replace them)."""
    t = np.arange(num, dtype=np.float64)
    if len(frames) == 1:
        return np.repeat(points, num, axis=0)
    tangents = np.gradient(points, frames.astype(np.float64), axis=0, edge_order=1)
    seg = np.clip(np.searchsorted(frames, t, side="right") - 1, 0, len(frames) - 2)
    f0, f1 = frames[seg].astype(np.float64), frames[seg + 1].astype(np.float64)
    h = f1 - f0
    s = np.clip((t - f0) / h, 0.0, 1.0)[:, None]
    h00, h10, h01, h11 = 2 * s ** 3 - 3 * s ** 2 + 1, s ** 3 - 2 * s ** 2 + s, -2 * s ** 3 + 3 * s ** 2, s ** 3 - s ** 2
    return (h00 * points[seg] + h10 * h[:, None] * tangents[seg] + h01 * points[seg + 1]
            + h11 * h[:, None] * tangents[seg + 1])


def _along_curve(curve: np.ndarray, distance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 2) and unit tangents (N, 2) at arc lengths `distance` along a polyline, straight on past its end."""
    seg_len = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    keep = np.concatenate(([True], seg_len > 1e-9))
    curve = curve[keep]
    seg_len = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    cum = np.concatenate(([0.0], np.cumsum(seg_len)))
    seg = np.clip(np.searchsorted(cum, distance, side="right") - 1, 0, len(seg_len) - 1)
    direction = np.diff(curve, axis=0) / seg_len[:, None]
    points = curve[seg] + (distance - cum[seg])[:, None] * direction[seg]
    # Tangents averaged over ~0.25 m of arc, so a dense hand-drawn polyline does not make the body twitch.
    window = 0.25
    lo = np.clip(np.searchsorted(cum, distance - window, side="right") - 1, 0, len(curve) - 1)
    hi = np.clip(np.searchsorted(cum, distance + window, side="left"), 0, len(curve) - 1)
    chord = curve[hi] - curve[lo]
    norm = np.linalg.norm(chord, axis=1, keepdims=True)
    tangents = np.where(norm > 1e-9, chord / np.maximum(norm, 1e-12), direction[seg])
    return points, tangents


def ground_travel(root_xz: np.ndarray) -> float:
    """How far (m) a root track (T, 2) travels, measured as a curve is paced (`path_targets`, `follow_path`)."""
    track = _smooth(np.asarray(root_xz, dtype=np.float64))
    return float(np.linalg.norm(np.diff(track, axis=0), axis=1).sum())


def path_targets(path: RootPath, root_xz: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(target (T, 2), on_path (T,) bool): where the path puts the root's ground point at each frame, for a
    motion whose own root track is `root_xz` (T, 2) (used by curves for the pace). Frames after a waypoint
    path's last waypoint, or once a take has travelled a curve's whole length, are not on it."""
    root_xz = np.asarray(root_xz, dtype=np.float64)
    num = len(root_xz)
    if path.curve:
        curve = np.asarray(path.curve, dtype=np.float64)
        travelled = np.concatenate(([0.0], np.cumsum(np.linalg.norm(np.diff(root_xz, axis=0), axis=1))))
        length = path.length
        return _along_curve(curve, travelled)[0], travelled <= length
    frames = np.asarray(path.frames(fps, num))
    points = np.asarray([(x, z) for _, _, x, z in path.waypoints], dtype=np.float64)
    if frames[0] != 0:
        frames, points = np.concatenate(([0], frames)), np.concatenate((root_xz[:1], points))
    return _catmull_rom(frames, points, num), np.arange(num) <= frames[-1]


# ---- following -------------------------------------------------------------------------------------------------

def _headings(track: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(yaw (T,) of the direction of travel, moving (T,) bool) of a ground track (T, 2); yaw 0 is +z, positive
    towards +x (as `generation.extend.facing_yaw`)."""
    velocity = np.gradient(track, axis=0) * fps if len(track) > 1 else np.zeros_like(track)
    return np.arctan2(velocity[:, 0], velocity[:, 1]), np.linalg.norm(velocity, axis=1) > MIN_SPEED


def _body_yaw(joints: np.ndarray, face_joints) -> np.ndarray:
    r_hip, l_hip, r_sho, l_sho = face_joints
    across = (joints[:, r_hip] - joints[:, l_hip]) + (joints[:, r_sho] - joints[:, l_sho])
    return np.arctan2(across[:, 2], -across[:, 0])


def _turn_angles(own: np.ndarray, own_moving: np.ndarray, target: np.ndarray, target_moving: np.ndarray,
                 fallback: np.ndarray) -> np.ndarray:
    """Per-frame turn (T,) taking the motion's direction of travel onto the path's, unwrapped and smooth; frames
    where either does not travel take their neighbours' turn. A motion that never travels turns its body
    (`fallback` yaw) onto the path's direction instead."""
    if own_moving.sum() < 2:
        own, own_moving = fallback, np.ones_like(own_moving)
    valid = own_moving & target_moving
    if not valid.any():
        return np.zeros(len(own))
    raw = np.angle(np.exp(1j * (target - own)))
    idx = np.flatnonzero(valid)
    turn = np.interp(np.arange(len(own)), idx, np.unwrap(raw[idx]))
    return _smooth(turn[:, None])[:, 0]


def follow_path_joints(joints: np.ndarray, path: RootPath, fps: float, face_joints) -> np.ndarray:
    """Joints (T, J, 3) moved onto `path` (see the module doc); `face_joints` as `Skeleton.face_joints`."""
    joints = np.asarray(joints, dtype=np.float64)
    root = joints[:, 0, _GROUND]
    track = _smooth(root, TRACK_SECONDS * fps)             # about a stride: the direction of travel
    own_yaw, own_moving = _headings(track, fps)
    # The stride's side-to-side sway is the motion's own: it rides on the path (taking it out would drag planted
    # feet sideways), except at waypoints, which are met exactly. Along the path, the path sets the pace.
    sway = root - track
    along = np.stack((np.sin(own_yaw), np.cos(own_yaw)), axis=1)
    sway -= np.where(own_moving[:, None], (sway * along).sum(1, keepdims=True) * along, 0.0)
    target, on_path = path_targets(path, _smooth(root), fps)
    target_yaw, target_moving = _headings(_smooth(target, TRACK_SECONDS * fps), fps)
    target_moving &= on_path
    body = _smooth(_body_yaw(joints, face_joints)[:, None], TRACK_SECONDS * fps)[:, 0]
    turn = _turn_angles(own_yaw, own_moving, target_yaw, target_moving, body)
    last = int(np.flatnonzero(on_path)[-1])
    turn[last + 1:] = turn[last]
    after = np.arange(len(root)) > last   # past the last waypoint: the motion's own travel, turned as it arrived
    own = root - sway
    target[after] = target[last] + _rotate(own[after] - own[last], turn[last])
    kept = (1.0 - _waypoint_weights(path, len(root), fps))[:, None] * sway   # the root lands at target + kept
    return _place(joints, root - kept, target, turn)


def _rotate(xz: np.ndarray, angle) -> np.ndarray:
    """Ground vectors (N, 2) turned about +y by `angle` (scalar or (N,)), in `facing_yaw`'s sense."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack((c * xz[:, 0] + s * xz[:, 1], -s * xz[:, 0] + c * xz[:, 1]), axis=1)


def _waypoint_weights(path: RootPath, num: int, fps: float, radius: int = 4) -> np.ndarray:
    """(T,) 1 at waypoint frames, easing (cosine) to 0 over `radius` frames: where the sway is taken out."""
    weights = np.zeros(num)
    if path.curve:
        return weights
    t = np.arange(num)
    for frame in path.frames(fps, num):
        gap = np.abs(t - frame)
        weights = np.maximum(weights, np.where(gap <= radius, 0.5 * (1 + np.cos(np.pi * gap / (radius + 1))), 0.0))
    return weights


def _place(joints: np.ndarray, root: np.ndarray, target: np.ndarray, turn: np.ndarray) -> np.ndarray:
    """Each frame's pose turned by `turn` about the vertical through `root` (T, 2), that point moved to `target`."""
    local = joints.copy()
    local[..., 0] -= root[:, None, 0]
    local[..., 2] -= root[:, None, 1]
    c, s = np.cos(turn)[:, None], np.sin(turn)[:, None]
    out = local.copy()
    out[..., 0] = c * local[..., 0] + s * local[..., 2] + target[:, None, 0]
    out[..., 2] = -s * local[..., 0] + c * local[..., 2] + target[:, None, 1]
    return out


def follow_path(motions: list[Motion], path: RootPath) -> list[Motion]:
    """Equally long motions moved onto `path`, rotations re-solved on their own offsets (one IK pass);
    ``meta["path"]`` records the path (JSON)."""
    if not motions:
        return []
    skeleton = motions[0].skeleton
    joints = np.stack([follow_path_joints(m.joints, path, m.fps, skeleton.face_joints) for m in motions])
    offsets = np.stack([m.offsets for m in motions]).astype(np.float64)
    moved = Motion.batch_from_joints(joints, skeleton, motions[0].fps, [m.meta for m in motions], offsets=offsets)
    for motion in moved:
        motion.meta["path"] = path_json(path)
    return moved


def path_json(path: RootPath) -> str:
    import json
    return json.dumps(path.to_json(), separators=(",", ":"))


def path_deviation(joints: np.ndarray, path: RootPath, fps: float) -> dict:
    """How far the root's ground point is from the path: mean and max over the frames on it (cm), and, for
    waypoints, the largest miss at a waypoint (cm). For a curve: distance to the nearest point of the polyline,
    over the frames before the take has travelled its length (`past_end_share`: the share of frames after)."""
    root = np.asarray(joints, dtype=np.float64)[:, 0, _GROUND]
    if path.curve:
        on_path = path_targets(path, _smooth(root), fps)[1]
        dist = distance_to_polyline(root[on_path], np.asarray(path.curve, dtype=np.float64))
        return {"mean_cm": float(dist.mean() * 100), "max_cm": float(dist.max() * 100),
                "past_end_share": float(1.0 - on_path.mean())}
    target, on_path = path_targets(path, root, fps)
    dist = np.linalg.norm(root - target, axis=1)[on_path]
    frames = path.frames(fps, len(root))
    points = np.asarray([(x, z) for _, _, x, z in path.waypoints])
    at_waypoints = np.linalg.norm(root[frames] - points, axis=1)
    return {"mean_cm": float(dist.mean() * 100), "max_cm": float(dist.max() * 100),
            "waypoint_max_cm": float(at_waypoints.max() * 100)}


def distance_to_polyline(points: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Distance of each ground point (N, 2) to the nearest point of a polyline (M, 2)."""
    a, b = curve[:-1], curve[1:]
    ab = b - a
    t = np.clip(((points[:, None] - a[None]) * ab[None]).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0, 1)
    nearest = a[None] + t[..., None] * ab[None]
    return np.linalg.norm(points[:, None] - nearest, axis=-1).min(axis=1)

"""Biovision Hierarchy (.bvh) files: writing a `Motion`, and a small reader for checking them.

BVH semantics used here (those of Blender's importer and most tools): a joint's position is its parent's
position plus the parent's global rotation applied to (OFFSET + its position channels); its rotation is the
product of the axis rotations *in the order the channels are listed*, so ``Zrotation Xrotation Yrotation``
means R = Rz @ Rx @ Ry. Angles are in degrees. The root sits at OFFSET 0 0 0 so its position channels are
plain world positions, whichever convention a reader follows for root offsets.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_core.formats.atomic_file import atomic_write

from motion_core.kinematics.quaternion import qto_matrix

__all__ = ["write_bvh", "read_bvh", "BvhData", "BvhError", "matrix_to_euler", "euler_to_matrix"]

_AXES = {"X": 0, "Y": 1, "Z": 2}
# Limits for reading untrusted files: far beyond any real rig or clip, small enough to fail fast.
MAX_BVH_BYTES = 256 << 20
MAX_BVH_JOINTS = 1024
_CHANNEL_RE = re.compile(r"[XYZ](position|rotation)", re.IGNORECASE)


def _check_order(order: str) -> str:
    order = order.upper()
    if sorted(order) != ["X", "Y", "Z"]:
        raise ValueError(f"rotation_order must be a permutation of 'XYZ' (e.g. 'ZXY'), got {order!r}")
    return order


def _axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """Matrices (..., 3, 3) turning by `angle` radians about coordinate axis 0/1/2."""
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros(np.shape(angle) + (3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    m[..., axis, axis] = 1.0
    m[..., i, i], m[..., i, j], m[..., j, i], m[..., j, j] = c, -s, s, c
    return m


def euler_to_matrix(angles: np.ndarray, order: str) -> np.ndarray:
    """Rotation matrices from angles (..., 3) in radians, applied as R = R[order[0]] @ R[order[1]] @ R[order[2]]."""
    order = _check_order(order)
    m = _axis_rotation(_AXES[order[0]], angles[..., 0])
    for n in (1, 2):
        m = m @ _axis_rotation(_AXES[order[n]], angles[..., n])
    return m


def matrix_to_euler(m: np.ndarray, order: str) -> np.ndarray:
    """Angles (..., 3) in radians with euler_to_matrix(angles, order) == m (inverse of the above).

    For R = Ri(a) Rj(b) Rk(c) the entry R[i, k] is +-sin(b) (sign from the parity of i, j, k) and the
    entries beside it give a and c. At gimbal lock (cos b ~ 0) only a +- c is defined; c is set to 0.
    """
    order = _check_order(order)
    i, j, k = (_AXES[a] for a in order)
    sign = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    b = np.arcsin(np.clip(sign * m[..., i, k], -1.0, 1.0))
    a = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    c = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    locked = np.abs(np.cos(b)) < 1e-6
    if np.any(locked):
        a = np.where(locked, np.arctan2(sign * m[..., k, j], m[..., j, j]), a)
        c = np.where(locked, 0.0, c)
    return np.stack((a, b, c), axis=-1)


# --------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------

def _end_site(offset: np.ndarray) -> np.ndarray:
    """A leaf's End Site: along its own bone, half its length (never shorter than 2 cm), so importers
    that draw bones from head to tail give feet, head and hands a visible bone of sensible length."""
    length = np.linalg.norm(offset)
    direction = offset / length if length > 1e-9 else np.array([0.0, 1.0, 0.0])
    return direction * max(0.5 * length, 0.02)


def _hierarchy_lines(motion, scale: float, order: str) -> list[str]:
    skeleton = motion.skeleton
    rotation_channels = " ".join(f"{axis}rotation" for axis in order)
    lines = ["HIERARCHY"]

    def fmt(v):
        return " ".join(f"{x:.6f}" for x in v)

    def visit(joint: int, depth: int) -> None:
        pad = "\t" * depth
        name = skeleton.joint_names[joint]
        if joint == 0:
            lines.extend([f"ROOT {name}", "{", f"\tOFFSET {fmt(np.zeros(3))}",
                          f"\tCHANNELS 6 Xposition Yposition Zposition {rotation_channels}"])
        else:
            lines.extend([f"{pad}JOINT {name}", f"{pad}{{", f"{pad}\tOFFSET {fmt(motion.offsets[joint] * scale)}",
                          f"{pad}\tCHANNELS 3 {rotation_channels}"])
        children = skeleton.children(joint)
        for child in children:
            visit(child, depth + 1)
        if not children:
            end = _end_site(motion.offsets[joint].astype(np.float64)) * scale
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {fmt(end)}", f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    visit(0, 0)
    return lines


def _motion_values(motion, scale: float, order: str) -> np.ndarray:
    """(T, 3 + 3J) channel values in hierarchy (depth-first) order."""
    euler = matrix_to_euler(qto_matrix(motion.rotations.astype(np.float64)), order)       # (T, J, 3)
    # Unwrap each angle curve so it never jumps by 360 degrees between frames (same rotations, smooth curves).
    degrees = np.degrees(np.unwrap(euler, axis=0))
    columns = [motion.root_translation.astype(np.float64) * scale]
    for joint in _depth_first(motion.skeleton):
        columns.append(degrees[:, joint])
    return np.concatenate(columns, axis=1)


def _depth_first(skeleton) -> list[int]:
    order, stack = [], [0]
    while stack:
        joint = stack.pop()
        order.append(joint)
        stack.extend(reversed(skeleton.children(joint)))
    return order


def write_bvh(motion, path, scale: float = 1.0, rotation_order: str = "ZXY") -> Path:
    """Write `motion` as a BVH file; `scale` multiplies all lengths (e.g. 100 for centimetres).

    The file is written to a temporary name beside `path` and moved into place, so an error never leaves a
    truncated file behind. Returns the path.
    """
    order = _check_order(rotation_order)
    motion.validate()   # edited arrays holding NaN would be written as literal "nan"
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale}")
    bad = [n for n in motion.skeleton.joint_names if not re.fullmatch(r"[A-Za-z0-9_.:\-]+", n)]
    if bad:
        raise ValueError(f"joint names must not contain spaces or braces for BVH: {bad}")
    path = Path(path)
    lines = _hierarchy_lines(motion, scale, order)
    lines += ["MOTION", f"Frames: {motion.num_frames}", f"Frame Time: {1.0 / motion.fps:.8f}"]
    values = _motion_values(motion, scale, order)
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in values)
    with atomic_write(path, "w", encoding="ascii", newline="\n") as handle:
        handle.write("\n".join(lines) + "\n" + body + "\n")
    return path


# --------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------

@dataclass
class BvhData:
    names: list[str]
    parents: list[int]
    offsets: np.ndarray            # (J, 3)
    channels: list[tuple[str, ...]]
    frame_time: float
    values: np.ndarray             # (T, total channels) as stored
    positions: np.ndarray          # (T, J, 3) world joint positions by forward kinematics
    end_sites: dict[int, np.ndarray]

    @property
    def num_frames(self) -> int:
        return self.values.shape[0]


class BvhError(ValueError):
    """A malformed, hostile or unsupported BVH file."""


def _number(token: str, what: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise BvhError(f"{what}: expected a number, got {token[:40]!r}") from None
    if not np.isfinite(value):
        raise BvhError(f"{what}: {token[:40]!r} is not a finite number")
    return value


def _parse_hierarchy(tokens: list[str]):
    names, parents, offsets, channels, end_sites = [], [], [], [], {}
    stack: list[int] = []   # joint index per open brace, -2 for an End Site block
    pos = 0

    def take(n: int) -> list[str]:
        nonlocal pos
        if pos + n > len(tokens):
            raise BvhError("unexpected end of file in HIERARCHY")
        out = tokens[pos:pos + n]
        pos += n
        return out

    if take(1) != ["HIERARCHY"]:
        raise BvhError("file does not start with HIERARCHY")
    while True:
        (word,) = take(1)
        if word in ("ROOT", "JOINT"):
            if (word == "ROOT") != (not stack) or (stack and stack[-1] < 0):
                raise BvhError(f"{word} in the wrong place")
            (name,) = take(1)
            if len(names) >= MAX_BVH_JOINTS:
                raise BvhError(f"more than {MAX_BVH_JOINTS} joints")
            names.append(name)
            parents.append(stack[-1] if stack else -1)
            offsets.append(np.zeros(3))
            channels.append(())
            if take(1) != ["{"]:
                raise BvhError(f"expected '{{' after {word} {name}")
            stack.append(len(names) - 1)
        elif word == "End":
            if take(2) != ["Site", "{"] or not stack:
                raise BvhError("malformed End Site")
            stack.append(-2)
        elif word == "OFFSET":
            if not stack:
                raise BvhError("OFFSET outside a joint")
            values = np.array([_number(v, "OFFSET") for v in take(3)])
            if stack[-1] == -2:
                end_sites[stack[-2]] = values
            else:
                offsets[stack[-1]] = values
        elif word == "CHANNELS":
            if not stack or stack[-1] < 0 or channels[stack[-1]]:
                raise BvhError("CHANNELS outside a joint, in an End Site, or given twice")
            (count,) = take(1)
            if count not in ("0", "1", "2", "3", "4", "5", "6"):
                raise BvhError(f"CHANNELS count must be 0-6, got {count[:20]!r}")
            listed = tuple(take(int(count)))
            bad = [c for c in listed if not _CHANNEL_RE.fullmatch(c)]
            if bad:
                raise BvhError(f"unknown channel(s) {bad[:3]}")
            channels[stack[-1]] = listed
        elif word == "}":
            if not stack:
                raise BvhError("unbalanced '}' in HIERARCHY")
            stack.pop()
            if not stack:
                if take(1) != ["MOTION"]:
                    raise BvhError("expected MOTION after the hierarchy (one ROOT per file)")
                return names, parents, np.array(offsets), channels, end_sites, pos
        else:
            raise BvhError(f"unexpected token {word!r} in HIERARCHY")


def _bvh_forward_kinematics(values, parents, offsets, channels) -> np.ndarray:
    num_frames = values.shape[0]
    positions = np.zeros((num_frames, len(parents), 3))
    rotations = np.zeros((num_frames, len(parents), 3, 3))
    column = 0
    for j, (parent, chans) in enumerate(zip(parents, channels)):
        translation = np.broadcast_to(offsets[j], (num_frames, 3)).copy()
        rotation = np.broadcast_to(np.eye(3), (num_frames, 3, 3))
        for name in chans:
            axis, kind = _AXES[name[0].upper()], name[1:].lower()
            if kind == "position":
                translation[:, axis] += values[:, column]
            elif kind == "rotation":
                rotation = rotation @ _axis_rotation(axis, np.radians(values[:, column]))
            else:
                raise BvhError(f"unknown channel {name!r}")
            column += 1
        if parent < 0:
            positions[:, j], rotations[:, j] = translation, rotation
        else:
            positions[:, j] = positions[:, parent] + np.einsum("tij,tj->ti", rotations[:, parent], translation)
            rotations[:, j] = rotations[:, parent] @ rotation
    return positions


def read_bvh(path) -> BvhData:
    """Parse a BVH file and compute its joint positions; raises BvhError on malformed input.

    Files are treated as untrusted: size, joint count, channel names and every number are checked (no NaN or
    infinity), and the frame count must match the data actually present, so hostile files fail fast.
    """
    path = Path(path)
    if path.stat().st_size > MAX_BVH_BYTES:
        raise BvhError(f"{path} is larger than {MAX_BVH_BYTES >> 20} MiB")
    try:
        tokens = path.read_text(encoding="utf-8", errors="strict").split()
    except UnicodeDecodeError as exc:
        raise BvhError(f"{path} is not UTF-8 text: {exc}") from None
    names, parents, offsets, channels, end_sites, pos = _parse_hierarchy(tokens)
    if tokens[pos:pos + 1] != ["Frames:"] or tokens[pos + 2:pos + 4] != ["Frame", "Time:"] or len(tokens) < pos + 5:
        raise BvhError("expected 'Frames:' and 'Frame Time:' after MOTION")
    if not tokens[pos + 1].isdigit():
        raise BvhError(f"Frames: expected a non-negative integer, got {tokens[pos + 1][:40]!r}")
    num_frames, frame_time = int(tokens[pos + 1]), _number(tokens[pos + 4], "Frame Time")
    if frame_time <= 0:
        raise BvhError(f"Frame Time must be positive, got {frame_time}")
    width = sum(len(c) for c in channels)
    numbers = tokens[pos + 5:]
    if len(numbers) != num_frames * width:
        raise BvhError(f"MOTION has {len(numbers)} values; expected {num_frames} frames x {width} channels")
    try:
        values = np.array(numbers, dtype=np.float64).reshape(num_frames, width)
    except ValueError:
        raise BvhError("MOTION holds a value that is not a number") from None
    if not np.isfinite(values).all():
        raise BvhError("MOTION holds NaN or infinite values")
    return BvhData(names=names, parents=parents, offsets=offsets, channels=channels, frame_time=frame_time,
                   values=values, positions=_bvh_forward_kinematics(values, parents, offsets, channels),
                   end_sites=end_sites)

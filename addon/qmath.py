"""Rotation helpers in plain numpy for the add-on (Blender's Python has numpy, not torch).

Quaternions are (w, x, y, z) in the last axis; rotations are active and right-handed, and ``quat_mul(a, b)``
applies ``b`` first (the same order as ``matrix(a) @ matrix(b)``). Matrices are (..., 3, 3) and act on column
vectors, like Blender's ``mathutils.Matrix``.
"""
from __future__ import annotations

import numpy as np

_EPS = 1e-12


def quat_normalize(q: np.ndarray) -> np.ndarray:
    return q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), _EPS)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack((
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ), axis=-1)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(quat_normalize(np.asarray(q, dtype=np.float64)), -1, 0)
    m = np.stack((
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ), axis=-1)
    return m.reshape(m.shape[:-1] + (3, 3))


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrices -> unit quaternions with w >= 0 (Shepperd's method: pick the largest diagonal term
    so the square root never sees a tiny, noise-dominated value)."""
    m = np.asarray(m, dtype=np.float64)
    flat = m.reshape(-1, 3, 3)
    q = np.empty((flat.shape[0], 4))
    tr = flat[:, 0, 0] + flat[:, 1, 1] + flat[:, 2, 2]
    diag = np.stack((tr, flat[:, 0, 0], flat[:, 1, 1], flat[:, 2, 2]), axis=1)
    case = diag.argmax(axis=1)
    for c in range(4):
        sel = case == c
        if not sel.any():
            continue
        r = flat[sel]
        if c == 0:
            s = np.sqrt(1.0 + tr[sel]) * 2
            q[sel] = np.stack((0.25 * s, (r[:, 2, 1] - r[:, 1, 2]) / s, (r[:, 0, 2] - r[:, 2, 0]) / s,
                               (r[:, 1, 0] - r[:, 0, 1]) / s), axis=1)
        elif c == 1:
            s = np.sqrt(1.0 + r[:, 0, 0] - r[:, 1, 1] - r[:, 2, 2]) * 2
            q[sel] = np.stack(((r[:, 2, 1] - r[:, 1, 2]) / s, 0.25 * s, (r[:, 0, 1] + r[:, 1, 0]) / s,
                               (r[:, 0, 2] + r[:, 2, 0]) / s), axis=1)
        elif c == 2:
            s = np.sqrt(1.0 + r[:, 1, 1] - r[:, 0, 0] - r[:, 2, 2]) * 2
            q[sel] = np.stack(((r[:, 0, 2] - r[:, 2, 0]) / s, (r[:, 0, 1] + r[:, 1, 0]) / s, 0.25 * s,
                               (r[:, 1, 2] + r[:, 2, 1]) / s), axis=1)
        else:
            s = np.sqrt(1.0 + r[:, 2, 2] - r[:, 0, 0] - r[:, 1, 1]) * 2
            q[sel] = np.stack(((r[:, 1, 0] - r[:, 0, 1]) / s, (r[:, 0, 2] + r[:, 2, 0]) / s,
                               (r[:, 1, 2] + r[:, 2, 1]) / s, 0.25 * s), axis=1)
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return quat_normalize(q).reshape(m.shape[:-2] + (4,))


def quat_make_continuous(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 (time) so consecutive quaternions lie in the same hemisphere; q and -q are the
    same rotation, but F-curves interpolate component-wise and would swing through a wrong pose at a flip."""
    q = np.array(q, dtype=np.float64, copy=True)
    for t in range(1, q.shape[0]):
        flip = (q[t] * q[t - 1]).sum(-1) < 0
        q[t][flip] *= -1
    return q


def quat_slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation; ``t`` broadcasts against the leading axes of ``a``/``b``."""
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = (a * b).sum(-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    near = sin < 1e-6   # nearly identical rotations: linear interpolation is exact enough and stable
    wa = np.where(near, 1 - t, np.sin((1 - t) * theta) / np.where(near, 1.0, sin))
    wb = np.where(near, t, np.sin(t * theta) / np.where(near, 1.0, sin))
    return quat_normalize(wa * a + wb * b)


def rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(3, 3) shortest-arc rotation taking direction ``u`` onto direction ``v``.

    For opposite directions the axis is any perpendicular: the result is still a valid rotation, just not a
    unique one (there is no shortest arc)."""
    u = np.asarray(u, dtype=np.float64) / max(np.linalg.norm(u), _EPS)
    v = np.asarray(v, dtype=np.float64) / max(np.linalg.norm(v), _EPS)
    axis = np.cross(u, v)
    s, c = np.linalg.norm(axis), float(np.dot(u, v))
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        perp = np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0])
        return axis_angle_to_matrix(perp, np.pi)
    return axis_angle_to_matrix(axis, np.arctan2(s, c))


def axis_angle_to_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / max(np.linalg.norm(axis), _EPS)
    half = 0.5 * angle
    return quat_to_matrix(np.concatenate(([np.cos(half)], np.sin(half) * axis)))


_AXIS = {"X": 0, "Y": 1, "Z": 2}


def matrix_to_euler(m: np.ndarray, order: str) -> np.ndarray:
    """(..., 3, 3) -> (..., 3) angles (x, y, z) for a Blender rotation mode such as 'XYZ'.

    Blender's 'XYZ' applies X first, then Y, then Z: ``R = Rz @ Ry @ Rx``. Angles come back in the x, y, z
    slots whatever the order, as ``PoseBone.rotation_euler`` stores them."""
    i, j, k = (_AXIS[a] for a in order)
    parity = 1.0 if (j - i) % 3 == 1 else -1.0   # even permutations of XYZ vs odd ones
    m = np.asarray(m, dtype=np.float64)
    # R = R_k(c) R_j(b) R_i(a); element (k, i) = -parity * sin(b).
    sin_b = np.clip(-parity * m[..., k, i], -1.0, 1.0)
    b = np.arcsin(sin_b)
    cos_b = np.sqrt(np.maximum(1 - sin_b * sin_b, 0))
    gimbal = cos_b < 1e-6
    a = np.where(gimbal, np.arctan2(-parity * m[..., j, k], m[..., j, j]),
                 np.arctan2(parity * m[..., k, j], m[..., k, k]))
    c = np.where(gimbal, 0.0, np.arctan2(parity * m[..., j, i], m[..., i, i]))
    out = np.zeros(m.shape[:-2] + (3,))
    out[..., i], out[..., j], out[..., k] = a, b, c
    return out


def euler_make_continuous(e: np.ndarray) -> np.ndarray:
    """Unwrap each angle over time (axis 0) so F-curves never jump by 2*pi between frames."""
    return np.unwrap(np.asarray(e, dtype=np.float64), axis=0)

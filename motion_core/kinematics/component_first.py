"""Component-first numpy vector and quaternion kernels: vectors (3, ...), quaternions (w, x, y, z) as (4, ...).

The inverse kinematics (`motion_core.kinematics.rotations`) runs once per generated clip over every frame of a batch, so
its arithmetic is plain numpy. With the component axis first, every step runs over contiguous per-component
blocks (with it last, strided gathers made a batch's cross product several times slower). Conventions are
those of `motion_core.kinematics.quaternion` (active rotations, ``qmul(a, b)`` applies b first), whose torch round trip
per call cost more than the arithmetic here.
"""
from __future__ import annotations

import numpy as np

TINY = 1e-12
_NEXT, _PREV = np.array([1, 2, 0]), np.array([2, 0, 1])


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(0)


def norm(v: np.ndarray) -> np.ndarray:
    return np.sqrt(dot(v, v))


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(norm(v), TINY)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[_NEXT] * b[_PREV] - a[_PREV] * b[_NEXT]


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a*b (apply b, then a): (aw bw - a.b, aw b + bw a + a x b)."""
    w = a[0] * b[0] - dot(a[1:], b[1:])
    return np.concatenate((w[None], a[0] * b[1:] + b[0] * a[1:] + cross(a[1:], b[1:])))


def qconj(q: np.ndarray) -> np.ndarray:
    return np.concatenate((q[:1], -q[1:]))


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate v (3, ...) by unit q (4, ...): v + 2w (u x v) + 2 u x (u x v), u the vector part."""
    uv = cross(q[1:], v)
    return v + 2.0 * (q[0] * uv + cross(q[1:], uv))


def qbetween(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation turning direction u onto v: normalize(1 + u.v, u x v) for unit u, v.

    Opposite directions make that vanish; they get a half-turn about an axis perpendicular to u instead.
    """
    u, v = np.broadcast_arrays(unit(u), unit(v))
    q = np.concatenate(((dot(u, v) + 1.0)[None], cross(u, v)))
    length = np.maximum(norm(q), TINY)
    opposite = length < 1e-6
    if opposite.any():
        perpendicular = unit(cross(u, np.moveaxis(np.eye(3)[np.abs(u).argmin(0)], -1, 0)))
        half_turn = np.concatenate((np.zeros_like(u[:1]), perpendicular))
        return np.where(opposite, half_turn, q / length)
    return q / length


def qfrom_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation by `angle` (...) radians about unit `axis` (3, ...)."""
    half = 0.5 * angle
    return np.concatenate((np.cos(half)[None], np.sin(half) * axis))

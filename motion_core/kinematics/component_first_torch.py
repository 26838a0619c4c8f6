"""Component-first quaternion and vector kernels in torch: the GPU twins of `motion_core.kinematics.component_first`.

Same layout as the numpy kernels (components on axis 0: vectors (3, ...), quaternions (w, x, y, z) as (4, ...))
and the same formulas, with no data-dependent branch (no value is read back to the host), so the torch IK
(`motion_core.kinematics.rotations_torch`) can run in a CUDA graph.
"""
from __future__ import annotations

import torch

__all__ = ["TINY", "dot", "norm", "unit", "cross", "qmul", "qconj", "qrot", "qbetween", "qfrom_axis_angle", "ramp"]

TINY = 1e-12     # as motion_core.kinematics.component_first.TINY


def dot(a, b):
    """Dot products (...) of vectors (3, ...)."""
    return (a * b).sum(0)


def norm(v):
    """Lengths (...) of vectors (3, ...)."""
    return torch.sqrt(dot(v, v))


def unit(v):
    """Vectors (3, ...) scaled to unit length (zero vectors stay zero)."""
    return v / torch.clamp_min(norm(v), TINY)


def cross(a, b):
    """Cross products (3, ...) of vectors (3, ...), broadcast against each other."""
    a, b = torch.broadcast_tensors(a, b)
    return torch.linalg.cross(a, b, dim=0)


def qmul(a, b):
    """Quaternion products a b (4, ...)."""
    w = a[0] * b[0] - dot(a[1:], b[1:])
    return torch.cat((w[None], a[0] * b[1:] + b[0] * a[1:] + cross(a[1:], b[1:])))


def qconj(q):
    """Conjugates (inverses of unit quaternions) (4, ...)."""
    return torch.cat((q[:1], -q[1:]))


def qrot(q, v):
    """Vectors v (3, ...) rotated by unit quaternions q (4, ...)."""
    uv = cross(q[1:], v)
    return v + 2.0 * (q[0] * uv + cross(q[1:], uv))


def qbetween(u, v, eye3):
    """Shortest-arc unit quaternions (4, ...) turning u onto v (3, ...), as component_first.qbetween, with the
    half-turn for opposite directions always computed; `eye3` is a (3, 3) identity of the right dtype/device."""
    u, v = torch.broadcast_tensors(unit(u), unit(v))
    q = torch.cat(((dot(u, v) + 1.0)[None], cross(u, v)))
    length = torch.clamp_min(norm(q), TINY)
    perpendicular = unit(cross(u, torch.movedim(eye3[u.abs().argmin(0)], -1, 0)))
    half_turn = torch.cat((torch.zeros_like(u[:1]), perpendicular))
    return torch.where(length < 1e-6, half_turn, q / length)


def qfrom_axis_angle(axis, angle):
    """Unit quaternions (4, ...) turning by `angle` (radians) about unit `axis` (3, ...)."""
    half = 0.5 * angle
    return torch.cat((torch.cos(half)[None], torch.sin(half) * axis))


def ramp(x, lo: float, hi: float):
    """0 below lo, 1 above hi, linear between (`twist_references.ramp`)."""
    return torch.clamp((x - lo) / (hi - lo), 0.0, 1.0)


"""Quaternion algebra for motion data: (w, x, y, z) in the last dimension, any leading shape.

Every function takes torch tensors (any float dtype, any device, differentiable) or numpy arrays and returns
the same kind of array it was given: numpy inputs are run through torch and converted back, so there is one
implementation to test. Rotations are active and right-handed: ``qrot(q, v) = q v q*`` and ``qmul(a, b)``
applies ``b`` first, then ``a`` (the same order as the matrix product ``qto_matrix(a) @ qto_matrix(b)``).

The 6D rotation format follows HumanML3D: the first two *columns* of the rotation matrix, concatenated.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

__all__ = [
    "qnormalize", "qmul", "qinv", "qrot", "qbetween", "qfrom_axis_angle", "qto_matrix", "qfrom_matrix",
    "qto_cont6d", "cont6d_to_matrix", "qslerp", "qidentity",
]

_EPS = 1e-12


def _array_api(fn):
    """Let a torch implementation accept numpy arrays too and hand back the caller's array type.

    numpy inputs become torch tensors (float arrays keep their dtype, integer ones become float64); when a
    torch tensor is among the inputs, numpy inputs join its dtype and device. Python scalars pass through.
    The result is converted back to numpy only when no input was a torch tensor.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        values = list(args) + list(kwargs.values())
        ref = next((a for a in values if isinstance(a, torch.Tensor)), None)
        any_numpy = any(isinstance(a, np.ndarray) for a in values)

        def to_torch(a):
            if isinstance(a, np.ndarray):
                if ref is not None:
                    return torch.as_tensor(a, dtype=ref.dtype if ref.is_floating_point() else None, device=ref.device)
                t = torch.from_numpy(np.ascontiguousarray(a))
                return t if t.is_floating_point() else t.to(torch.float64)
            if isinstance(a, torch.Tensor) and not a.is_floating_point():
                return a.to(torch.get_default_dtype())
            return a

        out = fn(*[to_torch(a) for a in args], **{k: to_torch(v) for k, v in kwargs.items()})
        if ref is None and any_numpy:
            return out.detach().cpu().numpy()
        return out
    return wrapper


def _check_last(x: torch.Tensor, size: int, name: str) -> None:
    if x.shape[-1:] != (size,):
        raise ValueError(f"{name} must have last dimension {size}, got shape {tuple(x.shape)}")


def _safe_norm(x: torch.Tensor, keepdim: bool = True) -> torch.Tensor:
    """Euclidean norm along the last axis, clamped away from 0 so division and its gradient stay finite."""
    return torch.sqrt((x * x).sum(-1, keepdim=keepdim).clamp_min(_EPS * _EPS))


@_array_api
def qnormalize(q):
    """Scale quaternions to unit length."""
    _check_last(q, 4, "q")
    return q / _safe_norm(q)


@_array_api
def qmul(a, b):
    """Hamilton product a*b (apply b, then a). Leading shapes broadcast."""
    _check_last(a, 4, "a")
    _check_last(b, 4, "b")
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack((
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ), dim=-1)


@_array_api
def qinv(q):
    """Conjugate, which is the inverse of a unit quaternion."""
    _check_last(q, 4, "q")
    # Negation, not a product with a (1, -1, -1, -1) tensor: same values, and no host-to-device copy of that
    # tensor, which a CUDA-graph capture forbids (motion_core.kinematics.ik_graph captures this).
    return torch.cat((q[..., :1], -q[..., 1:]), dim=-1)


@_array_api
def qrot(q, v):
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4); leading shapes broadcast.

    Uses v' = v + 2w (u x v) + 2 u x (u x v) with u the vector part, which equals q v q* for unit q.
    """
    _check_last(q, 4, "q")
    _check_last(v, 3, "v")
    w, u = q[..., :1], q[..., 1:]
    u, v = torch.broadcast_tensors(u, v)
    uv = torch.cross(u, v, dim=-1)
    return v + 2.0 * (w * uv + torch.cross(u, uv, dim=-1))


def _any_perpendicular(u: torch.Tensor) -> torch.Tensor:
    """A unit vector perpendicular to each u, built from the axis u is least aligned with."""
    eye = torch.eye(3, dtype=u.dtype, device=u.device)
    axis = eye[u.abs().argmin(dim=-1)]
    perp = torch.cross(u, axis, dim=-1)
    return perp / _safe_norm(perp)


@_array_api
def qbetween(u, v):
    """Shortest-arc unit quaternion that turns direction u onto direction v (lengths are ignored).

    Built as normalize(|u||v| + u.v, u x v), which halves the angle without trigonometry. When u and v are
    (nearly) opposite that quaternion vanishes, so a half-turn about an axis perpendicular to u is used instead.
    """
    _check_last(u, 3, "u")
    _check_last(v, 3, "v")
    u, v = torch.broadcast_tensors(u, v)
    u = u / _safe_norm(u)
    v = v / _safe_norm(v)
    q = torch.cat(((u * v).sum(-1, keepdim=True) + 1.0, torch.cross(u, v, dim=-1)), dim=-1)
    norm = _safe_norm(q)
    opposite = norm < 1e-6
    if bool(opposite.any()):
        half_turn = torch.cat((torch.zeros_like(u[..., :1]), _any_perpendicular(u)), dim=-1)
        return torch.where(opposite, half_turn, q / norm)
    return q / norm


@_array_api
def qfrom_axis_angle(axis, angle):
    """Rotation by `angle` radians about `axis` (..., 3; normalised here). `angle` is (...) or a scalar."""
    _check_last(axis, 3, "axis")
    axis = axis / _safe_norm(axis)
    angle = torch.as_tensor(angle, dtype=axis.dtype, device=axis.device)[..., None]
    half = 0.5 * angle
    w, xyz = torch.broadcast_tensors(torch.cos(half), axis * torch.sin(half))
    return torch.cat((w[..., :1], xyz), dim=-1)


@_array_api
def qto_matrix(q):
    """Rotation matrices (..., 3, 3) of unit quaternions, so that R @ v == qrot(q, v)."""
    _check_last(q, 4, "q")
    w, x, y, z = q.unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )
    return torch.stack(rows, dim=-1).reshape(q.shape[:-1] + (3, 3))


@_array_api
def qfrom_matrix(m):
    """Unit quaternions (w >= 0) of rotation matrices (..., 3, 3).

    Shepperd's method: compute the quaternion four ways, each dividing by 4 times one component, and keep
    the way whose divisor is largest, so no branch ever divides by a small number (180-degree turns included).
    """
    if m.shape[-2:] != (3, 3):
        raise ValueError(f"m must have trailing shape (3, 3), got {tuple(m.shape)}")
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # 4*c^2 for c = w, x, y, z, from the diagonal.
    four_sq = torch.stack((
        1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22,
    ), dim=-1)
    # Candidate k holds 4*c_k*(w, x, y, z) from the off-diagonal sums/differences.
    candidates = torch.stack((
        torch.stack((four_sq[..., 0], m21 - m12, m02 - m20, m10 - m01), dim=-1),
        torch.stack((m21 - m12, four_sq[..., 1], m10 + m01, m02 + m20), dim=-1),
        torch.stack((m02 - m20, m10 + m01, four_sq[..., 2], m12 + m21), dim=-1),
        torch.stack((m10 - m01, m20 + m02, m21 + m12, four_sq[..., 3]), dim=-1),
    ), dim=-2)
    best = four_sq.argmax(dim=-1)
    index = best[..., None, None].expand(best.shape + (1, 4))
    q = torch.gather(candidates, -2, index).squeeze(-2)
    q = q / _safe_norm(q)
    return torch.where(q[..., :1] < 0, -q, q)


@_array_api
def qto_cont6d(q):
    """HumanML3D's continuous 6D rotation: the first two columns of the rotation matrix, (..., 6)."""
    mat = qto_matrix(q)
    return torch.cat((mat[..., 0], mat[..., 1]), dim=-1)


@_array_api
def cont6d_to_matrix(c):
    """Rotation matrices (..., 3, 3) from 6D vectors, Gram-Schmidt orthonormalising the two columns."""
    _check_last(c, 6, "c")
    x = c[..., 0:3] / _safe_norm(c[..., 0:3])
    z = torch.cross(x, c[..., 3:6], dim=-1)
    z = z / _safe_norm(z)
    y = torch.cross(z, x, dim=-1)
    return torch.stack((x, y, z), dim=-1)


@_array_api
def qslerp(a, b, t):
    """Spherical interpolation from a (t=0) to b (t=1) along the shorter arc; t broadcasts as (...)."""
    _check_last(a, 4, "a")
    _check_last(b, 4, "b")
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)[..., None]
    dot = (a * b).sum(-1, keepdim=True)
    b = torch.where(dot < 0, -b, b)
    dot = dot.abs().clamp(max=1.0)
    theta = torch.acos(dot)
    sin_theta = torch.sin(theta)
    near = sin_theta < 1e-6
    # Nearly equal quaternions: linear interpolation is exact to first order and avoids 0/0.
    safe_sin = torch.where(near, torch.ones_like(sin_theta), sin_theta)
    wa = torch.where(near, 1 - t, torch.sin((1 - t) * theta) / safe_sin)
    wb = torch.where(near, t, torch.sin(t * theta) / safe_sin)
    return qnormalize(wa * a + wb * b)


def qidentity(shape, like=None, dtype=None, device=None):
    """Identity quaternions of leading shape `shape`, i.e. an array of shape (*shape, 4).

    With `like` (a numpy array or torch tensor) the result matches its type, dtype and device; otherwise it
    is a torch tensor of `dtype` (default: torch's default dtype) on `device`.
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if isinstance(like, np.ndarray):
        out = np.zeros(shape + (4,), dtype=like.dtype if np.issubdtype(like.dtype, np.floating) else np.float64)
        out[..., 0] = 1
        return out
    if isinstance(like, torch.Tensor):
        dtype = dtype or (like.dtype if like.is_floating_point() else None)
        device = device or like.device
    out = torch.zeros(shape + (4,), dtype=dtype, device=device)
    out[..., 0] = 1
    return out


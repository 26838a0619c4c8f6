"""Best-fit rotations between point sets (the Kabsch problem), batched over frames.

`kabsch_quaternion` solves it in closed form with Horn's quaternion method (component-first arrays, see
`motion_core.kinematics.component_first`); `kabsch_matrix` is the textbook SVD solution, its fallback for the frames
where the closed form is ill-conditioned.
"""
from __future__ import annotations

import numpy as np

from motion_core.kinematics import component_first as cf
from motion_core.kinematics.quaternion import qfrom_matrix

__all__ = ["kabsch_quaternion", "kabsch_matrix", "HORN", "MINOR_ROWS", "MINOR_COLS", "COFACTOR_SIGNS"]

# Cofactor (i, k) of a 4x4 matrix is the determinant of the 3x3 minor without row i and column k: MINOR_ROWS and
# MINOR_COLS index the minors of all 16 at once, COFACTOR_SIGNS are their signs (shared with rigid_fit_torch).
MINOR_ROWS = np.array([[r for r in range(4) if r != i] for i in range(4)])[:, None, :, None]
MINOR_COLS = np.array([[c for c in range(4) if c != k] for k in range(4)])[None, :, None, :]
COFACTOR_SIGNS = (-1.0) ** np.add.outer(np.arange(4), np.arange(4))


def _det3(m) -> np.ndarray:
    """Determinants of 3x3 matrices given as m[row][column] (arrays of any common shape), written out."""
    (a, b, c), (d, e, f), (g, h, i) = m
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def _horn_entries(s) -> list:
    """Horn's symmetric, trace-free 4x4 matrix N (row-major list of 16 entries) of a cross-covariance
    s[a][b] = sum_c source_a target_b: for unit q, q.N.q = sum_c target_c . rotate(q, source_c)."""
    (xx, xy, xz), (yx, yy, yz), (zx, zy, zz) = s
    return [xx + yy + zz, yz - zy, zx - xz, xy - yx,
            yz - zy, xx - yy - zz, xy + yx, zx + xz,
            zx - xz, xy + yx, yy - xx - zz, yz + zy,
            xy - yx, zx + xz, yz + zy, zz - xx - yy]


# N is linear in S: one tensordot with this (4, 4, 3, 3) map (HORN) builds it for all frames at once.
HORN = np.array(_horn_entries(np.eye(9).reshape(3, 3, 9))).reshape(4, 4, 3, 3)


def kabsch_quaternion(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Unit quaternions (4, ...), w >= 0, of the rotations R minimising sum_c |R source_c - target_c|^2 over
    point sets (3, C, ...) (trailing shapes broadcast).

    Horn's method in closed form instead of one SVD per frame (~2.5 us each, once the bottleneck). With
    S = sum_c source_c target_c^T, the best quaternion is the top eigenvector of a symmetric trace-free 4x4
    matrix N(S). N's characteristic polynomial is x^4 - 2|S|^2 x^2 - 8 det(S) x + 2 tr(M^2) - tr(M)^2
    (M = S^T S); Newton's method finds its largest root lambda from the upper bound
    (sum |source|^2 + sum |target|^2) / 2, descending monotonically since all roots are real. Then
    adj(N - lambda I) has rank one: each column is a multiple of the eigenvector, the one with the largest
    diagonal entry the best conditioned. A (nearly) double top eigenvalue (collinear points) leaves the
    rotation ill-defined; those frames take the SVD solution instead.
    """
    s = (source[:, None] * target[None]).sum(2)             # (3, 3, ...) cross-covariance
    n = np.tensordot(HORN, s, axes=2)                       # (4, 4, ...)
    m = (s[:, :, None] * s[:, None, :]).sum(0)               # M = S^T S
    s_sq = m[0, 0] + m[1, 1] + m[2, 2]                        # |S|^2 = tr(M)
    c2, c1, c0 = -2 * s_sq, -8 * _det3(s), 2 * (m * m).sum((0, 1)) - s_sq * s_sq
    bound = 0.5 * (cf.dot(source, source).sum(0) + cf.dot(target, target).sum(0))
    x = np.broadcast_to(bound, s.shape[2:]).copy()
    tolerance, noise = 1e-15 * bound, 1e-14 * bound ** 4
    for _ in range(60):
        square = x * x
        slope = (4 * square + 2 * c2) * x + c1
        value = ((square + c2) * x + c1) * x + c0
        # Right of the root the value is positive; a value within rounding noise (~1e-15 |N|^4) means the
        # frame has arrived. Stepping on it would divide noise by a slope that is itself noise at a double
        # root (an exact fit of collinear points) and throw x anywhere.
        step = np.where((slope > 0) & (value > noise), value / np.where(slope > 0, slope, 1.0), 0.0)
        x -= step
        if np.all(step <= tolerance):
            break
    shifted = n - x * np.eye(4).reshape((4, 4) + (1,) * x.ndim)
    minors = shifted[MINOR_ROWS, MINOR_COLS]                # (4, 4, 3, 3, ...)
    cofactors = COFACTOR_SIGNS.reshape((4, 4) + (1,) * x.ndim) * _det3(np.moveaxis(minors, (2, 3), (0, 1)))
    diagonal = np.abs(np.stack([cofactors[k, k] for k in range(4)]))
    q = np.take_along_axis(cofactors, diagonal.argmax(0)[None, None], axis=1)[:, 0]   # symmetric: a column
    q = q / np.maximum(cf.norm(q), cf.TINY)
    # |cofactor_kk| ~ (product of the top eigenvalue's three gaps) * q_k^2; relative to |N|^3 ~ |S|^3 it
    # says how well-defined q is (its rounding error is ~1e-16 / relative gap).
    doubtful = diagonal.max(0) <= 1e-5 * (4 * s_sq) ** 1.5
    # Safety net: the top eigenvalue is at least every diagonal entry of N (a Rayleigh quotient).
    doubtful |= x < np.stack([n[k, k] for k in range(4)]).max(0) - 1e-12 * bound
    if doubtful.any():
        points = [np.moveaxis(np.broadcast_to(a, np.broadcast_shapes(source.shape, target.shape)), (0, 1), (-1, -2))
                  for a in (source, target)]
        q[:, doubtful] = np.moveaxis(qfrom_matrix(kabsch_matrix(*(p[doubtful] for p in points))), -1, 0)
    return np.where(q[0] < 0, -q, q)


def kabsch_matrix(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) R minimising sum_c |R source_c - target_c|^2 over points (..., C, 3)."""
    cov = np.einsum("...ci,...cj->...ij", target, source)
    u, _, vt = np.linalg.svd(cov)
    # Force a proper rotation (det +1): flip the least significant axis if SVD returned a reflection.
    det = np.sign(np.linalg.det(u @ vt))
    u[..., :, 2] *= det[..., None]
    return u @ vt

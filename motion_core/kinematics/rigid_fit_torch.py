"""Rigid fits in torch: Horn's closed-form Kabsch quaternion without data-dependent branches.

`kabsch_quaternion` is `motion_core.kinematics.rigid_fit.kabsch_quaternion` for the torch IK
(`motion_core.kinematics.rotations_torch`): a fixed number of Newton steps (`NEWTON_ITERATIONS`) instead of a
convergence test, and an always-computed, sync-free alternative (`top_eigenvector_by_squaring`) instead of
the SVD fallback, so that it never reads a value back to the host. `kabsch_constants` builds the tensors it
needs once per dtype and device.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from motion_core.kinematics.component_first_torch import TINY, dot, norm
from motion_core.kinematics.rigid_fit import COFACTOR_SIGNS, HORN, MINOR_COLS, MINOR_ROWS

__all__ = ["NEWTON_ITERATIONS", "FALLBACK_SQUARINGS", "KabschConstants", "kabsch_constants", "kabsch_quaternion",
           "top_eigenvector_by_squaring"]

# Horn's largest eigenvalue by Newton's method from an upper bound: a fixed count, since a data-dependent
# exit would need a read-back. Measured in float64: real and synthetic clips (the HumanML3D sample,
# bench_ik's clips and straight-limb clips of both skeletons) converge within 7 steps, after which x no
# longer moves at all (200 further steps change nothing); random point sets need up to 16 (uncorrelated
# ones, the worst; 28 from rigid_fit's looser start, see `_kabsch_quaternion`). Frames still moving after
# the last step take the alternative solution below, which is exact for them too (tested: 40,000 random
# sets agree with numpy to 2e-11 with any count from 8 up), so the count trades kernels, not accuracy.
NEWTON_ITERATIONS = 10
# Matrix squarings of that alternative: each squares the ratio of the second to the largest eigenvalue of
# N / bound + I, so a relative eigen-gap g leaves ~exp(-g 2^k) of the wrong eigenvector.
FALLBACK_SQUARINGS = 16


@dataclass(frozen=True)
class KabschConstants:
    """Tensors of Horn's method that depend only on dtype and device."""
    horn: torch.Tensor            # (4, 4, 3, 3)
    minor_rows: torch.Tensor
    minor_cols: torch.Tensor
    cofactor_signs: torch.Tensor  # (4, 4)
    eye4: torch.Tensor            # (4, 4)


def kabsch_constants(dtype: torch.dtype, device: torch.device) -> KabschConstants:
    """The `KabschConstants` as tensors of this dtype on this device."""
    as_float = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype, device=device)  # noqa: E731
    return KabschConstants(horn=as_float(HORN), minor_rows=torch.as_tensor(MINOR_ROWS, device=device),
                           minor_cols=torch.as_tensor(MINOR_COLS, device=device),
                           cofactor_signs=as_float(COFACTOR_SIGNS), eye4=as_float(np.eye(4)))


def _det3(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def _rows(m):
    """A (3, 3, ...) tensor as nested tuples of (...) tensors, for `_det3`."""
    return tuple(tuple(row.unbind(0)) for row in m.unbind(0))


def top_eigenvector_by_squaring(n, bound, consts):
    """A unit vector (4, ...) of the top eigenspace of Horn's N (4, 4, ...), with no branch and no SVD.

    N's eigenvalues lie in [-bound, bound] (q.N.q = sum_c target_c . R source_c), so B = N / bound + I is
    positive semi-definite with the same eigenvectors. Repeated squaring (renormalised by the trace) turns
    B into the projector onto its top eigenspace; of its columns, the one with the largest diagonal entry
    (= its squared length) is the best-conditioned eigenvector. Where the top eigenvalue is (nearly) double
    - the frames numpy sends to its SVD fallback - any vector of that space is an optimal rotation, and this
    returns one. N = 0 (nothing to fit) gives the identity, like the SVD.
    """
    b = torch.movedim(n / torch.clamp_min(bound, TINY), (0, 1), (-2, -1)) + consts.eye4
    for squaring in range(FALLBACK_SQUARINGS):
        b = b @ b
        # Every second squaring, scale to trace 1: B starts at trace 4 (N is trace-free), so its top
        # eigenvalue is >= 1/4 of the trace and two squarings keep the trace within [1/256, 1].
        if squaring % 2:
            b = b / torch.diagonal(b, dim1=-2, dim2=-1).sum(-1)[..., None, None]
    diagonal = torch.diagonal(b, dim1=-2, dim2=-1)                      # (..., 4)
    column = torch.gather(b, -1, diagonal.argmax(-1)[..., None, None].expand(b.shape[:-1] + (1,)))[..., 0]
    q = torch.movedim(column, -1, 0)
    return q / torch.clamp_min(norm(q), TINY)


def _largest_root(c2, c1, c0, bound, s_sq, shape):
    """The largest root (...) of x^4 + c2 x^2 + c1 x + c0 by `NEWTON_ITERATIONS` Newton steps (rigid_fit's
    loop without its exit), and where one more step would still move it by more than the tolerance."""
    x = torch.minimum(bound, torch.sqrt(3 * s_sq)).expand(shape)
    tolerance, noise = 1e-15 * bound, 1e-14 * bound ** 4
    two_c2, zero = 2 * c2, torch.zeros_like(x)
    for iteration in range(NEWTON_ITERATIONS + 1):
        # Horner's scheme as in rigid_fit, fused multiply-adds to keep the kernel count per step low.
        square = x * x
        slope = torch.addcmul(c1, torch.add(two_c2, square, alpha=4), x)
        value = torch.addcmul(c0, torch.addcmul(c1, square + c2, x), x)
        step = torch.where((value > noise) & (slope > 0), value / slope, zero)
        if iteration < NEWTON_ITERATIONS:
            x = x - step
    return x, step > tolerance


def kabsch_quaternion(source, target, consts):
    """rigid_fit.kabsch_quaternion: unit quaternions (4, ...), w >= 0, best mapping points source onto target
    (3, C, ...). See there for Horn's method; the differences, all needed to avoid read-backs, are:

    * Newton starts from min(bound, sqrt(3) |S|) instead of the bound: also an upper bound of the top root
      (N is trace-free with tr(N^2) = 4 |S|^2, so no eigenvalue exceeds sqrt(3) |S|), much closer for poor
      fits, so that a fixed count suffices (`NEWTON_ITERATIONS`). For good fits (nearly all frames of
      real motion) the bound is the smaller one and the iterates are numpy's; elsewhere both converge
      to the same root (measured: x after the fixed count does not move in 200 further steps);
    * frames where the last Newton step still moved x by more than the tolerance count as doubtful too;
    * doubtful frames take `top_eigenvector_by_squaring` (always computed) instead of an SVD.
    """
    s = (source[:, None] * target[None]).sum(2)                         # (3, 3, ...)
    n = torch.tensordot(consts.horn, s, dims=2)                          # (4, 4, ...)
    m = (s[:, :, None] * s[:, None, :]).sum(0)
    s_sq = m[0, 0] + m[1, 1] + m[2, 2]
    c2, c1, c0 = -2 * s_sq, -8 * _det3(_rows(s)), 2 * (m * m).sum((0, 1)) - s_sq * s_sq
    bound = 0.5 * (dot(source, source).sum(0) + dot(target, target).sum(0))
    x, unconverged = _largest_root(c2, c1, c0, bound, s_sq, s.shape[2:])
    shifted = n - x * consts.eye4.reshape((4, 4) + (1,) * x.ndim)
    minors = shifted[consts.minor_rows, consts.minor_cols]               # (4, 4, 3, 3, ...)
    minor_dets = _det3(_rows(torch.movedim(minors, (2, 3), (0, 1))))
    cofactors = consts.cofactor_signs.reshape((4, 4) + (1,) * x.ndim) * minor_dets
    diagonal = torch.diagonal(cofactors, dim1=0, dim2=1).abs()           # (..., 4)
    best = diagonal.argmax(-1)
    q = torch.gather(cofactors, 1, best[None, None].expand((4, 1) + best.shape))[:, 0]
    q = q / torch.clamp_min(norm(q), TINY)
    biggest = diagonal.amax(-1)
    doubtful = biggest <= 1e-5 * (4 * s_sq) ** 1.5
    doubtful = doubtful | (x < torch.diagonal(n, dim1=0, dim2=1).amax(-1) - 1e-12 * bound) | unconverged
    q = torch.where(doubtful, top_eigenvector_by_squaring(n, bound, consts), q)
    return torch.where(q[0] < 0, -q, q)

"""Torch port of the positions -> rotations inverse kinematics, so generation can solve it on the GPU.

`joints_to_rotations_torch` computes what `motion_core.kinematics.rotations.joints_to_rotations` computes, for a batch of
equally long clips, on the input's device and in its dtype. *What* is solved is defined once, in
`motion_core.kinematics.rotations` (read its docstrings for the why): this module reuses its per-skeleton plan (`_plan`)
and twist-reference tables, converts their index arrays to cached device tensors, and mirrors its steps one
for one (`_measured_offsets`, `_solve_global`, `_twist_angle`, `_fill_unreliable`, `continuous_quaternions`),
in the same component-first layout: joints (3, J, B, T), quaternions (w, x, y, z) as (4, ...).

What differs is only *how*, so that a call never waits on the GPU and can be captured in a CUDA graph: no
value is ever read back to the host (no ``.item()``, no boolean-mask indexing, no loop that stops on a
value). Where numpy branches on data, both outcomes are computed and `torch.where` picks per element:

* `_fill_unreliable`: ``np.unwrap``/``np.interp`` over each series' confident frames become gathers at the
  previous/next confident frame (running maxima of masked frame indices) and a cumulative sum of the
  wrap corrections; series with no confident frame take the numpy fallback through `torch.where`;
* medians of even counts average the two middle values of a sort, as ``np.median`` does;
* `_kabsch_quaternion`: Horn's Newton iteration runs a fixed `NEWTON_ITERATIONS` steps (see there for why
  that is enough), and the SVD fallback for ill-conditioned frames is replaced by an always-computed
  sync-free alternative (`_top_eigenvector_by_squaring`).

Input validation (finite values) is the one read-back; ``validate=False`` skips it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from motion_core.kinematics import rotations as _np_ik
from motion_core.kinematics.rigid_fit import _COFACTOR_SIGNS, _HORN, _MINOR_COLS, _MINOR_ROWS
from motion_core.kinematics.skeleton import Skeleton

__all__ = ["joints_to_rotations_torch", "solve_with_plan", "torch_plan"]

TINY = 1e-12     # as motion_core.kinematics.component_first.TINY
_BEND_RELIABLE = tuple(float(np.sin(np.radians(a))) for a in (10, 30))   # as _BoundBend.vector

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


# --------------------------------------------------------------------------------------------------------
# Component-first torch kernels (mirror motion_core.kinematics.component_first)
# --------------------------------------------------------------------------------------------------------

def _dot(a, b):
    return (a * b).sum(0)


def _norm(v):
    return torch.sqrt(_dot(v, v))


def _unit(v):
    return v / torch.clamp_min(_norm(v), TINY)


def _cross(a, b):
    a, b = torch.broadcast_tensors(a, b)
    return torch.linalg.cross(a, b, dim=0)


def _qmul(a, b):
    w = a[0] * b[0] - _dot(a[1:], b[1:])
    return torch.cat((w[None], a[0] * b[1:] + b[0] * a[1:] + _cross(a[1:], b[1:])))


def _qconj(q):
    return torch.cat((q[:1], -q[1:]))


def _qrot(q, v):
    uv = _cross(q[1:], v)
    return v + 2.0 * (q[0] * uv + _cross(q[1:], uv))


def _qbetween(u, v, eye3):
    """component_first.qbetween with the half-turn for opposite directions always computed."""
    u, v = torch.broadcast_tensors(_unit(u), _unit(v))
    q = torch.cat(((_dot(u, v) + 1.0)[None], _cross(u, v)))
    length = torch.clamp_min(_norm(q), TINY)
    perpendicular = _unit(_cross(u, torch.movedim(eye3[u.abs().argmin(0)], -1, 0)))
    half_turn = torch.cat((torch.zeros_like(u[:1]), perpendicular))
    return torch.where(length < 1e-6, half_turn, q / length)


def _qfrom_axis_angle(axis, angle):
    half = 0.5 * angle
    return torch.cat((torch.cos(half)[None], torch.sin(half) * axis))


def _ramp(x, lo: float, hi: float):
    return torch.clamp((x - lo) / (hi - lo), 0.0, 1.0)


# --------------------------------------------------------------------------------------------------------
# Kabsch (mirror motion_core.kinematics.rigid_fit.kabsch_quaternion, without its data-dependent branches)
# --------------------------------------------------------------------------------------------------------

def _det3(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def _rows(m):
    """A (3, 3, ...) tensor as nested tuples of (...) tensors, for `_det3`."""
    return tuple(tuple(row.unbind(0)) for row in m.unbind(0))


def _top_eigenvector_by_squaring(n, bound, consts):
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
    return q / torch.clamp_min(_norm(q), TINY)


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


def _kabsch_quaternion(source, target, consts):
    """rigid_fit.kabsch_quaternion: unit quaternions (4, ...), w >= 0, best mapping points source onto target
    (3, C, ...). See there for Horn's method; the differences, all needed to avoid read-backs, are:

    * Newton starts from min(bound, sqrt(3) |S|) instead of the bound: also an upper bound of the top root
      (N is trace-free with tr(N^2) = 4 |S|^2, so no eigenvalue exceeds sqrt(3) |S|), much closer for poor
      fits, so that a fixed count suffices (`NEWTON_ITERATIONS`). For good fits (nearly all frames of
      real motion) the bound is the smaller one and the iterates are numpy's; elsewhere both converge
      to the same root (measured: x after the fixed count does not move in 200 further steps);
    * frames where the last Newton step still moved x by more than the tolerance count as doubtful too;
    * doubtful frames take `_top_eigenvector_by_squaring` (always computed) instead of an SVD.
    """
    s = (source[:, None] * target[None]).sum(2)                         # (3, 3, ...)
    n = torch.tensordot(consts.horn, s, dims=2)                          # (4, 4, ...)
    m = (s[:, :, None] * s[:, None, :]).sum(0)
    s_sq = m[0, 0] + m[1, 1] + m[2, 2]
    c2, c1, c0 = -2 * s_sq, -8 * _det3(_rows(s)), 2 * (m * m).sum((0, 1)) - s_sq * s_sq
    bound = 0.5 * (_dot(source, source).sum(0) + _dot(target, target).sum(0))
    x, unconverged = _largest_root(c2, c1, c0, bound, s_sq, s.shape[2:])
    shifted = n - x * consts.eye4.reshape((4, 4) + (1,) * x.ndim)
    minors = shifted[consts.minor_rows, consts.minor_cols]               # (4, 4, 3, 3, ...)
    minor_dets = _det3(_rows(torch.movedim(minors, (2, 3), (0, 1))))
    cofactors = consts.cofactor_signs.reshape((4, 4) + (1,) * x.ndim) * minor_dets
    diagonal = torch.diagonal(cofactors, dim1=0, dim2=1).abs()           # (..., 4)
    best = diagonal.argmax(-1)
    q = torch.gather(cofactors, 1, best[None, None].expand((4, 1) + best.shape))[:, 0]
    q = q / torch.clamp_min(_norm(q), TINY)
    biggest = diagonal.amax(-1)
    doubtful = biggest <= 1e-5 * (4 * s_sq) ** 1.5
    doubtful = doubtful | (x < torch.diagonal(n, dim1=0, dim2=1).amax(-1) - 1e-12 * bound) | unconverged
    q = torch.where(doubtful, _top_eigenvector_by_squaring(n, bound, consts), q)
    return torch.where(q[0] < 0, -q, q)


# --------------------------------------------------------------------------------------------------------
# The skeleton plan as device tensors
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Consts:
    """Tensors that depend only on dtype and device."""
    horn: torch.Tensor            # (4, 4, 3, 3)
    minor_rows: torch.Tensor
    minor_cols: torch.Tensor
    cofactor_signs: torch.Tensor  # (4, 4)
    eye4: torch.Tensor            # (4, 4)
    eye3: torch.Tensor            # (3, 3)


@dataclass(frozen=True)
class _TorchLevel:
    branching: tuple              # ((joints (G,), children (C, G)), ...)
    aims: torch.Tensor | None
    aim_parents: torch.Tensor | None
    aim_children: torch.Tensor | None
    owners: torch.Tensor | None
    placed: torch.Tensor | None
    twisted: torch.Tensor | None
    slots: tuple                  # (K,) reference ids per priority
    leaves: torch.Tensor | None
    leaf_parents: torch.Tensor | None


@dataclass(frozen=True)
class _TorchPlan:
    consts: _Consts
    num_joints: int
    parents: torch.Tensor                 # (J - 1,) parents of joints 1..J-1
    raw_offsets: torch.Tensor             # (3, J)
    branching_groups: tuple
    depth_levels: tuple                   # ((joints, their parents), ...) below the root, shallowest first
    levels: tuple
    # Twist references, computed together by kind and put back in the plan's order by `reference_order`.
    bends: tuple | None                   # (a, b, c) (Nb,) each
    bend_hinges: torch.Tensor | None      # (3, Nb): the hinge, or NaN where the bend has none
    bend_has_hinge: torch.Tensor | None   # (Nb,) bool
    across_left: torch.Tensor | None      # (Na, P)
    across_right: torch.Tensor | None
    across_shares: torch.Tensor | None    # (Na, P, 1, 1), 0 for padding
    reference_order: torch.Tensor         # (N,) positions in cat(bends, acrosses)


def _index(values, device) -> torch.Tensor | None:
    values = np.asarray(values, dtype=np.int64)
    return torch.as_tensor(values, device=device) if values.size else None


def _build_torch_plan(skeleton: Skeleton, dtype: torch.dtype, device: torch.device) -> _TorchPlan:
    plan = _np_ik._plan(skeleton)
    num_joints = skeleton.num_joints
    as_float = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype, device=device)  # noqa: E731
    consts = _Consts(horn=as_float(_HORN), minor_rows=torch.as_tensor(_MINOR_ROWS, device=device),
                     minor_cols=torch.as_tensor(_MINOR_COLS, device=device),
                     cofactor_signs=as_float(_COFACTOR_SIGNS), eye4=as_float(np.eye(4)), eye3=as_float(np.eye(3)))
    rotation_parents = plan.rotation_parents
    levels = []
    for level in plan.levels:
        levels.append(_TorchLevel(
            branching=tuple((_index(p, device), _index(c, device)) for p, c in level.branching),
            aims=_index(level.aims, device), aim_parents=_index(rotation_parents[level.aims], device),
            aim_children=_index(level.aim_children, device), owners=_index(level.owners, device),
            placed=_index(level.placed, device), twisted=_index(level.twisted, device),
            slots=tuple(_index(ids, device) for ids in level.slots),
            leaves=_index(level.leaves, device), leaf_parents=_index(rotation_parents[level.leaves], device)))
    depth = np.zeros(num_joints, dtype=np.int64)
    for j in range(1, num_joints):
        depth[j] = depth[plan.parents[j]] + 1
    depth_levels = tuple((_index(np.flatnonzero(depth == d), device), _index(plan.parents[depth == d], device))
                         for d in range(1, depth.max() + 1))
    return _TorchPlan(consts=consts, num_joints=num_joints, parents=_index(plan.parents[1:], device),
                      raw_offsets=as_float(skeleton.raw_offsets.T), branching_groups=tuple(
                          (_index(p, device), _index(c, device)) for p, c in plan.branching_groups),
                      depth_levels=depth_levels, levels=tuple(levels),
                      **_reference_tables(skeleton, plan, as_float, device))


def _reference_tables(skeleton: Skeleton, plan, as_float, device) -> dict:
    """The plan's twist references as index tables, bends and across lines each batched together."""
    bends = [r for r in plan.references if isinstance(r, _np_ik._BoundBend)]
    acrosses = [r for r in plan.references if isinstance(r, _np_ik._BoundAcross)]
    unknown = [r for r in plan.references if not isinstance(r, (_np_ik._BoundBend, _np_ik._BoundAcross))]
    if unknown:
        raise TypeError(f"no torch version of twist references {unknown}")
    rest = np.ascontiguousarray(skeleton.rest_positions().T)                # (3, J)
    for bend in bends:
        if bend.hinge is None:
            bend.rest_vector(rest)       # numpy's check: raises if the rest limb is straight (no plane)
    order = [(bends.index(r) if isinstance(r, _np_ik._BoundBend) else len(bends) + acrosses.index(r))
             for r in plan.references]
    tables: dict = {"reference_order": _index(order, device), "bends": None, "bend_hinges": None,
                    "bend_has_hinge": None, "across_left": None, "across_right": None, "across_shares": None}
    if bends:
        tables["bends"] = tuple(_index([getattr(b, k) for b in bends], device) for k in "abc")
        tables["bend_hinges"] = as_float(np.stack([b.hinge if b.hinge is not None else np.full(3, np.nan)
                                                  for b in bends], axis=1))
        tables["bend_has_hinge"] = torch.as_tensor([b.hinge is not None for b in bends], device=device)
    if acrosses:
        width = max(len(a.pairs) for a in acrosses)
        padded = [list(a.pairs) + [(0, 0, 0.0)] * (width - len(a.pairs)) for a in acrosses]
        tables["across_left"] = _index([[p[0] for p in row] for row in padded], device)
        tables["across_right"] = _index([[p[1] for p in row] for row in padded], device)
        tables["across_shares"] = as_float([[p[2] for p in row] for row in padded])[:, :, None, None]
    return tables


_TORCH_PLANS: dict = {}
_MAX_TORCH_PLANS = 32


def torch_plan(skeleton: Skeleton, dtype: torch.dtype, device: torch.device) -> _TorchPlan:
    """The skeleton's plan as tensors of this dtype on this device, cached like `rotations._plan` (by the
    skeleton's identity, keeping it alive)."""
    key = (id(skeleton), dtype, str(device))
    hit = _TORCH_PLANS.get(key)
    if hit is not None and hit[0] is skeleton:
        return hit[1]
    plan = _build_torch_plan(skeleton, dtype, device)
    if len(_TORCH_PLANS) >= _MAX_TORCH_PLANS:
        _TORCH_PLANS.clear()
    _TORCH_PLANS[key] = (skeleton, plan)
    return plan


# --------------------------------------------------------------------------------------------------------
# The solver, step for step as motion_core.kinematics.rotations (joints (3, J, B, T))
# --------------------------------------------------------------------------------------------------------

def _median_last(x):
    """np.median over the last axis: the middle value, or the mean of the two middle ones for even counts."""
    ordered, _ = torch.sort(x, dim=-1)
    count = x.shape[-1]
    if count % 2:
        return ordered[..., count // 2]
    return (ordered[..., count // 2 - 1] + ordered[..., count // 2]) / 2


def _rigid_configuration(directions, consts):
    shape = directions[..., 0]
    for _ in range(3):
        turn = _kabsch_quaternion(directions, shape[..., None], consts)
        shape = _unit(_qrot(turn[:, None], directions).mean(-1))
    return shape


def _measured_offsets(joints, tp: _TorchPlan):
    """rotations._measured_offsets: clips (3, J, B, T) -> offsets (3, J, B)."""
    bones = _norm(joints[:, 1:] - joints[:, tp.parents])
    lengths = torch.cat((torch.zeros_like(bones[:1, :, 0]), _median_last(bones)))      # (J, B)
    offsets = tp.raw_offsets[:, :, None] * lengths
    for parents, children in tp.branching_groups:
        shape = _rigid_configuration(_unit(joints[:, children] - joints[:, parents][:, None]), tp.consts)
        measured = shape * lengths[children]
        upright = _kabsch_quaternion(measured, offsets[:, children], tp.consts)
        offsets[:, children] = _qrot(upright[:, None], measured)
    return offsets


def _rest_positions(offsets, tp: _TorchPlan):
    """rotations._rest_positions, a tree depth at a time."""
    pos = torch.zeros_like(offsets)
    for joints, parents in tp.depth_levels:
        pos[:, joints] = pos[:, parents] + offsets[:, joints]
    return pos


def _bend_vectors(pos, a, b, c):
    """_BoundBend.vector for several bends at once: (normal (3, N, ...), reliability (N, ...))."""
    normal = _cross(_unit(pos[:, b] - pos[:, a]), _unit(pos[:, c] - pos[:, b]))
    return normal, _ramp(_norm(normal), *_BEND_RELIABLE)


def _across_vectors(pos, left, right, shares):
    """_BoundAcross.vector for several across lines at once (pairs summed in order)."""
    total = (shares * _unit(pos[:, left] - pos[:, right])).sum(2)
    return total, torch.ones_like(total[0])


def _reference_vectors(tp: _TorchPlan, joints, rest_positions):
    """rotations._reference_vectors: measured (3, N + 1, B, T), reliability (N + 1, B, T), rest (3, N + 1,
    B, 1), the last the null reference."""
    current, reliable, rest = [], [], []
    if tp.bends is not None:
        vector, reliability = _bend_vectors(joints, *tp.bends)
        rest_normal, rest_reliability = _bend_vectors(rest_positions, *tp.bends)
        hinge = tp.bend_hinges[:, :, None]
        use_hinge = tp.bend_has_hinge[:, None] & ~(rest_reliability > 0.5)
        current.append(vector), reliable.append(reliability)
        rest.append(torch.where(use_hinge, hinge, rest_normal))
    if tp.across_left is not None:
        vector, reliability = _across_vectors(joints, tp.across_left, tp.across_right, tp.across_shares)
        current.append(vector), reliable.append(reliability)
        rest.append(_across_vectors(rest_positions, tp.across_left, tp.across_right, tp.across_shares[..., 0])[0])
    order = tp.reference_order
    null = tp.consts.eye3[0]
    null_current = null[:, None, None, None].expand((3, 1) + joints.shape[2:])
    current = torch.cat((torch.cat(current, 1)[:, order], null_current), 1)
    reliable = torch.cat((torch.cat(reliable, 0)[order], torch.zeros_like(joints[0, :1])))
    rest = torch.cat((torch.cat(rest, 1)[:, order], null[:, None, None].expand(3, 1, joints.shape[2])), 1)
    return current, reliable, rest[..., None]


def _twist_angle(bone, swing, slots, references):
    """rotations._twist_angle: twists (K, B, T) about `bone` (3, K, B, T)."""
    all_current, all_reliable, all_rest = references
    votes_cos, votes_sin = torch.zeros_like(bone[0]), torch.zeros_like(bone[0])
    remaining = torch.ones_like(bone[0])
    for ids in slots:
        current, reliable = all_current[:, ids], all_reliable[ids]
        carried = _qrot(swing, all_rest[:, ids])
        cur_perp = current - _dot(current, bone) * bone
        car_perp = carried - _dot(carried, bone) * bone
        for vec, perp in ((current, cur_perp), (carried, car_perp)):
            reliable = reliable * _ramp(_norm(perp) / torch.clamp_min(_norm(vec), TINY), 0.2, 0.5)
        angle = torch.atan2(_dot(_cross(car_perp, cur_perp), bone), _dot(car_perp, cur_perp))
        weight = remaining * reliable
        votes_cos = votes_cos + weight * torch.cos(angle)
        votes_sin = votes_sin + weight * torch.sin(angle)
        remaining = remaining * (1.0 - reliable)
    return _fill_unreliable(torch.atan2(votes_sin, votes_cos), 1.0 - remaining)


def _fill_unreliable(angle, confidence):
    """rotations._fill_unreliable for every series (..., T) at once, with no read-back.

    np.unwrap over the sure frames: each sure frame's jump from the previous sure frame (found by a running
    maximum of sure frame indices) gets numpy's wrap correction, and their cumulative sum over time (zeros
    elsewhere, so the same partial sums) turns angles into anchors. np.interp between sure frames: gathers
    at the previous/next sure frame, with numpy's formula slope * (t - prev) + anchor[prev]; frames before
    the first/after the last sure frame hold its anchor. Series with no sure frame keep numpy's
    `confidence * angle`.
    """
    num_frames = angle.shape[-1]
    sure = confidence >= 0.5
    frames = torch.arange(num_frames, device=angle.device)
    last = num_frames - 1
    prev = torch.cummax(torch.where(sure, frames, -1), -1).values                  # last sure <= t, or -1
    after = torch.cummax(torch.where(sure, last - frames, -1).flip(-1), -1).values.flip(-1)
    nxt = last - after                                                             # first sure >= t, or T
    # np.unwrap of the sure frames' angles (discont = pi, period = 2 pi).
    before = torch.cat((torch.full_like(prev[..., :1], -1), prev[..., :-1]), -1)  # last sure < t
    jump = angle - angle.gather(-1, before.clamp_min(0))
    wrapped = torch.remainder(jump + math.pi, 2 * math.pi) - math.pi
    wrapped = torch.where((wrapped == -math.pi) & (jump > 0), math.pi, wrapped)
    counted = sure & (before >= 0) & (jump.abs() >= math.pi)
    anchors = angle + torch.where(counted, wrapped - jump, 0.0).cumsum(-1)
    # np.interp(frames, sure frames, anchors).
    at_prev = anchors.gather(-1, prev.clamp_min(0))
    at_next = anchors.gather(-1, nxt.clamp_max(last))
    span = torch.where(nxt > prev, nxt - prev, 1).to(angle.dtype)
    between = (at_next - at_prev) / span * (frames - prev).to(angle.dtype) + at_prev
    guess = torch.where(prev < 0, at_next, torch.where(nxt > last, at_prev, between))
    own = guess + torch.remainder(angle - guess + math.pi, 2 * math.pi) - math.pi
    filled = confidence * own + (1.0 - confidence) * guess
    return torch.where(sure.any(-1, keepdim=True), filled, confidence * angle)


def _solve_global(joints, offsets, tp: _TorchPlan):
    """rotations._solve_global: global rotations (4, J, B, T) of clips (3, J, B, T), offsets (3, J, B)."""
    num_joints = tp.num_joints
    consts = tp.consts
    references = _reference_vectors(tp, joints, _rest_positions(offsets, tp))
    glob = torch.zeros((4, num_joints + 1) + joints.shape[2:], dtype=joints.dtype, device=joints.device)
    glob[0, num_joints] = 1.0
    placed = joints.clone()
    for level in tp.levels:
        for parents, children in level.branching:
            rest = offsets[:, children, :, None]
            current = joints[:, children] - placed[:, parents][:, None]
            glob[:, parents] = _kabsch_quaternion(rest, _unit(current) * _norm(rest), consts)
            placed[:, children] = placed[:, parents][:, None] + _qrot(glob[:, parents][:, None], rest)
        if level.aims is not None:
            parent_rot = glob[:, level.aim_parents]
            bone = _unit(joints[:, level.aim_children] - placed[:, level.aims])
            rest = offsets[:, level.aim_children, :, None]
            swing = _qmul(_qbetween(_qrot(parent_rot, rest), bone, consts.eye3), parent_rot)
            if level.twisted is not None:
                twisted = level.twisted
                twist = _twist_angle(bone[:, twisted], swing[:, twisted], level.slots, references)
                swing[:, twisted] = _qmul(_qfrom_axis_angle(bone[:, twisted], twist), swing[:, twisted])
            glob[:, level.aims] = swing
            placed[:, level.placed] = placed[:, level.owners] + _qrot(glob[:, level.owners],
                                                                      offsets[:, level.placed, :, None])
        if level.leaves is not None:
            glob[:, level.leaves] = glob[:, level.leaf_parents]
    return glob[:, :num_joints]


def _continuous_quaternions(q):
    """rotations.continuous_quaternions of (B, T, J, 4)."""
    dots = (q[:, 1:] * q[:, :-1]).sum(-1)
    signs = torch.cumprod(torch.where(dots < 0, -1.0, 1.0).to(q.dtype), dim=1)
    return torch.cat((q[:, :1], q[:, 1:] * signs[..., None]), 1)


def _check_joints(joints, skeleton: Skeleton, validate: bool) -> None:
    """ValueErrors like rotations._checked_joints'; the finiteness check (a read-back) only if `validate`."""
    if not isinstance(joints, torch.Tensor):
        raise TypeError(f"joints must be a torch.Tensor (numpy input: motion_core.kinematics.rotations.joints_to_rotations), "
                        f"got {type(joints).__name__}")
    if joints.ndim != 4 or tuple(joints.shape[-2:]) != (skeleton.num_joints, 3):
        raise ValueError(f"joints must be (B, T, {skeleton.num_joints}, 3), a batch of equally long clips, for "
                         f"skeleton {skeleton.name!r}, got {tuple(joints.shape)}")
    if not joints.is_floating_point():
        raise ValueError(f"joints must be a floating-point tensor (float64 recommended), got {joints.dtype}")
    if joints.shape[0] == 0:
        raise ValueError("joints is a batch of no clips")
    if joints.shape[1] == 0:
        raise ValueError("joints has no frames")
    if validate:
        finite = torch.isfinite(joints).flatten(1).all(1)
        if not bool(finite.all()):
            bad = torch.nonzero(~finite).flatten().tolist()
            raise ValueError(f"joints contain NaN or infinite values (clips {bad})")


def joints_to_rotations_torch(joints: torch.Tensor, skeleton: Skeleton, validate: bool = True,
                              body_frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`motion_core.kinematics.rotations.joints_to_rotations` of a batch of equally long clips (B, T, J, 3) in torch:
    (local_rotations (B, T, J, 4), root_translation (B, T, 3), offsets (B, J, 3)), on the input's device
    and in its dtype (float64 gives numpy's results to ~1e-12; float32 works but is less exact).

    No value is read back to the host except by the finiteness check, which ``validate=False`` skips (for
    CUDA-graph capture, or when the caller knows the joints are finite). Shapes are always checked.
    `body_frames`: measure the offsets (bone lengths) on the first that many frames only (None: all).
    """
    _check_joints(joints, skeleton, validate)
    return solve_with_plan(joints, torch_plan(skeleton, joints.dtype, joints.device), body_frames)


def solve_with_plan(joints: torch.Tensor, tp: _TorchPlan, body_frames: int | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The arithmetic of `joints_to_rotations_torch`, given the skeleton's plan (`torch_plan`, built on the host).
    Only tensor work: this is what a CUDA graph captures and `torch.compile` traces (motion_core.kinematics.ik_graph)."""
    with torch.no_grad():
        points = joints.permute(3, 2, 0, 1).contiguous()                       # (3, J, B, T)
        offsets = _measured_offsets(points if body_frames is None else points[..., :body_frames].contiguous(), tp)
        glob = _solve_global(points, offsets, tp)
        local = torch.cat((glob[:, :1], _qmul(_qconj(glob[:, tp.parents]), glob[:, 1:])), 1)
        rotations = _continuous_quaternions(local.permute(2, 3, 1, 0))
        return rotations.contiguous(), joints[:, :, 0].clone(), offsets.permute(2, 1, 0).contiguous()

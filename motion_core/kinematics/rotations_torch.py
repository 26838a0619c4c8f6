"""Torch port of the positions -> rotations inverse kinematics, so generation can solve it on the GPU.

`joints_to_rotations_torch` computes what `motion_core.kinematics.rotations.joints_to_rotations` computes, for a batch of
equally long clips, on the input's device and in its dtype. *What* is solved is defined once, in
`motion_core.kinematics.rotations` (read its docstrings for the why): this module reuses its per-skeleton plan
as device tensors (`motion_core.kinematics.ik_plan_torch`) and mirrors its steps one for one (`_measured_offsets`,
`_solve_global`, `_twist_angle`, `_fill_unreliable`, `continuous_quaternions`), in the same component-first
layout: joints (3, J, B, T), quaternions (w, x, y, z) as (4, ...).

What differs is only *how*, so that a call never waits on the GPU and can be captured in a CUDA graph: no
value is ever read back to the host (no ``.item()``, no boolean-mask indexing, no loop that stops on a
value). Where numpy branches on data, both outcomes are computed and `torch.where` picks per element:

* `_fill_unreliable`: ``np.unwrap``/``np.interp`` over each series' confident frames become gathers at the
  previous/next confident frame (running maxima of masked frame indices) and a cumulative sum of the
  wrap corrections; series with no confident frame take the numpy fallback through `torch.where`;
* medians of even counts average the two middle values of a sort, as ``np.median`` does;
* Kabsch fits (`motion_core.kinematics.rigid_fit_torch`): Horn's Newton iteration runs a fixed
  `NEWTON_ITERATIONS` steps (see there for why that is enough), and the SVD fallback for ill-conditioned
  frames is replaced by an always-computed sync-free alternative (`top_eigenvector_by_squaring`).

Input validation (finite values) is the one read-back; ``validate=False`` skips it.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from motion_core.kinematics.component_first_torch import (TINY, cross, dot, norm, qbetween, qconj, qfrom_axis_angle,
                                                          qmul, qrot, ramp, unit)
from motion_core.kinematics.ik_plan_torch import TorchPlan, torch_plan
from motion_core.kinematics.rigid_fit_torch import kabsch_quaternion
from motion_core.kinematics.skeleton import Skeleton

__all__ = ["joints_to_rotations_torch", "solve_with_plan", "torch_plan"]

_BEND_RELIABLE = tuple(float(np.sin(np.radians(a))) for a in (10, 30))   # as twist_references.BoundBend.vector


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
        turn = kabsch_quaternion(directions, shape[..., None], consts)
        shape = unit(qrot(turn[:, None], directions).mean(-1))
    return shape


def _measured_offsets(joints, tp: TorchPlan):
    """rotations._measured_offsets: clips (3, J, B, T) -> offsets (3, J, B)."""
    bones = norm(joints[:, 1:] - joints[:, tp.parents])
    lengths = torch.cat((torch.zeros_like(bones[:1, :, 0]), _median_last(bones)))      # (J, B)
    offsets = tp.raw_offsets[:, :, None] * lengths
    for parents, children in tp.branching_groups:
        shape = _rigid_configuration(unit(joints[:, children] - joints[:, parents][:, None]), tp.consts)
        measured = shape * lengths[children]
        upright = kabsch_quaternion(measured, offsets[:, children], tp.consts)
        offsets[:, children] = qrot(upright[:, None], measured)
    return offsets


def _rest_positions(offsets, tp: TorchPlan):
    """rotations._rest_positions, a tree depth at a time."""
    pos = torch.zeros_like(offsets)
    for joints, parents in tp.depth_levels:
        pos[:, joints] = pos[:, parents] + offsets[:, joints]
    return pos


def _bend_vectors(pos, a, b, c):
    """twist_references.BoundBend.vector for several bends at once: (normal (3, N, ...), reliability (N, ...))."""
    normal = cross(unit(pos[:, b] - pos[:, a]), unit(pos[:, c] - pos[:, b]))
    return normal, ramp(norm(normal), *_BEND_RELIABLE)


def _across_vectors(pos, left, right, shares):
    """twist_references.BoundAcross.vector for several across lines at once (pairs summed in order)."""
    total = (shares * unit(pos[:, left] - pos[:, right])).sum(2)
    return total, torch.ones_like(total[0])


def _reference_vectors(tp: TorchPlan, joints, rest_positions):
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
    null = tp.eye3[0]
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
        carried = qrot(swing, all_rest[:, ids])
        cur_perp = current - dot(current, bone) * bone
        car_perp = carried - dot(carried, bone) * bone
        for vec, perp in ((current, cur_perp), (carried, car_perp)):
            reliable = reliable * ramp(norm(perp) / torch.clamp_min(norm(vec), TINY), 0.2, 0.5)
        angle = torch.atan2(dot(cross(car_perp, cur_perp), bone), dot(car_perp, cur_perp))
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


def _solve_global(joints, offsets, tp: TorchPlan):
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
            glob[:, parents] = kabsch_quaternion(rest, unit(current) * norm(rest), consts)
            placed[:, children] = placed[:, parents][:, None] + qrot(glob[:, parents][:, None], rest)
        if level.aims is not None:
            parent_rot = glob[:, level.aim_parents]
            bone = unit(joints[:, level.aim_children] - placed[:, level.aims])
            rest = offsets[:, level.aim_children, :, None]
            swing = qmul(qbetween(qrot(parent_rot, rest), bone, tp.eye3), parent_rot)
            if level.twisted is not None:
                twisted = level.twisted
                twist = _twist_angle(bone[:, twisted], swing[:, twisted], level.slots, references)
                swing[:, twisted] = qmul(qfrom_axis_angle(bone[:, twisted], twist), swing[:, twisted])
            glob[:, level.aims] = swing
            placed[:, level.placed] = placed[:, level.owners] + qrot(glob[:, level.owners],
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
    """ValueErrors like rotations.checked_joints'; the finiteness check (a read-back) only if `validate`."""
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


def solve_with_plan(joints: torch.Tensor, tp: TorchPlan, body_frames: int | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The arithmetic of `joints_to_rotations_torch`, given the skeleton's plan (`torch_plan`, built on the host).
    Only tensor work: this is what a CUDA graph captures and `torch.compile` traces (motion_core.kinematics.ik_graph)."""
    with torch.no_grad():
        points = joints.permute(3, 2, 0, 1).contiguous()                       # (3, J, B, T)
        offsets = _measured_offsets(points if body_frames is None else points[..., :body_frames].contiguous(), tp)
        glob = _solve_global(points, offsets, tp)
        local = torch.cat((glob[:, :1], qmul(qconj(glob[:, tp.parents]), glob[:, 1:])), 1)
        rotations = _continuous_quaternions(local.permute(2, 3, 1, 0))
        return rotations.contiguous(), joints[:, :, 0].clone(), offsets.permute(2, 1, 0).contiguous()

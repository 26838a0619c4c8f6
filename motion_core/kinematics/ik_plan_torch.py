"""The IK plan as device tensors: `motion_core.kinematics.ik_plan` for the torch solver.

`torch_plan(skeleton, dtype, device)` (cached) converts the numpy plan's index arrays and twist-reference
tables into tensors on the device, bends and across lines each batched together, so that the solver
(`motion_core.kinematics.rotations_torch`) and its CUDA graphs (`motion_core.kinematics.ik_graph`) only do tensor work.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from motion_core.kinematics.ik_plan import ik_plan
from motion_core.kinematics.rigid_fit_torch import KabschConstants, kabsch_constants
from motion_core.kinematics.skeleton import Skeleton
from motion_core.kinematics.twist_references import BoundAcross, BoundBend

__all__ = ["TorchLevel", "TorchPlan", "torch_plan"]


@dataclass(frozen=True)
class TorchLevel:
    """An `IKLevel` as device index tensors (None where the numpy level's array is empty)."""
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
class TorchPlan:
    """An `IKPlan` as tensors of one dtype on one device, plus the constants the torch solver needs."""
    consts: KabschConstants
    eye3: torch.Tensor                    # (3, 3)
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


def _build_torch_plan(skeleton: Skeleton, dtype: torch.dtype, device: torch.device) -> TorchPlan:
    plan = ik_plan(skeleton)
    num_joints = skeleton.num_joints
    as_float = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype, device=device)  # noqa: E731
    rotation_parents = plan.rotation_parents
    levels = []
    for level in plan.levels:
        levels.append(TorchLevel(
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
    return TorchPlan(consts=kabsch_constants(dtype, device), eye3=as_float(np.eye(3)), num_joints=num_joints,
                     parents=_index(plan.parents[1:], device),
                     raw_offsets=as_float(skeleton.raw_offsets.T), branching_groups=tuple(
                         (_index(p, device), _index(c, device)) for p, c in plan.branching_groups),
                     depth_levels=depth_levels, levels=tuple(levels),
                     **_reference_tables(skeleton, plan, as_float, device))


def _reference_tables(skeleton: Skeleton, plan, as_float, device) -> dict:
    """The plan's twist references as index tables, bends and across lines each batched together."""
    bends = [r for r in plan.references if isinstance(r, BoundBend)]
    acrosses = [r for r in plan.references if isinstance(r, BoundAcross)]
    unknown = [r for r in plan.references if not isinstance(r, (BoundBend, BoundAcross))]
    if unknown:
        raise TypeError(f"no torch version of twist references {unknown}")
    rest = np.ascontiguousarray(skeleton.rest_positions().T)                # (3, J)
    for bend in bends:
        if bend.hinge is None:
            bend.rest_vector(rest)       # numpy's check: raises if the rest limb is straight (no plane)
    order = [(bends.index(r) if isinstance(r, BoundBend) else len(bends) + acrosses.index(r))
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


def torch_plan(skeleton: Skeleton, dtype: torch.dtype, device: torch.device) -> TorchPlan:
    """The skeleton's plan as tensors of this dtype on this device, cached like `ik_plan.ik_plan` (by the
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

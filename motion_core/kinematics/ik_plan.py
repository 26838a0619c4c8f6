"""The IK plan: everything the positions -> rotations solver needs that depends only on the skeleton.

`ik_plan(skeleton)` (cached per skeleton) groups the joints by tree depth into `IKLevel`s, each solved in one
vectorised step: branching joints fitted to all their children, one-child joints aimed at their child and
twisted by their bound twist references (`motion_core.kinematics.twist_references`), leaves keeping their
parent's frame. Used by the numpy solver (`motion_core.kinematics.rotations`) and, as device tensors, by the torch
one (`motion_core.kinematics.ik_plan_torch`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_core.kinematics.forward_kinematics import check_parents
from motion_core.kinematics.skeleton import Skeleton
from motion_core.kinematics.twist_references import TWIST_REFERENCES

__all__ = ["IKLevel", "IKPlan", "ik_plan"]


@dataclass(frozen=True)
class IKLevel:
    """The joints at one depth of the tree, solved together: each needs only its parent's results."""
    branching: tuple[tuple[np.ndarray, np.ndarray], ...]   # (joints (G,), their children (C, G)) per child count
    aims: np.ndarray            # (K,) other joints with children: swing onto the (first) child's bone, twist
    aim_children: np.ndarray    # (K,) the child each aims at
    owners: np.ndarray          # (M,) each aiming joint once per child, and
    placed: np.ndarray          # (M,) that child: every child is placed by its parent's rotation
    twisted: np.ndarray         # positions within `aims` of the joints that have twist references
    slots: np.ndarray           # (R, len(twisted)) their reference ids by priority, padded with the null id
    leaves: np.ndarray          # (L,) joints without children: they keep their parent's frame


@dataclass(frozen=True)
class IKPlan:
    """One skeleton's plan: its tree as index arrays, its bound twist references and its levels."""
    parents: np.ndarray                 # (J,) parent index, -1 for the root
    rotation_parents: np.ndarray        # (J,) the same, but J for the root: the solver's identity slot
    references: tuple                   # every bound twist reference; id len(references) is the null one
    # Branching joints grouped by child count, as (joints (G,), their children (C, G)), so that each
    # group's offsets are fitted in one vectorised pass.
    branching_groups: tuple[tuple[np.ndarray, np.ndarray], ...]
    levels: tuple[IKLevel, ...]          # root first


def _is_branching(skeleton: Skeleton, joint: int) -> bool:
    """Several children spanning a plane: the joint's rotation is fixed by its children alone."""
    children = skeleton.children(joint)
    return len(children) > 1 and np.linalg.matrix_rank(skeleton.raw_offsets[children], tol=1e-6) >= 2


def _group_by_child_count(joints, children) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    by_count: dict[int, list[int]] = {}
    for j in joints:
        by_count.setdefault(len(children[j]), []).append(j)
    return tuple((np.array(group), np.array([children[j] for j in group]).T) for group in by_count.values())


def _build_plan(skeleton: Skeleton) -> IKPlan:
    num_joints = skeleton.num_joints
    check_parents(skeleton.parents, num_joints)     # parents before children: depths in one pass
    children = [skeleton.children(j) for j in range(num_joints)]
    branching = [_is_branching(skeleton, j) for j in range(num_joints)]
    table = TWIST_REFERENCES.get(skeleton.name, {})
    references, reference_ids = [], []
    for name in skeleton.joint_names:
        reference_ids.append([len(references) + i for i in range(len(table.get(name, ())))])
        references.extend(ref.bind(skeleton) for ref in table.get(name, ()))
    depth = [0] * num_joints
    for j in range(1, num_joints):
        depth[j] = depth[skeleton.parents[j]] + 1
    levels = []
    for d in range(max(depth) + 1):
        at_depth = [j for j in range(num_joints) if depth[j] == d]
        aims = [j for j in at_depth if children[j] and not branching[j]]
        twisted = [k for k, j in enumerate(aims) if reference_ids[j]]
        priority = max((len(reference_ids[aims[k]]) for k in twisted), default=0)
        slots = [[(reference_ids[aims[k]] + [len(references)] * priority)[r] for k in twisted] for r in range(priority)]
        levels.append(IKLevel(
            branching=_group_by_child_count([j for j in at_depth if branching[j]], children),
            aims=np.array(aims, dtype=np.intp),
            aim_children=np.array([children[j][0] for j in aims], dtype=np.intp),
            owners=np.array([j for j in aims for _ in children[j]], dtype=np.intp),
            placed=np.array([c for j in aims for c in children[j]], dtype=np.intp),
            twisted=np.array(twisted, dtype=np.intp),
            slots=np.array(slots, dtype=np.intp).reshape(priority, len(twisted)),
            leaves=np.array([j for j in at_depth if not children[j]], dtype=np.intp)))
    parents = np.array(skeleton.parents)
    return IKPlan(parents=parents, rotation_parents=np.where(parents < 0, num_joints, parents),
                 references=tuple(references),
                 branching_groups=_group_by_child_count([j for j in range(num_joints) if branching[j]], children),
                 levels=tuple(levels))


_PLANS: dict[int, tuple[Skeleton, IKPlan]] = {}
_MAX_PLANS = 32


def ik_plan(skeleton: Skeleton) -> IKPlan:
    """The skeleton's plan, built on first use.

    A Skeleton holds numpy arrays and so is not hashable: plans are cached by object identity, and the
    cache keeps the skeleton alive so its id cannot be reused by another object. Skeletons are treated as
    immutable (they are frozen dataclasses; editing their arrays in place would leave a stale plan).
    """
    hit = _PLANS.get(id(skeleton))
    if hit is not None and hit[0] is skeleton:
        return hit[1]
    plan = _build_plan(skeleton)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[id(skeleton)] = (skeleton, plan)
    return plan

"""Features -> joints -> rotations as one capturable function, replayed per clip shape by `ShapeGraphs`.

Why: features -> joints (`representation.features_to_joints`) -> rotations (`rotations_torch`) is ~2,700
small kernels, so launched one by one it costs ~30 ms on an H100 whatever the batch, while the host's numpy
IK takes ~6-8 ms for one 196-frame clip. Replayed as a CUDA graph it took 4.9 ms for one clip on an H100, and
compiled by torch.compile under the graph 0.86 ms (its first capture, with the compilation: 64 s); README.
"""
from __future__ import annotations

import torch

from motion_core.kinematics.representation import features_to_joints
from motion_core.kinematics.rotations_torch import solve_with_plan, torch_plan
from motion_core.runtime.shape_graphs import ShapeGraphs
from motion_core.kinematics.skeleton import Skeleton

__all__ = ["features_to_rotations_fn", "ik_graphs"]


def features_to_rotations_fn(skeleton: Skeleton, device: torch.device, dtype: torch.dtype = torch.float64,
                             body_frames=None):
    """features (B, T, F) -> (joints, local rotations, root translation, offsets), with no validation and no
    host work: what `features_to_joints` then `joints_to_rotations_torch` compute, on a plan built here.
    `body_frames(T)`: how many leading frames of a T-frame clip the body (bone lengths) is measured on (None:
    all); a function of the shape only, so a graph per shape captures it."""
    plan = torch_plan(skeleton, dtype, torch.device(device))

    def features_to_rotations(features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        joints = features_to_joints(features, skeleton, validate=False)
        frames = None if body_frames is None else body_frames(joints.shape[1])
        return (joints, *solve_with_plan(joints, plan, frames))
    return features_to_rotations


def ik_graphs(skeleton: Skeleton, device: torch.device, compile: bool = False, body_frames=None) -> ShapeGraphs:
    """The engine's IK graphs: `run(features)` for float64 features on `device` (see ShapeGraphs)."""
    return ShapeGraphs(features_to_rotations_fn(skeleton, device, body_frames=body_frames), device, "IK",
                       compile=compile)

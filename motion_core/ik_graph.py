"""Features -> joints -> rotations on the GPU replayed as CUDA graphs, one per clip shape.

Why: features -> joints (`representation.features_to_joints`) -> rotations (`rotations_torch`) is ~2,700
small kernels, so launched one by one it costs ~30 ms on an H100 whatever the batch, while the host's numpy
IK takes ~6-8 ms for one 196-frame clip. Replayed as a graph, the launches are gone and only the GPU work
remains (measured: 4.9 ms for one clip; README). A capture costs three eager runs, so a shape is captured on
its second use (`CAPTURE_AFTER`), when it is likely to come again (a user iterating on prompts of one
length); its first use is solved however the engine solves uncaptured shapes.

With `compile=True` the solver is compiled by `torch.compile` before the capture: its kernels are fused into
far fewer (0.86 ms for one clip on an H100), at the price of a long first capture per shape (64 s there).

Failures: a capture error other than out-of-memory turns the graphs off for this object (one warning) and
`solve` answers None, so the caller falls back to the eager solver.
"""
from __future__ import annotations

import logging
from collections import OrderedDict

import torch

from motion_core.graph_sampler import _is_out_of_memory, capture
from motion_core.representation import features_to_joints
from motion_core.rotations_torch import _torch_plan, solve_with_plan
from motion_core.skeleton import Skeleton

__all__ = ["GraphIK", "CAPTURE_AFTER"]

log = logging.getLogger(__name__)

CAPTURE_AFTER = 2     # uses of a (batch, frames) shape before it is captured


class _CapturedIK:
    def __init__(self, features: torch.Tensor):
        self.features = torch.zeros_like(features)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.out: tuple[torch.Tensor, ...] = ()


class GraphIK:
    """Replays features -> joints -> rotations for one skeleton, dtype and CUDA device, one graph per (B, T)."""

    def __init__(self, skeleton: Skeleton, device: torch.device, dtype: torch.dtype = torch.float64,
                 compile: bool = False, max_graphs: int = 8):
        if max_graphs < 1:
            raise ValueError(f"max_graphs must be >= 1, got {max_graphs}")
        self.skeleton, self.device, self.dtype = skeleton, torch.device(device), dtype
        self.compile_requested = self.compile = bool(compile)
        self.max_graphs = max_graphs
        self.disabled_reason: str | None = None
        self.captures = 0
        self._uses: dict[tuple[int, int], int] = {}
        self._cache: OrderedDict[tuple[int, int], _CapturedIK] = OrderedDict()
        self._solve, self._solve_compiled = None, False

    def due(self, batch: int, frames: int) -> bool:
        """Count one use of this clip shape; True when `solve` will replay a graph for it."""
        if self.disabled_reason is not None:
            return False
        key = (int(batch), int(frames))
        self._uses[key] = self._uses.get(key, 0) + 1
        return key in self._cache or self._uses[key] >= CAPTURE_AFTER

    def solve(self, features: torch.Tensor) -> tuple[torch.Tensor, ...] | None:
        """(joints, local rotations, root translation, offsets) of de-normalised features (B, T, F) like
        `features_to_joints` then `joints_to_rotations_torch`, unvalidated (`Motion.batch_from_features` checks
        the joints on the host); None when graphs are off or failed or the shape is not `due` yet."""
        if self.disabled_reason is not None:
            return None
        key = (features.shape[0], features.shape[1])
        if key not in self._cache and self._uses.get(key, 0) < CAPTURE_AFTER:
            return None     # not due yet: `due` decides when a shape is worth a capture
        try:
            entry = self._cache.get(key) or self._capture(key, features)
        except Exception as exc:
            self._cache.clear()
            if _is_out_of_memory(exc):
                raise
            self.disabled_reason = f"{type(exc).__name__}: {exc}"
            log.warning("CUDA-graph IK failed (%s); solving eagerly from now on", self.disabled_reason)
            return None
        self._cache.move_to_end(key)
        entry.features.copy_(features)
        entry.graph.replay()
        return tuple(t.clone() for t in entry.out)

    def _capture(self, key: tuple[int, int], features: torch.Tensor) -> _CapturedIK:
        while len(self._cache) >= self.max_graphs:
            self._cache.popitem(last=False)
        entry = _CapturedIK(features.to(self.dtype))
        entry.features.copy_(features)
        solver = self._solver()
        try:
            entry.graph, entry.out = capture(lambda: solver(entry.features), self.device)
        except Exception as exc:
            if not self.compile or _is_out_of_memory(exc):
                raise
            log.warning("compiling the IK failed (%s: %s); capturing it uncompiled", type(exc).__name__, exc)
            self.compile = False
            solver = self._solver()
            entry.graph, entry.out = capture(lambda: solver(entry.features), self.device)
        self._cache[key] = entry
        self.captures += 1
        return entry

    def _solver(self):
        """The function a capture records: the solver's arithmetic on a plan built beforehand, compiled once
        (per new shape, on its first warm-up run) when asked."""
        if self._solve is None or self._solve_compiled != self.compile:
            plan, skeleton = _torch_plan(self.skeleton, self.dtype, self.device), self.skeleton

            def solve(features):
                joints = features_to_joints(features, skeleton, validate=False)
                return (joints, *solve_with_plan(joints, plan))
            if self.compile:
                torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 2 * self.max_graphs)
                solve = torch.compile(solve, dynamic=False)
            self._solve, self._solve_compiled = solve, self.compile
        return self._solve

"""A tensor function replayed as CUDA graphs, one per input shape, from that shape's second use.

Why: around the sampling loop (itself one graph, `graph_sampler`), a batch-1 generation encodes the prompt
(`Engine._encode`), decodes the latents (`Engine._decode`) and turns features into joints and rotations
(`motion_core.kinematics.ik_graph`): tens, hundreds and ~2,700 small kernels, whose launches cost more than their work.
Measured on an H100: 1.1, 1.3 and 6-8 ms before (the IK on the host), 0.3, 0.3 and 1.4 ms replayed and
compiled. A capture costs three eager runs (two warm-ups and the capture itself), so a shape is captured on
its `capture_after`-th use, when it is likely to come again (a user iterating on prompts of one length);
before that, `run` answers None and the caller computes eagerly.

With `compile=True` the function is compiled by `torch.compile` (static shapes) before the capture: far fewer
kernels per replay, at the price of a long first capture per shape (the IK's: about a minute).

Failures: a capture error other than out-of-memory turns the graphs off for this object (one warning) and
`run` answers None from then on; a compile error first retries the capture uncompiled. Out-of-memory
propagates, so the engine's batch halving handles it.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Callable, Hashable

import torch

from motion_core.runtime.device import is_out_of_memory
from motion_core.runtime.graph_sampler import CompiledForCapture

__all__ = ["ShapeGraphs", "CAPTURE_AFTER"]

log = logging.getLogger(__name__)

CAPTURE_AFTER = 2     # uses of a shape before it is captured


class _Captured:
    def __init__(self, inputs: tuple[torch.Tensor, ...]):
        self.inputs = tuple(torch.zeros_like(t) for t in inputs)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.outputs: tuple[torch.Tensor, ...] = ()


class ShapeGraphs:
    """`fn(*tensors, **static)` replayed per key = (input shapes and dtypes, static arguments) on one CUDA device.

    `fn` must be capturable: tensor work only, no read-back to the host, no host-to-device copy. It returns a
    tensor or a tuple of tensors; `run` returns fresh copies of them.
    """

    def __init__(self, fn: Callable, device: torch.device, name: str, compile: bool = False,
                 max_graphs: int = 8, capture_after: int = CAPTURE_AFTER):
        if max_graphs < 1:
            raise ValueError(f"max_graphs must be >= 1, got {max_graphs}")
        if capture_after < 1:
            raise ValueError(f"capture_after must be >= 1, got {capture_after}")
        self.device, self.name = torch.device(device), name
        self.max_graphs, self.capture_after = max_graphs, capture_after
        self.disabled_reason: str | None = None
        self.captures = 0
        self._uses: dict[Hashable, int] = {}
        self._cache: OrderedDict[Hashable, _Captured] = OrderedDict()
        self._fn = CompiledForCapture(fn, name, max_graphs, compile)

    @property
    def compile_requested(self) -> bool:
        return self._fn.requested

    @property
    def compile(self) -> bool:
        """Whether captures use the compiled function (off after a compile failure)."""
        return self._fn.active

    @staticmethod
    def key(*inputs, **static) -> Hashable:
        """A call's key: each input's shape and dtype (tensors or (shape, dtype) pairs), and the static arguments."""
        shapes = tuple((tuple(x.shape), x.dtype) if isinstance(x, torch.Tensor) else (tuple(x[0]), x[1])
                       for x in inputs)
        return shapes, tuple(sorted(static.items()))

    def due(self, *inputs, **static) -> bool:
        """Count one use of this call's key; True when `run` will replay a graph for it."""
        if self.disabled_reason is not None:
            return False
        key = self.key(*inputs, **static)
        self._uses[key] = self._uses.get(key, 0) + 1
        return self._ready(key)

    def _ready(self, key: Hashable) -> bool:
        return key in self._cache or self._uses.get(key, 0) >= self.capture_after

    def run(self, *inputs: torch.Tensor, **static) -> tuple[torch.Tensor, ...] | torch.Tensor | None:
        """`fn(*inputs, **static)` by a graph replay (capturing first if due), or None when the key is not due
        yet or graphs are off."""
        if self.disabled_reason is not None:
            return None
        key = self.key(*inputs, **static)
        if not self._ready(key):
            return None
        try:
            entry = self._cache.get(key) or self._capture(key, inputs, static)
        except Exception as exc:
            self._cache.clear()
            if is_out_of_memory(exc):
                raise
            self.disabled_reason = f"{type(exc).__name__}: {exc}"
            log.warning("CUDA-graph %s failed (%s); computing it eagerly from now on", self.name, self.disabled_reason)
            return None
        self._cache.move_to_end(key)
        for buffer, value in zip(entry.inputs, inputs):
            buffer.copy_(value)
        entry.graph.replay()
        outputs = tuple(t.clone() for t in entry.outputs)
        return outputs if len(outputs) > 1 else outputs[0]

    def _capture(self, key: Hashable, inputs: tuple[torch.Tensor, ...], static: dict) -> _Captured:
        while len(self._cache) >= self.max_graphs:
            self._cache.popitem(last=False)    # frees that graph's memory pool
        entry = _Captured(inputs)
        for buffer, value in zip(entry.inputs, inputs):
            buffer.copy_(value)
        entry.graph, outputs = self._fn.capture(lambda fn: lambda: fn(*entry.inputs, **static), self.device)
        entry.outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        self._cache[key] = entry
        self.captures += 1
        return entry

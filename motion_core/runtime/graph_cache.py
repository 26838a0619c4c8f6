"""The CUDA graphs one engine replays, kept together so that moving the engine drops them all at once.

`sampler` is the whole denoising loop (`GraphSampler`); `stage(name, ...)` holds one `ShapeGraphs` per stage
("text", "decode", "ik"), made on first use by the caller's factory and made again when the device or the
compile setting changed. `empty_prompt` caches the unconditional input of classifier-free guidance.
"""
from __future__ import annotations

from typing import Callable

import torch


class GraphCache:
    def __init__(self):
        self.sampler = None                 # GraphSampler, made on first use on CUDA
        self.stages: dict = {}              # stage name -> ShapeGraphs
        self.empty_prompt: tuple | None = None   # (key, tokens, mask), see generation.sampling.unconditional

    def clear(self) -> None:
        """Forget every captured graph: they point at buffers on the old device and must never be replayed."""
        self.sampler, self.stages = None, {}

    def stage(self, name: str, device: torch.device, compile: bool, make: Callable[[], object]):
        """The graphs of stage `name`, made by `make()` unless ones for this device and compile setting exist."""
        graphs = self.stages.get(name)
        if graphs is None or graphs.device != device or graphs.compile_requested != compile:
            graphs = self.stages[name] = make()
        return graphs

"""How the benchmarks time: wall seconds of whole generate calls split by stage, and of single forwards.

`StageClock` wraps the generation parts' stage functions while active, so `time_generate` times the real
`Engine.generate` path per stage (`STAGES`); `denoiser_forward_seconds` times one denoiser forward eagerly, as a
CUDA-graph replay (`captured`) or compiled; `median_seconds` and `synchronize` are the shared clockwork.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from collections import defaultdict
from typing import Callable, Sequence

import torch

from motion_core.engine import Engine
from motion_core.generation import batching, sampling
from motion_core.interfaces.bench_models import PROMPT
from motion_core.runtime.graph_sampler import capture, compile_for_capture

__all__ = ["STAGES", "synchronize", "StageClock", "time_generate", "denoiser_forward_seconds", "median_seconds",
           "captured"]

STAGES = ("text", "sampling", "decode", "motion", "total")


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); a no-op elsewhere."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StageClock:
    """Seconds spent in each stage of `Engine.generate`, by wrapping the generation parts' stage functions while
    active (text encoding, the sampling pass, the VAE decode), for calls made on this clock's engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.seconds: dict[str, float] = defaultdict(float)
        self._patched: list[tuple[object, str, Callable]] = []

    def _wrap(self, owner: object, name: str, stage: str) -> None:
        original = getattr(owner, name)

        def timed(engine, *args, **kwargs):
            if engine is not self.engine:
                return original(engine, *args, **kwargs)
            synchronize(engine.device)
            start = time.perf_counter()
            try:
                return original(engine, *args, **kwargs)
            finally:
                synchronize(engine.device)
                self.seconds[stage] += time.perf_counter() - start
        setattr(owner, name, timed)   # the module's own name is put back by __exit__
        self._patched.append((owner, name, original))

    def __enter__(self) -> "StageClock":
        # Patched where they are looked up: `generate`'s passes call sample_latents and decode_latents from
        # batching's namespace, and sample_latents calls encode_prompts from sampling's.
        self._wrap(sampling, "encode_prompts", "text")
        self._wrap(batching, "sample_latents", "text+sampling")
        self._wrap(batching, "decode_latents", "decode")
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)
        self._patched.clear()

    def stages(self, total: float) -> dict[str, float]:
        """Per-stage seconds of the calls made while active, given their total wall time."""
        text, both, decode = self.seconds["text"], self.seconds["text+sampling"], self.seconds["decode"]
        return {"text": text, "sampling": both - text, "decode": decode, "motion": total - both - decode,
                "total": total}


def time_generate(engine: Engine, prompts: Sequence[str], frames: int, steps: int, guidance: float,
                  repeats: int, warmup: int) -> dict[str, dict[str, float]]:
    """{stage: {"median", "min"}} seconds of `engine.generate(prompts, frames=...)` over `repeats` runs.

    Besides the wall-clock STAGES, "process_cpu" is the CPU time the process used (all threads): on a machine
    shared with other jobs it is the steadier number, since waiting for a core does not count.
    """
    call = lambda: engine.generate(list(prompts), frames=frames, steps=steps, guidance=guidance, seed=0)  # noqa: E731
    for _ in range(warmup):
        call()
    runs = []
    for _ in range(repeats):
        with StageClock(engine) as clock:
            synchronize(engine.device)
            start, cpu_start = time.perf_counter(), time.process_time()
            call()
            synchronize(engine.device)
            total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        runs.append({**clock.stages(total), "process_cpu": cpu})
    return {stage: {"median": statistics.median(r[stage] for r in runs), "min": min(r[stage] for r in runs)}
            for stage in STAGES + ("process_cpu",)}


@torch.inference_mode()
def denoiser_forward_seconds(engine: Engine, length: int, dtype: torch.dtype, repeats: int, warmup: int,
                             graph: bool = False, compiled: bool = False) -> float:
    """Median seconds of one denoiser forward at batch 1 on `length` latent frames (guidance off), run eagerly
    or (`graph`, CUDA only) captured once into a CUDA graph and replayed; `compiled`: torch.compile'd first,
    as the engine's `compile` option does (static shapes, frozen weights)."""
    device, denoiser = engine.device, engine.denoiser
    if compiled:
        torch._dynamo.reset()    # a fresh compilation per size: the recompile limit never decides what runs
        denoiser = compile_for_capture(denoiser, max_graphs=1, freezing=True)
    tokens, mask = engine.text_encoder.encode([PROMPT])
    x = torch.randn(1, length, denoiser.config.latent_dim, device=device)
    t = torch.full((1,), 500, dtype=torch.long, device=device)
    autocast = (torch.autocast(device.type, dtype=dtype) if dtype != torch.float32 else contextlib.nullcontext())

    def forward():
        with autocast:
            return denoiser(x, t, tokens, mask)
    return median_seconds(captured(forward, device) if graph else forward, device, repeats, warmup)


def median_seconds(run: Callable[[], object], device: torch.device, repeats: int, warmup: int) -> float:
    """Median wall seconds of `run()` over `repeats` runs after `warmup` more, the device synchronised around each."""
    times = []
    for i in range(warmup + repeats):
        synchronize(device)
        start = time.perf_counter()
        run()
        synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def captured(forward: Callable[[], torch.Tensor], device: torch.device) -> Callable[[], None]:
    """`forward` captured into a CUDA graph (as the engine's sampler captures its loop): its replay."""
    return capture(forward, device)[0].replay

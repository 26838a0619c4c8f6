"""The whole diffusion sampling loop captured as one CUDA graph.

Why: at batch 1 and ~50 latent frames every denoiser layer is a handful of tiny kernels, so a sampling
step costs the CPU time of launching them, not GPU work (measured on an H100: 10 steps of an eight-block
Mamba U-Net take 60.8 ms eagerly and 6.4 ms replayed as one graph). Capturing the loop once per shape
and replaying it removes the launch cost entirely.

How: `GraphSampler` runs the engine's own sampler (`ddim_sample` / `dpm_solver_pp_sample` from
`motion_core.generation.diffusion`) under `torch.cuda.graph` on static buffers: starting noise, text tokens and
token masks (cond and uncond stacked, padded to a multiple of `TOKEN_BUCKET` tokens, padding masked
out) and the guidance scale as a 0-d tensor, so a new prompt, seed or guidance needs only copies into
those buffers and one replay. The denoiser runs under bfloat16 autocast (sampler arithmetic stays
float32). Captured graphs are cached per shape key (sampler, batch, latent frames, steps, guided or
not, token bucket), least recently used first out.

With `compile=True` the denoiser is first compiled by `torch.compile` (TorchInductor fuses the tiny kernels
around each scan and matrix product; ssm/scan_op.py keeps the scan one opaque operator) and the compiled
code is what the graph captures. That makes each new shape's capture slow (compilation takes tens of
seconds) and every replay faster; a compile failure turns compilation off and captures eagerly instead.

The compiled graphs treat the weights as constants ("freezing"): a denoiser whose weights change needs a new
sampler, as it needs new graphs anyway.

Inpainting (`extend`, timeline windows) is captured too: the known latents, their mask and the RePaint noise
of every step (drawn up front from the seeded generator, `diffusion.draw_inpainting_noise`) are static
buffers like the starting noise. What it does not cover (the engine samples those eagerly): frame masks and
guidance towards a path (`generation.guidance`, which differentiates through the decoder each step). A graph
has no per-step hooks, so cancellation is checked before and after the replay and progress jumps to the end; a
replay is milliseconds, which is finer than any UI needs.

Failures: `try_sample` falls back (returns None, logs one warning, disables capture for this
sampler) on any capture error except running out of memory, which propagates so the engine's batch
halving can handle it like any other out-of-memory.
"""
from __future__ import annotations

import logging
import math
from collections import OrderedDict
from contextlib import nullcontext
from typing import Callable, NamedTuple

import torch

from motion_core.runtime.device import is_out_of_memory

__all__ = ["GraphSampler", "GraphKey", "TOKEN_BUCKET", "CompiledForCapture", "capture", "compile_for_capture",
           "graphs_supported", "pad_tokens"]

log = logging.getLogger(__name__)

TOKEN_BUCKET = 8      # token sequences are padded to a multiple of this, so prompts share graphs
WARMUP_RUNS = 2       # eager runs on a side stream before capture (kernel autotuning, cuBLAS workspaces)

SampleFn = Callable[..., torch.Tensor]


class GraphKey(NamedTuple):
    """Everything that fixes the shapes or the control flow of a captured loop."""
    sampler: str
    batch: int
    length: int
    channels: int
    steps: int
    guided: bool
    tokens: int
    text_dim: int
    inpaint: bool = False


def graphs_supported(device: torch.device) -> bool:
    """CUDA graphs need a CUDA device (and a torch build with CUDA)."""
    return torch.device(device).type == "cuda" and torch.cuda.is_available()


def pad_tokens(tokens: torch.Tensor, mask: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad (B, n, E) tokens with zeros and their (B, n) mask with False up to `length` tokens.

    The denoisers read text only through masked means and key-masked attention, so padded tokens
    change nothing but float rounding.
    """
    extra = length - tokens.shape[1]
    if extra < 0:
        raise ValueError(f"cannot pad {tokens.shape[1]} tokens down to {length}")
    if extra == 0:
        return tokens, mask
    return (torch.cat([tokens, tokens.new_zeros(tokens.shape[0], extra, tokens.shape[2])], dim=1),
            torch.cat([mask, mask.new_zeros(mask.shape[0], extra)], dim=1))


def _bucket(n: int) -> int:
    return max(TOKEN_BUCKET, math.ceil(n / TOKEN_BUCKET) * TOKEN_BUCKET)


def capture(run: Callable[[], torch.Tensor], device: torch.device) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
    """`run` captured into a CUDA graph, and the output tensor its replays refill. WARMUP_RUNS eager runs on a
    side stream come first, as capture requires."""
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(WARMUP_RUNS):
            run()
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = run()
    return graph, out


def compile_for_capture(fn: Callable, max_graphs: int, freezing: bool = False) -> Callable:
    """`torch.compile(fn)` as the graphs here want it: static shapes (each graph's are fixed anyway, and one
    specialised kernel set per shape is what a replay wants), and a recompile limit that covers every shape a
    cache of `max_graphs` graphs can hold. `freezing` (inference only): the weights become constants."""
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 2 * max_graphs)
    return torch.compile(fn, dynamic=False, options={"freezing": True} if freezing else None)


class CompiledForCapture:
    """`fn` as the graphs of one cache capture it: compiled once (`compile_for_capture`, on the first warm-up
    run of each new shape) when asked, and plain for good once a compiled capture has failed."""

    def __init__(self, fn: Callable, what: str, max_graphs: int, compile: bool, freezing: bool = False):
        self.fn, self.what, self.max_graphs, self.freezing = fn, what, max_graphs, freezing
        self.requested = self.active = bool(compile)     # active turns off if compiling fails
        self._compiled: Callable | None = None

    def function(self) -> Callable:
        if not self.active:
            return self.fn
        if self._compiled is None:
            self._compiled = compile_for_capture(self.fn, self.max_graphs, self.freezing)
        return self._compiled

    def capture(self, run_with: Callable[[Callable], Callable[[], object]], device: torch.device):
        """`capture(run_with(function()), device)`; a failure while compiled (other than out-of-memory) warns,
        turns compilation off and captures `run_with(fn)` instead."""
        try:
            return capture(run_with(self.function()), device)
        except Exception as exc:
            if not self.active or is_out_of_memory(exc):
                raise
            log.warning("compiling %s failed (%s: %s); capturing it uncompiled", self.what, type(exc).__name__, exc)
            self.active, self._compiled = False, None
            return capture(run_with(self.fn), device)


class _CapturedLoop:
    """One captured sampling loop: its graph, the static inputs it reads and the output it writes."""

    def __init__(self, key: GraphKey, device: torch.device):
        rows = 2 * key.batch if key.guided else key.batch
        self.key = key
        self.x_T = torch.zeros(key.batch, key.length, key.channels, device=device)
        self.tokens = torch.zeros(rows, key.tokens, key.text_dim, device=device)
        self.token_mask = torch.zeros(rows, key.tokens, dtype=torch.bool, device=device)
        self.guidance = torch.ones((), device=device)
        shape = (key.batch, key.length, key.channels)
        # The sampler's inpainting arguments, as static buffers (none for a loop that does not inpaint).
        self.inpaint = {} if not key.inpaint else {
            "known": torch.zeros(shape, device=device),
            "known_mask": torch.zeros(shape[:2], dtype=torch.bool, device=device),
            "known_noise": torch.zeros((key.steps,) + shape, device=device)}
        self.graph: torch.cuda.CUDAGraph | None = None
        self.out: torch.Tensor | None = None

    def load(self, x_T: torch.Tensor, cond, uncond, guidance: float, inpaint: dict | None = None) -> None:
        """Copy one call's inputs into the static buffers (cond rows first, then uncond rows)."""
        b, n = self.key.batch, self.key.tokens
        self.x_T.copy_(x_T)
        parts = [cond, uncond] if self.key.guided else [cond]
        for i, (tokens, mask) in enumerate(parts):
            tokens, mask = pad_tokens(tokens, mask, n)
            self.tokens[i * b:(i + 1) * b].copy_(tokens)
            self.token_mask[i * b:(i + 1) * b].copy_(mask)
        self.guidance.fill_(guidance)
        for name, buffer in self.inpaint.items():
            buffer.copy_(inpaint[name])


class GraphSampler:
    """Replays captured sampling loops of one denoiser on one CUDA device.

    `sample_fn` is `ddim_sample` or `dpm_solver_pp_sample` (any function with their signature);
    it is called once per new shape key with the denoiser wrapped for guidance and autocast.
    """

    def __init__(self, denoiser: torch.nn.Module, schedule, device: torch.device,
                 dtype: torch.dtype = torch.bfloat16, max_graphs: int = 8, compile: bool = False):
        if dtype not in (torch.bfloat16, torch.float16, torch.float32):
            raise ValueError(f"dtype must be bfloat16, float16 or float32, got {dtype}")
        if max_graphs < 1:
            raise ValueError(f"max_graphs must be >= 1, got {max_graphs}")
        self.denoiser, self.schedule = denoiser, schedule
        self.device, self.dtype, self.max_graphs = torch.device(device), dtype, max_graphs
        self.disabled_reason: str | None = None
        self._cache: OrderedDict[GraphKey, _CapturedLoop] = OrderedDict()
        self.captures = 0     # graphs captured so far (for benchmarks and tests)
        # Freezing: the weights become constants, so autocast's bf16 copies of them are made once at compile
        # time instead of by ~150 cast kernels per step (a graph's autocast keeps no cache between calls).
        self._denoiser = CompiledForCapture(denoiser, "the denoiser", max_graphs, compile, freezing=True)

    @property
    def compile_requested(self) -> bool:
        return self._denoiser.requested

    @property
    def compile(self) -> bool:
        """Whether captures use the compiled denoiser (off after a compile failure)."""
        return self._denoiser.active

    def key(self, sample_fn: SampleFn, x_T: torch.Tensor, cond, uncond, steps: int, guidance: float,
            inpaint: bool = False) -> GraphKey:
        guided = float(guidance) != 1.0
        if guided and uncond is None:
            raise ValueError("guidance != 1 needs `uncond` (e.g. the encoding of the empty prompt)")
        tokens = cond[0].shape[1] if not guided else max(cond[0].shape[1], uncond[0].shape[1])
        b, length, channels = x_T.shape
        return GraphKey(sample_fn.__name__, b, length, channels, int(steps), guided, _bucket(tokens),
                        cond[0].shape[2], inpaint)

    def try_sample(self, sample_fn: SampleFn, x_T: torch.Tensor, cond, uncond, steps: int,
                   guidance: float, **inpaint) -> torch.Tensor | None:
        """Latents like `sample_fn(...)` would give, or None when graphs are off or capture failed.
        `inpaint`: `known`, `known_mask` and `known_noise` as the samplers take them (all three, or none)."""
        if self.disabled_reason is not None:
            return None
        try:
            return self.sample(sample_fn, x_T, cond, uncond, steps, guidance, **inpaint)
        except Exception as exc:
            if is_out_of_memory(exc):
                self._cache.clear()
                raise
            self.disabled_reason = f"{type(exc).__name__}: {exc}"
            self._cache.clear()
            log.warning("CUDA-graph sampling failed (%s); sampling eagerly from now on", self.disabled_reason)
            return None

    def sample(self, sample_fn: SampleFn, x_T: torch.Tensor, cond, uncond, steps: int,
               guidance: float, **inpaint) -> torch.Tensor:
        """Replay (capturing first if this shape is new). Raises whatever capture raises."""
        if inpaint and set(inpaint) != {"known", "known_mask", "known_noise"}:
            raise ValueError(f"inpainting needs known, known_mask and known_noise; got {sorted(inpaint)}")
        key = self.key(sample_fn, x_T, cond, uncond, steps, guidance, inpaint=bool(inpaint))
        loop = self._cache.get(key)
        if loop is None:
            loop = self._capture(key, sample_fn, x_T, cond, uncond, guidance, inpaint)
        self._cache.move_to_end(key)
        loop.load(x_T, cond, uncond, guidance, inpaint)
        loop.graph.replay()
        return loop.out.clone()

    def _capture(self, key: GraphKey, sample_fn: SampleFn, x_T, cond, uncond, guidance,
                 inpaint: dict) -> _CapturedLoop:
        while len(self._cache) >= self.max_graphs:
            self._cache.popitem(last=False)   # frees that graph's memory pool
        loop = _CapturedLoop(key, self.device)
        loop.load(x_T, cond, uncond, guidance, inpaint)
        loop.graph, loop.out = self._denoiser.capture(
            lambda denoiser: self._loop_runner(key, sample_fn, loop, denoiser), self.device)
        self._cache[key] = loop
        self.captures += 1
        return loop

    def _loop_runner(self, key: GraphKey, sample_fn: SampleFn, loop: _CapturedLoop,
                     denoiser: Callable | None = None) -> Callable[[], torch.Tensor]:
        """The sampling loop on `loop`'s buffers; guidance is applied here, so the sampler sees scale 1.
        `denoiser`: the one to run (compiled or not); default, what the next capture would use."""
        b = key.batch
        denoiser = self._denoiser.function() if denoiser is None else denoiser
        autocast = (torch.autocast("cuda", dtype=self.dtype, cache_enabled=False)
                    if self.dtype != torch.float32 else nullcontext())

        def model_fn(x, t, _cond, _mask):
            with autocast:
                if not key.guided:
                    return denoiser(x, t, loop.tokens, loop.token_mask, None).float()
                out = denoiser(torch.cat([x, x]), torch.cat([t, t]), loop.tokens, loop.token_mask, None).float()
            out_cond, out_uncond = out[:b], out[b:]
            return out_uncond + loop.guidance * (out_cond - out_uncond)

        def run() -> torch.Tensor:
            return sample_fn(self.schedule, model_fn, (b, key.length, key.channels), None, None,
                             steps=key.steps, guidance=1.0, device=self.device, x_T=loop.x_T, **loop.inpaint)
        return run

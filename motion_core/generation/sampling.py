"""One sampling pass: prompts to latents.

Text encoding (with the empty prompt's encoding cached for classifier-free guidance), then the latent diffusion
loop of the checkpoint's sampler, replayed as one CUDA graph where possible, under bfloat16 autocast on CUDA.
The starting noise of prompt i comes from its own CPU generator seeded with `seeds[i]`, so a (prompt, seed)
pair gives the same motion whatever else shares the pass.
"""
from __future__ import annotations

from contextlib import nullcontext

import torch

from motion_core.generation.diffusion import SAMPLERS, Cancelled, ddim_sample, draw_inpainting_noise
from motion_core.generation.progress import Progress
from motion_core.runtime.graph_sampler import GraphSampler, graphs_supported
from motion_core.runtime.shape_graphs import ShapeGraphs


def encode_prompts(engine, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """`text_encoder.encode(prompts)` of the prompts as the engine reads them (`Engine.read`: unseen words
    swapped for trained ones), its device half replayed as a CUDA graph from a shape's second use."""
    prompts = [engine.read(p).text for p in prompts]
    graphs = text_graphs(engine)
    if graphs is None:
        return engine.text_encoder.encode(prompts)
    inputs = engine.text_encoder.prepare(prompts)
    encoded = graphs.run(*inputs) if graphs.due(*inputs) else None
    return engine.text_encoder.forward_prepared(*inputs) if encoded is None else encoded


def text_graphs(engine):
    """The text encoder's ShapeGraphs, or None where graphs are off or the encoder does not split `encode`."""
    if not (engine.cuda_graphs and engine.text_encoder.splits_encoding and graphs_supported(engine.device)):
        return None
    return engine.graphs.stage("text", engine.device, engine.compile, lambda: ShapeGraphs(
        engine.text_encoder.forward_prepared, engine.device, "text encoder", compile=engine.compile))


def unconditional(engine, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The empty prompt's encoding repeated `batch` times: computed once, reused while the encoder is unchanged.

    The key holds the device and the parameters' version counters, which every in-place update (optimiser
    step, load_state_dict) bumps, so an encoder still being trained is re-encoded after each change.
    """
    cache = engine.graphs
    key = (engine.device, tuple(p._version for p in engine.text_encoder.parameters()))
    if cache.empty_prompt is None or cache.empty_prompt[0] != key:
        tokens, mask = engine.text_encoder.encode([""])
        cache.empty_prompt = (key, tokens, mask)
    _, tokens, mask = cache.empty_prompt
    return tokens.expand(batch, *tokens.shape[1:]), mask.expand(batch, *mask.shape[1:])


def denoiser_autocast(engine):
    """bfloat16 autocast for the denoiser on CUDA (precision "auto"/"bf16"); a no-op context elsewhere."""
    if engine.device.type != "cuda" or engine.precision == "fp32":
        return nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16)


@torch.inference_mode()
def sample_latents(engine, prompts: list[str], seeds: list[int], num_frames: int, guidance: float, steps: int,
                   report: Progress, should_cancel, known: torch.Tensor | None = None, guide=None) -> torch.Tensor:
    """Latents (B, L, C) for `num_frames` frames; `known` (1, Lk, C) fixes the first Lk latents (inpainting);
    `guide` (a `generation.guidance.Guide`) steers each step's clean estimate (not in a CUDA graph)."""
    report(0.0, "encoding text")
    cond = encode_prompts(engine, prompts)
    uncond = unconditional(engine, len(prompts))
    length = engine.vae.latent_length(num_frames)
    shape = (len(prompts), length, engine.vae.config.latent_dim)
    x_T = torch.cat([torch.randn((1,) + shape[1:], generator=torch.Generator().manual_seed(s))
                     for s in seeds]).to(engine.device)
    # Only inpainting noise comes from this generator; drawn up front, so a CUDA graph can replay it.
    generator = torch.Generator(device=engine.device).manual_seed(seeds[0])
    inpaint = {} if known is None else inpainting(known, shape, steps, generator, engine.device)
    autocast = denoiser_autocast(engine)

    def model_fn(x, t, condition, mask):
        tokens, token_mask = condition
        with autocast:
            return engine.denoiser(x, t, tokens, token_mask, mask).float()

    sampler = SAMPLERS.get(engine.sampler, ddim_sample)
    graph = guide is None   # guidance runs eagerly (it differentiates through the decoder each step)
    latents = None if not graph else _sample_in_graph(engine, sampler, x_T, cond, uncond, steps, guidance,
                                                      report, should_cancel, inpaint)
    if latents is None:
        extra = {"eta": 0.0} if sampler is ddim_sample else {}
        if guide is not None:
            extra["guide"] = guide
        latents = sampler(engine.schedule, model_fn, shape, cond, uncond, steps=steps, guidance=guidance,
                          generator=generator, progress=lambda i, n: report(i / n, f"denoising step {i}/{n}"),
                          should_cancel=should_cancel, device=engine.device, x_T=x_T, **inpaint, **extra)
    if should_cancel is not None and should_cancel():
        raise Cancelled("cancelled before decoding")
    return latents / engine.latent_scale


def inpainting(known: torch.Tensor, shape: tuple[int, int, int], steps: int, generator: torch.Generator,
               device: torch.device) -> dict:
    """The sampler's inpainting arguments for latents whose first ``known.shape[1]`` positions are `known`."""
    known_full = torch.zeros(shape, device=device)
    known_full[:, : known.shape[1]] = known
    known_mask = torch.zeros(shape[:2], dtype=torch.bool, device=device)
    known_mask[:, : known.shape[1]] = True
    return {"known": known_full, "known_mask": known_mask,
            "known_noise": draw_inpainting_noise(steps, shape, generator, device)}


def _sample_in_graph(engine, sampler, x_T, cond, uncond, steps: int, guidance: float, report: Progress,
                     should_cancel, inpaint: dict) -> torch.Tensor | None:
    """The sampling loop as one CUDA-graph replay, or None where graphs are off, unsupported or failing."""
    if not (engine.cuda_graphs and graphs_supported(engine.device)):
        return None
    dtype = torch.float32 if engine.precision == "fp32" else torch.bfloat16
    cache = engine.graphs
    if (cache.sampler is None or cache.sampler.device != engine.device or cache.sampler.dtype != dtype
            or cache.sampler.compile_requested != engine.compile):
        cache.sampler = GraphSampler(engine.denoiser, engine.schedule, engine.device, dtype=dtype,
                                     compile=engine.compile)
    if should_cancel is not None and should_cancel():
        raise Cancelled("sampling cancelled")
    latents = cache.sampler.try_sample(sampler, x_T, cond, uncond, steps, guidance, **inpaint)
    if latents is not None:
        report(1.0, f"denoising step {steps}/{steps} (CUDA graph)")
    return latents

"""Where one denoiser forward spends its time, module by module, at batch 1 and a given latent length.

Why: the scaling goal (issue #9: the Mamba U-Net >= 4x the transformer at 72,000 frames = 18,000 latents) is
decided by GPU work, not launches, so on CUDA each module is timed as the scaling benchmark times the whole
model: its forward on the inputs it really receives (recorded by hooks during one full forward), captured once
into a CUDA graph and replayed (bf16 autocast, inference mode); with ``--compile`` also compiled first, as the
engine does. On the CPU the same modules run eagerly in float32, as the CPU engine runs them. The rows of one
level's blocks add up to close to the whole forward, so the table says which block to speed up. The busiest
kernels (CUDA) or operators (CPU) of the whole forward follow.

    python benchmarks/profile_denoiser.py [--checkpoint DIR | --model transformer] [--device cuda]
        [--latents 18000] [--compile] [--modules REGEX] [--repeats 20] [--top 20] [--out FILE.json]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.interfaces.bench import (DENOISER_TYPES, PROMPT, busiest_kernels, captured, environment,  # noqa: E402
                               make_engine, median_seconds, synchronize)
from motion_core.runtime.graph_sampler import compile_for_capture  # noqa: E402

# Modules timed by default: every block of the U-Net, and the two mixers inside each Mamba block.
DEFAULT_MODULES = r"^(encoder|decoder|downs|ups|fuse|mid|layers)\.\d+(\.(temporal|spatial))?$"


def record_inputs(denoiser: torch.nn.Module, names: list[str], run) -> dict[str, tuple]:
    """The (args, kwargs) each named submodule receives during `run()` (its first call)."""
    seen: dict[str, tuple] = {}
    modules = dict(denoiser.named_modules())

    def hook(name):
        def record(module, args, kwargs):
            seen.setdefault(name, (args, kwargs))
        return record
    handles = [modules[n].register_forward_pre_hook(hook(n), with_kwargs=True) for n in names]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return seen


def runner(fn, device: torch.device):
    """What is timed: on CUDA one replay of `fn` captured as a CUDA graph, elsewhere `fn` itself."""
    return captured(fn, device) if device.type == "cuda" else fn


def median_ms(fn, device: torch.device, repeats: int, warmup: int = 2) -> float:
    """Median milliseconds of one run of `runner(fn, device)`."""
    return 1e3 * median_seconds(runner(fn, device), device, repeats, warmup)


def kernel_table(fn, device: torch.device, top: int) -> dict:
    """The busiest kernels (CUDA: of one graph replay) or operators (CPU, by self time) of one run of `fn`."""
    run = runner(fn, device)
    run()
    synchronize(device)
    activity = torch.profiler.ProfilerActivity.CUDA if device.type == "cuda" else torch.profiler.ProfilerActivity.CPU
    with torch.profiler.profile(activities=[activity]) as prof:
        run()
        synchronize(device)
    return busiest_kernels(prof, device, top)


@torch.inference_mode()
def profile(engine, latents: int, pattern: str, compile: bool, repeats: int, top: int) -> dict:
    device, denoiser = engine.device, engine.denoiser
    tokens, mask = engine.text_encoder.encode([PROMPT])
    x = torch.randn(1, latents, denoiser.config.latent_dim, device=device)
    t = torch.full((1,), 500, dtype=torch.long, device=device)
    bf16 = device.type == "cuda"      # as the engine samples: bf16 autocast on CUDA, float32 on the CPU

    def call(module, args=(), kwargs=None):
        def run():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                return module(*args, **(kwargs or {}))
        return run
    whole = call(denoiser, (x, t, tokens, mask))
    names = [n for n, _ in denoiser.named_modules() if n and re.search(pattern, n)]
    inputs = record_inputs(denoiser, names, whole)
    rows = []
    for name in ["(whole denoiser)"] + [n for n in names if n in inputs]:
        module = denoiser if name.startswith("(") else denoiser.get_submodule(name)
        args, kwargs = ((x, t, tokens, mask), {}) if module is denoiser else inputs[name]
        row = {"module": name, "ms": median_ms(call(module, args, kwargs), device, repeats)}
        if compile:
            torch._dynamo.reset()
            compiled = compile_for_capture(module, max_graphs=1, freezing=True)
            row["compiled_ms"] = median_ms(call(compiled, args, kwargs), device, repeats)
        rows.append(row)
        print(f"{name:32s} {'graph' if device.type == 'cuda' else 'eager'} {row['ms']:8.3f} ms" +
              (f"   compiled {row['compiled_ms']:8.3f} ms" if compile else ""), flush=True)
    torch._dynamo.reset()
    fn = call(compile_for_capture(denoiser, max_graphs=1, freezing=True) if compile else denoiser,
              (x, t, tokens, mask))
    kernels = kernel_table(fn, device, top)
    what = "kernels" if device.type == "cuda" else "operator calls (self time)"
    print(f"whole forward ({'compiled' if compile else 'uncompiled'}): {kernels['kernel_launches']} {what}, "
          f"{kernels['kernel_ms']:.3f} ms in all")
    for row in kernels["top"]:
        print(f"{row['ms']:8.3f} ms {row['count']:5d}x  {row['kernel']}")
    return {"latents": latents, "modules": rows, "kernels": kernels}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=None, help="a model directory (default: an untrained default-size "
                                                           "model of --model)")
    parser.add_argument("--model", choices=DENOISER_TYPES, default="mamba_unet")
    parser.add_argument("--device", default="cuda", help="cuda (graph replays, bf16) or cpu (eager, float32)")
    parser.add_argument("--latents", type=int, default=18000, help="latent frames (frames / 4)")
    parser.add_argument("--compile", action="store_true", help="also time each module compiled")
    parser.add_argument("--modules", default=DEFAULT_MODULES, help="regex over submodule names to time")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("no CUDA device here: pass --device cpu")
    engine = make_engine(args.model, args.device, args.checkpoint, max_frames=4 * args.latents)
    result = {"environment": environment(engine.device), "arguments": {k: str(v) for k, v in vars(args).items()},
              **profile(engine, args.latents, args.modules, args.compile, args.repeats, args.top)}
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()

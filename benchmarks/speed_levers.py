"""The speed levers of issue #25, each timed against the previous one in the same process (batch 1, bf16 autocast,
one denoiser forward replayed as a CUDA graph, as `python -m motion_core.bench scaling` times it).

Levers are run-time switches of the same modules and weights:
  per-scan        every temporal Mamba scanned on its own (the engine before #25)
  fused-temporal  the k temporal Mambas of a level as one grouped selective scan (HierarchicalTemporalMamba.fused)
  spatial-fold    BidirectionalSpatialMamba: out_proj and the backward flip folded into merge (.fold_out_proj)
  packed N        the spatial scans' short sequences packed into rows of N steps (Mamba.packed_length; 128 is
                  the engine's), timed on the engine's variant (per-scan+spatial-fold)
`--compile`: every forward torch.compile'd first (static shapes, frozen weights), as the engine's compile option
does, transformer included. `--variants` picks which variants run (default: all).
Also: the transformer at the same sizes (the ratio), the busiest kernels of each variant at the longest size, and
the shipped model's outputs of each variant against per-scan (relative error, bf16 autocast and float32).

    python benchmarks/speed_levers.py [--latents 49 3000 18000] [--repeats 10] [--out FILE.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.interfaces.bench import (PROMPT, busiest_kernels, captured, denoiser_forward_seconds, environment,  # noqa: E402
                               make_engine)
from motion_core.models.mamba_blocks import BidirectionalSpatialMamba, HierarchicalTemporalMamba  # noqa: E402
from motion_core.ssm import packing  # noqa: E402
from motion_core.ssm.mamba import Mamba  # noqa: E402

VARIANTS = {"per-scan": (False, False), "fused-temporal": (True, False), "per-scan+spatial-fold": (False, True),
            "fused-temporal+spatial-fold": (True, True)}
ENGINE_VARIANT = "per-scan+spatial-fold"     # the engine's run-time defaults


def set_variant(denoiser: torch.nn.Module, name: str) -> None:
    fused, fold = VARIANTS[name]
    for module in denoiser.modules():
        if isinstance(module, HierarchicalTemporalMamba):
            module.fused = fused
        if isinstance(module, BidirectionalSpatialMamba) and hasattr(module, "fold_out_proj"):
            module.fold_out_proj = fold


def set_packed_length(denoiser: torch.nn.Module, length: int) -> None:
    for module in denoiser.modules():
        if isinstance(module, Mamba):
            module.packed_length = length


def kernels(engine, latents: int, top: int) -> dict:
    denoiser, device = engine.denoiser, engine.device
    tokens, mask = engine.text_encoder.encode([PROMPT])
    x = torch.randn(1, latents, denoiser.config.latent_dim, device=device)
    t = torch.full((1,), 500, dtype=torch.long, device=device)

    def forward():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return denoiser(x, t, tokens, mask)
    run = captured(forward, device)
    run()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        run()
        torch.cuda.synchronize()
    return busiest_kernels(prof, device, top)


@torch.inference_mode()
def agreement(latents: int) -> dict:
    """The shipped model's output of each variant against per-scan's, at `latents`, bf16 autocast and float32."""
    from motion_core.engine import Engine
    engine = Engine.load(device="cuda")
    denoiser = engine.denoiser
    torch.manual_seed(1)
    tokens, mask = engine.text_encoder.encode([PROMPT])
    x = torch.randn(1, latents, denoiser.config.latent_dim, device="cuda")
    t = torch.full((1,), 300, dtype=torch.long, device="cuda")
    out = {}
    for bf16 in (True, False):
        ref = None
        for name in VARIANTS:
            set_variant(denoiser, name)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
                y = denoiser(x, t, tokens, mask).float()
            if ref is None:
                ref = y
            else:
                out[f"{name} {'bf16' if bf16 else 'fp32'}"] = ((y - ref).norm() / ref.norm()).item()
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--latents", type=int, nargs="+", default=[49, 3000, 18000])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--packed-lengths", type=int, nargs="*", default=[],
                   help="also time the engine's variant with spatial scans packed into rows of these lengths")
    p.add_argument("--compile", action="store_true", help="torch.compile every forward first (static shapes)")
    p.add_argument("--no-kernels", dest="kernels", action="store_false", help="skip the per-variant kernel table")
    args = p.parse_args(argv)
    longest = max(args.latents)
    result = {"environment": environment(torch.device("cuda")), "latents": args.latents, "compiled": args.compile,
              "rows": [], "kernels": {}}
    timed = dict(repeats=args.repeats, warmup=args.warmup, graph=True, compiled=args.compile)

    def save():
        if args.out:
            args.out.write_text(json.dumps(result, indent=1))
    with torch.inference_mode():
        transformer = make_engine("transformer", "cuda", None, 4 * longest)
        for n in args.latents:
            ms = 1e3 * denoiser_forward_seconds(transformer, n, torch.bfloat16, **timed)
            result["rows"].append({"model": "transformer", "latents": n, "graph_ms": ms})
            print(f"transformer      {n:6d} latents {ms:8.3f} ms", flush=True)
        del transformer
        torch.cuda.empty_cache()
        engine = make_engine("mamba_unet", "cuda", None, 4 * longest)
        runs = [(name, None) for name in args.variants] + [(ENGINE_VARIANT, n) for n in args.packed_lengths]
        for name, packed in runs:
            set_variant(engine.denoiser, name)
            set_packed_length(engine.denoiser, packed or packing.PACKED_LENGTH)
            label = name if packed is None else f"{name} packed {packed}"
            for n in args.latents:
                ms = 1e3 * denoiser_forward_seconds(engine, n, torch.bfloat16, **timed)
                result["rows"].append({"model": "mamba_unet", "variant": label, "latents": n, "graph_ms": ms})
                print(f"{label:28s} {n:6d} latents {ms:8.3f} ms", flush=True)
            save()
            if not args.kernels:
                continue
            result["kernels"][label] = k = kernels(engine, longest, args.top)
            print(f"  {label} at {longest}: {k['kernel_launches']} kernels, {k['kernel_ms']:.3f} ms in all", flush=True)
            for row in k["top"][:8]:
                print(f"  {row['ms']:8.3f} ms {row['count']:5d}x  {row['kernel'][:100]}", flush=True)
            save()
        set_packed_length(engine.denoiser, packing.PACKED_LENGTH)
    result["agreement_vs_per_scan"] = agreement(min(longest, 4500))
    print("agreement vs per-scan (rel. error):", json.dumps(result["agreement_vs_per_scan"]), flush=True)
    trans = {r["latents"]: r["graph_ms"] for r in result["rows"] if r["model"] == "transformer"}
    for r in result["rows"]:
        if r["model"] == "mamba_unet":
            r["transformer_over_mamba"] = trans[r["latents"]] / r["graph_ms"]
    save()
    print("ratio transformer/mamba:", {f"{r['variant']} {r['latents']}": round(r["transformer_over_mamba"], 2)
                                       for r in result["rows"] if r["model"] == "mamba_unet"})
    return result


if __name__ == "__main__":
    main()

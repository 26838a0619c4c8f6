"""Denoiser training-step speed: ms per optimizer step and samples/s, per batch size and scan backend.

Why: the default model's budget is a few GPU minutes, so the per-GPU batch is chosen where a step is still
launch-bound (bigger batches cost almost nothing extra there), and the selective-scan backend (mamba-ssm's
CUDA kernel vs the pure-PyTorch chunked scan) is chosen by measurement. The step is the real one of
`train.stages.DenoiserStage` (frozen VAE encode -> text encoder -> Mamba U-Net -> DDPM loss -> backward ->
AdamW, bf16 autocast on CUDA) on synthetic 196-frame features and captions: speed does not depend on data.

    python benchmarks/bench_train_step.py --vae motion_core/default_model --batch 128 256 512 \
        [--backend torch cuda] [--steps 30] [--profile] [--out benchmarks/results/train_step_<device>.json]

Under torchrun (one process per GPU) each rank steps on its own batch of `--batch` samples and `--ddp` says how
the ranks share gradients, so a data-parallel run's overhead is measured piece by piece on one machine:
"local" (no wrapper: each GPU trains alone), "ddp" (DistributedDataParallel as train/trainer.py builds it),
"ddp-no-sync" (the same wrapper, all-reduce skipped: what the communication costs), "ddp-static"
(static_graph=True) and "ddp-bf16" (gradients all-reduced in bf16). Rank 0 prints and writes the results.

    torchrun --standalone --nproc_per_node=2 benchmarks/bench_train_step.py --batch 1024 --ddp local ddp ddp-no-sync

With --profile (CUDA) each row also says where a step's time goes: host ms (how long the Python step takes to
return; with no host syncs the CPU runs ahead of the GPU, so host < wall means launch overlaps compute), GPU
busy ms (the union of kernel intervals), the kernel count, and how many host syncs one step makes (counted
with torch.cuda.set_sync_debug_mode). Wall ~ host + GPU busy means the two are serialised; wall ~ max of them
means they overlap.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.interfaces.bench import synchronize  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402
from train.config import load_config  # noqa: E402
from train.distributed import barrier, data_parallel, init_distributed, run_on_ranks  # noqa: E402
from train.stages import DenoiserStage  # noqa: E402

CAPTIONS = ["a person walks forward", "someone jumps up and down", "a man waves with the left hand",
            "the person runs in a circle", "a person kicks with the right foot", "someone sits down"]


def synthetic_batch(batch: int, frames: int, device: torch.device, generator: torch.Generator) -> dict:
    lengths = torch.randint(frames // 2, frames + 1, (batch,), generator=generator)
    mask = torch.arange(frames).unsqueeze(0) < lengths.unsqueeze(1)
    motion = torch.randn(batch, frames, HUMANML3D.feature_dim, generator=generator) * mask.unsqueeze(-1)
    return {"motion": motion.to(device), "mask": mask.to(device),
            "captions": [CAPTIONS[i % len(CAPTIONS)] for i in range(batch)]}


DDP_VARIANTS = ("local", "ddp", "ddp-no-sync", "ddp-static", "ddp-bf16")


def wrap_for_ranks(model: torch.nn.Module, variant: str, env, bucket_mb: float = 25.0):
    """(module to call, context manager of a step) for one DDP_VARIANTS entry; the DDP variants wrap the model
    the way train/trainer.py does (train.distributed.data_parallel)."""
    if variant == "local":
        return model, contextlib.nullcontext
    ddp = data_parallel(model, env, bucket_mb, "bfloat16" if variant == "ddp-bf16" else "float32",
                        static_graph=variant == "ddp-static")
    return ddp, ddp.no_sync if variant == "ddp-no-sync" else contextlib.nullcontext


def make_step(stage: DenoiserStage, batch: dict, device: torch.device, compile_denoiser: bool = False,
              variant: str = "local", bucket_mb: float = 25.0, env=None):
    """The real denoiser training step on a fixed batch, as a zero-argument callable."""
    model = stage.objective.to(device).train()
    if compile_denoiser:  # torch.compile (inductor); mamba-ssm's kernels are opaque to it: graph breaks there
        model.denoiser = torch.compile(model.denoiser)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4,
                                  fused=device.type == "cuda")
    autocast = device.type == "cuda"
    wrapped, step_context = wrap_for_ranks(model, variant, env, bucket_mb)

    def one_step():
        latents, latent_mask, captions = stage.inputs(batch, device)
        with step_context():
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
                loss = wrapped(latents, latent_mask, captions)["loss"]
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return one_step


def time_steps(one_step, device: torch.device, steps: int, warmup: int) -> dict:
    """Mean wall ms per step over `steps` after `warmup` (one sync at each end: the loop is async), and the
    mean host ms for a step call to return."""
    for _ in range(warmup):
        one_step()
    synchronize(device)
    host = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        before = time.perf_counter()
        one_step()
        host += time.perf_counter() - before
    synchronize(device)
    return {"ms_per_step": (time.perf_counter() - start) / steps * 1e3, "host_ms_per_step": host / steps * 1e3}


def sync_sites(one_step) -> list[str]:
    """Where one step synchronises the host with the GPU: "file:line" of the Python call behind each sync CUDA's
    sync debug mode reports (the GPU queue drains there, and stays idle until the host launches again)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            one_step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return [f"{Path(w.filename).name}:{w.lineno}" for w in caught if "synchroniz" in str(w.message)]


def gpu_profile(one_step, device: torch.device, steps: int = 3, top_kernels: int = 12) -> dict:
    """GPU busy ms (union of kernel intervals), kernels per step and the costliest kernels, from torch.profiler."""
    from torch.profiler import ProfilerActivity, profile
    synchronize(device)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            one_step()
        synchronize(device)
    kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    busy, reach = 0.0, float("-inf")
    totals: dict[str, float] = {}
    for e in sorted(kernels, key=lambda e: e.time_range.start):
        start, end = e.time_range.start, e.time_range.end
        if end > reach:  # union of intervals: overlapping kernels on two streams count once
            busy += end - max(start, reach)
            reach = end
        totals[e.name] = totals.get(e.name, 0.0) + e.time_range.elapsed_us()
    top = sorted(totals.items(), key=lambda kv: -kv[1])[:top_kernels]
    return {"gpu_busy_ms_per_step": busy / steps / 1e3, "kernels_per_step": len(kernels) // steps,
            "top_kernels": [{"kernel": name[:120], "ms_per_step": round(us / steps / 1e3, 2)} for name, us in top]}


def run(args) -> dict:
    env = init_distributed(args.device)
    device = env.device
    config = load_config(args.config)
    rows = []
    runs = itertools.product(args.backend, args.batch, args.ddp, args.bucket_mb if env.distributed else [25.0])
    for backend, batch_size, variant, bucket_mb in runs:
        os.environ["MOTION_SSM_BACKEND"] = backend
        torch.manual_seed(env.rank)
        stage = DenoiserStage(config, args.vae, HUMANML3D, args.frames)
        stage.latent_scale = 1.0
        stage.vae.to(device)
        batch = synthetic_batch(batch_size, args.frames, device, torch.Generator().manual_seed(env.rank))
        one_step = make_step(stage, batch, device, args.compile, variant if env.distributed else "local", bucket_mb,
                             env)
        barrier(env)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        warm_start = time.perf_counter()
        timing = time_steps(one_step, device, args.steps, args.warmup)
        timing["warmup_and_timed_s"] = time.perf_counter() - warm_start
        if device.type == "cuda":   # what a batch of this size needs: sizes the largest batch a GPU can take
            timing["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2 ** 30
        ms = timing["ms_per_step"]
        row = {"backend": backend, "compiled": args.compile, "batch": batch_size,
               **({"processes": env.world_size, "ddp": variant, "bucket_mb": bucket_mb} if env.distributed else {}),
               **{k: round(v, 2) for k, v in timing.items()}, "samples_per_s": round(batch_size / ms * 1e3, 1)}
        line = f"{backend:>6} batch {batch_size:>5}: {ms:8.1f} ms/step  {batch_size / ms * 1e3:9.0f} samples/s"
        if "peak_gib" in timing:
            line += f"  peak {timing['peak_gib']:.1f} GiB"
        if env.distributed:
            line = f"{variant:>11} x{env.world_size} {bucket_mb:4g} MiB " + line + " per GPU"
        if args.profile and device.type == "cuda":
            profiled = gpu_profile(one_step, device)
            row.update({k: v if k == "top_kernels" else round(v, 2) for k, v in profiled.items()},
                       sync_sites=sync_sites(one_step))
            row["syncs_per_step"] = len(row["sync_sites"])
            line += (f"  host {row['host_ms_per_step']:.1f} ms  GPU busy {row['gpu_busy_ms_per_step']:.1f} ms"
                     f"  {row['kernels_per_step']} kernels  {row['syncs_per_step']} syncs")
        rows.append(row)
        if env.is_main:
            print(line, flush=True)
            for kernel in row.get("top_kernels", []):
                print(f"      {kernel['ms_per_step']:8.2f} ms  {kernel['kernel'][:100]}", flush=True)
            if row.get("sync_sites"):
                print("      host syncs at " + ", ".join(row["sync_sites"]), flush=True)
        del one_step, stage
    return {"benchmark": "train_step", "device": env.hardware, "date": time.strftime("%Y-%m-%d"),
            "torch": torch.__version__, "config": str(args.config), "frames": args.frames, "steps": args.steps,
            "rows": rows}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("train/configs/default.json"))
    parser.add_argument("--vae", type=Path, default=Path("motion_core/default_model"),
                        help="a VAE-stage model directory or an engine checkpoint (its VAE is used)")
    parser.add_argument("--batch", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--backend", nargs="+", default=["auto"], choices=["auto", "torch", "cuda"])
    parser.add_argument("--frames", type=int, default=196)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true", help="torch.compile the denoiser (warm-up compiles)")
    parser.add_argument("--profile", action="store_true",
                        help="on CUDA, also report host ms, GPU busy ms, kernels and host syncs per step")
    parser.add_argument("--ddp", nargs="+", default=["ddp"], choices=DDP_VARIANTS,
                        help="under torchrun: how the ranks share gradients (see the module doc)")
    parser.add_argument("--bucket-mb", type=float, nargs="+", default=[25.0],
                        help="under torchrun: DDP bucket sizes to time (MiB; 25 is DDP's default)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    return run_on_ranks(lambda: run(args), args.out)


if __name__ == "__main__":
    main()

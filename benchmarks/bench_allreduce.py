"""All-reduce bandwidth between the processes of one host: what a data-parallel step pays per gradient bucket.

The denoiser stage's trainable weights are 37 MB of float32 gradients, all-reduced every step in DDP buckets
(25 MiB by default, the first one 1 MiB). This times `torch.distributed.all_reduce` alone at those sizes, so a
slow transport between the GPUs (no peer-to-peer access: through host memory) shows up apart from the
training step. Launch with torchrun, one process per GPU (gloo on CPU):

    torchrun --standalone --nproc_per_node=2 benchmarks/bench_allreduce.py [--mib 1 4 12 25 37] [--out DIR]

With NCCL_DEBUG=INFO, NCCL's own log says which transport it picked ("via P2P/..." or "via SHM/...").
Bus bandwidth is NCCL's convention: algorithm bandwidth x 2(N-1)/N, the per-link rate a ring achieves.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.interfaces.bench import synchronize  # noqa: E402
from train.distributed import init_distributed, run_on_ranks  # noqa: E402


def time_all_reduce(tensor: torch.Tensor, repeats: int, warmup: int) -> float:
    """Mean seconds per all_reduce of `tensor` (every rank calls it the same number of times)."""
    for _ in range(warmup):
        dist.all_reduce(tensor)
    synchronize(tensor.device)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        dist.all_reduce(tensor)
    synchronize(tensor.device)
    return (time.perf_counter() - start) / repeats


def run(args) -> dict:
    env = init_distributed(args.device)
    if not env.distributed:
        raise SystemExit("launch with torchrun --nproc_per_node=N (N >= 2)")
    rows = []
    for mib in args.mib:
        tensor = torch.ones(int(mib * 2 ** 20) // 4, dtype=torch.float32, device=env.device)
        seconds = time_all_reduce(tensor, args.repeats, args.warmup)
        algbw = tensor.numel() * 4 / seconds / 1e9
        busbw = algbw * 2 * (env.world_size - 1) / env.world_size
        rows.append({"mib": mib, "ms": round(seconds * 1e3, 3), "algbw_gb_s": round(algbw, 2),
                     "busbw_gb_s": round(busbw, 2)})
        if env.is_main:
            print(f"{mib:8g} MiB  {seconds * 1e3:9.3f} ms  algbw {algbw:8.2f} GB/s  busbw {busbw:8.2f} GB/s",
                  flush=True)
    cuda = env.device.type == "cuda"
    result = {"benchmark": "allreduce", "date": time.strftime("%Y-%m-%d"), "processes": env.world_size,
              "backend": dist.get_backend(), "device": env.hardware,
              "nccl": ".".join(map(str, torch.cuda.nccl.version())) if cuda else None,
              "torch": torch.__version__, "rows": rows}
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=float, nargs="+", default=[1, 4, 12, 25, 37], help="message sizes, MiB")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if any(m <= 0 for m in args.mib) or args.repeats < 1 or args.warmup < 0:
        parser.error("--mib must be positive, --repeats >= 1, --warmup >= 0")
    return run_on_ranks(lambda: run(args), args.out)


if __name__ == "__main__":
    main()

"""Where one batch-1 generation spends its GPU time: the kernels of one `Engine.generate` call, by total time.

Runs the bundled (or given) model on CUDA with the engine's graphs captured first (and compiled with
``--compile``), then profiles one call with torch.profiler and prints the busiest kernels, the number of kernel
launches and the GPU time they add up to, next to the call's wall time. What a latency claim rests on:

    python benchmarks/profile_generate.py [--checkpoint DIR] [--steps 10] [--sampler ddim] [--compile]
        [--frames 196] [--top 25] [--out FILE.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.interfaces.bench import PROMPT, busiest_kernels, environment  # noqa: E402
from motion_core.engine import Engine  # noqa: E402


def profile(engine: Engine, frames: int, steps: int, top: int) -> dict:
    call = lambda: engine.generate([PROMPT], frames=frames, steps=steps, seed=0)  # noqa: E731
    for _ in range(3):   # captures: the sampling graph on the first call, text/decoder/IK graphs on the second
        call()
    torch.cuda.synchronize()
    start = time.perf_counter()
    call()
    torch.cuda.synchronize()
    wall = time.perf_counter() - start
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        call()
        torch.cuda.synchronize()
    return {"wall_ms": 1e3 * wall, **busiest_kernels(prof, engine.device, top)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=None, help="default: the bundled model")
    parser.add_argument("--frames", type=int, default=196)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--sampler", choices=("ddim", "dpm_solver_pp"), default="ddim")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("needs a CUDA device")
    engine = Engine.load(args.checkpoint, device="cuda", compile=args.compile)
    engine.sampler = args.sampler
    result = {"environment": environment(engine.device), "arguments": {k: str(v) for k, v in vars(args).items()},
              **profile(engine, args.frames, args.steps, args.top)}
    print(f"one generate call: {result['wall_ms']:.2f} ms wall, {result['kernel_launches']} kernels, "
          f"{result['kernel_ms']:.2f} ms of kernel time")
    for row in result["top"]:
        print(f"{row['ms']:8.3f} ms {row['count']:6d}x  {row['kernel']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

"""CPU speed of the PyTorch selective scan: step-by-step loops vs the chunked closed form.

    /work/venv/bin/python benchmarks/bench_scan_cpu.py [--lengths 196 1960 12000] [--repeats 3]

Shapes are those of the Motion Mamba denoiser (batch 2, d_inner 512, d_state 16) at 2 threads,
with Mamba's initial dt/A distribution.  Methods:
  naive_loop     mamba_ssm's selective_scan_ref structure: exp(delta*A) and delta*B*u for the
                 whole sequence up front, then per step one update and one contraction with C;
  sequential     our loop: per chunk of 64 the same precompute, per step one fused addcmul,
                 one contraction per chunk (selective_scan_torch(method="sequential"));
  doubling_32    Hillis-Steele within chunks of 32 (the fallback for steep rows);
  chunked_T      the closed form within chunks of T (the default path, T = DEFAULT_CHUNK_LEN).
Reports the best of `repeats` runs (other processes on a shared machine only ever add time) as
wall-clock at --threads and as process CPU time at 1 thread (robust to a busy machine), errors
against a float64 run of the loop, and a Mamba layer (d_model 256) forward.
Writes benchmarks/results/bench_scan_cpu.json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from motion_core.ssm import Mamba
from motion_core.ssm.scan_torch import DEFAULT_CHUNK_LEN, selective_scan_torch

RESULTS = Path(__file__).resolve().parent / "results" / "bench_scan_cpu.json"
METHODS = {"sequential": dict(method="sequential", chunk_len=64),
           "doubling_32": dict(method="doubling", chunk_len=32),
           "chunked_16": dict(method="chunked", chunk_len=16),
           "chunked_32": dict(method="chunked", chunk_len=32),
           "chunked_64": dict(method="chunked", chunk_len=64)}


def mamba_like_inputs(batch, dim, n, length, seed=0):
    """Inputs distributed like a freshly initialised Mamba layer's scan."""
    g = torch.Generator().manual_seed(seed)
    log_dt = torch.rand(dim, generator=g) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)
    dt = torch.exp(log_dt)
    return dict(u=torch.randn(batch, dim, length, generator=g),
                delta=0.5 * torch.randn(batch, dim, length, generator=g),
                A=-torch.arange(1, n + 1.0).repeat(dim, 1),
                B=torch.randn(batch, n, length, generator=g),
                C=torch.randn(batch, n, length, generator=g),
                D=torch.ones(dim), z=torch.randn(batch, dim, length, generator=g),
                delta_bias=dt + torch.log(-torch.expm1(-dt)), delta_softplus=True)


def naive_loop(u, delta, A, B, C, D, z, delta_bias, delta_softplus):
    """The textbook loop (selective_scan_ref's structure), as a baseline."""
    delta = delta + delta_bias[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    decay = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    drive = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    h = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    ys = []
    for t in range(u.shape[2]):
        h = decay[:, :, t] * h + drive[:, :, t]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, :, t]))
    return (torch.stack(ys, 2) + u * D[:, None]) * F.silu(z)


def time_round_robin(fns, repeats, threads):
    """Best wall-clock and best process-CPU time per function, at `threads` threads.

    Functions are run in turns (a, b, c, a, b, c, ...) so that load from other processes hits
    all of them alike; the minimum over repeats is the least disturbed run.  CPU time at one
    thread is the number to trust on a busy machine (descheduling does not count).
    """
    torch.set_num_threads(threads)
    wall = {k: math.inf for k in fns}
    cpu = {k: math.inf for k in fns}
    outs = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            outs[name] = fn()
            wall[name] = min(wall[name], time.perf_counter() - w0)
            cpu[name] = min(cpu[name], time.process_time() - c0)
    return wall, cpu, outs


def bench_length(length, repeats, threads, naive_max_len, batch=2, dim=512, n=16):
    inputs = mamba_like_inputs(batch, dim, n, length)
    fns = {name: (lambda kw=kwargs: selective_scan_torch(**inputs, **kw))
           for name, kwargs in METHODS.items()}
    if length <= naive_max_len:
        fns = {"naive_loop": lambda: naive_loop(**inputs), **fns}
    wall, _, outs = time_round_robin(fns, repeats, threads)
    _, cpu1, _ = time_round_robin(fns, repeats, 1)
    ref = selective_scan_torch(**inputs, method="sequential", chunk_len=64,
                               compute_dtype=torch.float64)
    row = {"L": length}
    for name, out in outs.items():
        row[f"{name}_ms"] = 1e3 * wall[name]
        row[f"{name}_cpu1_ms"] = 1e3 * cpu1[name]
        row[f"{name}_rel_err"] = ((out.double() - ref).norm() / ref.norm()).item()
    torch.manual_seed(0)
    layer = Mamba(dim // 2, d_state=n)
    x = torch.randn(batch, length, dim // 2)
    layer_wall, _, _ = time_round_robin({"layer": lambda: layer(x)}, repeats, threads)
    row["mamba_layer_ms"] = 1e3 * layer_wall["layer"]
    torch.set_num_threads(threads)
    return row


def print_table(rows, threads):
    names = ["naive_loop"] + list(METHODS)
    for unit, title in (("_ms", f"wall ms, {threads} threads"), ("_cpu1_ms", "CPU ms, 1 thread")):
        print(f"\n{title} (best of repeats)")
        print(" | ".join(f"{c:>12}" for c in ["L"] + names + ["loop/chunked"]))
        for r in rows:
            vals = [r.get(f"{m}{unit}") for m in names]
            vals.append(r[f"sequential{unit}"] / r[f"chunked_{DEFAULT_CHUNK_LEN}{unit}"])
            print(" | ".join([f"{r['L']:>12}"] + [f"{v:>12.4g}" if v is not None else f"{'-':>12}"
                                                  for v in vals]))
    print("\nrel. error vs float64 loop: " + ", ".join(
        f"L={r['L']}: {max(v for k, v in r.items() if k.endswith('_rel_err')):.2e}"
        for r in rows))
    print("Mamba layer (d_model 256) forward, wall ms: " + ", ".join(
        f"L={r['L']}: {r['mamba_layer_ms']:.4g}" for r in rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[196, 1960, 12000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--naive-max-len", type=int, default=2000,
                        help="skip the (slow, memory-hungry) naive loop above this length")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with torch.inference_mode():
        rows = [bench_length(length, args.repeats, args.threads, args.naive_max_len)
                for length in args.lengths]
    print_table(rows, args.threads)
    report = {"config": {"batch": 2, "d_inner": 512, "d_state": 16, "threads": args.threads,
                         "repeats": args.repeats,
                         "statistic": "min over round-robin repeats; *_cpu1_ms = process CPU "
                                      "time at 1 thread"},
              "machine": {"torch": torch.__version__, "cpu_count": os.cpu_count(),
                          "processor": platform.processor() or platform.machine(),
                          "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
              "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Where a benchmark's time goes: profiler summaries of the busiest kernels, operators and Python functions.

`busiest_kernels` ranks what a torch.profiler run recorded (shared with benchmarks/profile_*.py);
`profile_generate` profiles one generate call with torch.profiler and cProfile (`bench cpu --profile`).
"""
from __future__ import annotations

from pathlib import Path

import torch

from motion_core.engine import Engine
from motion_core.interfaces.bench_models import PROMPT
from motion_core.interfaces.bench_report import format_table

__all__ = ["busiest_kernels", "profile_generate"]


def busiest_kernels(prof, device: torch.device, top: int) -> dict:
    """What a torch.profiler run recorded, busiest first: the CUDA kernels on CUDA, the operators (by self time)
    elsewhere; with their count and total milliseconds."""
    cuda = device.type == "cuda"
    totals: dict[str, list[float]] = {}
    for event in prof.events():
        if cuda and event.device_type != torch.autograd.DeviceType.CUDA:
            continue
        entry = totals.setdefault(event.name, [0, 0.0])
        entry[0] += 1
        entry[1] += event.device_time_total if cuda else event.self_cpu_time_total
    ranked = sorted(totals.items(), key=lambda kv: -kv[1][1])
    return {"kernel_launches": sum(n for n, _ in totals.values()),
            "kernel_ms": sum(us for _, us in totals.values()) / 1e3,
            "top": [{"kernel": name[:160], "count": n, "ms": us / 1e3} for name, (n, us) in ranked[:top]]}


def profile_generate(engine: Engine, args, top: int = 15) -> dict:
    """Top costs of one generate call: torch operators (self CPU time) and Python functions (own time)."""
    import cProfile
    import pstats
    call = lambda: engine.generate([PROMPT], frames=args.frames, steps=args.steps, guidance=args.guidance)  # noqa: E731
    report: dict = {}
    if args.profile in ("torch", "both"):
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            call()
        events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
        report["torch_ops"] = [{"op": e.key, "calls": e.count, "self_ms": e.self_cpu_time_total / 1000}
                               for e in events]
        print("\ntop torch operators by self CPU time (one generate call):")
        print(format_table(["operator", "calls", "self ms"],
                           [[r["op"], r["calls"], round(r["self_ms"], 1)] for r in report["torch_ops"]]))
    if args.profile in ("cprofile", "both"):
        profiler = cProfile.Profile()
        profiler.runcall(call)
        stats = pstats.Stats(profiler)
        entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
        report["python_functions"] = [{"function": f"{Path(f).name}:{line}({name})", "calls": calls,
                                       "own_ms": own * 1000, "cumulative_ms": cum * 1000}
                                      for (f, line, name), (_, calls, own, cum, _) in entries]
        print("\ntop Python functions by own time (one generate call, cProfile):")
        print(format_table(["function", "calls", "own ms", "cumulative ms"],
                           [[r["function"][:70], r["calls"], round(r["own_ms"], 1), round(r["cumulative_ms"], 1)]
                            for r in report["python_functions"]]))
    return report

"""Speed benchmarks of the whole text-to-motion pipeline, next to the published anchors.

    python -m motion_core.bench latency    [--device cuda] [--checkpoint DIR] [--steps 20] [--dpm-steps 10]
    python -m motion_core.bench throughput [--batches 64 256]
    python -m motion_core.bench scaling    [--scale-frames 196 2000 12000 72000] [--no-graphs]
    python -m motion_core.bench cpu        [--threads 2] [--frames 200] [--steps N: default the model's]

Each prints a table and writes ``benchmarks/results/<name>_<device>_<date>.json`` (``--out`` changes the
folder). Models are ``--checkpoint DIR`` or, by default, untrained ones at the default training sizes
(`default_config`, mirroring train/configs/default.json) for both denoisers: speed does not depend on the
weights' values.

Stage timings come from the real `Engine.generate` path: the engine's stage methods are wrapped with
timers (synchronising CUDA around each), so nothing is re-implemented here. Stages:
``text`` (prompt encoding), ``sampling`` (the diffusion loop), ``decode`` (VAE decode + de-normalisation,
copied to the host unless the IK runs on the GPU), ``motion`` (features -> joints -> rotations, i.e. building
the `Motion`s; everything else of the call is counted here too) and ``total``. Reported numbers are medians
of ``--repeats`` runs after ``--warmup`` runs, plus the minimum (on a shared machine other processes only ever
add time).

Anchors (`ANCHORS`) are the published per-sentence inference times (AITS) of Motion Mamba and MLD, measured
by their authors on their own GPUs: a reference point, not a same-machine comparison.

This module holds the command line and the `latency`, `throughput` and `cpu` benchmarks, and re-exports the
parts' public names: `bench_models` (engines and settings), `bench_timing` (the clocks), `bench_report` (machine
description, result files, tables), `bench_scaling` (the `scaling` benchmark) and `bench_profile` (profiles).
"""
from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path
from typing import Callable, Sequence

import torch

from motion_core.engine import Engine
from motion_core.formats.atomic_file import write_json
from motion_core.interfaces.bench_models import (DENOISER_TYPES, IK_PLACEMENTS, PROMPT, default_config, engine_settings,
                                                 make_engine, model_label, models_for, sampling_settings)
from motion_core.interfaces.bench_profile import busiest_kernels, profile_generate
from motion_core.interfaces.bench_report import device_label, environment, format_table, write_results
from motion_core.interfaces.bench_scaling import SCALING_KEYS, cmd_scaling, plot_scaling, scaling_summary
from motion_core.interfaces.bench_timing import (STAGES, StageClock, captured, denoiser_forward_seconds,
                                                 median_seconds, synchronize, time_generate)
from motion_core.runtime.shape_graphs import CAPTURE_AFTER

__all__ = ["main", "build_parser", "COMMANDS", "cmd_latency", "cmd_throughput", "cmd_scaling", "cmd_cpu", "ANCHORS",
           "RESULTS_DIR", "CPU_GOAL_SECONDS",
           # re-exported from the parts (bench_models, bench_timing, bench_report, bench_scaling, bench_profile)
           "DENOISER_TYPES", "PROMPT", "IK_PLACEMENTS", "default_config", "make_engine", "model_label", "models_for",
           "engine_settings", "sampling_settings", "STAGES", "synchronize", "StageClock", "time_generate",
           "denoiser_forward_seconds", "median_seconds", "captured", "device_label", "environment", "write_results",
           "format_table", "SCALING_KEYS", "scaling_summary", "plot_scaling", "busiest_kernels", "profile_generate"]

ANCHORS = {"Motion Mamba (published AITS)": 0.058, "MLD (published AITS)": 0.217}
RESULTS_DIR = Path("benchmarks") / "results"
CPU_GOAL_SECONDS = 3.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


# ---- subcommands -------------------------------------------------------------------------------------------

def cmd_latency(args) -> dict:
    """Batch 1, full pipeline, per stage, for each sampling configuration and denoiser."""
    results, rows = [], []
    for engine in models_for(args):
        for label, steps, settings in sampling_settings(engine.device, args.steps, args.dpm_steps, args.compile):
            with engine_settings(engine, **settings):
                timing = time_generate(engine, [PROMPT], args.frames, steps, args.guidance, args.repeats, args.warmup)
            results.append({"model": model_label(engine), "config": label, "steps": steps, "settings": settings,
                            "seconds": timing})
            rows.append([model_label(engine), label] + [_ms(timing[s]["median"]) for s in STAGES]
                        + [_ms(timing["total"]["min"])])
    print(format_table(["model", "configuration"] + [f"{s} ms" for s in STAGES] + ["min total ms"], rows))
    print("anchors (published, their GPUs): " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in ANCHORS.items()))
    return {"frames": args.frames, "batch": 1, "guidance": args.guidance, "anchors_seconds": ANCHORS,
            "results": results}


def cmd_throughput(args) -> dict:
    """Motions per second at large batches: sampling+decode alone and end to end; on CUDA with the IK on the
    GPU (the engine's default there) and on the host CPU."""
    results, rows = [], []
    cuda = torch.device(args.device).type == "cuda"
    batches = args.batches or ([64, 256] if cuda else [8])
    for engine in models_for(args):
        # The engine's default way of sampling on this device: CUDA graph + bf16 on CUDA, eager fp32 elsewhere.
        label, steps, attributes = next(s for s in sampling_settings(engine.device, args.steps, args.dpm_steps)
                                        if s[2]["sampler"] == "ddim" and s[2]["cuda_graphs"] == cuda)
        label = label.split(",")[0]   # the IK's placement is a column of its own here
        for batch, ik in ((b, ik) for b in batches for ik in (tuple(IK_PLACEMENTS) if cuda else ("cpu",))):
            # A shape's IK graph is captured on its second use: warm up past it so the timed runs replay it.
            warmup = max(args.warmup, CAPTURE_AFTER) if ik == "graph" else args.warmup
            with engine_settings(engine, max_batch=batch, **{**attributes, **IK_PLACEMENTS[ik]}):
                timing = time_generate(engine, [PROMPT] * batch, args.frames, steps, args.guidance, args.repeats,
                                       warmup)
            model_s = sum(timing[s]["median"] for s in ("text", "sampling", "decode"))
            entry = {"model": model_label(engine), "config": label, "batch": batch, "ik": ik,
                     "seconds": timing, "motions_per_second_end_to_end": batch / timing["total"]["median"],
                     "motions_per_second_model": batch / model_s}
            results.append(entry)
            rows.append([model_label(engine), label, batch, entry["ik"], round(entry["motions_per_second_model"], 1),
                         round(entry["motions_per_second_end_to_end"], 1), _ms(timing["motion"]["median"])])
    print(format_table(["model", "configuration", "batch", "IK on", "motions/s (model)", "motions/s (end to end)",
                        "IK ms"], rows))
    return {"frames": args.frames, "guidance": args.guidance, "results": results}


def cmd_cpu(args) -> dict:
    """A 10-s clip end to end on a laptop-like CPU budget (2 threads), then where the time goes."""
    engine = _cpu_engine(args)
    if args.steps is None:   # what a user gets: the model's recommendation (the shipped model's is 10)
        args.steps = engine.default_steps
    timing = time_generate(engine, [PROMPT], args.frames, args.steps, args.guidance, args.repeats, args.warmup)
    rows = [[s, _ms(timing[s]["median"]), _ms(timing[s]["min"])] for s in STAGES + ("process_cpu",)]
    print(f"model: {model_label(engine)}, {args.frames} frames, {args.steps} DDIM steps, guidance "
          f"{args.guidance}, {torch.get_num_threads()} threads")
    print(format_table(["stage", "median ms", "min ms"], rows))
    verdict = "meets" if timing["total"]["median"] <= CPU_GOAL_SECONDS else "misses"
    print(f"goal <= {CPU_GOAL_SECONDS:g} s end to end: {verdict} it (median {timing['total']['median']:.2f} s)")
    payload = {"frames": args.frames, "steps": args.steps, "guidance": args.guidance, "model": model_label(engine),
               "seconds": timing, "goal_seconds": CPU_GOAL_SECONDS}
    if args.profile != "none":
        payload["profile"] = profile_generate(engine, args, top=args.top)
    return payload


def _cpu_engine(args) -> Engine:
    if args.checkpoint:
        return make_engine("", "cpu", args.checkpoint, args.frames)
    try:
        engine = Engine.load(device="cpu")   # the shipped model, when installed
        engine.max_frames = max(engine.max_frames, args.frames)
        return engine
    except FileNotFoundError:
        return make_engine(args.denoisers[0], "cpu", None, args.frames)


# ---- command line ------------------------------------------------------------------------------------------

COMMANDS: dict[str, tuple[Callable, str]] = {
    "latency": (cmd_latency, "batch-1 full-pipeline latency per stage and sampling configuration"),
    "throughput": (cmd_throughput, "motions per second at large batches"),
    "scaling": (cmd_scaling, "denoiser forward latency vs sequence length (+ PNG plot)"),
    "cpu": (cmd_cpu, "a 10-s clip end to end on 2 CPU threads, with a profile"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m motion_core.bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--device", default="cpu" if name == "cpu" else "auto")
        p.add_argument("--checkpoint", default=None, help="checkpoint directory (default: untrained default-size "
                                                          "models of both denoiser types)")
        p.add_argument("--denoisers", nargs="+", choices=DENOISER_TYPES, default=list(DENOISER_TYPES))
        p.add_argument("--frames", type=int, default=200 if name == "cpu" else 196)
        # cpu times what a user gets: the model's recommended steps; the others keep 20, as their results have
        p.add_argument("--steps", type=int, default=None if name == "cpu" else 20,
                       help="DDIM steps (cpu: default the checkpoint's recommendation)" if name == "cpu" else None)
        p.add_argument("--dpm-steps", type=int, default=10)
        p.add_argument("--guidance", type=float, default=7.5)
        quick = name in ("cpu", "throughput")   # seconds per run (IK of hundreds of motions, 2 CPU threads)
        p.add_argument("--repeats", type=int, default=3 if quick else 10)
        p.add_argument("--warmup", type=int, default=1 if quick else 3)
        p.add_argument("--out", type=Path, default=RESULTS_DIR)
        p.add_argument("--tag", default="", help="appended to the result file's name")
        if name == "latency":
            p.add_argument("--compile", action="store_true",
                           help="on CUDA, also time rows with torch.compile under the graphs (compiling takes minutes)")
        if name == "throughput":
            p.add_argument("--batches", type=int, nargs="+", default=None, help="default: 64 256 on CUDA, 8 on CPU")
        if name == "scaling":
            p.add_argument("--scale-frames", type=int, nargs="+", default=None,
                           help="clip lengths in frames (default: 196 ... 72000 on CUDA, up to 4000 on CPU)")
            p.add_argument("--dtype", choices=("fp32", "bf16"), default=None)
            p.add_argument("--max-forward-seconds", type=float, default=30.0,
                           help="skip longer sizes of a model once one forward takes longer than this")
            p.add_argument("--compile", action="store_true",
                           help="on CUDA, also time torch.compile'd forwards replayed as graphs (a compilation per size)")
            p.add_argument("--no-graphs", dest="graphs", action="store_false",
                           help="on CUDA, time eager forwards only (default: eager and CUDA-graph replay)")
        p.add_argument("--threads", type=int, default=2 if name == "cpu" else None,
                       help="torch CPU threads (default: 2 for cpu, torch's own choice otherwise)")
        if name == "cpu":
            p.add_argument("--profile", choices=("torch", "cprofile", "both", "none"), default="both")
            p.add_argument("--top", type=int, default=15)
    return parser


def main(argv: Sequence[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    from motion_core.runtime.device import best_device
    args.device = str(best_device(args.device))
    if args.command == "cpu" and args.device != "cpu":
        raise SystemExit("the cpu benchmark runs on the CPU; drop --device")
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    payload = COMMANDS[args.command][0](args)
    payload = {"benchmark": args.command, "created": _dt.datetime.now().isoformat(timespec="seconds"),
               "environment": environment(device), "arguments": _jsonable(vars(args)), **payload}
    name = args.command + (f"-{args.tag}" if args.tag else "")
    path = write_results(name, device, payload, args.out)
    if args.command == "scaling":
        try:
            payload["plot"] = str(plot_scaling(payload, path.with_suffix(".png")))
        except ImportError:
            payload["plot"] = None
            print("matplotlib is not installed (pip install 'motion-core[train]'): no plot written")
        write_json(path, payload, default=str)
    print(f"\nwrote {path}")
    return payload


def _jsonable(values: dict) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in values.items()}


if __name__ == "__main__":
    main()

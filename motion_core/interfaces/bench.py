"""Speed benchmarks of the whole text-to-motion pipeline, next to the published anchors.

    python -m motion_core.bench latency    [--device cuda] [--checkpoint DIR] [--steps 20] [--dpm-steps 10]
    python -m motion_core.bench throughput [--batches 64 256]
    python -m motion_core.bench scaling    [--scale-frames 196 2000 12000 72000] [--no-graphs]
    python -m motion_core.bench cpu        [--threads 2] [--frames 200] [--steps 20]

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
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import platform
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch

from motion_core.formats.atomic_file import write_json
from motion_core.runtime.device import is_out_of_memory
from motion_core.engine import Engine
from motion_core.runtime.graph_sampler import capture, compile_for_capture
from motion_core.runtime.shape_graphs import CAPTURE_AFTER

ANCHORS = {"Motion Mamba (published AITS)": 0.058, "MLD (published AITS)": 0.217}
DENOISER_TYPES = ("mamba_unet", "transformer")
STAGES = ("text", "sampling", "decode", "motion", "total")
PROMPT = "a person walks forward, turns around and waves with the right hand"
RESULTS_DIR = Path("benchmarks") / "results"
CPU_GOAL_SECONDS = 3.0


# ---- models ----------------------------------------------------------------------------------------------

def default_config(denoiser_type: str = "mamba_unet", max_frames: int = 196) -> dict:
    """A checkpoint config at the default training sizes (train/configs/default.json) for either denoiser."""
    denoisers = {"mamba_unet": {"type": "mamba_unet", "width": 256},
                 "transformer": {"type": "transformer", "width": 256, "num_layers": 6, "num_heads": 4,
                                 "ffn_mult": 4}}
    if denoiser_type not in denoisers:
        raise ValueError(f"denoiser_type must be one of {DENOISER_TYPES}, got {denoiser_type!r}")
    return {
        "format_version": 1,
        "name": f"default-size-random-{denoiser_type}",
        "architecture": {
            "vae": {"feature_dim": 263, "latent_dim": 32, "width": 192, "num_down": 2, "res_blocks": 2},
            "denoiser": {**denoisers[denoiser_type], "latent_dim": 32, "text_dim": 256},
            "text": {"type": "offline", "dim": 256, "layers": 2, "heads": 4, "ff_dim": 768, "num_buckets": 8192,
                     "dropout": 0.1},
        },
        "text_encoder_type": "offline",
        "diffusion": {"num_train_steps": 1000, "beta_schedule": "scaled_linear", "prediction": "epsilon",
                      "sampler": "ddim"},
        "fps": 20.0, "skeleton": "humanml3d", "feature_dim": 263,
        "training": {"max_frames": max_frames, "latent_scale": 1.0},
    }


def make_engine(denoiser_type: str, device: str, checkpoint: str | None = None, max_frames: int = 196) -> Engine:
    """The checkpoint's engine, or an untrained default-size one; long enough for `max_frames`."""
    if checkpoint:
        engine = Engine.load(checkpoint, device=device)
    else:
        engine = Engine.random(default_config(denoiser_type, max_frames), seed=0, device=device)
    # Benchmarks may time clips a little past a checkpoint's training window (the 10-s CPU clip is 200 frames,
    # HumanML3D models stop at 196); only the limit check is lifted, the computation is the same.
    engine.max_frames = max(engine.max_frames, max_frames)
    return engine


def model_label(engine: Engine) -> str:
    return f"{engine.config['architecture']['denoiser'].get('type')} ({engine.model_version})"


# ---- timing ------------------------------------------------------------------------------------------------

def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StageClock:
    """Seconds spent in each stage of `Engine.generate`, by wrapping the engine's stage methods while active."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.seconds: dict[str, float] = defaultdict(float)
        self._patched: list[tuple[object, str]] = []

    def _wrap(self, owner: object, name: str, stage: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            synchronize(self.engine.device)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                synchronize(self.engine.device)
                self.seconds[stage] += time.perf_counter() - start
        setattr(owner, name, timed)   # an instance attribute shadows the method until __exit__ removes it
        self._patched.append((owner, name))

    def __enter__(self) -> "StageClock":
        self._wrap(self.engine, "_encode", "text")
        self._wrap(self.engine, "_sample", "text+sampling")
        self._wrap(self.engine, "_decode", "decode")
        return self

    def __exit__(self, *exc) -> None:
        for owner, name in reversed(self._patched):
            delattr(owner, name)
        self._patched.clear()

    def stages(self, total: float) -> dict[str, float]:
        """Per-stage seconds of the calls made while active, given their total wall time."""
        text, both, decode = self.seconds["text"], self.seconds["text+sampling"], self.seconds["decode"]
        return {"text": text, "sampling": both - text, "decode": decode, "motion": total - both - decode,
                "total": total}


def time_generate(engine: Engine, prompts: Sequence[str], frames: int, steps: int, guidance: float,
                  repeats: int, warmup: int) -> dict[str, dict[str, float]]:
    """{stage: {"median", "min"}} seconds of `engine.generate(prompts, frames=...)` over `repeats` runs.

    Besides the wall-clock STAGES, "process_cpu" is the CPU time the process used (all threads): on a machine
    shared with other jobs it is the steadier number, since waiting for a core does not count.
    """
    call = lambda: engine.generate(list(prompts), frames=frames, steps=steps, guidance=guidance, seed=0)  # noqa: E731
    for _ in range(warmup):
        call()
    runs = []
    for _ in range(repeats):
        with StageClock(engine) as clock:
            synchronize(engine.device)
            start, cpu_start = time.perf_counter(), time.process_time()
            call()
            synchronize(engine.device)
            total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        runs.append({**clock.stages(total), "process_cpu": cpu})
    return {stage: {"median": statistics.median(r[stage] for r in runs), "min": min(r[stage] for r in runs)}
            for stage in STAGES + ("process_cpu",)}


@contextlib.contextmanager
def engine_settings(engine: Engine, **settings) -> Iterator[Engine]:
    """Temporarily set engine attributes (sampler, cuda_graphs, precision, max_batch, ...)."""
    saved = {name: getattr(engine, name) for name in settings}
    for name, value in settings.items():
        setattr(engine, name, value)
    try:
        yield engine
    finally:
        for name, value in saved.items():
            setattr(engine, name, value)


# Where `throughput` solves the IK on CUDA: a CUDA-graph replay (the engine's default), eager GPU kernels, the host.
IK_PLACEMENTS = {"graph": {"gpu_ik": True, "ik_graphs": True}, "gpu": {"gpu_ik": True, "ik_graphs": False},
                 "cpu": {"gpu_ik": False, "ik_graphs": False}}


def sampling_settings(device: torch.device, steps: int, dpm_steps: int,
                      compile: bool = False) -> list[tuple[str, int, dict]]:
    """(label, steps, engine attributes) of the configurations `latency` compares on this device.

    On CUDA the rows add one lever at a time: CUDA graphs (sampling loop, text encoder, decoder; IK on the
    host), then the IK as a CUDA graph too, then (with `compile`) torch.compile under every graph."""
    eager32 = {"cuda_graphs": False, "precision": "fp32", "sampler": "ddim"}
    if device.type != "cuda":
        return [(f"eager fp32 DDIM-{steps}", steps, eager32),
                (f"eager fp32 DPM-Solver++-{dpm_steps}", dpm_steps, {**eager32, "sampler": "dpm_solver_pp"})]
    eager32 = {**eager32, "gpu_ik": False, "ik_graphs": False, "compile": False}
    graphs = {**eager32, "cuda_graphs": True, "precision": "bf16"}
    ik_graph = {**graphs, "gpu_ik": True, "ik_graphs": True}
    dpm = {"sampler": "dpm_solver_pp"}
    rows = [(f"eager fp32 DDIM-{steps}", steps, eager32),
            (f"CUDA graph bf16 DDIM-{steps}, IK on the host", steps, graphs),
            (f"CUDA graph bf16 DDIM-{steps}, IK graph", steps, ik_graph),
            (f"CUDA graph bf16 DPM-Solver++-{dpm_steps}, IK graph", dpm_steps, {**ik_graph, **dpm})]
    if compile:
        compiled = {**ik_graph, "compile": True}
        rows += [(f"compiled, CUDA graph bf16 DDIM-{steps}, IK graph", steps, compiled),
                 (f"compiled, CUDA graph bf16 DPM-Solver++-{dpm_steps}, IK graph", dpm_steps, {**compiled, **dpm})]
    return rows


# ---- output ------------------------------------------------------------------------------------------------

def device_label(device: torch.device) -> str:
    """"cpu" or the GPU's name, made file-name safe (e.g. "cuda-nvidia-h100-80gb-hbm3")."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return "cuda-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return device.type


def environment(device: torch.device) -> dict:
    info = {"torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "device": str(device), "device_name": device_label(device)}
    try:
        from motion_core.ssm.backends import available_backends
        info["ssm_backends"] = available_backends()
    except ImportError:
        pass
    return info


def write_results(name: str, device: torch.device, payload: dict, out_dir: Path) -> Path:
    path = out_dir / f"{name}_{device_label(device)}_{_dt.date.today():%Y%m%d}.json"
    return write_json(path, payload, default=str)   # a killed run never leaves half a result


def format_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


# ---- subcommands -------------------------------------------------------------------------------------------

def _models(args) -> list[Engine]:
    if args.checkpoint:
        return [make_engine("", args.device, args.checkpoint, args.frames)]
    return [make_engine(kind, args.device, None, args.frames) for kind in args.denoisers]


def cmd_latency(args) -> dict:
    """Batch 1, full pipeline, per stage, for each sampling configuration and denoiser."""
    results, rows = [], []
    for engine in _models(args):
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
    for engine in _models(args):
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


def cmd_scaling(args) -> dict:
    """Denoiser forward latency vs sequence length, batch 1; writes a PNG next to the JSON.

    On CUDA every size is timed twice: eagerly, and replayed as a CUDA graph (how the engine samples). Eager
    timings of short clips measure kernel launches, not the model: a graph replay leaves only GPU work, so it
    is the column that shows how each model's cost grows with length.
    """
    device = torch.device(args.device)
    frames_list = args.scale_frames or ([196, 1000, 2000, 4000, 12000, 36000, 72000] if device.type == "cuda"
                                        else [196, 1000, 2000, 4000])
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype or ("bf16" if device.type == "cuda"
                                                                           else "fp32")]
    modes = ("eager", "graph") if device.type == "cuda" and args.graphs else ("eager",)
    if device.type == "cuda" and args.compile:
        modes += ("compiled",)
    results, rows = [], []
    for engine in _models(args):
        label = model_label(engine)
        stop_reason = None
        for frames in frames_list:
            length = engine.vae.latent_length(frames)
            entry = {"model": label, "frames": frames, "latent_frames": length}
            if stop_reason is not None:
                entry["skipped"] = stop_reason
            else:
                stop_reason = _time_scaling_entry(engine, entry, modes, dtype, args)
            results.append(entry)
            rows.append([label, frames, length, *(_scaling_cell(entry, mode) for mode in modes),
                         entry.get("skipped", "")[:40]])
    headers = ["model", "frames", "latents", *(f"{mode} ms (us/frame)" for mode in modes), "note"]
    print(format_table(headers, rows))
    summary = scaling_summary(results, modes)
    for line in summary["lines"]:
        print(line)
    return {"batch": 1, "dtype": str(dtype), "modes": list(modes), "results": results, "summary": summary}


# Scaling results per timing mode: the entry key of its seconds, and of its microseconds per frame.
SCALING_KEYS = {"eager": ("seconds", "per_frame_us"), "graph": ("graph_seconds", "graph_per_frame_us"),
                "compiled": ("compiled_seconds", "compiled_per_frame_us")}


def _time_scaling_entry(engine: Engine, entry: dict, modes: Sequence[str], dtype: torch.dtype, args) -> str | None:
    """Fill `entry` with each mode's seconds and us/frame; return why longer sizes should be skipped, if so."""
    device = engine.device
    try:
        for mode in modes:
            seconds = denoiser_forward_seconds(engine, entry["latent_frames"], dtype, args.repeats, args.warmup,
                                               graph=mode != "eager", compiled=mode == "compiled")
            seconds_key, per_frame_key = SCALING_KEYS[mode]
            entry[seconds_key] = seconds
            entry[per_frame_key] = seconds / entry["frames"] * 1e6
    except Exception as exc:  # noqa: BLE001 - out-of-memory is the expected case; anything else is recorded
        oom = is_out_of_memory(exc)
        entry["skipped"] = "out of memory" if oom else f"{type(exc).__name__}: {exc}"
        if device.type == "cuda":
            torch.cuda.empty_cache()
        return f"a shorter size failed ({entry['skipped'][:60]})"
    if entry["seconds"] > args.max_forward_seconds:
        return f"previous size took {entry['seconds']:.1f} s > --max-forward-seconds"
    return None


def _scaling_cell(entry: dict, mode: str) -> str:
    seconds_key, per_frame_key = SCALING_KEYS[mode]
    if seconds_key not in entry:
        return "OOM" if entry.get("skipped") == "out of memory" else "-"
    return f"{entry[seconds_key] * 1e3:.2f} ({entry[per_frame_key]:.3g})"


def scaling_summary(results: list[dict], modes: Sequence[str], flat_from: int = 1960) -> dict:
    """The issue's two scaling figures per mode: Mamba's per-frame cost at the longest size over that at the
    first size >= `flat_from` frames (goal <= 1.3), and the transformer's forward time over Mamba's at the
    longest size both finished (goal >= 4)."""
    by_model: dict[str, dict[int, dict]] = defaultdict(dict)
    for entry in results:
        by_model[entry["model"].split(" ")[0]][entry["frames"]] = entry
    mamba, transformer = by_model.get("mamba_unet", {}), by_model.get("transformer", {})
    out: dict = {"lines": []}
    for mode in modes:
        key = SCALING_KEYS[mode][0]
        done = sorted(f for f, e in mamba.items() if key in e)
        firsts = [f for f in done if f >= flat_from]
        if len(firsts) >= 2:
            a, b = mamba[firsts[0]], mamba[firsts[-1]]
            growth = (b[key] / b["frames"]) / (a[key] / a["frames"])
            out[f"{mode}_mamba_per_frame_growth"] = {"from": firsts[0], "to": firsts[-1], "ratio": growth}
            out["lines"].append(f"{mode}: Mamba U-Net cost per frame, {firsts[-1]} vs {firsts[0]} frames: "
                                f"{growth:.2f}x (goal <= 1.3x)")
        both = [f for f in done if key in transformer.get(f, {})]
        if both:
            f = both[-1]
            speedup = transformer[f][key] / mamba[f][key]
            out[f"{mode}_speedup_vs_transformer"] = {"frames": f, "ratio": speedup}
            out["lines"].append(f"{mode}: at {f} frames the Mamba U-Net is {speedup:.2f}x as fast as the "
                                f"transformer (goal >= 4x at 72000)")
    return out


@torch.inference_mode()
def denoiser_forward_seconds(engine: Engine, length: int, dtype: torch.dtype, repeats: int, warmup: int,
                             graph: bool = False, compiled: bool = False) -> float:
    """Median seconds of one denoiser forward at batch 1 on `length` latent frames (guidance off), run eagerly
    or (`graph`, CUDA only) captured once into a CUDA graph and replayed; `compiled`: torch.compile'd first,
    as the engine's `compile` option does (static shapes, frozen weights)."""
    device, denoiser = engine.device, engine.denoiser
    if compiled:
        torch._dynamo.reset()    # a fresh compilation per size: the recompile limit never decides what runs
        denoiser = compile_for_capture(denoiser, max_graphs=1, freezing=True)
    tokens, mask = engine.text_encoder.encode([PROMPT])
    x = torch.randn(1, length, denoiser.config.latent_dim, device=device)
    t = torch.full((1,), 500, dtype=torch.long, device=device)
    autocast = (torch.autocast(device.type, dtype=dtype) if dtype != torch.float32 else contextlib.nullcontext())

    def forward():
        with autocast:
            return denoiser(x, t, tokens, mask)
    return median_seconds(captured(forward, device) if graph else forward, device, repeats, warmup)


def median_seconds(run: Callable[[], object], device: torch.device, repeats: int, warmup: int) -> float:
    """Median wall seconds of `run()` over `repeats` runs after `warmup` more, the device synchronised around each."""
    times = []
    for i in range(warmup + repeats):
        synchronize(device)
        start = time.perf_counter()
        run()
        synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def captured(forward: Callable[[], torch.Tensor], device: torch.device) -> Callable[[], None]:
    """`forward` captured into a CUDA graph (as the engine's sampler captures its loop): its replay."""
    return capture(forward, device)[0].replay


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


def cmd_cpu(args) -> dict:
    """A 10-s clip end to end on a laptop-like CPU budget (2 threads), then where the time goes."""
    engine = _cpu_engine(args)
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
        p.add_argument("--steps", type=int, default=20)
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


def plot_scaling(payload: dict, path: Path) -> Path:
    """Latency and per-frame cost vs clip length, one line per model (log-log)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter
    fig, (ax_latency, ax_frame) = plt.subplots(1, 2, figsize=(11, 4.2))
    by_model: dict[str, list[dict]] = defaultdict(list)
    for entry in payload["results"]:
        if "seconds" in entry:
            by_model[entry["model"]].append(entry)
    modes = payload.get("modes", ["eager"])
    for model, entries in by_model.items():
        for mode, style in (("compiled", ":"), ("graph", "-"), ("eager", "--")):
            seconds_key, per_frame_key = SCALING_KEYS[mode]
            timed = [e for e in entries if seconds_key in e]
            if not timed:
                continue
            frames = [e["frames"] for e in timed]
            names = {"graph": "CUDA graph", "compiled": "compiled + CUDA graph", "eager": "eager"}
            label = f"{model}, {names[mode]}" if len(modes) > 1 else model
            ax_latency.plot(frames, [e[seconds_key] * 1000 for e in timed], style, marker="o", label=label)
            ax_frame.plot(frames, [e[per_frame_key] for e in timed], style, marker="o", label=label)
    for ax, ylabel in ((ax_latency, "denoiser forward (ms)"), (ax_frame, "cost per frame (us)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())   # minor labels overlap on short ranges
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("clip length (frames at 20 fps; latents = frames / 4)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    ax_latency.legend(fontsize=8)
    env = payload["environment"]
    fig.suptitle(f"Denoiser scaling, batch 1, {payload['dtype']}, {env['device_name']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()

"""The `scaling` benchmark: denoiser forward latency vs clip length, batch 1, summarised against the issue's goals.

`cmd_scaling` times each size eagerly and, on CUDA, as a CUDA-graph replay (and compiled, if asked), stopping
a model once a size runs out of memory or takes too long; `scaling_summary` gives Mamba's per-frame cost
growth and its speed-up over the transformer; `plot_scaling` draws both as a PNG (needs matplotlib).
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Sequence

import torch

from motion_core.engine import Engine
from motion_core.interfaces.bench_models import model_label, models_for
from motion_core.interfaces.bench_report import format_table
from motion_core.interfaces.bench_timing import denoiser_forward_seconds
from motion_core.runtime.device import is_out_of_memory

__all__ = ["cmd_scaling", "SCALING_KEYS", "scaling_summary", "plot_scaling"]


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
    for engine in models_for(args):
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

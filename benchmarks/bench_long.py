"""Long-motion cost and transition quality of prompt timelines (`Engine.generate_timeline`).

1. Cost: wall time per generated second of motion for 10 s, 60 s and 600 s timelines (segments of
   `--segment-seconds` cycling through a few prompts), and the ratio of the 600 s figure to the 10 s one
   (about 1 when cost is linear in duration). On the CPU with `--threads` threads (default 2), and on CUDA
   when present. Peak memory: CUDA's allocator peak per run; on the CPU the process's peak RSS so far
   (monotone, so it only says whether memory kept growing).
   Each duration runs `--repeats` times and the fastest run counts.
2. Transitions: on the middle duration, peak joint jerk, foot skating and root continuity within +-0.5 s
   of the segment joins versus inside segments, for the timeline and for a naive concatenation of the same
   segments generated independently (each clip moved so its root starts where the previous one ended, the
   way one would butt clips together in an NLA editor).

Model: `--checkpoint DIR`, else the bundled default model when installed, else a random tiny engine (the
output says so: its numbers show cost scaling, not motion quality). Prints a table; writes JSON to
benchmarks/results/bench_long_<model>.json. Run:

    /work/venv/bin/python benchmarks/bench_long.py                     # CPU (+ CUDA if present)
    python benchmarks/bench_long.py --checkpoint DIR --device cuda     # the trained model on a GPU
    python benchmarks/bench_long.py --device cuda --modes eager default compiled --no-transitions --profile
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import resource
import sys
import time
from itertools import cycle, islice
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.engine import DEFAULT_MODEL_DIR, Engine, tiny_config  # noqa: E402
from motion_core.kinematics.motion_metrics import transition_report  # noqa: E402
from motion_core.generation.timeline import timeline_segments  # noqa: E402

PROMPTS = ("a person walks forward", "a person jumps up and down", "a person turns around and walks back",
           "a person waves with the right hand", "a person jogs in a circle", "a person sits down and stands up")
RESULTS = Path(__file__).resolve().parent / "results"
# Engine settings `--modes` compares on CUDA (the CPU path has neither graphs nor compilation).
MODES = {"default": {}, "eager": {"cuda_graphs": False}, "compiled": {"compile": True}}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None, help="model folder (default: bundled model, else random tiny)")
    parser.add_argument("--device", default="auto", help="auto (cpu, plus cuda when present), cpu or cuda[:N]")
    parser.add_argument("--durations", type=float, nargs="+", default=[10.0, 60.0, 600.0], help="seconds")
    parser.add_argument("--segment-seconds", type=float, default=5.0, help="length of each timeline segment")
    parser.add_argument("--steps", type=int, default=20, help="denoising steps")
    parser.add_argument("--guidance", type=float, default=7.5)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2,
                        help="runs per duration; the fastest counts (other processes only ever slow a run down)")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default: benchmarks/results/...)")
    parser.add_argument("--modes", nargs="+", default=["default"], choices=sorted(MODES),
                        help="engine settings to compare in one run (CUDA): default (CUDA graphs), eager (none), "
                             "compiled (torch.compile inside the graphs)")
    parser.add_argument("--no-transitions", dest="transitions", action="store_false",
                        help="cost only (skip the join-quality comparison, which generates the clips again)")
    parser.add_argument("--profile", action="store_true",
                        help="also print where the longest timeline's time goes (cProfile, cumulative)")
    return parser.parse_args(argv)


def load_engine(checkpoint: str | None, device: str, **options) -> tuple[Engine, str]:
    """The engine and a label saying what it is (an untrained engine must never pass for the real model)."""
    if checkpoint is not None:
        engine = Engine.load(checkpoint, device=device, **options)
        return engine, f"checkpoint {engine.model_version} ({checkpoint})"
    if (DEFAULT_MODEL_DIR / "config.json").is_file():
        engine = Engine.load(None, device=device, **options)
        return engine, f"default model {engine.model_version}"
    return (Engine.random(tiny_config(), seed=0, device=device, **options),
            "RANDOM TINY ENGINE (untrained; no default model installed): cost scaling only, not quality")


def timeline_for(seconds: float, segment_seconds: float) -> list[tuple[str, float]]:
    """Segments of `segment_seconds` cycling through PROMPTS; the last one takes the remainder (>= 0.5 s)."""
    count = max(1, int(round(seconds / segment_seconds)))
    lengths = [segment_seconds] * count
    lengths[-1] = seconds - segment_seconds * (count - 1)
    if lengths[-1] < 0.5 and count > 1:
        lengths[-2] += lengths.pop()
    return list(zip(islice(cycle(PROMPTS), len(lengths)), lengths))


def _sync(engine: Engine) -> None:
    if engine.device.type == "cuda":
        torch.cuda.synchronize(engine.device)


def time_timeline(engine: Engine, segments, args) -> tuple[dict, object]:
    if engine.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(engine.device)
    times, cpu_times = [], []
    for _ in range(max(1, args.repeats)):
        _sync(engine)
        started, cpu_started = time.perf_counter(), time.process_time()
        motion = engine.generate_timeline(segments, seed=args.seed, guidance=args.guidance, steps=args.steps)
        _sync(engine)
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    elapsed = min(times)
    seconds = motion.num_frames / motion.fps
    row = {"seconds": seconds, "frames": motion.num_frames, "segments": len(segments),
           "windows": motion.meta["windows"], "wall_s": elapsed, "wall_s_all": times,
           "cpu_s": min(cpu_times), "cpu_s_per_generated_s": min(cpu_times) / seconds,
           "s_per_generated_s": elapsed / seconds, "loadavg_1m_after": os.getloadavg()[0]}
    if engine.device.type == "cuda":
        row["peak_cuda_mb"] = torch.cuda.max_memory_allocated(engine.device) / 2 ** 20
    else:
        row["peak_rss_mb_so_far"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row, motion


def naive_concatenation(engine: Engine, segments, args) -> np.ndarray:
    """Independent clips (segment k with seed + k), each translated so its root starts where the last ended.
    Segments longer than the model's window are cut to it (naive clips cannot be longer)."""
    parts = []
    for k, (prompt, seconds) in enumerate(segments):
        (clip,) = engine.generate([prompt], seconds=min(seconds, engine.max_seconds), seed=args.seed + k,
                                  guidance=args.guidance, steps=args.steps)
        joints = clip.joints.astype(np.float64)
        if parts:
            shift = parts[-1][-1, 0] - joints[0, 0]
            joints = joints + shift * np.array([1.0, 0.0, 1.0])
        parts.append(joints)
    return np.concatenate(parts)


def transitions(engine: Engine, motion, segments, args) -> dict:
    joins = [s.start_frame for s in timeline_segments(motion)[1:]]
    naive = naive_concatenation(engine, segments, args)
    lengths = [round(min(seconds, engine.max_seconds) * engine.fps) for _, seconds in segments[:-1]]
    naive_joins = np.cumsum(lengths).tolist()
    return {"timeline": transition_report(motion.joints, motion.skeleton, motion.fps, joins),
            "naive_concatenation": transition_report(naive, motion.skeleton, motion.fps, naive_joins)}


def bench_device(device: str, args, mode: str = "default") -> dict:
    engine, label = load_engine(args.checkpoint, device, **(MODES[mode] if device.startswith("cuda") else {}))
    print(f"\n== {engine.device} ({mode}): {label}", flush=True)
    engine.generate_timeline([(PROMPTS[0], 2.0)], steps=min(args.steps, 2))  # warm-up (lazy init, kernels)
    rows, motions = [], {}
    for seconds in args.durations:
        segments = timeline_for(seconds, args.segment_seconds)
        engine.generate_timeline(segments[:3], seed=args.seed, guidance=args.guidance, steps=args.steps)  # shapes
        row, motion = time_timeline(engine, segments, args)
        rows.append(row)
        motions[seconds] = (motion, segments)
        print(f"  {row['seconds']:7.1f} s  {row['segments']:4d} segments  {row['windows']:5d} windows  "
              f"{row['wall_s']:8.2f} s wall  {row['s_per_generated_s']:.4f} s per generated s", flush=True)
    result = {"device": str(engine.device), "mode": mode, "model": label, "rows": rows}
    if args.profile:
        result["profile"] = profile_timeline(engine, timeline_for(args.durations[-1], args.segment_seconds), args)
    if len(rows) > 1:
        result["ratio_longest_to_shortest"] = rows[-1]["s_per_generated_s"] / rows[0]["s_per_generated_s"]
        result["cpu_ratio_longest_to_shortest"] = (rows[-1]["cpu_s_per_generated_s"]
                                                   / rows[0]["cpu_s_per_generated_s"])
    if not args.transitions:
        return result
    middle = args.durations[len(args.durations) // 2]
    motion, segments = motions[middle]
    result["transitions"] = {"duration_s": middle, "radius_s": 0.5,
                             **transitions(engine, motion, segments, args)}
    return result


def profile_timeline(engine: Engine, segments, args, top: int = 25) -> list[dict]:
    """The functions the timeline spends most time in, cumulative (cProfile: host-side view; on CUDA a
    function waiting for the GPU shows that wait)."""
    profiler = cProfile.Profile()
    profiler.enable()
    engine.generate_timeline(segments, seed=args.seed, guidance=args.guidance, steps=args.steps)
    _sync(engine)
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    rows = [{"function": f"{Path(file).name}:{line}({name})", "calls": calls, "cumulative_s": cumulative,
             "own_s": own} for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items()]
    rows.sort(key=lambda r: -r["cumulative_s"])
    print(f"  profile of the {args.durations[-1]:.0f} s timeline (cumulative s):", flush=True)
    for r in rows[:top]:
        print(f"    {r['cumulative_s']:8.3f} {r['own_s']:8.3f} {r['calls']:7d}  {r['function']}", flush=True)
    return rows[:top]


def print_tables(results: list[dict]) -> None:
    for result in results:
        print(f"\n{result['device']} ({result.get('mode', 'default')}) - {result['model']}")
        print(f"{'duration (s)':>12} {'wall (s)':>10} {'s per gen. s':>13} {'CPU s per gen. s':>17} "
              f"{'windows':>8}")
        for row in result["rows"]:
            print(f"{row['seconds']:12.1f} {row['wall_s']:10.2f} {row['s_per_generated_s']:13.4f} "
                  f"{row['cpu_s_per_generated_s']:17.4f} {row['windows']:8d}")
        if "ratio_longest_to_shortest" in result:
            print(f"ratio (longest / shortest, per generated second): wall {result['ratio_longest_to_shortest']:.2f}"
                  f", CPU time {result['cpu_ratio_longest_to_shortest']:.2f}")
        if "transitions" not in result:
            continue
        t = result["transitions"]
        print(f"transitions on the {t['duration_s']:.0f} s timeline (+-{t['radius_s']} s of joins vs inside):")
        print(f"{'':22} {'peak jerk m/s^3':>16} {'skating m/s':>12} {'root max m/s':>13} {'root max m/s^2':>15}")
        for name in ("timeline", "naive_concatenation"):
            for where in ("joins", "inside"):
                m = t[name].get(where)
                if m:
                    print(f"{name[:13] + ' ' + where:22} {m['peak_jerk']:16.2f} {m['foot_skating']:12.4f} "
                          f"{m['root_max_speed']:13.4f} {m['root_max_accel']:15.3f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) if args.device == "auto" else [args.device]
    load_before = os.getloadavg()
    results = [bench_device(device, args, mode) for device in devices
               for mode in (args.modes if device.startswith("cuda") else ["default"])]
    print_tables(results)
    report = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "machine": {"torch": torch.__version__, "cpu_count": os.cpu_count(), "processor": platform.machine(),
                          "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                          "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
              "results": results}
    name = "random_tiny" if "RANDOM" in results[0]["model"] else "model"
    out = args.out or RESULTS / f"bench_long_{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

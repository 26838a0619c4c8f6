"""Soak test of the worker: many generations through one real `motion-core serve --stdio` process.

The add-on keeps one worker alive for a whole Blender session, so anything that grows per request (memory,
file descriptors, threads) eventually hurts animators. This drives `--n` generate requests (tiny untrained
model, short clips, a few non-ASCII prompts) through the add-on's own client (`addon.engine_client`), and
samples the worker's resident memory (VmRSS / VmHWM from /proc/<pid>/status), open file descriptors and
threads every `--every` requests. Result files are checked (every `--every`-th) and deleted as it goes.

    /work/venv/bin/python benchmarks/soak_worker.py --n 500

Prints a table and writes JSON to benchmarks/results/soak_worker.json. The headline figure is the RSS
growth from request 50 (model loaded, allocator warm) to the last request, and its per-request slope.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from addon import engine_client as ec  # noqa: E402
from motion_core.formats.atomic_file import write_json  # noqa: E402

PROMPTS = ["a person walks forward", "a person jumps", "une personne saute", "人が歩く", "someone waves 👋"]
WARM_REQUEST = 50   # growth is measured from here: the first requests load the model and warm allocators


def proc_status(pid: int) -> dict:
    """Resident memory (MB), its peak, threads and open file descriptors of process `pid` (Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return {"rss_mb": int(fields["VmRSS"][0]) / 1024, "hwm_mb": int(fields["VmHWM"][0]) / 1024,
            "threads": int(fields["Threads"][0]), "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def make_checkpoint(directory: Path) -> str:
    from motion_core.engine import Engine, tiny_config
    return str(Engine.random(tiny_config(), seed=0).save(directory / "tiny"))


def run_soak(n: int, every: int = 25, seconds: float = 1.0, steps: int = 2, threads: int = 1,
             timeout: float = 120.0, log=print) -> dict:
    """Run `n` generations through one worker; returns samples and the summary (see module docstring)."""
    from motion_core.formats.motion import Motion
    work = Path(tempfile.mkdtemp(prefix="soak_worker_"))
    checkpoint = make_checkpoint(work)
    # One intra-op thread: with a tiny model, OpenMP threads on a busy 2-core machine mostly spin-wait (measured
    # 20x slower per request); memory behaviour, the point of this test, does not depend on it.
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    engine = ec.SubprocessEngine(python=sys.executable, env=env, cwd=str(ROOT), reply_timeout=timeout)
    samples, errors, window, started = [], [], [], time.perf_counter()
    try:
        engine.start()
        pid = engine.pid
        for i in range(1, n + 1):
            t0 = time.perf_counter()
            params = {"prompts": [PROMPTS[i % len(PROMPTS)]], "seconds": seconds, "seed": i, "steps": steps,
                      "guidance": 7.5, "checkpoint": checkpoint, "device": "cpu", "out_dir": str(work / "out")}
            job = engine.submit("generate", params).wait(timeout=timeout)
            engine.release(job)
            window.append(time.perf_counter() - t0)
            if job.state != ec.DONE:
                errors.append(f"request {i}: {job.error}")
                if engine.pid != pid or not engine.alive:
                    raise RuntimeError(f"the worker died at request {i}: {job.error}")
                continue
            if i % every == 0 or i == 1:
                assert Motion.load(job.results[0]).num_frames == round(seconds * 20)
                sample = {"request": i, **proc_status(pid), "ms_per_request": 1000 * sum(window) / len(window)}
                samples.append(sample)
                window.clear()
                log(_row(sample))
            for path in job.results:
                Path(path).unlink()
        final = proc_status(pid)
    finally:
        engine.shutdown()
    return {"config": {"n": n, "every": every, "seconds": seconds, "steps": steps, "threads": threads,
                       "model": "tiny_config()",
                       "python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()},
            "samples": samples, "errors": errors, "summary": summarize(samples, final, time.perf_counter() - started)}


def summarize(samples: list[dict], final: dict, wall_s: float) -> dict:
    warm = min(samples, key=lambda s: abs(s["request"] - WARM_REQUEST))
    last = samples[-1]
    span = [s for s in samples if s["request"] >= warm["request"]]
    slope = _slope([s["request"] for s in span], [s["rss_mb"] for s in span]) if len(span) > 1 else 0.0
    return {"rss_first_mb": samples[0]["rss_mb"], "rss_warm_mb": warm["rss_mb"], "warm_request": warm["request"],
            "rss_last_mb": last["rss_mb"], "last_request": last["request"],
            "rss_growth_mb": last["rss_mb"] - warm["rss_mb"], "rss_slope_kb_per_request": 1024 * slope,
            "peak_mb": final["hwm_mb"], "fds_warm": warm["fds"], "fds_last": last["fds"],
            "threads_last": last["threads"], "wall_s": wall_s}


def _slope(x, y) -> float:
    """Least-squares slope of y over x."""
    mx, my = sum(x) / len(x), sum(y) / len(y)
    den = sum((a - mx) ** 2 for a in x)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / den if den else 0.0


HEADER = f"{'request':>8} {'RSS MB':>8} {'peak MB':>8} {'fds':>5} {'threads':>8} {'ms/req':>8}"


def _row(s: dict) -> str:
    return (f"{s['request']:>8d} {s['rss_mb']:>8.1f} {s['hwm_mb']:>8.1f} {s['fds']:>5d} {s['threads']:>8d} "
            f"{s['ms_per_request']:>8.0f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500, help="generations to run")
    parser.add_argument("--every", type=int, default=25, help="sample the worker every N requests")
    parser.add_argument("--seconds", type=float, default=1.0, help="clip length")
    parser.add_argument("--steps", type=int, default=2, help="denoising steps")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads in the worker")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "soak_worker.json")
    args = parser.parse_args(argv)
    print(HEADER)
    report = run_soak(args.n, args.every, args.seconds, args.steps, args.threads)
    s = report["summary"]
    print(f"\nRSS {s['rss_warm_mb']:.1f} MB at request {s['warm_request']} -> {s['rss_last_mb']:.1f} MB at request "
          f"{s['last_request']}: growth {s['rss_growth_mb']:+.1f} MB ({s['rss_slope_kb_per_request']:+.1f} KB per "
          f"request, least squares); peak {s['peak_mb']:.1f} MB; fds {s['fds_warm']} -> {s['fds_last']}; "
          f"{len(report['errors'])} errors; {s['wall_s']:.0f} s")
    write_json(args.out, report)
    print(f"wrote {args.out}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

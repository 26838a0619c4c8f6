"""Seamless loops (issue 23, item 5): the step from a take's last frame to the first frame of its next cycle
(shifted by the cycle's root travel) against the 95th percentile of the steps inside the take, for cyclic
prompts, without and with ``loop=True``; and what the loop moved (mean/max joint change) and cost (CPU).

Without loop the offset per cycle is the same one the loop uses (last root + last root step - first root),
so the comparison is of poses only. Each take is generated once (`Engine.generate`, default settings, foot
cleanup on) and `controls.loop.make_loop` applied to it: what ``loop=True`` runs after it.

    nice -n 5 python benchmarks/loops.py [--seeds 0 1 2 3 4] [--seconds 4] [--out DIR]
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from motion_core.formats.atomic_file import write_json  # noqa: E402
from motion_core.bench import environment  # noqa: E402
from motion_core.controls.loop import loop_step_ratio, make_loop  # noqa: E402
from motion_core.engine import Engine  # noqa: E402

PROMPTS = ["a person walks forward", "a person jogs forward", "a person walks in a circle",
           "a person stands idle and shifts weight", "a person dances", "a person jumps in place repeatedly"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    out = args.out or ROOT / "benchmarks" / "results" / f"loops_{date}"
    engine = Engine.load(None, device="cpu")
    rows, loop_s = [], 0.0
    for seed in args.seeds:
        takes = engine.generate(PROMPTS, seconds=args.seconds, seed=seed * 100)
        for prompt, take in zip(PROMPTS, takes):
            started = time.perf_counter()
            looped = make_loop(take)
            loop_s += time.perf_counter() - started
            offset = np.array([looped.meta["loop_offset_x"], 0.0, looped.meta["loop_offset_z"]])
            change = np.linalg.norm(looped.joints - take.joints, axis=-1)
            rows.append({"prompt": prompt, "seed": take.meta["seed"], "raw": loop_step_ratio(take.joints, offset),
                         "loop": loop_step_ratio(looped.joints, offset),
                         "change_cm_mean": float(change.mean() * 100), "change_cm_max": float(change.max() * 100)})
            print(f"{prompt[:36]:36} seed {take.meta['seed']:4}: raw {rows[-1]['raw']['ratio']:.2f}  "
                  f"loop {rows[-1]['loop']['ratio']:.2f}  moved {rows[-1]['change_cm_mean']:.1f} cm", flush=True)
    summary = {name: {"max": max(r[name]["ratio"] for r in rows), "mean": float(np.mean([r[name]["ratio"] for r in rows])),
                      "share_over_1": float(np.mean([r[name]["ratio"] > 1.0 for r in rows]))} for name in ("raw", "loop")}
    summary.update(change_cm_mean=float(np.mean([r["change_cm_mean"] for r in rows])),
                   change_cm_max=float(max(r["change_cm_max"] for r in rows)), loop_ms_per_take=loop_s / len(rows) * 1000)
    print(summary)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "loops.json", {"benchmark": "loops", "command": " ".join(sys.argv),
                                    "environment": environment(engine.device), "model": engine.model_version,
                                    "summary": summary, "takes": rows})
    print(f"wrote {out / 'loops.json'}")


if __name__ == "__main__":
    main()

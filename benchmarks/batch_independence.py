"""How much a take depends on its batch companions on the CPU, and what making it independent would cost.

Prompt i of `engine.generate` uses seed ``seed + i`` and draws its own starting noise, so a (prompt, seed) pair
gives the same motion alone or in a batch up to float rounding: the text encoder pads to the batch's longest
prompt and the matrix kernels pick their blocking from the batch size, so sums are taken in another order.
This measures that rounding on the bundled model, the same take alone against:

* take k of ``--takes 3`` (seed + k),
* the second prompt of a two-prompt batch,
* each prompt of an eight-prompt batch,

and checks that `engine.max_batch = 1` (every prompt sampled alone) makes them bit-identical. Then it times
eight 4 s prompts batched against one at a time, at several thread counts: the price of exactness.

    python benchmarks/batch_independence.py --out benchmarks/results/batch_independence_cpu.json
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from motion_core.formats.atomic_file import write_json  # noqa: E402
from motion_core.engine import Engine  # noqa: E402

PROMPTS = ["a person walks forward", "a person jumps in place", "a person waves with the right hand",
           "a person runs in a circle and then sits down on the ground", "a person kicks", "a person turns around",
           "a person crouches and stands up again slowly", "a person throws a ball"]
SECONDS = 4.0


def deviation(a, b) -> dict:
    return {"joints_m": float(np.abs(a.joints - b.joints).max()),
            "rotations": float(np.abs(a.rotations - b.rotations).max()),
            "identical": bool(np.array_equal(a.joints, b.joints) and np.array_equal(a.rotations, b.rotations))}


def compare(engine: Engine, seeds: list[int]) -> list[dict]:
    """Every take of every batch case against the same (prompt, seed) generated alone."""
    alone_cache: dict = {}

    def alone(prompt, seed):
        if (prompt, seed) not in alone_cache:
            alone_cache[prompt, seed] = engine.generate([prompt], seconds=SECONDS, seed=seed)[0]
        return alone_cache[prompt, seed]

    rows = []
    for seed in seeds:
        cases = {"takes3": [PROMPTS[0]] * 3, "two_prompts": PROMPTS[:2], "batch8": PROMPTS}
        for case, prompts in cases.items():
            batch = engine.generate(prompts, seconds=SECONDS, seed=seed)
            for k, (prompt, motion) in enumerate(zip(prompts, batch)):
                rows.append({"case": case, "seed": seed, "take": k, **deviation(alone(prompt, seed + k), motion)})
    return rows


def timing(engine: Engine, threads: int, repeats: int) -> dict:
    torch.set_num_threads(threads)
    engine.generate(PROMPTS[:2], seconds=SECONDS)   # warm-up
    result = {}
    for label, max_batch in (("batched", 16), ("one_at_a_time", 1)):
        engine.max_batch = max_batch
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            engine.generate(PROMPTS, seconds=SECONDS)
            times.append(time.perf_counter() - start)
        result[label] = float(np.median(times))
    engine.max_batch = 16
    result["slowdown"] = result["one_at_a_time"] / result["batched"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4, os.cpu_count()])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "batch_independence_cpu.json")
    args = parser.parse_args()
    engine = Engine.load(device="cpu")
    torch.set_num_threads(min(4, os.cpu_count()))
    batched = compare(engine, list(range(args.seeds)))
    engine.max_batch = 1
    exact = compare(engine, [0])
    engine.max_batch = 16
    worst = max(r["joints_m"] for r in batched)
    print(f"batched: worst joint deviation {worst:.2e} m over {len(batched)} takes; "
          f"{sum(r['identical'] for r in batched)} bit-identical")
    print(f"max_batch=1: {sum(r['identical'] for r in exact)}/{len(exact)} bit-identical")
    times = {threads: timing(engine, threads, args.repeats) for threads in args.threads}
    for threads, row in times.items():
        print(f"{threads} thread(s): 8 prompts x {SECONDS:g} s batched {row['batched']:.2f} s, one at a time "
              f"{row['one_at_a_time']:.2f} s ({row['slowdown']:.2f}x)")
    write_json(args.out, {"torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
                          "cpu_count": os.cpu_count(), "seconds": SECONDS, "worst_joint_deviation_m": worst,
                          "worst_rotation_deviation": max(r["rotations"] for r in batched),
                          "max_batch_1_all_identical": all(r["identical"] for r in exact),
                          "batched": batched, "max_batch_1": exact, "timing": times})


if __name__ == "__main__":
    main()

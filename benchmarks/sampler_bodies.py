"""How often a sampler setting decodes a malformed body (bones far longer than a person's), on the CPU.

A few-step sampler at the model's guidance can overshoot: at DPM-Solver++ 5 steps model v17 gave arms 1.5 m long
and hands a metre under the floor in a quarter of its clips (2026-12-07). Each setting samples the same prompts
and seeds; a take is malformed when a bone of its solved body is over `--bone-limit` m (the longest in the
HumanML3D skeleton, the thigh and shin, are ~0.4 m) or a joint goes over 0.1 m under the floor.
`--no-lower-order-final` samples DPM-Solver++ with its second-order update up to the last step (the sampler before
2026-12-07), for the A/B.

    python benchmarks/sampler_bodies.py [--settings ddim:10 dpm_solver_pp:5 ...] [--seeds 4] [--out FILE]
"""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from motion_core.engine import Engine  # noqa: E402
from motion_core.formats.atomic_file import write_json  # noqa: E402
from motion_core.generation import diffusion  # noqa: E402
from motion_core.interfaces.bench import environment  # noqa: E402

PROMPTS = ["a person waves", "a person walks forward", "a person jumps", "a person kicks", "a person sits down",
           "a person spins around", "a person bows", "a person claps"]


def malformed(motion, bone_limit: float) -> bool:
    joints, parents = motion.joints, motion.skeleton.parents
    bones = np.linalg.norm(joints[:, 1:] - joints[:, list(parents[1:])], axis=-1)
    return bool(bones.max() > bone_limit or joints[..., 1].min() < -0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=["ddim:10", "ddim:6", "ddim:5", "dpm_solver_pp:5",
                                                            "dpm_solver_pp:6", "dpm_solver_pp:8"])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--bone-limit", type=float, default=0.6)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--no-lower-order-final", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.no_lower_order_final:
        diffusion.LOWER_ORDER_FINAL_BELOW = 0
    engine = Engine.load(args.checkpoint, device="cpu")
    rows = {}
    for setting in args.settings:
        sampler, steps = setting.split(":")
        engine.sampler = sampler
        bad = sum(malformed(m, args.bone_limit) for seed in range(args.seeds)
                  for m in engine.generate(PROMPTS, seconds=args.seconds, seed=seed * 100, steps=int(steps)))
        rows[setting] = {"malformed": bad, "takes": args.seeds * len(PROMPTS)}
        print(f"{setting:18} malformed {bad} of {args.seeds * len(PROMPTS)}", flush=True)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    result = {"benchmark": "sampler_bodies", "date": date, "command": " ".join(sys.argv), "model": engine.model_version,
              "lower_order_final_below": diffusion.LOWER_ORDER_FINAL_BELOW, "prompts": PROMPTS,
              "environment": environment(engine.device), "results": rows}
    if args.out:
        write_json(args.out, result)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

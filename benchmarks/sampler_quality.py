"""Quality of each sampling speed setting: FID, R-precision and action checks per (sampler, steps).

The speed side is `python -m motion_core.bench latency` (it times the same settings); this is the quality side,
so that no speed is bought with silent quality loss. Every setting scores the same drawn test-split captions
and lengths with the same evaluator and seed (`train.evaluate`), the checkpoint's guidance throughout.

    python benchmarks/sampler_quality.py --checkpoint motion_core/default_model --data CORPUS \
        --evaluator EVALUATOR_DIR [--settings ddim:20 dpm_solver_pp:10 dpm_solver_pp:5] [--limit 256] \
        [--out benchmarks/results/sampler_quality_cpu_<date>.json]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.formats.atomic_file import write_json  # noqa: E402
from motion_core.generation.diffusion import SAMPLERS  # noqa: E402
from train.evaluate import evaluate, parse_args  # noqa: E402

DEFAULT_SETTINGS = ("ddim:20", "ddim:10", "dpm_solver_pp:10", "dpm_solver_pp:5")


def parse_setting(text: str) -> tuple[str, int]:
    sampler, _, steps = text.partition(":")
    if sampler not in SAMPLERS or not steps.isdigit() or int(steps) < 1:
        raise SystemExit(f"a setting is SAMPLER:STEPS with SAMPLER ddim or dpm_solver_pp, got {text!r}")
    return sampler, int(steps)


def score(args, sampler: str, steps: int) -> dict:
    argv = ["--checkpoint", str(args.checkpoint), "--data", str(args.data), "--split", "test",
            "--captions", args.captions, "--evaluator", str(args.evaluator), "--limit", str(args.limit),
            "--sampler", sampler, "--steps", str(steps), "--no-untrained", "--mm-texts", "0",
            "--seed", str(args.seed), "--device", args.device]
    started = time.time()
    result = evaluate(parse_args(argv))
    model, actions = result["metrics"]["model"], result["actions"].get("model", {})
    return {"sampler": sampler, "steps": steps, "fid": model["fid"], "r_precision_top1": model["r_precision_top1"],
            "r_precision_top3": model["r_precision_top3"], "actions": actions.get("overall"),
            "ground_truth_fid": result["metrics"]["ground_truth"]["fid"], "seconds": round(time.time() - started, 1)}


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", type=Path, default=Path("motion_core/default_model"))
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--evaluator", type=Path, required=True)
    p.add_argument("--captions", default="texts")
    p.add_argument("--settings", nargs="+", default=list(DEFAULT_SETTINGS), metavar="SAMPLER:STEPS")
    p.add_argument("--limit", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    settings = [parse_setting(s) for s in args.settings]
    rows = []
    print(f"{'sampler':>14} {'steps':>5} {'FID':>7} {'R@1':>6} {'R@3':>6} {'actions':>8} {'GT FID':>7}", flush=True)
    for sampler, steps in settings:
        row = score(args, sampler, steps)
        rows.append(row)
        print(f"{sampler:>14} {steps:>5} {row['fid']:7.3f} {row['r_precision_top1']:6.3f} "
              f"{row['r_precision_top3']:6.3f} {row['actions'] or float('nan'):8.3f} {row['ground_truth_fid']:7.3f}",
              flush=True)
    out = args.out or Path("benchmarks/results") / f"sampler_quality_{args.device}_{_dt.date.today():%Y%m%d}.json"
    write_json(out, {"benchmark": "sampler_quality", "date": str(_dt.date.today()),
                     "checkpoint": str(args.checkpoint), "captions": args.captions, "limit": args.limit,
                     "rows": rows})
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()

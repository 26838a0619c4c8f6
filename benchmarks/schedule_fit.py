"""A time-limited run with and without `--fit-schedule-to-time`: does it end annealed inside its limit?

    python benchmarks/schedule_fit.py --config CONFIG --data DATA --time-limit 40 --max-steps 4000 [--stage vae]
        [--device cpu] [--out RESULT.json]

Both arms train the same stage from scratch with the same planned `--max-steps` and `--time-limit` (a machine lent
for a fixed time, the planned schedule longer than what fits). The plain arm stops at the limit wherever its
cosine is; the fitted arm's schedule follows the measured step rate. Reported per arm: steps, seconds of the last
log, the last learning rate against the schedule's floor, and how far down the cosine the run got (0: at the peak,
1: at the floor). Timings depend on the machine: compare arms of one run only.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))   # run as a script from anywhere

from train.config import load_config  # noqa: E402


def train(args: argparse.Namespace, out: Path, fitted: bool) -> list[dict]:
    command = [sys.executable, "-m", "train.fit", "--config", str(args.config), "--data", str(args.data),
               "--out", str(out), "--stage", args.stage, "--max-steps", str(args.max_steps),
               "--log-every", str(args.log_every), "--time-limit", str(args.time_limit), "--device", args.device]
    if fitted:
        command.append("--fit-schedule-to-time")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"train.fit failed ({done.returncode}):\n{done.stderr[-3000:]}")
    log = out / args.stage / "log.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def cosine_progress(lr: float, peak: float, floor_ratio: float) -> float:
    """Where `lr` lies on the cosine from `peak` (0) to `peak * floor_ratio` (1)."""
    share = (lr / peak - floor_ratio) / (1.0 - floor_ratio)
    return round(math.acos(max(-1.0, min(1.0, 2.0 * share - 1.0))) / math.pi, 3)


def summary(records: list[dict], optim: dict) -> dict:
    last, peak, floor = records[-1], float(optim["lr"]), float(optim["min_lr_ratio"])
    fits = [r["schedule_total"] for r in records if "schedule_total" in r]
    return {"steps": last["step"], "seconds": last["time"], "last_lr": last["lr"], "lr_floor": peak * floor,
            "cosine_progress": cosine_progress(last["lr"], peak, floor),
            "schedule_totals": {"first": fits[0], "last": fits[-1]} if fits else None}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--stage", default="vae", help="vae (needs nothing else) or denoiser (config must name a VAE)")
    parser.add_argument("--time-limit", type=float, default=40.0)
    parser.add_argument("--max-steps", type=int, default=4000, help="the planned schedule: more than fits")
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    optim = load_config(args.config)[args.stage]["optim"]
    result = {"config": str(args.config), "stage": args.stage, "time_limit": args.time_limit,
              "planned_steps": args.max_steps, "device": args.device}
    with tempfile.TemporaryDirectory() as work:
        for name, fitted in (("plain", False), ("fitted", True)):
            result[name] = summary(train(args, Path(work) / name, fitted), optim)
            print(f"{name}: {json.dumps(result[name])}", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()

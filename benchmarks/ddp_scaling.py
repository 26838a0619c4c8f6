"""Data-parallel scaling of a training stage: samples/s and loss curves of runs with N = 1, 2, ... processes.

The runs are ordinary `train.fit` runs with the same config, seed, `--global-batch` and `--max-steps`
(`train/recipes/ddp_scaling.sh` makes them); this script only reads their `log.jsonl`. Throughput is taken
between the first and the last logged step, so start-up (data loading, worker spawn, NCCL init, the first
steps' autotuning) is excluded. Loss agreement: the N-process curve minus the 1-process curve at the same
steps, against the 1-process curve's own step-to-step noise (the std of its logged values around a running
mean); "within noise" means the mean absolute gap is below that noise.

    python benchmarks/ddp_scaling.py --run 1=RUN_N1 --run 2=RUN_N2 [--stage denoiser] --out results.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def read_log(run_dir: Path, stage: str) -> list[dict]:
    path = run_dir / stage / "log.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} not found: is {run_dir} a train.fit run directory with a {stage} stage?")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def throughput(records: list[dict], global_batch: int) -> float:
    timed = [r for r in records if "time" in r]
    if len(timed) < 2:
        raise SystemExit("a run needs at least two logged steps to measure throughput")
    first, last = timed[0], timed[-1]
    return (last["step"] - first["step"]) * global_batch / (last["time"] - first["time"])


def noise_level(losses: np.ndarray, window: int = 5) -> float:
    """Std of the logged losses around their running mean: what two identical runs would differ by."""
    if len(losses) <= window:
        return float(np.std(losses))
    kernel = np.ones(window) / window
    smooth = np.convolve(losses, kernel, mode="same")
    inner = slice(window // 2, len(losses) - window // 2)
    return float(np.std(losses[inner] - smooth[inner]))


def compare(runs: dict[int, Path], stage: str, global_batch: int) -> dict:
    logs = {n: read_log(path, stage) for n, path in sorted(runs.items())}
    base_n = min(logs)
    base = {r["step"]: r["loss"] for r in logs[base_n] if "loss" in r}
    base_rate = throughput(logs[base_n], global_batch)
    base_noise = noise_level(np.array(list(base.values())))
    rows = []
    for n, records in logs.items():
        rate = throughput(records, global_batch)
        losses = {r["step"]: r["loss"] for r in records if "loss" in r}
        common = sorted(set(losses) & set(base))
        gap = float(np.mean([abs(losses[s] - base[s]) for s in common])) if common else float("nan")
        rows.append({"processes": n, "samples_per_s": round(rate, 1), "speedup": round(rate / base_rate, 3),
                     "efficiency": round(rate / base_rate / (n / base_n), 3),
                     "final_loss": losses[max(losses)] if losses else None,
                     "mean_abs_loss_gap": round(gap, 5), "within_noise": bool(gap <= base_noise) if n != base_n
                     else True})
    return {"benchmark": "ddp_scaling", "date": time.strftime("%Y-%m-%d"), "stage": stage,
            "global_batch": global_batch, "loss_noise": round(base_noise, 5), "rows": rows,
            "curves": {str(n): [[r["step"], r["loss"]] for r in records if "loss" in r] for n, records in logs.items()}}


def plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for n, curve in result["curves"].items():
        steps, losses = zip(*curve)
        ax.plot(steps, losses, label=f"{n} process(es)")
    ax.set_xlabel("step")
    ax.set_ylabel(f"{result['stage']} loss")
    ax.set_yscale("log")
    ax.set_title(f"global batch {result['global_batch']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_runs(values: list[str]) -> dict[int, Path]:
    runs = {}
    for value in values:
        n, sep, path = value.partition("=")
        if not sep or not n.isdigit() or int(n) < 1:
            raise SystemExit(f"--run takes N=RUN_DIR, got {value!r}")
        runs[int(n)] = Path(path)
    if 1 not in runs:
        raise SystemExit("--run 1=RUN_DIR (the one-process baseline) is required")
    return runs


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", action="append", required=True, help="N=RUN_DIR, repeatable")
    parser.add_argument("--stage", default="denoiser")
    parser.add_argument("--global-batch", type=int, required=True)
    parser.add_argument("--out", type=Path, help="JSON path (a PNG of the curves is written beside it)")
    args = parser.parse_args(argv)
    result = compare(parse_runs(args.run), args.stage, args.global_batch)
    print(f"{'N':>3} {'samples/s':>10} {'speedup':>8} {'effic.':>7} {'final loss':>11} {'|gap|':>8}  "
          f"(loss noise {result['loss_noise']:.4f})")
    for row in result["rows"]:
        print(f"{row['processes']:>3} {row['samples_per_s']:>10.0f} {row['speedup']:>8.2f} {row['efficiency']:>7.2f} "
              f"{row['final_loss']:>11.4f} {row['mean_abs_loss_gap']:>8.4f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        plot(result, args.out.with_suffix(".png"))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

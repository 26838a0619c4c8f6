"""Data-parallel scaling of a training stage: samples/s and loss curves of runs with N = 1, 2, ... processes.

The runs are ordinary `train.fit` runs with the same config, seed and `--max-steps` (`train/recipes/ddp_scaling.sh`
makes them); this script only reads their `log.jsonl` and the batch size their exported model records. Same
global batch for every N: strong scaling. Global batch growing with N (same per-GPU batch): weak scaling. Throughput is taken
between the first and the last logged step, so start-up (data loading, worker spawn, NCCL init, the first
steps' autotuning) is excluded. Loss agreement: the N-process curve minus the 1-process curve at the same
steps, against the 1-process curve's own step-to-step noise (the std of its logged values around a running
mean); "within noise" means the mean absolute gap is below that noise. "data wait" is the share of wall time
the main process spent waiting for batches: well above zero, the loader (CPU), not the GPU, sets the pace.

    python benchmarks/ddp_scaling.py --run 1=RUN_N1 --run 2=RUN_N2 [--stage denoiser] [--out results.json]
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


def run_info(run_dir: Path, stage: str) -> dict:
    """The training info a run's exported model records (batch size, processes, device...)."""
    path = run_dir / stage / "model" / "config.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found: the run exported no model, so its batch size is unknown")
    return json.loads(path.read_text())["training"]


def run_global_batch(run_dir: Path, stage: str) -> int:
    """Samples per optimizer step of a run."""
    info = run_info(run_dir, stage)
    return int(info["batch_size_per_process"]) * int(info["world_size"])


def throughput(records: list[dict], global_batch: int) -> float:
    timed = [r for r in records if "time" in r]
    if len(timed) < 2:
        raise SystemExit("a run needs at least two logged steps to measure throughput")
    first, last = timed[0], timed[-1]
    return (last["step"] - first["step"]) * global_batch / (last["time"] - first["time"])


def data_wait(records: list[dict]) -> float | None:
    """Mean share of wall time the main process waited for the loader (logs from before it was logged: None)."""
    shares = [r["data_wait"] for r in records[1:] if "data_wait" in r]   # the first interval holds start-up
    return round(float(np.mean(shares)), 3) if shares else None


def noise_level(losses: np.ndarray, window: int = 5) -> float:
    """Std of the logged losses around their running mean: what two identical runs would differ by."""
    if len(losses) <= window:
        return float(np.std(losses))
    kernel = np.ones(window) / window
    smooth = np.convolve(losses, kernel, mode="same")
    inner = slice(window // 2, len(losses) - window // 2)
    return float(np.std(losses[inner] - smooth[inner]))


def compare(runs: dict[int, Path], stage: str) -> dict:
    """Rows per process count. Strong scaling when every run has the same global batch (the loss curves are
    then comparable step by step); weak scaling when the global batch grows with N (only speed compares)."""
    logs = {n: read_log(path, stage) for n, path in sorted(runs.items())}
    batches = {n: run_global_batch(path, stage) for n, path in sorted(runs.items())}
    base_n = min(logs)
    base = {r["step"]: r["loss"] for r in logs[base_n] if "loss" in r}
    base_rate = throughput(logs[base_n], batches[base_n])
    base_noise = noise_level(np.array(list(base.values())))
    rows = []
    for n, records in logs.items():
        rate = throughput(records, batches[n])
        losses = {r["step"]: r["loss"] for r in records if "loss" in r}
        common = sorted(set(losses) & set(base)) if batches[n] == batches[base_n] else []
        gap = float(np.mean([abs(losses[s] - base[s]) for s in common])) if common else None
        rows.append({"processes": n, "device": run_info(runs[n], stage).get("device"),
                     "global_batch": batches[n], "samples_per_s": round(rate, 1),
                     "speedup": round(rate / base_rate, 3), "efficiency": round(rate / base_rate / (n / base_n), 3),
                     "data_wait": data_wait(records),
                     "final_loss": losses[max(losses)] if losses else None,
                     "mean_abs_loss_gap": None if gap is None else round(gap, 5),
                     "within_noise": None if gap is None else bool(gap <= base_noise)})
    mode = "strong" if len(set(batches.values())) == 1 else "weak"
    return {"benchmark": "ddp_scaling", "date": time.strftime("%Y-%m-%d"), "stage": stage, "mode": mode,
            "loss_noise": round(base_noise, 5), "rows": rows,
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
    ax.set_title(f"{result['mode']} scaling, global batch " + "/".join(str(r["global_batch"]) for r in result["rows"]))
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
    parser.add_argument("--out", type=Path, help="JSON path (a PNG of the curves is written beside it)")
    args = parser.parse_args(argv)
    result = compare(parse_runs(args.run), args.stage)
    devices = ", ".join(sorted({str(row["device"] or "not recorded") for row in result["rows"]}))
    print(f"{result['mode']} scaling (loss noise {result['loss_noise']:.4f}) on {devices}")
    print(f"{'N':>3} {'batch':>6} {'samples/s':>10} {'speedup':>8} {'effic.':>7} {'data wait':>9} "
          f"{'final loss':>11} {'|gap|':>8}")
    for row in result["rows"]:
        gap = "-" if row["mean_abs_loss_gap"] is None else f"{row['mean_abs_loss_gap']:.4f}"
        wait = "-" if row["data_wait"] is None else f"{row['data_wait']:.0%}"
        print(f"{row['processes']:>3} {row['global_batch']:>6} {row['samples_per_s']:>10.0f} {row['speedup']:>8.2f} "
              f"{row['efficiency']:>7.2f} {wait:>9} {row['final_loss']:>11.4f} {gap:>8}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        plot(result, args.out.with_suffix(".png"))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

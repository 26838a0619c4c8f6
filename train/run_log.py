"""What a training stage leaves behind for humans: a JSON-lines log, a loss-curve PNG and a progress bar.

Only rank 0 writes. On resume the log is cut back to the resumed step, so the file and the curve describe
one uninterrupted run even after a kill.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

LOG_NAME = "log.jsonl"
CURVE_NAME = "loss_curve.png"
# numbers a log record holds beside its losses (the curve draws the losses only)
NOT_LOSSES = ("step", "lr", "time", "epoch", "data_wait", "schedule_total", "seconds_per_step")


class RunLog:
    def __init__(self, directory: Path, enabled: bool, total_steps: int, start_step: int, desc: str):
        self.directory = Path(directory)
        self.enabled = enabled
        self.path = self.directory / LOG_NAME
        self.bar = None
        if not enabled:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self._truncate_after(start_step)
        from tqdm import tqdm
        self.bar = tqdm(total=total_steps, initial=start_step, desc=desc, dynamic_ncols=True, mininterval=1.0)

    def _truncate_after(self, step: int) -> None:
        if not self.path.is_file():
            return
        kept = [line for line in self.path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= step]
        self.path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")

    def step(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def retotal(self, total_steps: int) -> None:
        """The run's length changed (its schedule was fitted to a time limit)."""
        if self.bar is not None:
            self.bar.total = total_steps
            self.bar.refresh()

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, allow_nan=True) + "\n")
        if self.bar is not None and "loss" in record:
            self.bar.set_postfix(loss=f"{record['loss']:.4f}", lr=f"{record.get('lr', 0):.2e}")

    def records(self) -> list[dict]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def plot(self) -> Path | None:
        """Redraw the loss curve (every loss, log scale) from the log."""
        if not self.enabled:
            return None
        records = [r for r in self.records() if "loss" in r]
        if not records:
            return None
        try:
            import matplotlib
        except ImportError:  # the curve is a convenience; the JSON log has the same numbers
            return None
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        keys = sorted({k for r in records for k, v in r.items()
                       if isinstance(v, (int, float)) and k not in NOT_LOSSES})
        figure, axis = plt.subplots(figsize=(8, 4.5))
        for key in keys:
            points = [(r["step"], r[key]) for r in records
                      if isinstance(r.get(key), (int, float)) and math.isfinite(r[key]) and r[key] > 0]
            if points:
                xs, ys = zip(*points)
                axis.plot(xs, ys, label=key, linewidth=1.5 if key == "loss" else 1.0)
        axis.set_yscale("log")
        axis.set_xlabel("step")
        axis.set_title(self.directory.name)
        axis.grid(True, alpha=0.3)
        axis.legend(loc="upper right", fontsize=8)
        figure.tight_layout()
        out = self.directory / CURVE_NAME
        figure.savefig(out, dpi=100)
        plt.close(figure)
        return out

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

"""Benchmark results: where they were measured, the JSON file they go to, and the tables printed.

`environment` and `device_label` describe the machine; `write_results` writes
``benchmarks/results/<name>_<device>_<date>.json`` atomically; `stamp_and_save` stamps a result with what
produced it and writes it where the user asked; `format_table` prints the rows.
"""
from __future__ import annotations

import datetime as _dt
import platform
import re
import time
from pathlib import Path
from typing import Sequence

import torch

from motion_core.formats.atomic_file import write_json

__all__ = ["device_label", "environment", "write_results", "stamp_and_save", "format_table"]


def device_label(device: torch.device) -> str:
    """"cpu" or the GPU's name, made file-name safe (e.g. "cuda-nvidia-h100-80gb-hbm3")."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return "cuda-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return device.type


def environment(device: torch.device) -> dict:
    """What a result was measured on: torch and Python versions, machine, threads, device, SSM backends."""
    info = {"torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "device": str(device), "device_name": device_label(device)}
    try:
        from motion_core.ssm.backends import available_backends
        info["ssm_backends"] = available_backends()
    except ImportError:
        pass
    return info


def write_results(name: str, device: torch.device, payload: dict, out_dir: Path) -> Path:
    """Write `payload` atomically as ``<out_dir>/<name>_<device>_<date>.json``; returns the path."""
    path = out_dir / f"{name}_{device_label(device)}_{_dt.date.today():%Y%m%d}.json"
    return write_json(path, payload, default=str)   # a killed run never leaves half a result


def stamp_and_save(result: dict, benchmark: str, started: float, out: Path | None, args=None,
                   model: str | None = None) -> dict:
    """`result` stamped with the benchmark's name, the date, the model, the arguments and the seconds since
    `started` (time.time()), then written to `out` as JSON (atomically) when given. Returns `result`."""
    stamp = {"benchmark": benchmark, "date": _dt.date.today().isoformat()}
    if model is not None:
        stamp["model"] = model
    if args is not None:
        stamp["arguments"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    stamp["seconds"] = round(time.time() - started, 1)
    result.update(stamp)
    if out:
        write_json(out, result)
    return result


def format_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A plain-text table (first column left-aligned, the others right-aligned; floats to 4 digits)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)

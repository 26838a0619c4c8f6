"""The DDP scaling report (benchmarks/ddp_scaling.py) and train.fit's --global-batch split."""
import importlib.util
import json
from pathlib import Path

import pytest

from train.fit import per_process_batch

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location("ddp_scaling", ROOT / "benchmarks" / "ddp_scaling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_log(run: Path, seconds_per_step: float, losses: list[float], per_process: int = 64,
               world_size: int = 1, waits: list[float] | None = None, device: str | None = None) -> None:
    (run / "denoiser" / "model").mkdir(parents=True)
    info = {"training": {"batch_size_per_process": per_process, "world_size": world_size,
                         **({} if device is None else {"device": device})}}
    (run / "denoiser" / "model" / "config.json").write_text(json.dumps(info))
    extra = [{} for _ in losses] if waits is None else [{"data_wait": w} for w in waits]
    lines = [json.dumps({"step": 10 * (i + 1), "time": 10 * (i + 1) * seconds_per_step, "loss": loss, **more})
             for i, (loss, more) in enumerate(zip(losses, extra))]
    (run / "denoiser" / "log.jsonl").write_text("\n".join(lines) + "\n")


def test_global_batch_splits_evenly_or_refuses():
    assert per_process_batch(512, 1) == 512 and per_process_batch(512, 2) == 256
    with pytest.raises(SystemExit, match="does not split evenly"):
        per_process_batch(513, 2)
    with pytest.raises(SystemExit):
        per_process_batch(1, 2)


def test_scaling_report_measures_speedup_and_loss_agreement(tmp_path):
    script = _load_script()
    losses = [1.0, 0.8, 0.7, 0.65, 0.6, 0.58, 0.57, 0.56]
    _write_log(tmp_path / "n1", 0.2, losses, device="NVIDIA H200")
    _write_log(tmp_path / "n2", 0.125, [x + 0.001 for x in losses], 32, 2, device="NVIDIA H200")
    _write_log(tmp_path / "n2bad", 0.125, [x + 0.5 for x in losses], 32, 2)   # a run from before devices were logged
    result = script.compare({1: tmp_path / "n1", 2: tmp_path / "n2"}, "denoiser")
    assert result["mode"] == "strong"
    one, two = result["rows"]
    assert one["device"] == two["device"] == "NVIDIA H200"
    assert one["samples_per_s"] == pytest.approx(64 / 0.2, rel=1e-3)
    assert two["speedup"] == pytest.approx(1.6, rel=1e-3) and two["efficiency"] == pytest.approx(0.8, rel=1e-3)
    assert two["within_noise"]
    diverged = script.compare({1: tmp_path / "n1", 2: tmp_path / "n2bad"}, "denoiser")["rows"][1]
    assert not diverged["within_noise"] and diverged["device"] is None


def test_weak_scaling_compares_speed_only(tmp_path):
    script = _load_script()
    losses = [1.0, 0.8, 0.7, 0.6]
    _write_log(tmp_path / "n1", 0.2, losses, 64, 1)
    _write_log(tmp_path / "n2", 0.25, losses, 64, 2)      # twice the samples per step, a bit slower per step
    result = script.compare({1: tmp_path / "n1", 2: tmp_path / "n2"}, "denoiser")
    assert result["mode"] == "weak"
    two = result["rows"][1]
    assert two["global_batch"] == 128 and two["speedup"] == pytest.approx(1.6, rel=1e-3)
    assert two["mean_abs_loss_gap"] is None and two["within_noise"] is None


def test_scaling_report_averages_loader_wait_after_start_up(tmp_path):
    script = _load_script()
    _write_log(tmp_path / "n1", 0.2, [1.0, 0.8, 0.7], waits=[0.9, 0.1, 0.3])
    _write_log(tmp_path / "old", 0.2, [1.0, 0.8, 0.7])          # a log from before the wait was recorded
    assert script.compare({1: tmp_path / "n1"}, "denoiser")["rows"][0]["data_wait"] == pytest.approx(0.2)
    assert script.compare({1: tmp_path / "old"}, "denoiser")["rows"][0]["data_wait"] is None


def test_scaling_report_needs_the_baseline(tmp_path):
    script = _load_script()
    with pytest.raises(SystemExit, match="one-process baseline"):
        script.parse_runs([f"2={tmp_path}"])
    with pytest.raises(SystemExit, match="N=RUN_DIR"):
        script.parse_runs(["two=x"])

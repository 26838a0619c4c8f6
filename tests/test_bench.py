"""motion_core.interfaces.bench and benchmarks/: the harnesses' plumbing on tiny models (no timing is asserted anywhere)."""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from motion_core.generation import batching, sampling
from motion_core.generation.batching import decode_latents, sample_latents
from motion_core.generation.sampling import encode_prompts
from motion_core.interfaces import bench
from motion_core.formats.checkpoint import validate_config
from motion_core.runtime.device import DeviceError
from motion_core.engine import Engine, tiny_config
from motion_core.models import build_denoiser, count_parameters

ROOT = Path(__file__).resolve().parents[1]
TINY_ARGS = ["--device", "cpu", "--frames", "40", "--steps", "2", "--dpm-steps", "2", "--repeats", "1",
             "--warmup", "0"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny_model")
    Engine.random(tiny_config("mamba_unet"), seed=0).save(directory)
    return directory


@pytest.fixture
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("kind", bench.DENOISER_TYPES)
def test_default_config_is_a_valid_default_size_model(kind):
    config = validate_config(bench.default_config(kind, max_frames=200))
    arch = config["architecture"]
    assert arch["denoiser"]["text_dim"] == arch["text"]["dim"]
    assert arch["denoiser"]["latent_dim"] == arch["vae"]["latent_dim"]
    assert config["training"]["max_frames"] == 200
    # Default size means millions of parameters, not the tiny test models' thousands.
    assert count_parameters(build_denoiser(arch["denoiser"])) > 1_000_000


def test_default_config_rejects_unknown_denoiser():
    with pytest.raises(ValueError, match="denoiser_type"):
        bench.default_config("unet3000")


def test_stage_clock_splits_generate_and_restores_the_engine():
    engine = Engine.random(tiny_config(), seed=0)
    with bench.StageClock(engine) as clock:
        engine.generate(["a person waves"], frames=40, steps=2)
        assert batching.sample_latents is not sample_latents     # wrapped while active
    assert batching.sample_latents is sample_latents and batching.decode_latents is decode_latents
    assert sampling.encode_prompts is encode_prompts
    stages = clock.stages(total=10.0)
    assert set(stages) == set(bench.STAGES)
    assert all(stages[s] > 0 for s in ("text", "sampling", "decode", "motion"))
    assert stages["text"] + stages["sampling"] + stages["decode"] + stages["motion"] == pytest.approx(10.0)


def test_time_generate_reports_median_and_min_per_stage():
    engine = Engine.random(tiny_config(), seed=0)
    timing = bench.time_generate(engine, ["walk"], frames=24, steps=1, guidance=2.0, repeats=3, warmup=0)
    assert set(timing) == set(bench.STAGES) | {"process_cpu"}
    for stage in timing.values():
        assert 0 <= stage["min"] <= stage["median"]


def test_engine_settings_restore_attributes_even_after_errors():
    engine = Engine.random(tiny_config(), seed=0)
    with pytest.raises(RuntimeError):
        with bench.engine_settings(engine, sampler="dpm_solver_pp", max_batch=3):
            assert engine.sampler == "dpm_solver_pp" and engine.max_batch == 3
            raise RuntimeError("boom")
    assert engine.sampler == "ddim" and engine.max_batch == 16


def test_sampling_settings_cpu_has_no_graph_configurations():
    settings = bench.sampling_settings(torch.device("cpu"), 20, 10)
    assert [s[1] for s in settings] == [20, 10]
    assert not any(s[2]["cuda_graphs"] for s in settings)


def test_format_table_aligns_columns():
    table = bench.format_table(["a", "bb"], [["x", 1.23456], ["long name", 12345678.0]])
    lines = table.splitlines()
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1
    assert "1.235" in table and "1.235e+07" in table


def _result(out_dir, prefix):
    (path,) = list(out_dir.glob(f"{prefix}_cpu_*.json"))
    return json.loads(path.read_text()), path


def test_latency_command_writes_json_for_each_configuration(checkpoint, tmp_path, capsys):
    bench.main(["latency", *TINY_ARGS, "--checkpoint", str(checkpoint), "--out", str(tmp_path)])
    data, _ = _result(tmp_path, "latency")
    assert data["benchmark"] == "latency" and data["environment"]["device"] == "cpu"
    assert [r["config"] for r in data["results"]] == ["eager fp32 DDIM-2", "eager fp32 DPM-Solver++-2"]
    assert set(data["results"][0]["seconds"]) >= set(bench.STAGES)
    assert "Motion Mamba" in capsys.readouterr().out


def test_throughput_command_reports_motions_per_second(checkpoint, tmp_path):
    bench.main(["throughput", *TINY_ARGS, "--checkpoint", str(checkpoint), "--batches", "3", "--out", str(tmp_path),
                "--tag", "t"])
    data, _ = _result(tmp_path, "throughput-t")
    (entry,) = data["results"]
    assert entry["batch"] == 3 and entry["motions_per_second_end_to_end"] > 0
    assert entry["motions_per_second_model"] >= entry["motions_per_second_end_to_end"]


def test_scaling_command_writes_plot_and_records_out_of_memory(checkpoint, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    real = bench.denoiser_forward_seconds

    def forward_seconds(engine, length, dtype, repeats, warmup, graph=False, compiled=False):
        assert not graph and not compiled  # CPU: eager only
        if length > 10:
            raise RuntimeError("CUDA out of memory. Tried to allocate 80 GiB")
        return real(engine, length, dtype, repeats, warmup)
    from motion_core.interfaces import bench_scaling
    monkeypatch.setattr(bench_scaling, "denoiser_forward_seconds", forward_seconds)   # as the scaling command calls it
    bench.main(["scaling", *TINY_ARGS, "--checkpoint", str(checkpoint), "--scale-frames", "40", "80", "120",
                "--out", str(tmp_path)])
    data, path = _result(tmp_path, "scaling")
    first, second, third = data["results"]
    assert first["latent_frames"] == 10 and first["seconds"] > 0 and first["per_frame_us"] > 0
    assert second["skipped"] == "out of memory"
    assert "failed" in third["skipped"]          # larger sizes are not attempted after an OOM
    assert path.with_suffix(".png").is_file() and data["plot"].endswith(".png")
    assert data["modes"] == ["eager"] and "graph_seconds" not in first


def test_scaling_summary_reports_both_goals_per_mode():
    def entry(model, frames, eager, graph):
        return {"model": f"{model} (x)", "frames": frames, "latent_frames": frames // 4, "seconds": eager,
                "graph_seconds": graph}
    results = [entry("mamba_unet", 196, 0.02, 0.001), entry("mamba_unet", 2000, 0.02, 0.002),
               entry("mamba_unet", 72000, 0.03, 0.0864),
               entry("transformer", 196, 0.006, 0.0005), entry("transformer", 72000, 0.012, 0.3456)]
    summary = bench.scaling_summary(results, ("eager", "graph"))
    # per frame: graph 0.002/2000 -> 0.0864/72000 is 1.2x; eager 0.02/2000 -> 0.03/72000 is 0.04x
    assert summary["graph_mamba_per_frame_growth"] == {"from": 2000, "to": 72000, "ratio": pytest.approx(1.2)}
    assert summary["eager_mamba_per_frame_growth"]["ratio"] == pytest.approx(0.03 / 72000 / (0.02 / 2000))
    assert summary["graph_speedup_vs_transformer"] == {"frames": 72000, "ratio": pytest.approx(4.0)}
    assert summary["eager_speedup_vs_transformer"]["ratio"] == pytest.approx(0.4)
    assert len(summary["lines"]) == 4


def test_cpu_command_profiles_the_pipeline(checkpoint, tmp_path, keep_threads, capsys):
    bench.main(["cpu", "--frames", "40", "--steps", "2", "--repeats", "1", "--warmup", "0", "--threads", "1",
                "--top", "5", "--checkpoint", str(checkpoint), "--out", str(tmp_path)])
    data, _ = _result(tmp_path, "cpu")
    assert data["goal_seconds"] == bench.CPU_GOAL_SECONDS and data["environment"]["threads"] == 1
    assert len(data["profile"]["torch_ops"]) == 5 and len(data["profile"]["python_functions"]) == 5
    out = capsys.readouterr().out
    assert "top torch operators" in out and "goal <= 3 s" in out


def test_cpu_command_samples_the_models_recommended_steps(tmp_path, keep_threads):
    # What a user gets: the bundled model's config says 10 while latency and throughput keep their 20.
    directory = tmp_path / "model"
    engine = Engine.random(tiny_config("mamba_unet"), seed=0)
    engine.save(directory)
    config = json.loads((directory / "config.json").read_text())
    config.setdefault("diffusion", {})["sample_steps"] = 3
    (directory / "config.json").write_text(json.dumps(config))
    bench.main(["cpu", "--frames", "40", "--repeats", "1", "--warmup", "0", "--threads", "1", "--profile", "none",
                "--checkpoint", str(directory), "--out", str(tmp_path / "out")])
    data, _ = _result(tmp_path / "out", "cpu")
    assert data["steps"] == 3
    assert bench.build_parser().parse_args(["latency"]).steps == 20


def test_cpu_command_refuses_other_devices():
    # A GPU machine refuses the GPU for this benchmark; a CPU-only one refuses it as absent.
    with pytest.raises((SystemExit, DeviceError)):
        bench.main(["cpu", "--device", "cuda"])


def test_train_step_benchmark_measures_data_parallel_variants_under_torchrun(tmp_path):
    """benchmarks/bench_train_step.py under torchrun (2 CPU processes, gloo): one row per DDP variant."""
    out = tmp_path / "steps.json"
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    str(ROOT / "benchmarks" / "bench_train_step.py"), "--device", "cpu", "--batch", "2",
                    "--frames", "40", "--steps", "1", "--warmup", "1", "--ddp", "local", "ddp", "ddp-no-sync",
                    "--out", str(out)], check=True, cwd=ROOT, capture_output=True, timeout=600)
    rows = json.loads(out.read_text())["rows"]
    assert [(r["ddp"], r["processes"], r["batch"]) for r in rows] == [
        ("local", 2, 2), ("ddp", 2, 2), ("ddp-no-sync", 2, 2)]
    assert all(r["ms_per_step"] > 0 for r in rows)


def test_block_benchmark_settings_name_a_backend_and_a_packing_length():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_blocks
    finally:
        sys.path.pop(0)
    from motion_core.ssm.packing import PACKED_LENGTH
    assert bench_blocks.parse_setting("kernels") == ("cuda", PACKED_LENGTH)
    assert bench_blocks.parse_setting("kernels-pack0") == ("cuda", 0)
    assert bench_blocks.parse_setting("kernels-pack512") == ("cuda", 512)
    assert bench_blocks.parse_setting("torch")[0] == "torch"
    with pytest.raises(argparse.ArgumentTypeError):
        bench_blocks.parse_setting("kernels-packed")


def test_allreduce_benchmark_times_each_size_under_torchrun(tmp_path):
    """benchmarks/bench_allreduce.py with 2 CPU processes (gloo): one row per message size, bandwidths derived
    from the timing (bus bandwidth = algorithm bandwidth x 2(N-1)/N, equal for N = 2)."""
    out = tmp_path / "allreduce.json"
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    str(ROOT / "benchmarks" / "bench_allreduce.py"), "--device", "cpu", "--mib", "0.25", "1",
                    "--repeats", "2", "--warmup", "1", "--out", str(out)],
                   check=True, cwd=ROOT, capture_output=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["processes"] == 2 and result["backend"] == "gloo"
    rows = result["rows"]
    assert [r["mib"] for r in rows] == [0.25, 1.0]
    for row in rows:
        assert row["ms"] > 0
        # both are rounded to 0.01 GB/s and the time to 1 us
        assert row["algbw_gb_s"] == pytest.approx(row["mib"] * 2 ** 20 / (row["ms"] * 1e-3) / 1e9, rel=0.01,
                                                  abs=0.006)
        assert row["busbw_gb_s"] == row["algbw_gb_s"]


def test_allreduce_benchmark_refuses_a_single_process():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_allreduce.py"), "--device", "cpu"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "torchrun" in result.stderr


def test_denoiser_profile_times_every_block_on_its_recorded_inputs(checkpoint, tmp_path, capsys):
    """benchmarks/profile_denoiser.py on the CPU: one row per U-Net block and per temporal/spatial mixer, each
    timed on the inputs the full forward gave it, then the forward's busiest operators."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import profile_denoiser
    finally:
        sys.path.pop(0)
    out = tmp_path / "profile.json"
    result = profile_denoiser.main(["--device", "cpu", "--checkpoint", str(checkpoint), "--latents", "12",
                                    "--repeats", "1", "--top", "5", "--out", str(out)])
    names = [row["module"] for row in result["modules"]]
    levels = len(Engine.load(checkpoint).denoiser.encoder)
    for i in range(levels):
        assert {f"encoder.{i}", f"encoder.{i}.temporal", f"encoder.{i}.spatial", f"decoder.{i}"} <= set(names)
    assert names[0] == "(whole denoiser)" and "mid.0" in names
    assert all(row["ms"] > 0 for row in result["modules"])
    assert len(result["kernels"]["top"]) == 5 and result["kernels"]["top"][0]["kernel"].startswith("aten::")
    assert json.loads(out.read_text())["latents"] == 12
    assert "encoder.0.temporal" in capsys.readouterr().out


def test_cold_start_benchmark_times_fresh_processes(tmp_path):
    """benchmarks/bench_cold_start.py, one repeat of this tree: every stage timed in a new process, the CLI too."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_cold_start
    finally:
        sys.path.pop(0)
    out = tmp_path / "cold.json"
    result = bench_cold_start.main(["--repeats", "1", "--out", str(out)])
    row = result["summary"][str(ROOT)]
    assert all(row[stage] > 0 for stage in ("import", "load", "first_generate", "second_generate", "cli"))
    assert row["cli"] > row["load"] and not row["dynamo_imported"]
    assert json.loads(out.read_text())["runs"][str(ROOT)][0]["load"] == row["load"]


def test_busiest_kernels_keeps_device_kernels_on_cuda_and_operators_elsewhere():
    """bench.busiest_kernels, shared by benchmarks/profile_generate.py and profile_denoiser.py, on stand-in events."""
    from types import SimpleNamespace
    cuda, cpu = torch.autograd.DeviceType.CUDA, torch.autograd.DeviceType.CPU
    event = lambda name, kind, device_us, self_us: SimpleNamespace(  # noqa: E731
        name=name, device_type=kind, device_time_total=device_us, self_cpu_time_total=self_us)
    prof = SimpleNamespace(events=lambda: [event("gemm", cuda, 300, 0), event("scan", cuda, 500, 0),
                                           event("gemm", cuda, 400, 0), event("aten::mm", cpu, 0, 900)])
    on_gpu = bench.busiest_kernels(prof, torch.device("cuda"), top=5)
    assert on_gpu["kernel_launches"] == 3 and on_gpu["kernel_ms"] == pytest.approx(1.2)
    assert [(r["kernel"], r["count"], r["ms"]) for r in on_gpu["top"]] == [("gemm", 2, 0.7), ("scan", 1, 0.5)]
    on_cpu = bench.busiest_kernels(prof, torch.device("cpu"), top=1)
    assert on_cpu["top"] == [{"kernel": "aten::mm", "count": 1, "ms": 0.9}] and on_cpu["kernel_launches"] == 4

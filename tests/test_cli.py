"""`python -m motion_core` as a real subprocess: files written, exit codes, one-line errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from motion_core.engine import Engine, tiny_config
from motion_core.formats.motion import Motion

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return Engine.random(tiny_config(), seed=0).save(tmp_path_factory.mktemp("model") / "tiny")


def run_cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "motion_core", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


def test_generate_writes_npz_and_bvh(checkpoint, tmp_path):
    out = tmp_path / "out"
    result = run_cli("generate", "--prompt", "a person walks", "--prompt", "a person waves", "--takes", "2",
                     "--seconds", "1", "--steps", "2", "--seed", "7", "--guidance", "3", "--format", "both",
                     "--out", out, "--checkpoint", checkpoint, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    written = [Path(line) for line in result.stdout.splitlines()]
    assert len(written) == 8 and all(p.is_file() for p in written)
    npz = sorted(p for p in written if p.suffix == ".npz")
    motions = [Motion.load(p) for p in npz]
    assert [m.meta["seed"] for m in motions] == [7, 8, 9, 10]  # prompt-major, seed + index
    assert [m.meta["prompt"] for m in motions] == ["a person walks"] * 2 + ["a person waves"] * 2
    assert all(m.num_frames == 20 and m.meta["guidance"] == 3.0 for m in motions)
    bvh = next(p for p in written if p.suffix == ".bvh")
    assert bvh.read_text().startswith("HIERARCHY")
    assert "100%" in result.stderr  # progress goes to stderr, never stdout


def test_positional_prompt_and_a_single_output_file(checkpoint, tmp_path):
    target = tmp_path / "walk.bvh"
    result = run_cli("generate", "a person walks forward and waves", "--seconds", "1", "--steps", "2",
                     "--seed", "1", "--out", target, "--checkpoint", checkpoint, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(target) and target.read_text().startswith("HIERARCHY")
    # one file cannot hold several motions: refused before any work, nothing written
    several = run_cli("generate", "walk", "wave", "--out", tmp_path / "two.npz", "--checkpoint", checkpoint)
    assert several.returncode == 2 and "makes 2 motions" in several.stderr
    assert not (tmp_path / "two.npz").exists()
    # a file's ending and --format must agree (a .npz was written for --format bvh)
    for out, fmt in (("one.npz", "bvh"), ("one.bvh", "both")):
        clash = run_cli("generate", "walk", "--out", tmp_path / out, "--format", fmt, "--checkpoint", checkpoint)
        assert clash.returncode == 2 and f"--format is {fmt}" in clash.stderr and not (tmp_path / out).exists()


def test_sampler_option_names_every_sampler_and_is_recorded(checkpoint, tmp_path):
    from motion_core.interfaces.cli import SAMPLER_NAMES
    from motion_core.generation.diffusion import SAMPLERS
    assert SAMPLER_NAMES == tuple(SAMPLERS)
    target = tmp_path / "walk.npz"
    result = run_cli("generate", "a person walks", "--sampler", "dpm_solver_pp", "--steps", "3", "--seconds", "1",
                     "--out", target, "--checkpoint", checkpoint, "--device", "cpu", "--quiet")
    assert result.returncode == 0, result.stderr
    motion = Motion.load(target)
    assert motion.meta["sampler"] == "dpm_solver_pp" and motion.meta["steps"] == 3


@pytest.mark.parametrize("args, message", [
    (["--seconds", "abc"], "expected a number"),
    (["--steps", "0"], "must be at least 1"),
    (["--format", "fbx"], "invalid choice"),
    (["--sampler", "euler"], "invalid choice"),
    (["--seconds", "60"], "exceeds"),
    (["--guidance", "99"], "guidance must be"),
    (["--device", "tpu"], "unknown device"),
])
def test_bad_arguments_exit_2_with_a_message(checkpoint, tmp_path, args, message):
    result = run_cli("generate", "--prompt", "walk", "--checkpoint", checkpoint, "--out", tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_prompt_is_a_usage_error():
    result = run_cli("generate", "--seconds", "2")
    assert result.returncode == 2 and "--prompt" in result.stderr


def test_checkpoint_errors_are_bad_input_one_line_unless_debug(tmp_path):
    """A missing or malformed --checkpoint is bad input: exit 2, as the README says (issue 24: it was 1)."""
    result = run_cli("generate", "--prompt", "walk", "--checkpoint", tmp_path / "missing", "--out", tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not found" in lines[0] and lines[0].startswith("motion-core generate: error:")
    debug = run_cli("--debug", "generate", "--prompt", "walk", "--checkpoint", tmp_path / "missing")
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    (tmp_path / "broken" / "model.safetensors").write_bytes(b"")
    broken = run_cli("generate", "walk", "--checkpoint", tmp_path / "broken", "--out", tmp_path / "out")
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1 and "config.json" in broken.stderr, \
        broken.stderr


def test_takes_are_capped_before_any_work(tmp_path):
    """--takes 100000 would have run for hours, writing nothing until the end (issue 24)."""
    result = run_cli("generate", "walk", "run", "--takes", "129", "--checkpoint", tmp_path / "missing", "--out",
                     tmp_path / "out")
    assert result.returncode == 2 and "would make 258 motions; at most 256 per run" in result.stderr
    assert not (tmp_path / "out").exists()


def test_info_reports_model_device_and_backends(checkpoint):
    result = run_cli("info", "--json", "--checkpoint", checkpoint, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["device"] == "cpu" and report["backends"]["cpu"] is True
    assert report["model"]["name"] == "tiny-random-mamba_unet" and report["model"]["denoiser"] == "mamba_unet"
    text = run_cli("info", "--checkpoint", checkpoint, "--device", "cpu")
    assert text.returncode == 0 and "model.name: tiny-random-mamba_unet" in text.stdout


def _dead_pid() -> int:
    """The id of a process that has exited (and, being reaped, will not be mistaken for a live one)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_generate_removes_the_work_in_progress_of_dead_runs_only(checkpoint, tmp_path):
    """Issue 24 #1: a run killed while writing leaves a .partial_* folder; the next run there removes it."""
    from motion_core.formats import atomic_file
    out = tmp_path / "out"
    dead = out / f".partial_{atomic_file._HOST}_{_dead_pid()}_x1"
    alive = out / f".partial_{atomic_file._HOST}_{os.getpid()}_x2"           # this test's process: running
    elsewhere = out / f".partial_{'0' * 8 if atomic_file._HOST != '0' * 8 else '1' * 8}_{_dead_pid()}_x3"
    for folder in (dead, alive, elsewhere):
        folder.mkdir(parents=True)
        (folder / "00_walk_seed0.npz").write_bytes(b"half")
    result = run_cli("generate", "walk", "--seconds", "1", "--steps", "1", "--out", out, "--checkpoint", checkpoint,
                     "--device", "cpu", "--quiet")
    assert result.returncode == 0, result.stderr
    assert not dead.exists() and alive.is_dir() and elsewhere.is_dir()   # another host's pids mean nothing here
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["00_walk_seed0.npz"]


def test_sigterm_ends_a_run_cleanly_with_status_143_and_no_files(checkpoint, tmp_path):
    import signal
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "motion_core", "generate", "walk", "--takes", "2", "--seconds",
                             "1", "--steps", "1000", "--out", str(out), "--checkpoint", str(checkpoint), "--device",
                             "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        line = ""
        while "%]" not in line:   # the first progress line: the model is loaded, sampling has begun
            line = proc.stderr.readline()
            assert line and proc.poll() is None, "the run ended before it made progress"
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert stdout == "" and "terminated" in stderr and "Traceback" not in stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_one_at_a_time_makes_take_k_bit_identical_to_seed_plus_k_alone(checkpoint, tmp_path):
    """Issue 24 #10: take 2 of a batch, regenerated alone, must be the identical motion (on the CPU)."""
    common = ["--seconds", "1", "--steps", "2", "--checkpoint", checkpoint, "--device", "cpu", "--quiet"]
    batch = run_cli("generate", "walk", "wave", "--takes", "3", "--seed", "5", "--one-at-a-time",
                    "--out", tmp_path / "batch", *common)
    alone = run_cli("generate", "wave", "--seed", "10", "--out", tmp_path / "alone.npz", *common)
    assert batch.returncode == 0 and alone.returncode == 0, batch.stderr + alone.stderr
    take = Motion.load(tmp_path / "batch" / "05_wave_seed10.npz")   # "wave", take 2: seed 5 + 5
    again = Motion.load(tmp_path / "alone.npz")
    assert take.joints.tobytes() == again.joints.tobytes() and take.rotations.tobytes() == again.rotations.tobytes()

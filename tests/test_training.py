"""Training stack: config checks, one step per stage, exact resumption, torchrun (2 CPU processes), export."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from train.config import TrainConfigError, resolve_config
from train.data.texts import CaptionLine
from train.data.writer import prepare_layout, write_captions, write_motion, write_split
from train.lr_schedule import steps_that_fit, warmup_cosine

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / "train" / "configs" / "tiny.json"
VERBS = ["walks forward", "jumps", "waves", "runs", "sits down"]


def write_synthetic_dataset(root: Path, clips: int = 20, seed: int = 0, frames: tuple[int, int] = (30, 60)) -> Path:
    """Smooth low-rank 263-dim clips (lengths drawn from `frames`) with two captions each, in the HumanML3D
    layout without Mean/Std: a fixed mix of 4 sinusoids with per-clip frequencies, so a VAE has something to learn."""
    rng = np.random.default_rng(seed)
    prepare_layout(root)
    mixing = rng.normal(size=(4, 263))
    ids = []
    for i in range(clips):
        length = int(rng.integers(*frames))
        motion_id = f"{i:06d}"
        t = np.arange(length)[:, None] / 20.0
        waves = np.sin(t * rng.uniform(1, 6, size=4) + rng.uniform(0, 6, size=4))
        write_motion(root, motion_id, (waves @ mixing * 0.2).astype(np.float32))
        verb = VERBS[i % len(VERBS)]
        write_captions(root, motion_id, [CaptionLine(f"a person {verb}"), CaptionLine(f"someone {verb}")])
        ids.append(motion_id)
    write_split(root, "train", ids[:16])
    write_split(root, "val", ids[16:])
    write_split(root, "test", ids[16:])
    return root


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    return write_synthetic_dataset(tmp_path_factory.mktemp("data"))


def tiny_config(tmp_path: Path, **optim) -> Path:
    config = json.loads(TINY_CONFIG.read_text())
    for stage in ("vae", "denoiser"):
        config[stage]["optim"].update(optim)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


def fit(*args) -> None:
    from train.fit import main
    assert main([str(a) for a in args]) == 0


def load_state(run: Path, stage: str) -> dict:
    return torch.load(run / stage / "state.pt", weights_only=False)


def assert_same_tensors(a, b, where: str = "") -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_tensors(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


# ---- config and schedule -----------------------------------------------------------------------------------

def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(TrainConfigError, match="max_step"):
        resolve_config({"vae": {"optim": {"max_step": 3}}})
    with pytest.raises(TrainConfigError, match="batch_size"):
        resolve_config({"vae": {"optim": {"batch_size": 0}}})
    with pytest.raises(TrainConfigError, match="stages"):
        resolve_config({"stages": ["vae", "gan"]})
    with pytest.raises(TrainConfigError, match="ddp_grad_dtype"):
        resolve_config({"denoiser": {"optim": {"ddp_grad_dtype": "fp8"}}})
    with pytest.raises(TrainConfigError, match="ddp_bucket_mb"):
        resolve_config({"denoiser": {"optim": {"ddp_bucket_mb": 0}}})
    config = resolve_config({"denoiser": {"model": {"width": 64}}})
    assert config["denoiser"]["model"] == {"type": "mamba_unet", "width": 64}
    assert config["vae"]["optim"]["ema_decay"] == 0.999


def test_warmup_cosine_schedule():
    assert warmup_cosine(0, 10, 100, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(10, 10, 100, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(55, 10, 100, 0.1) == pytest.approx(0.55)
    assert warmup_cosine(100, 10, 100, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(500, 10, 100, 0.1) == pytest.approx(0.1)


def test_steps_that_fit_a_time_limit():
    assert steps_that_fit(100, 2000, 0.1, 100.0, margin=0.0) == 1100      # 1,000 more steps fit
    assert steps_that_fit(100, 2000, 0.1, 100.0) == 1050                  # less 5 % for checkpoints and export
    assert steps_that_fit(100, 500, 0.1, 100.0) == 500                    # never beyond the planned total
    assert steps_that_fit(100, 2000, 0.1, -5.0) == 101                    # already late: end at the next step
    assert steps_that_fit(100, 2000, 0.0, 100.0) == 2000                  # no rate measured: the plan holds


def test_default_configs_resolve():
    from train.config import load_config
    for path in sorted((ROOT / "train" / "configs").glob("*.json")):
        load_config(path)


# ---- stages ------------------------------------------------------------------------------------------------

def test_each_stage_trains_and_exports(tmp_path, dataset_dir):
    from motion_core.formats.checkpoint import read_config
    from motion_core.engine import Engine
    run = tmp_path / "run"
    fit("--config", tiny_config(tmp_path, max_steps=2), "--data", dataset_dir, "--out", run)
    for stage in ("vae", "denoiser"):
        records = [json.loads(line) for line in (run / stage / "log.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records] == [1, 2]
        assert all(np.isfinite(r["loss"]) for r in records)
        assert (run / stage / "loss_curve.png").stat().st_size > 1000
        state = load_state(run, stage)
        assert state["step"] == 2 and state["scheduler"]["last_epoch"] == 2
    vae_keys = set(load_state(run, "vae")["model"])
    assert {"vae.enc_in.weight", "vae.dec_out.bias"} <= vae_keys
    config = read_config(run / "denoiser" / "model")
    assert config["training"]["latent_scale"] > 0 and config["training"]["max_frames"] == 40
    assert config["training"]["device"] == "cpu"    # where it was trained, for anyone comparing runs
    engine = Engine.load(run / "denoiser" / "model", device="cpu")
    assert engine.latent_scale == pytest.approx(config["training"]["latent_scale"])


def test_keep_models_keeps_every_checkpoints_ema_weights(tmp_path, dataset_dir):
    """--keep-models: one loadable snapshot per checkpoint, the last one identical to model/."""
    from motion_core.formats.checkpoint import load_checkpoint
    run = tmp_path / "run"
    fit("--config", tiny_config(tmp_path, max_steps=4, checkpoint_every=2), "--data", dataset_dir, "--out", run,
        "--keep-models")
    snapshots = run / "denoiser" / "models"
    assert sorted(p.name for p in snapshots.iterdir()) == ["step_000002", "step_000004"]
    first, last = (load_checkpoint(snapshots / name)[1] for name in ("step_000002", "step_000004"))
    _, final = load_checkpoint(run / "denoiser" / "model")
    assert_same_tensors(last, final)
    assert any(not torch.equal(first[k], last[k]) for k in last if k.startswith("denoiser."))
    assert not (tmp_path / "plain" / "denoiser" / "models").exists()


def test_vae_training_reduces_loss(tmp_path, dataset_dir):
    run = tmp_path / "run"
    fit("--config", tiny_config(tmp_path, max_steps=24, lr=3e-3, log_every=8, checkpoint_every=24),
        "--data", dataset_dir, "--out", run, "--stage", "vae")
    records = [json.loads(line) for line in (run / "vae" / "log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records]
    assert losses[-1] < 0.8 * losses[0]
    assert all(0.0 <= r["data_wait"] <= 1.0 for r in records)   # share of time spent waiting for batches


def test_denoiser_stage_needs_a_vae(tmp_path, dataset_dir):
    with pytest.raises(FileNotFoundError, match="trained VAE"):
        fit("--config", tiny_config(tmp_path), "--data", dataset_dir, "--out", tmp_path / "r", "--stage", "denoiser")


def test_existing_run_needs_resume(tmp_path, dataset_dir):
    args = ("--config", tiny_config(tmp_path, max_steps=1), "--data", dataset_dir, "--out", tmp_path / "r",
            "--stage", "vae")
    fit(*args)
    with pytest.raises(FileExistsError, match="--resume"):
        fit(*args)


# ---- exact resumption --------------------------------------------------------------------------------------

@pytest.mark.slow
def test_resume_after_kill_is_bit_exact(tmp_path, dataset_dir):
    """6 steps straight == 3 steps, 'killed' (last checkpoint at step 2), resumed to 6; for both stages.

    16 clips at batch 4 are 4 steps per epoch, so the resumed runs also cross an epoch boundary.
    """
    config = tiny_config(tmp_path, max_steps=6, checkpoint_every=2)
    common = ("--config", config, "--data", dataset_dir)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    fit(*common, "--out", straight)
    fit(*common, "--out", resumed, "--stop-after", "3")          # vae killed after step 3
    assert load_state(resumed, "vae")["step"] == 2                # ... so step 3 was lost
    fit(*common, "--out", resumed, "--resume", "--stage", "vae")
    fit(*common, "--out", resumed, "--resume", "--stage", "denoiser", "--stop-after", "3")
    assert load_state(resumed, "denoiser")["step"] == 2
    fit(*common, "--out", resumed, "--resume")
    for stage in ("vae", "denoiser"):
        a, b = load_state(straight, stage), load_state(resumed, stage)
        assert a["step"] == b["step"] == 6
        for key in ("model", "ema", "optimizer", "scheduler", "rng", "stage"):
            assert_same_tensors(a[key], b[key], f"{stage}.{key}")
        steps = [json.loads(line)["step"] for line in (resumed / stage / "log.jsonl").read_text().splitlines()]
        assert steps == [1, 2, 3, 4, 5, 6]  # the lost step's log line was cut on resume


def test_time_limit_checkpoints_then_resume_finishes(tmp_path, dataset_dir):
    """Out of time: the run saves at the first log step past the limit (no step lost), and --resume finishes the
    same LR schedule (a machine lent for a fixed time)."""
    config = tiny_config(tmp_path, max_steps=6, checkpoint_every=100, log_every=2)
    common = ("--config", config, "--data", dataset_dir, "--out", tmp_path / "r", "--stage", "vae")
    fit(*common, "--time-limit", "0")
    state = load_state(tmp_path / "r", "vae")
    assert state["step"] == 2                                   # first log step, though no checkpoint was due
    assert state["scheduler"]["last_epoch"] == 2
    assert (tmp_path / "r" / "vae" / "model" / "config.json").is_file()    # exported, usable as it stands
    fit(*common, "--resume", "--time-limit", "3600")
    assert load_state(tmp_path / "r", "vae")["step"] == 6


def test_a_max_steps_raised_on_resume_stretches_the_schedule(tmp_path, dataset_dir):
    """The schedule's length is the command line's, not the saved one: a run planned for 4 steps and resumed
    with --max-steps 8 decays over 8 (its LR at step 6 is the 8-step schedule's, not the 4-step floor)."""
    config = tiny_config(tmp_path, max_steps=4, warmup_steps=1, min_lr_ratio=0.1, checkpoint_every=2, log_every=1)
    common = ("--config", config, "--data", dataset_dir, "--out", tmp_path / "r", "--stage", "vae")
    fit(*common)
    fit(*common, "--resume", "--max-steps", "8")
    records = [json.loads(line) for line in (tmp_path / "r" / "vae" / "log.jsonl").read_text().splitlines()]
    lr = {r["step"]: r["lr"] for r in records}
    base = json.loads(config.read_text())["vae"]["optim"]["lr"]
    assert lr[6] == pytest.approx(base * warmup_cosine(6, 1, 8, 0.1))
    assert lr[6] > 0.1 * base * 1.5


def test_a_schedule_fitted_to_the_time_limit_ends_annealed(tmp_path, dataset_dir, monkeypatch):
    """--fit-schedule-to-time: from the second log step on the schedule's length is the steps that fit, the run
    ends there with the LR at its floor and counts as finished (the next stage runs); a resume keeps that length."""
    import train.trainer
    asked = []

    def seven_fit(step, total, per_step, left):
        asked.append((step, total, per_step, left))
        return 7
    monkeypatch.setattr(train.trainer, "steps_that_fit", seven_fit)
    config = tiny_config(tmp_path, max_steps=1000, warmup_steps=2, min_lr_ratio=0.1, checkpoint_every=100,
                         log_every=2)
    run = tmp_path / "r"
    common = ("--config", config, "--data", dataset_dir, "--out", run, "--time-limit", "3600")
    fit(*common, "--fit-schedule-to-time")
    # each stage: at its logs after the first, before the last, always against the planned 1,000
    assert [a[:2] for a in asked] == [(4, 1000), (6, 1000)] * 2
    assert all(0 < per_step < 60 and 3000 < left < 3600 for _, _, per_step, left in asked)
    for stage in ("vae", "denoiser"):
        state = load_state(run, stage)
        assert state["step"] == 7 and state["fitted_total"] == 7
        records = [json.loads(line) for line in (run / stage / "log.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records] == [2, 4, 6, 7]
        assert records[1]["schedule_total"] == 7 and records[1]["seconds_per_step"] > 0
        base_lr = json.loads(config.read_text())[stage]["optim"]["lr"]
        assert records[-1]["lr"] == pytest.approx(0.1 * base_lr)           # annealed to the floor
    fit(*common, "--resume")
    assert load_state(run, "denoiser")["step"] == 7                        # the fitted length holds on resume
    with pytest.raises(SystemExit, match="needs --time-limit"):
        fit("--config", config, "--data", dataset_dir, "--out", tmp_path / "x", "--fit-schedule-to-time")


def test_a_resumed_wordvec_run_needs_no_vectors_file(tmp_path, dataset_dir):
    """The device machine has the repository, not the wordllama wheel: a word-vector run resumed in a later sitting
    keeps the table from its own export, as --init-from does from the exported model."""
    from motion_core.formats.checkpoint import load_checkpoint
    from motion_core.text.word_vectors import WordVectors
    config = json.loads((ROOT / "train" / "configs" / "tiny_wordvec.json").read_text())
    config["denoiser"]["optim"].update(max_steps=4, checkpoint_every=2)
    config["denoiser"]["text"]["vectors"] = str(ROOT / "tests" / "data" / "word_vectors_tiny.safetensors")
    first, later = tmp_path / "first.json", tmp_path / "later.json"
    first.write_text(json.dumps(config))
    config["denoiser"]["text"]["vectors"] = str(tmp_path / "absent" / "word_vectors.safetensors")
    later.write_text(json.dumps(config))
    run = tmp_path / "run"
    fit("--config", first, "--data", dataset_dir, "--out", run, "--stage", "vae")
    fit("--config", first, "--data", dataset_dir, "--out", run, "--stage", "denoiser", "--stop-after", "3")
    assert load_state(run, "denoiser")["step"] == 2
    fit("--config", later, "--data", dataset_dir, "--out", run, "--resume", "--stage", "denoiser")
    assert load_state(run, "denoiser")["step"] == 4
    _, tensors = load_checkpoint(run / "denoiser" / "model")
    table = WordVectors.load(ROOT / "tests" / "data" / "word_vectors_tiny.safetensors").table
    assert torch.equal(tensors["text.table"], table)
    with pytest.raises(FileNotFoundError):      # a fresh run still needs its vectors
        fit("--config", later, "--data", dataset_dir, "--out", tmp_path / "fresh", "--stage", "denoiser",
            "--vae", run / "vae" / "model")


def test_a_denoiser_continues_from_a_model_with_a_grafted_sentence_gist(tmp_path, dataset_dir):
    """The untried step after text tuning with a gist: continue the denoiser on the grafted model (--init-from),
    which keeps the gist (its frozen table and trained projection) without any vectors file."""
    from motion_core.formats.checkpoint import load_checkpoint, read_config
    from tests.test_sentence_gist import write_sentence_vectors
    from train.sentence_gist import graft
    config = json.loads((ROOT / "train" / "configs" / "tiny_wordvec.json").read_text())
    config["denoiser"]["optim"].update(max_steps=2, checkpoint_every=2)
    config["denoiser"]["text"]["vectors"] = str(ROOT / "tests" / "data" / "word_vectors_tiny.safetensors")
    first = tmp_path / "first.json"
    first.write_text(json.dumps(config))
    run = tmp_path / "run"
    fit("--config", first, "--data", dataset_dir, "--out", run)
    grafted = graft(run / "denoiser" / "model", write_sentence_vectors(tmp_path / "sv"), tmp_path / "grafted",
                    log=lambda *_: None)
    config["denoiser"]["text"]["vectors"] = str(tmp_path / "absent" / "word_vectors.safetensors")
    later = tmp_path / "later.json"
    later.write_text(json.dumps(config))
    fit("--config", later, "--data", dataset_dir, "--out", tmp_path / "continued", "--stage", "denoiser",
        "--vae", run / "vae" / "model", "--init-from", grafted)
    continued = tmp_path / "continued" / "denoiser" / "model"
    gist = read_config(grafted)["architecture"]["text"]["gist"]
    assert read_config(continued)["architecture"]["text"]["gist"] == gist
    _, before = load_checkpoint(grafted)
    _, after = load_checkpoint(continued)
    assert torch.equal(after["text.gist.table"], before["text.gist.table"])


# ---- torchrun ----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_torchrun_two_cpu_processes(tmp_path, dataset_dir):
    run = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "train.fit", "--config", str(tiny_config(tmp_path, max_steps=2, batch_size=2)),
               "--data", str(dataset_dir), "--out", str(run), "--device", "cpu"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    for stage in ("vae", "denoiser"):
        state = load_state(run, stage)
        assert state["world_size"] == 2 and state["step"] == 2 and len(state["rng"]) == 2
        # the two ranks drew different noise streams
        assert not torch.equal(state["rng"][0]["torch"], state["rng"][1]["torch"])
    assert (run / "denoiser" / "model" / "model.safetensors").is_file()


# ---- export ------------------------------------------------------------------------------------------------

def test_export_loads_in_engine_and_generates(tmp_path, dataset_dir):
    from motion_core.engine import Engine
    from train.export import export
    run = tmp_path / "run"
    fit("--config", tiny_config(tmp_path, max_steps=2), "--data", dataset_dir, "--out", run)
    out = export(run, run, tmp_path / "model")
    assert (out / "model.safetensors").stat().st_size < 50 * 1000 * 1000
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["version"] and config["fps"] == 20.0 and config["skeleton"] == "humanml3d"
    assert config["diffusion"]["sample_steps"] == 4
    engine = Engine.load(out, device="cpu")
    motions = engine.generate(["a person jumps"], seconds=2.0, seed=3, steps=4)
    assert motions[0].joints.shape == (40, 22, 3) and np.isfinite(motions[0].joints).all()


def test_export_refuses_a_vae_the_denoiser_was_not_trained_on(tmp_path, dataset_dir):
    from train.export import export
    first, second = tmp_path / "a", tmp_path / "b"
    fit("--config", tiny_config(tmp_path, max_steps=2), "--data", dataset_dir, "--out", first)
    fit("--config", tiny_config(tmp_path, max_steps=1), "--data", dataset_dir, "--out", second, "--stage", "vae")
    with pytest.raises(ValueError, match="different VAE weights"):
        export(second, first, tmp_path / "model")
    with pytest.raises(FileNotFoundError, match="no denoiser checkpoint"):
        export(first, tmp_path / "nowhere", tmp_path / "model2")


def test_denoiser_warm_starts_from_an_exported_checkpoint(tmp_path, dataset_dir):
    from motion_core.formats.checkpoint import load_checkpoint, read_config
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    fit("--config", tiny_config(tmp_path, max_steps=2), "--data", dataset_dir, "--out", first)
    shipped = first / "denoiser" / "model"
    # lr ~0: the continued run must export the weights it started from.
    (tmp_path / "frozen").mkdir()
    frozen = tiny_config(tmp_path / "frozen", max_steps=1, lr=1e-30)
    fit("--config", frozen, "--data", dataset_dir, "--out", second, "--stage", "denoiser",
        "--vae", first / "vae" / "model", "--init-from", shipped)
    _, before = load_checkpoint(shipped)
    _, after = load_checkpoint(second / "denoiser" / "model")
    for key in before:
        if key.startswith(("denoiser.", "text.")):
            torch.testing.assert_close(after[key], before[key], rtol=1e-6, atol=1e-20, msg=key)
    info = read_config(second / "denoiser" / "model")["training"]
    assert info["init_from"] == str(shipped) and info["init_steps"] == 2
    assert info["latent_scale"] == read_config(shipped)["training"]["latent_scale"]
    fit("--config", tiny_config(tmp_path, max_steps=1), "--data", dataset_dir, "--out", other, "--stage", "vae")
    with pytest.raises(ValueError, match="different VAE weights"):
        fit("--config", frozen, "--data", dataset_dir, "--out", tmp_path / "d", "--stage", "denoiser",
            "--vae", other / "vae" / "model", "--init-from", shipped)
    # Same VAE weights, other feature statistics: its latents would mean something else too.
    import shutil
    from safetensors.torch import load_file, save_file
    restated = tmp_path / "restated"
    shutil.copytree(shipped, restated)
    tensors = load_file(restated / "model.safetensors")
    tensors["normalizer.mean"] = tensors["normalizer.mean"] + 0.5
    save_file(tensors, restated / "model.safetensors")
    with pytest.raises(ValueError, match="normalizer.mean"):
        fit("--config", frozen, "--data", dataset_dir, "--out", tmp_path / "e", "--stage", "denoiser",
            "--vae", first / "vae" / "model", "--init-from", restated)


def _config_with_model(folder: Path, model: dict, **optim) -> Path:
    """A tiny training config whose denoiser is `model`, written into `folder`."""
    folder.mkdir(exist_ok=True)
    data = json.loads(tiny_config(folder, **optim).read_text())
    data["denoiser"]["model"] = model
    (folder / "config.json").write_text(json.dumps(data))
    return folder / "config.json"


SMALL_UNET = {"type": "mamba_unet", "width": 32, "spatial_groups": 4, "d_state": 4, "num_heads": 2}


def _trained_then_grown(tmp_path: Path, dataset_dir, growth: dict) -> tuple[Path, Path, dict, dict]:
    """A small U-Net trained 2 steps, then `--init-from` it into one with `growth` added, for one step at lr 1e-30
    (so nothing moves); checks that every trained tensor carried over. Returns (the trained run's folder, the grown
    model, tensors before, tensors after)."""
    from motion_core.formats.checkpoint import load_checkpoint
    first, grown = tmp_path / "a", tmp_path / "b"
    fit("--config", _config_with_model(tmp_path / "c1", SMALL_UNET, max_steps=2), "--data", dataset_dir,
        "--out", first)
    shipped = first / "denoiser" / "model"
    fit("--config", _config_with_model(tmp_path / "c2", {**SMALL_UNET, **growth}, max_steps=1, lr=1e-30),
        "--data", dataset_dir, "--out", grown, "--stage", "denoiser", "--vae", first / "vae" / "model",
        "--init-from", shipped)
    _, before = load_checkpoint(shipped)
    _, after = load_checkpoint(grown / "denoiser" / "model")
    for key in before:
        if key.startswith(("denoiser.", "text.")):
            torch.testing.assert_close(after[key], before[key], rtol=1e-6, atol=1e-20, msg=key)
    return first, grown / "denoiser" / "model", before, after


def test_a_unet_grown_deeper_at_the_bottleneck_computes_what_it_did():
    """New attention mixers start as the identity (`start_as_identity`), though the shared modulation's gates that
    scale them are trained and not zero: the grown U-Net's prediction equals the stored one's."""
    from motion_core.models.denoiser import DenoiserConfig, MambaUNetDenoiser
    from train.stages import grown_mid_layers, start_as_identity
    small = dict(width=32, spatial_groups=4, d_state=4, num_heads=2, text_dim=16, text_levels=(1,))
    torch.manual_seed(0)
    stored = MambaUNetDenoiser(DenoiserConfig(**small)).eval()
    with torch.no_grad():
        for parameter in stored.parameters():   # as if trained: no zero gate or layer left
            parameter.add_(0.05 * torch.randn_like(parameter))
    grown = MambaUNetDenoiser(DenoiserConfig(**small, num_mid_layers=3)).eval()
    result = grown.load_state_dict(stored.state_dict(), strict=False)
    assert not result.unexpected_keys and {k.split(".")[1] for k in result.missing_keys} == {"1", "2"}
    architecture = {"type": "mamba_unet", "num_mid_layers": 1}
    assert grown_mid_layers(grown, architecture) == [1, 2]
    assert grown_mid_layers(stored, architecture) == [] and grown_mid_layers(grown, {"type": "transformer"}) == []
    z, t = torch.randn(2, 12, 32), torch.tensor([10, 500])
    text, mask = torch.randn(2, 5, 16), torch.ones(2, 5, dtype=torch.bool)
    assert not torch.allclose(grown(z, t, text, mask), stored(z, t, text, mask))   # fresh mixers change it
    for index in grown_mid_layers(grown, architecture):
        start_as_identity(grown.mid[index])
    torch.testing.assert_close(grown(z, t, text, mask), stored(z, t, text, mask), rtol=1e-5, atol=1e-6)


def test_fit_grows_a_trained_unet_deeper_from_its_checkpoint(tmp_path, dataset_dir):
    """--init-from a U-Net with one bottleneck mixer into one with three: every trained tensor carries over, only the
    two new mixers' tensors are new, their output layers start at zero, and the run records what it grew."""
    from motion_core.formats.checkpoint import read_config
    _, grown, before, after = _trained_then_grown(tmp_path, dataset_dir, {"num_mid_layers": 3})
    new = sorted(set(after) - set(before))
    assert new and {k.split(".")[2] for k in new} == {"1", "2"} and all(k.startswith("denoiser.mid.") for k in new)
    for index in (1, 2):
        for name in ("self_attn.out.weight", "ffn.net.3.weight", "cross_gate"):
            assert after[f"denoiser.mid.{index}.{name}"].abs().max() < 1e-20, name   # one step at lr 1e-30
    info = read_config(grown)
    assert info["training"]["grown_mid_layers"] == [1, 2]
    assert info["architecture"]["denoiser"]["num_mid_layers"] == 3


def test_a_trained_unet_grows_text_attention_and_keeps_what_it_learned(tmp_path, dataset_dir):
    """--init-from a U-Net without text attention into one with `text_levels`: every trained tensor carries over,
    the new attention starts gated shut; the reverse (dropping trained attention) is refused."""
    from motion_core.formats.checkpoint import load_checkpoint, read_config
    first, grown, before, after = _trained_then_grown(tmp_path, dataset_dir, {"text_levels": [1, 2]})
    new = sorted(set(after) - set(before))
    assert new and all(".text_attention." in k and k.split(".")[2] in ("1", "2") for k in new)
    assert all(after[k].abs().max() < 1e-20 for k in new if k.endswith(".gate"))   # one step at lr 1e-30
    info = read_config(grown)
    assert info["training"]["grown_text_levels"] == [1, 2]
    assert info["architecture"]["denoiser"]["text_levels"] == [1, 2]
    with pytest.raises(Exception, match="text_attention"):
        fit("--config", _config_with_model(tmp_path / "c3", SMALL_UNET, max_steps=1), "--data", dataset_dir,
            "--out", tmp_path / "d", "--stage", "denoiser", "--vae", first / "vae" / "model",
            "--init-from", grown)
    # Opened (denoiser.open_text_gates): each gate folded into its attention's output projection, set to one.
    opened_config = _config_with_model(tmp_path / "c4", {**SMALL_UNET, "text_levels": [1, 2]}, max_steps=1, lr=1e-30)
    data = json.loads(opened_config.read_text())
    data["denoiser"]["open_text_gates"] = True
    opened_config.write_text(json.dumps(data))
    fit("--config", opened_config, "--data", dataset_dir, "--out", tmp_path / "e", "--stage", "denoiser",
        "--vae", first / "vae" / "model", "--init-from", grown)
    _, opened = load_checkpoint(tmp_path / "e" / "denoiser" / "model")
    gates = [k for k in opened if k.endswith(("cross_gate", "text_attention.gate"))]
    assert len(gates) == 5 and all(torch.all(opened[k] == 1) for k in gates)   # bottleneck + 2 levels x 2
    mid_out = "denoiser.mid.0.cross_attn.out.weight"
    torch.testing.assert_close(opened[mid_out], after[mid_out] * after["denoiser.mid.0.cross_gate"][:, None])
    assert read_config(tmp_path / "e" / "denoiser" / "model")["training"]["opened_text_gates"] == 5


def test_a_vae_fine_tuned_from_a_checkpoint_carries_its_denoiser_on(tmp_path, dataset_dir):
    """New poses need a new VAE; fine-tuning the checkpoint's own lets its denoiser continue instead of restart."""
    from motion_core.formats.checkpoint import load_checkpoint, read_config
    first, tuned, continued, other = (tmp_path / n for n in ("a", "b", "c", "d"))
    fit("--config", tiny_config(tmp_path, max_steps=2), "--data", dataset_dir, "--out", first)
    shipped = first / "denoiser" / "model"
    fit("--config", tiny_config(tmp_path, max_steps=2), "--data", dataset_dir, "--out", tuned, "--stage", "vae",
        "--init-from", shipped)
    _, old = load_checkpoint(shipped)
    _, new = load_checkpoint(tuned / "vae" / "model")
    assert torch.equal(new["normalizer.mean"], old["normalizer.mean"])       # the same feature units
    assert any(not torch.equal(new[k], old[k]) for k in new if k.startswith("vae."))   # and it did train
    assert read_config(tuned / "vae" / "model")["training"]["init_from"] == str(shipped)
    fit("--config", tiny_config(tmp_path, max_steps=1), "--data", dataset_dir, "--out", continued,
        "--stage", "denoiser", "--vae", tuned / "vae" / "model", "--init-from", shipped)
    info = read_config(continued / "denoiser" / "model")["training"]
    assert info["vae_fine_tuned"] is True and info["init_steps"] == 2
    assert info["latent_scale"] == read_config(shipped)["training"]["latent_scale"]
    # A VAE fine-tuned from some other checkpoint is still refused.
    fit("--config", tiny_config(tmp_path, max_steps=1), "--data", dataset_dir, "--out", other, "--stage", "vae",
        "--init-from", tuned / "vae" / "model")
    with pytest.raises(ValueError, match="fine-tuned from it"):
        fit("--config", tiny_config(tmp_path, max_steps=1), "--data", dataset_dir, "--out", tmp_path / "e",
            "--stage", "denoiser", "--vae", other / "vae" / "model", "--init-from", shipped)


def refine_decoder_config(tmp_path: Path) -> Path:
    config = json.loads(tiny_config(tmp_path, max_steps=3, lr=1e-2).read_text())
    config["vae"]["freeze_encoder"] = True
    path = tmp_path / "refine.json"
    path.write_text(json.dumps(config))
    return path


def test_a_refined_decoder_slots_under_the_trained_denoiser(tmp_path, dataset_dir):
    """vae.freeze_encoder trains the decoder alone: the latents the denoiser learned stay bit-identical, so the
    new decoder goes straight under the old engine checkpoint (train.export --denoiser CHECKPOINT)."""
    from motion_core.formats.checkpoint import load_checkpoint
    from train.export import export
    first, refined = tmp_path / "a", tmp_path / "b"
    fit("--config", tiny_config(tmp_path, max_steps=2), "--data", dataset_dir, "--out", first)
    shipped = export(first, first, tmp_path / "shipped")
    with pytest.raises(SystemExit, match="--init-from"):   # a frozen random encoder would be no VAE at all
        fit("--config", refine_decoder_config(tmp_path), "--data", dataset_dir, "--out", tmp_path / "x",
            "--stage", "vae")
    fit("--config", refine_decoder_config(tmp_path), "--data", dataset_dir, "--out", refined, "--stage", "vae",
        "--init-from", shipped)
    _, old = load_checkpoint(shipped)
    _, new = load_checkpoint(refined / "vae" / "model")
    encoder = [k for k in new if k.startswith("vae.enc_")]
    decoder = [k for k in new if k.startswith("vae.dec_")]
    assert encoder and all(torch.equal(new[k], old[k]) for k in encoder)
    assert any(not torch.equal(new[k], old[k]) for k in decoder)
    out = export(refined, shipped, tmp_path / "with_refined_decoder")
    config, tensors = load_checkpoint(out)
    assert config["training"]["vae_decoder_refinement"]["steps"] == 3
    assert config["training"]["steps"] == 2   # the denoiser's own training, unchanged
    assert config["created"] == config["training"]["exported"]   # a model of its own, not the one it came from
    assert all(torch.equal(tensors[k], old[k]) for k in old if not k.startswith("vae.dec_"))
    assert all(torch.equal(tensors[k], new[k]) for k in decoder)
    # Refined again from that model: the record says so and keeps the first refinement.
    fit("--config", refine_decoder_config(tmp_path), "--data", dataset_dir, "--out", tmp_path / "again",
        "--stage", "vae", "--init-from", out)
    again, _ = load_checkpoint(export(tmp_path / "again", out, tmp_path / "refined_twice"))
    record = again["training"]["vae_decoder_refinement"]
    assert record["init_from"] == str(out) and [r["steps"] for r in record["earlier"]] == [3]
    # A VAE whose encoder moved (an ordinary fine-tune) does not go under that denoiser.
    fit("--config", tiny_config(tmp_path, max_steps=2, lr=1e-2), "--data", dataset_dir, "--out", tmp_path / "c",
        "--stage", "vae", "--init-from", shipped)
    with pytest.raises(ValueError, match="different VAE weights"):
        export(tmp_path / "c", shipped, tmp_path / "mismatched")


def test_ema_keeps_frozen_parameters_exactly():
    from train.ema import EMA
    module = torch.nn.Linear(3, 3)
    module.bias.requires_grad_(False)
    bias = module.bias.detach().clone()
    ema = EMA(module, decay=0.9)
    for _ in range(5):
        with torch.no_grad():
            module.weight.add_(0.1)
        ema.update(module)
    assert torch.equal(ema.shadow["bias"], bias)
    assert not torch.allclose(ema.shadow["weight"], module.weight)


def test_ema_averages_float_tensors_and_copies_the_rest():
    from train.ema import EMA
    module = torch.nn.BatchNorm1d(3)             # float weights plus an integer buffer (num_batches_tracked)
    ema = EMA(module, decay=0.9)
    start = module.weight.detach().clone()
    expected = start.clone()
    for step in range(3):
        with torch.no_grad():
            module.weight.add_(1.0)
            module.num_batches_tracked += 1
        decay = min(0.9, (1 + step) / (10 + step))
        expected = decay * expected + (1 - decay) * module.weight.detach()
        ema.update(module)
    assert torch.allclose(ema.shadow["weight"], expected, atol=1e-6)
    assert not torch.allclose(ema.shadow["weight"], module.weight)   # averaged, not copied
    assert int(ema.shadow["num_batches_tracked"]) == 3

"""A denoiser training step on a GPU makes no host sync.

Why it matters: a sync makes the CPU wait for the GPU to drain its queue, then the GPU waits while the CPU
launches the next kernels, so the step costs launch time plus compute time instead of the larger of the two.
That fixed cost is what kept two GPUs from halving a step (issue #7). The step here is the trainer's own
(training-window bank gather, frozen VAE encode, text encoder, Mamba U-Net, DDPM loss, backward, clipping,
AdamW, LR schedule, EMA), run under CUDA's sync debug mode set to raise.

Run on a machine with an NVIDIA GPU: python -m pytest -q tests/test_train_step_cuda.py
"""
import json
from pathlib import Path

import pytest
import torch

from test_training import write_synthetic_dataset

pytestmark = pytest.mark.cuda
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]


def test_a_denoiser_training_step_makes_no_host_sync(tmp_path):
    from motion_core.skeleton import HUMANML3D
    from train.config import load_config
    from train.distributed import DistEnv
    from train.fit import build_dataset, dataset_spec
    from train.stages import DenoiserStage
    from train.trainer import Trainer

    data_dir = write_synthetic_dataset(tmp_path / "data", clips=20, frames=(30, 120))
    config = load_config(ROOT / "train" / "configs" / "default.json")
    spec = dataset_spec(config["data"])
    stage = DenoiserStage(config, ROOT / "motion_core" / "default_model", HUMANML3D, spec.max_frames)
    dataset = build_dataset(data_dir, spec, config["data"], stage.normalizer)
    optim = {**config["denoiser"]["optim"], "batch_size": 8}
    env = DistEnv(rank=0, world_size=1, local_rank=0, device=torch.device("cuda"))
    trainer = Trainer(stage, dataset, optim, tmp_path / "run", env, seed=0, device_bank=True)
    trainer._prepare_stage()
    batches = (batch for _ in range(4) for batch in trainer.loader)  # 2 batches per epoch
    for _ in range(3):  # warm-up: cuBLAS handles, allocator pools, first-call kernels
        trainer.train_step(next(batches))
    batch = next(batches)  # the loader works on the host; only the step itself is checked
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        losses = trainer.train_step(batch)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(losses["loss"]).item()
    assert json.dumps(sorted(losses)) == json.dumps(["grad_norm", "loss"])

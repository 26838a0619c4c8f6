"""train.half_precision: float16 weights, the same model in use (within float16 rounding)."""
import numpy as np
import pytest
import torch

from motion_core.engine import Engine, tiny_config
from motion_core.formats.checkpoint import load_checkpoint
from train.half_precision import convert, half_precision


def test_float32_weights_become_float16_but_the_normaliser_and_integer_buffers_do_not():
    tensors = {"vae.w": torch.ones(3), "normalizer.mean": torch.ones(3), "text.ids": torch.ones(3, dtype=torch.uint8),
               "text.table": torch.ones(3, dtype=torch.float16)}
    halved = half_precision(tensors)
    assert halved["vae.w"].dtype == torch.float16 and halved["normalizer.mean"].dtype == torch.float32
    assert halved["text.ids"].dtype == torch.uint8 and halved["text.table"].dtype == torch.float16


def test_a_halved_model_loads_and_makes_nearly_the_same_motion(tmp_path):
    engine = Engine.random(tiny_config(), seed=3)
    engine.save(tmp_path / "full")
    convert(tmp_path / "full", tmp_path / "half")
    _, tensors = load_checkpoint(tmp_path / "half")
    assert tensors["denoiser." + next(k for k, _ in engine.denoiser.named_parameters())].dtype == torch.float16
    full = Engine.load(tmp_path / "full", device="cpu").generate(["a person walks"], seconds=2.0, steps=4)[0]
    half = Engine.load(tmp_path / "half", device="cpu").generate(["a person walks"], seconds=2.0, steps=4)[0]
    difference = np.abs(full.joints - half.joints).max()
    assert 0 < difference < 0.01   # rounded, not changed: under a centimetre


def test_weights_beyond_float16_are_refused(tmp_path):
    engine = Engine.random(tiny_config(), seed=3)
    with torch.no_grad():
        next(engine.vae.parameters()).fill_(1e6)
    engine.save(tmp_path / "big")
    with pytest.raises(ValueError, match="overflows float16"):
        convert(tmp_path / "big", tmp_path / "half")

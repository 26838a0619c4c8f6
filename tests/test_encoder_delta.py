"""benchmarks/device_jobs/encoder_delta.py: a text-tuned model carried back as its tuned weights and rebuilt
from its base, exactly; the wrong base refused."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from motion_core.engine import Engine
from motion_core.formats.checkpoint import load_checkpoint, save_checkpoint

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "device_jobs" / "encoder_delta.py"


@pytest.fixture(scope="module")
def delta_tool():
    spec = importlib.util.spec_from_file_location("encoder_delta", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tuned_copy(base: Path, out: Path) -> Path:
    """`base` with its text encoder's weights changed and the change recorded, as text tuning leaves it."""
    config, tensors = load_checkpoint(base)
    generator = torch.Generator().manual_seed(1)
    for key in [k for k in tensors if k.startswith("text.") and tensors[k].is_floating_point()]:
        tensors[key] = tensors[key] + 0.01 * torch.randn(tensors[key].shape, generator=generator)
    config.setdefault("training", {})["notes"] = ["tuned"]
    return save_checkpoint(out, tensors, config)


def test_extract_then_apply_gives_the_tuned_model_back(tmp_path, delta_tool):
    base = Engine.random(seed=0).save(tmp_path / "base")
    tuned = tuned_copy(base, tmp_path / "tuned")
    assert delta_tool.main(["extract", str(tuned), str(tmp_path / "delta")]) == 0
    carried = delta_tool.load_file(str(tmp_path / "delta" / delta_tool.WEIGHTS))
    assert carried and all(k.startswith("text.") for k in carried)   # the tuned part only
    assert delta_tool.main(["apply", str(base), str(tmp_path / "delta"), str(tmp_path / "rebuilt")]) == 0
    config, tensors = load_checkpoint(tmp_path / "rebuilt")
    want_config, want = load_checkpoint(tuned)
    assert config == want_config and config["training"]["notes"] == ["tuned"]
    assert set(tensors) == set(want) and all(torch.equal(tensors[k], want[k]) for k in want)
    Engine.load(tmp_path / "rebuilt", device="cpu")


def test_a_delta_is_refused_on_another_base(tmp_path, delta_tool, capsys):
    base = Engine.random(seed=0).save(tmp_path / "base")
    other = Engine.random(seed=1).save(tmp_path / "other")     # same shapes, other denoiser weights
    delta_tool.extract(tuned_copy(base, tmp_path / "tuned"), tmp_path / "delta")
    assert delta_tool.main(["apply", str(other), str(tmp_path / "delta"), str(tmp_path / "out")]) == 1
    assert "not the model" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_digest_sees_every_untouched_tensor_but_not_the_tuned_ones(tmp_path, delta_tool):
    _, tensors = load_checkpoint(Engine.random(seed=0).save(tmp_path / "base"))
    digest = delta_tool.untouched_digest(tensors)
    tuned_key = delta_tool.tuned_keys(tensors)[0]
    assert delta_tool.untouched_digest({**tensors, tuned_key: tensors[tuned_key] + 1}) == digest
    other_key = next(k for k in tensors if not k.startswith("text.") and tensors[k].is_floating_point())
    assert delta_tool.untouched_digest({**tensors, other_key: tensors[other_key] * 2}) != digest

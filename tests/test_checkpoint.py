"""Checkpoint directories (safetensors + validated config.json) and the feature normaliser they carry."""
import json
import os
import struct

import numpy as np
import pytest
import torch

from motion_core.formats import checkpoint as ck
from motion_core.formats.checkpoint import (CheckpointError, load_checkpoint, module_shapes, save_checkpoint,
                                    validate_config)
from motion_core.generation.normalization import FeatureNormalizer
from motion_core.text import build_text_encoder

TEXT = {"type": "offline", "dim": 16, "layers": 1, "heads": 2, "ff_dim": 32, "num_buckets": 64, "max_tokens": 8}


class ToyVAE(torch.nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.enc = torch.nn.Linear(263, width)
        self.dec = torch.nn.Linear(width, 263)


def make_config(**overrides):
    config = {
        "format_version": 1,
        "architecture": {"vae": {"width": 8, "layers": 1, "latent_dim": 8}, "text": dict(TEXT)},
        "text_encoder_type": "offline",
        "diffusion": {"num_train_steps": 1000, "beta_schedule": "scaled_linear", "prediction": "epsilon",
                      "sample_steps": 20, "guidance": 4.5},
        "fps": 20.0, "skeleton": "humanml3d", "feature_dim": 263,
        "training": {"steps": 10, "dataset": "humanml3d", "metrics": {"fid": 0.5, "loss/val": [0.3, 0.2]}},
    }
    config.update(overrides)
    return config


def make_tensors(seed=0):
    torch.manual_seed(seed)
    text = build_text_encoder(TEXT)
    normalizer = FeatureNormalizer(np.random.default_rng(seed).normal(size=263), np.full(263, 2.0))
    return {**{f"text.{k}": v for k, v in text.state_dict().items()},
            **{f"vae.{k}": v for k, v in ToyVAE().state_dict().items()},
            **normalizer.to_tensors()}


# ---------------------------------------------------------------- round trip

def test_round_trip(tmp_path):
    config, tensors = make_config(), make_tensors()
    path = save_checkpoint(tmp_path / "model", tensors, config)
    assert sorted(os.listdir(path)) == ["config.json", "model.safetensors"]
    loaded_config, loaded = load_checkpoint(path)
    assert loaded_config == config
    assert loaded.keys() == tensors.keys()
    assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)
    # The text encoder and normaliser rebuild from what was loaded.
    text = build_text_encoder(loaded_config["architecture"]["text"])
    text.load_state_dict({k[5:]: v for k, v in loaded.items() if k.startswith("text.")})
    assert FeatureNormalizer.from_tensors(loaded).dim == 263


def test_overwrite_replaces_an_existing_checkpoint(tmp_path):
    save_checkpoint(tmp_path / "m", make_tensors(0), make_config())
    save_checkpoint(tmp_path / "m", make_tensors(1), make_config(name="second"))
    config, tensors = load_checkpoint(tmp_path / "m")
    assert config["name"] == "second"
    assert torch.equal(tensors["vae.enc.weight"], make_tensors(1)["vae.enc.weight"])
    assert sorted(os.listdir(tmp_path)) == ["m"]


def test_shared_and_non_contiguous_tensors_are_saved(tmp_path):
    tensors = make_tensors()
    tensors["vae.dec.weight"] = tensors["vae.enc.weight"].t()  # shares storage, not contiguous
    save_checkpoint(tmp_path / "m", tensors, make_config(), expected=None)
    _, loaded = load_checkpoint(tmp_path / "m")
    assert torch.equal(loaded["vae.dec.weight"], tensors["vae.enc.weight"].t())


def test_expected_shapes_from_meta_modules(tmp_path):
    save_checkpoint(tmp_path / "m", make_tensors(), make_config())
    with torch.device("meta"):
        expected = module_shapes("vae.", ToyVAE())
        wider = module_shapes("vae.", ToyVAE(width=16))
    load_checkpoint(tmp_path / "m", expected=expected)
    with pytest.raises(CheckpointError, match=r"vae\.\* tensors do not match.*shape mismatch"):
        load_checkpoint(tmp_path / "m", expected=wider)


def test_modules_the_caller_built_stand_in_for_meta_ones(tmp_path):
    """`built` gives the same shapes as the meta build and still catches a checkpoint that disagrees with it."""
    save_checkpoint(tmp_path / "m", make_tensors(), make_config())
    config = make_config()
    built = {"text": build_text_encoder(TEXT)}
    assert ck.expected_shapes(config, built) == ck.expected_shapes(config)
    load_checkpoint(tmp_path / "m", built=built)
    wider = build_text_encoder({**TEXT, "dim": 32, "ff_dim": 64})
    with pytest.raises(CheckpointError, match=r"text\.\* tensors do not match config.json: shape mismatch"):
        load_checkpoint(tmp_path / "m", built={"text": wider})


def test_loading_the_bundled_model_builds_nothing_on_the_meta_device():
    """A meta-device build imports TorchDynamo (1.3 s); Engine.load passes the modules it built instead, so a
    fresh process (the CLI, the add-on's worker) never pays it (benchmarks/bench_cold_start.py times it)."""
    import subprocess
    import sys
    probe = ("import sys; from motion_core.engine import Engine; Engine.load(None, device='cpu'); "
             "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


# ---------------------------------------------------------------- atomic writes

def test_failed_save_leaves_no_partial_directory(tmp_path, monkeypatch):
    import safetensors.torch

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", explode)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "m", make_tensors(), make_config())
    assert os.listdir(tmp_path) == []


def test_failed_overwrite_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "m", make_tensors(0), make_config(name="first"))
    monkeypatch.setattr(ck, "_fsync_tree", lambda d: (_ for _ in ()).throw(OSError("io error")))
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "m", make_tensors(1), make_config(name="second"))
    assert os.listdir(tmp_path) == ["m"]
    assert load_checkpoint(tmp_path / "m")[0]["name"] == "first"


def test_invalid_input_writes_nothing(tmp_path):
    with pytest.raises(CheckpointError):
        save_checkpoint(tmp_path / "m", make_tensors(), make_config(fps="fast"))
    with pytest.raises(CheckpointError, match="not a torch.Tensor"):
        save_checkpoint(tmp_path / "m", {**make_tensors(), "vae.extra": [1, 2]}, make_config())
    assert os.listdir(tmp_path) == []


def test_refuses_to_overwrite_a_non_checkpoint_directory(tmp_path):
    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(CheckpointError, match="refusing to overwrite"):
        save_checkpoint(precious, make_tensors(), make_config())
    assert (precious / "notes.txt").read_text() == "keep me"


# ---------------------------------------------------------------- crafted configs

def _set(config, dotted, value):
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node[key]
    node[last] = value
    return config


@pytest.mark.parametrize("dotted, value, message", [
    ("format_version", 2, "unsupported checkpoint format"),
    ("format_version", "1", "unsupported checkpoint format"),
    ("architecture.text.dim", 10 ** 9, "outside the allowed range"),
    ("architecture.text.dim", "256", "expected an integer"),
    ("architecture.text.dim", 256.0, "expected an integer"),
    ("architecture.text.layers", True, "expected an integer"),
    ("architecture.text.layers", -1, "outside the allowed range"),
    ("architecture.text.num_buckets", 1 << 40, "outside the allowed range"),
    ("architecture.text.type", "bert", "unknown text encoder type"),
    ("architecture.text.evil", 1, "unknown key"),
    ("architecture.vae.width", 100_000, "outside the allowed range"),
    ("architecture.vae.num_layers", 1000, "outside the allowed range"),
    ("architecture.vae.hidden_dims", [64, 128, 1 << 20], "outside the allowed range"),
    ("architecture.vae.width", None, None),  # null is a legal "unset" value
    ("architecture.vae.block", {"inner": {"deeper": {"deepest": 1}}}, "nested deeper"),
    ("architecture.vae.act", {"__class__": "os.system"}, "invalid key"),
    ("architecture.vae.weights", list(range(100)), "list longer"),
    ("architecture.vae.blob", "x" * 10_000, "longer than"),
    ("architecture.denoiser", "mamba", "expected an object"),
    ("architecture.extra", {}, "unknown key"),
    ("diffusion.num_train_steps", 10 ** 12, "outside the allowed range"),
    ("diffusion.beta_schedule", "exp", "not one of"),
    ("diffusion.sample_steps", 5000, "more sampling steps"),
    ("fps", float("nan"), "finite"),
    ("fps", -20, "outside the allowed range"),
    ("skeleton", "smplx", "not one of"),
    ("feature_dim", [263], "expected an integer"),
    ("training.history", [[[[[[1]]]]]], "nested deeper"),
    ("text_encoder_type", "openclip", "disagrees"),
    ("unexpected", 1, "unknown key"),
])
def test_crafted_configs_are_rejected(dotted, value, message):
    config = _set(make_config(), dotted, value)
    if message is None:
        validate_config(config)
        return
    with pytest.raises(CheckpointError, match=message):
        validate_config(config)


def test_error_names_the_offending_key():
    with pytest.raises(CheckpointError, match=r"architecture\.text\.dim"):
        validate_config(_set(make_config(), "architecture.text.dim", "wide"))


@pytest.mark.parametrize("config", [None, [], "config", 1, {}, {"format_version": 1},
                                    {"format_version": 1, "architecture": {}},
                                    {"format_version": 1, "architecture": []}])
def test_non_configs_and_missing_keys_are_rejected(config):
    with pytest.raises(CheckpointError):
        validate_config(config)


def test_huge_model_is_rejected_by_parameter_estimate():
    # Each value is within its own bound, but together they describe a ~17-billion-parameter model.
    config = make_config(architecture={"denoiser": {"width": 4096, "layers": 64}})
    with pytest.raises(CheckpointError, match="parameters exceeds"):
        validate_config(config)
    validate_config(make_config(architecture={"denoiser": {"width": 512, "layers": 8}}))


def test_validation_happens_before_any_allocation(tmp_path, monkeypatch):
    """A crafted config must be refused without reading the weights or building modules."""
    save_checkpoint(tmp_path / "m", make_tensors(), make_config())
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["architecture"]["text"]["num_buckets"] = 1 << 40
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr(ck, "read_safetensors_header", lambda *a: pytest.fail("weights read before validation"))
    with pytest.raises(CheckpointError, match="num_buckets"):
        load_checkpoint(tmp_path / "m")


def test_config_with_nan_literal_or_bad_json_is_rejected(tmp_path):
    save_checkpoint(tmp_path / "m", make_tensors(), make_config())
    file = tmp_path / "m" / "config.json"
    file.write_text(file.read_text().replace('"fps": 20.0', '"fps": NaN'))
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(tmp_path / "m")
    file.write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path / "m")
    file.write_text('{"training": ' + "[" * 200_000 + "]" * 200_000 + "}")  # parser recursion bomb
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path / "m")
    file.write_text(" " * (2 << 20))
    with pytest.raises(CheckpointError, match="larger than"):
        load_checkpoint(tmp_path / "m")


# ---------------------------------------------------------------- tensors vs config

def test_tensor_shapes_must_match_the_config(tmp_path):
    save_checkpoint(tmp_path / "m", make_tensors(), make_config())
    file = tmp_path / "m" / "config.json"
    config = json.loads(file.read_text())
    config["architecture"]["text"]["dim"] = 32
    config["architecture"]["text"]["ff_dim"] = 64
    file.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"text\.\* tensors do not match config.json: shape mismatch"):
        load_checkpoint(tmp_path / "m")


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.pop("text.position"), r"missing \['text.position'\]"),
    (lambda t: t.__setitem__("text.extra", torch.zeros(1)), "unexpected"),
    (lambda t: t.__setitem__("normalizer.mean", torch.zeros(251)), "normalizer"),
    (lambda t: t.__setitem__("optimizer.state", torch.zeros(1)), "no known module prefix"),
    (lambda t: [t.pop(k) for k in list(t) if k.startswith("vae.")], "no vae"),
    (lambda t: t.__setitem__("denoiser.w", torch.zeros(1)), "no architecture.denoiser"),
])
def test_inconsistent_tensors_are_rejected_on_save(tmp_path, mutate, message):
    tensors = make_tensors()
    mutate(tensors)
    with pytest.raises(CheckpointError, match=message):
        save_checkpoint(tmp_path / "m", tensors, make_config())


def test_openclip_checkpoints_hold_no_text_tensors(tmp_path):
    arch = {"vae": {"width": 8}, "text": {"type": "openclip", "model_name": "ViT-B-32"}}
    config = make_config(architecture=arch, text_encoder_type="openclip")
    tensors = {k: v for k, v in make_tensors().items() if not k.startswith("text.")}
    save_checkpoint(tmp_path / "m", tensors, config)
    assert load_checkpoint(tmp_path / "m")[0]["architecture"]["text"]["model_name"] == "ViT-B-32"
    with pytest.raises(CheckpointError, match="unexpected"):
        save_checkpoint(tmp_path / "n", make_tensors(), config)


# ---------------------------------------------------------------- non-safetensors weights

def _checkpoint_with_weights(tmp_path, data: bytes):
    save_checkpoint(tmp_path / "m", make_tensors(), make_config())
    (tmp_path / "m" / "model.safetensors").write_bytes(data)
    return tmp_path / "m"


@pytest.mark.parametrize("data", [
    b"",
    b"\x80\x04\x95" + b"pickle" * 20,                                   # a pickle (torch.save) file
    b"PK\x03\x04" + b"\0" * 100,                                        # a zip (torch.save) file
    struct.pack("<Q", 1 << 40) + b"{}",                                 # absurd header length
    struct.pack("<Q", 10) + b"[1,2,3,4,]",                              # header is not an object
])
def test_non_safetensors_weights_are_rejected(tmp_path, data):
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_checkpoint(_checkpoint_with_weights(tmp_path, data))


def _header_file(entries: dict, data_size: int) -> bytes:
    header = json.dumps(entries).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * data_size


@pytest.mark.parametrize("entry, size, message", [
    ({"dtype": "F32", "shape": [263], "data_offsets": [0, 1052]}, 10, "invalid data offsets"),
    ({"dtype": "F32", "shape": [263], "data_offsets": [0, 8]}, 8, "data size does not match"),
    ({"dtype": "OBJECT", "shape": [263], "data_offsets": [0, 1052]}, 1052, "unsupported dtype"),
    ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, 4, "invalid shape"),
    ({"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 4]}, 4, "invalid shape"),
    ({"dtype": "F32", "shape": "263"}, 4, "malformed"),
])
def test_corrupt_safetensors_headers_are_rejected(tmp_path, entry, size, message):
    path = _checkpoint_with_weights(tmp_path, _header_file({"normalizer.mean": entry}, size))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_missing_files_are_reported(tmp_path):
    with pytest.raises(CheckpointError, match="config.json not found"):
        load_checkpoint(tmp_path)
    save_checkpoint(tmp_path / "m", make_tensors(), make_config())
    os.remove(tmp_path / "m" / "model.safetensors")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "m")


# ---------------------------------------------------------------- normaliser

def test_normalizer_numpy_and_torch_round_trip():
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, size=(500, 263)).astype(np.float32)
    data[:, 7] = 1.5  # a constant dimension: std floored, no division by zero
    norm = FeatureNormalizer.from_data(data)
    z = norm.normalize(data)
    assert np.all(np.isfinite(z)) and np.allclose(z[:, 7], 0)
    assert np.allclose(z.mean(0), 0, atol=1e-4) and np.allclose(np.delete(z.std(0), 7), 1, atol=1e-3)
    assert np.allclose(norm.denormalize(z), data, atol=1e-4)
    t = torch.from_numpy(data).double()
    zt = norm.normalize(t)
    assert zt.dtype == torch.float64 and torch.allclose(zt, torch.from_numpy(z).double(), atol=1e-5)
    assert torch.allclose(norm.denormalize(zt), t, atol=1e-4)


def test_normalizer_floors_std_and_round_trips_through_tensors():
    norm = FeatureNormalizer(np.zeros(4), np.array([1.0, 0.0, 1e-9, -2.0]))
    assert norm.std.tolist() == pytest.approx([1.0, 1e-3, 1e-3, 2.0])
    again = FeatureNormalizer.from_tensors(norm.to_tensors())
    assert np.array_equal(again.mean, norm.mean) and np.array_equal(again.std, norm.std)
    assert norm.to_tensors("x.")["x.std"].dtype == torch.float32


@pytest.mark.parametrize("mean, std, error", [
    (np.zeros(3), np.ones(4), ValueError),
    (np.zeros((2, 3)), np.ones((2, 3)), ValueError),
    (np.array([0.0, np.nan]), np.ones(2), ValueError),
    (np.array(["a", "b"]), np.ones(2), TypeError),
])
def test_normalizer_rejects_bad_statistics(mean, std, error):
    with pytest.raises(error):
        FeatureNormalizer(mean, std)


def test_normalizer_checks_feature_dimension():
    norm = FeatureNormalizer(np.zeros(263), np.ones(263))
    with pytest.raises(ValueError, match="263"):
        norm.normalize(np.zeros((10, 251)))
    with pytest.raises(KeyError):
        FeatureNormalizer.from_tensors({"normalizer.mean": torch.zeros(3)})

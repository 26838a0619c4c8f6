"""Model files to modules and back: what `Engine.load`, `Engine.random` and `Engine.save` do underneath.

A checkpoint directory holds ``config.json`` + ``model.safetensors`` (format: `motion_core.formats.checkpoint`);
its tensors are prefixed by the module they belong to (``vae.``, ``denoiser.``, ``text.``, ``length.``, plus the
normaliser's statistics).
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from motion_core.formats.checkpoint import (CheckpointError, load_checkpoint, module_shapes, read_config,
                                            save_checkpoint, validate_config)
from motion_core.generation.diffusion import NoiseSchedule
from motion_core.generation.normalization import FeatureNormalizer
from motion_core.kinematics.representation import feature_slices, joints_to_features
from motion_core.kinematics.skeleton import Skeleton, get_skeleton
from motion_core.models import build_denoiser, build_length_predictor, build_vae, denoiser_config_dict
from motion_core.text import build_text_encoder

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "default_model"
DEFAULT_MAX_FRAMES = 196


class ModelNotFoundError(FileNotFoundError):
    """No checkpoint at the requested path, or no default model installed."""


class Components(NamedTuple):
    """Everything an Engine is built from."""
    vae: torch.nn.Module
    denoiser: torch.nn.Module
    text_encoder: torch.nn.Module
    normalizer: FeatureNormalizer
    schedule: NoiseSchedule
    config: dict
    length_predictor: torch.nn.Module | None
    source: str


def tiny_config(denoiser_type: str = "mamba_unet") -> dict:
    """A checkpoint config for a very small model: fast enough for tests on two CPU cores."""
    denoisers = {
        "mamba_unet": {"type": "mamba_unet", "latent_dim": 8, "text_dim": 32, "width": 32,
                       "scan_kinds": [["fwd", "rev"], ["fwd"]], "spatial_groups": 4, "d_state": 4,
                       "expand": 1, "num_heads": 2, "ffn_mult": 1, "num_mid_layers": 1},
        "transformer": {"type": "transformer", "latent_dim": 8, "text_dim": 32, "width": 32, "num_layers": 2,
                        "num_heads": 2, "ffn_mult": 2},
    }
    return {
        "format_version": 1,
        "name": f"tiny-random-{denoiser_type}",
        "architecture": {
            "vae": {"feature_dim": 263, "latent_dim": 8, "width": 32, "num_down": 2, "res_blocks": 1},
            "denoiser": denoisers[denoiser_type],
            "text": {"type": "offline", "dim": 32, "layers": 1, "heads": 2, "ff_dim": 64, "num_buckets": 1024,
                     "max_tokens": 16, "max_char_ngrams": 8, "dropout": 0.0},
        },
        "text_encoder_type": "offline",
        # x0-prediction keeps an untrained model's latents at the scale of its outputs (epsilon-prediction
        # would divide by sqrt(alpha_bar) ~ 0.07 at the first step and blow them up).
        "diffusion": {"num_train_steps": 1000, "beta_schedule": "scaled_linear", "prediction": "sample"},
        "fps": 20.0,
        "skeleton": "humanml3d",
        "feature_dim": 263,
        "training": {"max_frames": DEFAULT_MAX_FRAMES, "latent_scale": 1.0},
    }


def load_components(path) -> Components:
    """Read a checkpoint directory (the bundled default model when `path` is None) into modules."""
    directory = checkpoint_dir(path)
    config = _read_model_config(directory)
    vae, denoiser, text = build_modules(config)
    length = None
    if "length_predictor" in config:   # optional: older checkpoints have none and keep DEFAULT_SECONDS
        length = build_length_predictor(config["length_predictor"]["architecture"])
    expected = {**module_shapes("vae.", vae), **module_shapes("denoiser.", denoiser)}
    config, tensors = load_checkpoint(directory, expected=expected, built={"text": text, "length": length})
    _load_state(vae, tensors, "vae.")
    _load_state(denoiser, tensors, "denoiser.")
    if any(k.startswith("text.") for k in tensors):
        _load_state(text, tensors, "text.")
    if length is not None:
        _load_state(length, tensors, "length.")
    return Components(vae, denoiser, text, FeatureNormalizer.from_tensors(tensors),
                      NoiseSchedule.from_config(config["diffusion"]), config, length, str(directory))


def random_components(config: dict | None, seed: int) -> Components:
    """An untrained model from a checkpoint config (default: `tiny_config()`), reproducible under `seed`.

    Layers the models zero-initialise (output projections, AdaLN gates) get small random weights, so the
    prompt and the seed visibly change the result as they would with a trained model. The normaliser is
    centred on the rest pose standing still, so decoded motions look like (noisy) people.
    """
    config = validate_config(dict(config or tiny_config()))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vae, denoiser, text = build_modules(config)
        for module in (vae, denoiser):
            for parameter in module.parameters():
                if not parameter.detach().any():
                    torch.nn.init.normal_(parameter, std=0.05)
    skeleton = get_skeleton(config.get("skeleton", "humanml3d"))
    return Components(vae, denoiser, text, rest_pose_normalizer(skeleton),
                      NoiseSchedule.from_config(config["diffusion"]), config, None, f"random(seed={seed})")


def components_config(vae, denoiser, text_encoder, schedule: NoiseSchedule, name: str, training: dict | None
                      ) -> dict:
    """The checkpoint config of modules built in Python (e.g. by a training script)."""
    return {
        "format_version": 1, "name": name,
        "architecture": {"vae": vae.config.to_dict(), "denoiser": denoiser_config_dict(denoiser),
                         "text": text_encoder.config()},
        "text_encoder_type": text_encoder.config()["type"],
        "diffusion": schedule.config(),
        "fps": 20.0, "skeleton": "humanml3d", "feature_dim": vae.config.feature_dim,
        "training": dict(training or {}),
    }


def save_engine(engine, path) -> Path:
    """Write `engine` as a checkpoint directory that `load_components` reads back."""
    tensors = {**_prefixed(engine.vae, "vae."), **_prefixed(engine.denoiser, "denoiser.")}
    if getattr(engine.text_encoder, "trainable", False):
        tensors.update(_prefixed(engine.text_encoder, "text."))
    tensors.update(engine.normalizer.to_tensors())
    config = dict(engine.config)
    config.pop("length_predictor", None)
    if engine.length_predictor is not None:
        tensors.update(_prefixed(engine.length_predictor, "length."))
        entry = dict(engine.config.get("length_predictor") or {})
        entry["architecture"] = engine.length_predictor.config.to_dict()
        config["length_predictor"] = entry
    return save_checkpoint(path, tensors, config)


def checkpoint_dir(path) -> Path:
    """The checkpoint directory `path` names (config.json or model.safetensors inside it also work)."""
    if path is None:
        directory = DEFAULT_MODEL_DIR
        if not ((directory / "config.json").is_file() and (directory / "model.safetensors").is_file()):
            raise ModelNotFoundError(
                f"no default model is installed (expected config.json and model.safetensors in {directory}); "
                "pass a checkpoint directory (--checkpoint DIR) or install the released model there")
        return directory
    directory = Path(path).expanduser()
    if directory.is_file() and directory.name in ("config.json", "model.safetensors"):
        directory = directory.parent
    if not directory.is_dir():
        raise ModelNotFoundError(f"checkpoint {str(path)!r} not found (expected a directory with config.json "
                                 "and model.safetensors)")
    return directory


def build_modules(config: dict):
    """(vae, denoiser, text encoder) as the config's architecture describes them, untrained."""
    arch = config["architecture"]
    return build_vae(arch["vae"]), build_denoiser(arch["denoiser"]), build_text_encoder(dict(arch["text"]))


def check_components(engine) -> None:
    """Refuse modules that do not fit together (widths, latent sizes, feature count, training limits)."""
    text_dim = getattr(engine.text_encoder, "dim", None)
    wanted = getattr(engine.denoiser.config, "text_dim", None)
    if text_dim is not None and wanted is not None and text_dim != wanted:
        raise ValueError(f"text encoder width {text_dim} != denoiser text_dim {wanted}")
    if engine.vae.config.latent_dim != engine.denoiser.config.latent_dim:
        raise ValueError(f"VAE latent_dim {engine.vae.config.latent_dim} != denoiser latent_dim "
                         f"{engine.denoiser.config.latent_dim}")
    if engine.normalizer.dim != engine.skeleton.feature_dim:
        raise ValueError(f"normaliser covers {engine.normalizer.dim} features; skeleton {engine.skeleton.name!r} "
                         f"has {engine.skeleton.feature_dim}")
    if engine.length_predictor is not None:
        check_predictor_width(engine.length_predictor, engine.text_encoder)
    if engine.max_frames < 1 or engine.latent_scale <= 0:
        raise ValueError(f"bad training.max_frames {engine.max_frames} or latent_scale {engine.latent_scale}")


def check_predictor_width(predictor: torch.nn.Module, text_encoder: torch.nn.Module) -> None:
    width = getattr(text_encoder, "dim", None)
    if width is not None and predictor.config.text_dim != width:
        raise ValueError(f"length predictor reads {predictor.config.text_dim}-wide text features; the text "
                         f"encoder gives {width}")


def rest_pose_normalizer(skeleton: Skeleton) -> FeatureNormalizer:
    """Statistics of someone standing in the rest pose, with plausible spreads per feature block."""
    rest = skeleton.rest_positions()
    rest = rest - np.array([0.0, rest[:, 1].min(), 0.0])  # feet on the floor
    mean = joints_to_features(np.repeat(rest[None], 8, axis=0), skeleton).mean(axis=0)
    s = feature_slices(skeleton)
    std = np.empty(s.dim)
    for block, spread in ((s.root_rot_vel, 0.01), (s.root_lin_vel, 0.01), (s.root_y, 0.02), (s.ric, 0.03),
                          (s.rot6d, 0.1), (s.local_vel, 0.01), (s.contacts, 0.5)):
        std[block] = spread
    return FeatureNormalizer(mean, std)


def _read_model_config(directory: Path) -> dict:
    """The validated config, refusing partial checkpoints (e.g. a VAE-only pre-training one) up front."""
    config = read_config(directory)
    missing = [f"architecture.{key}" for key in ("vae", "denoiser", "text") if key not in config["architecture"]]
    if "diffusion" not in config:
        missing.append("diffusion")
    if missing:
        raise CheckpointError(f"{directory} is not a complete text-to-motion model: config.json lacks "
                              f"{', '.join(missing)}")
    return config


def _load_state(module: torch.nn.Module, tensors: dict[str, torch.Tensor], prefix: str) -> None:
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    module.load_state_dict(state, strict=True)


def _prefixed(module: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in module.state_dict().items()}

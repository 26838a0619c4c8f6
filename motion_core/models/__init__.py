"""The networks: motion VAE and the two denoisers (Motion Mamba U-Net, transformer baseline).

Builders take plain dicts (as stored in checkpoint JSON) so loading code needs no class names:

    denoiser = build_denoiser({"type": "mamba_unet", "width": 256})
    vae = build_vae({"latent_dim": 32})
"""
from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from .config import ConfigError, ModelConfig
from .denoiser import DenoiserConfig, MambaUNetDenoiser
from .length_predictor import LengthPredictor, LengthPredictorConfig, build_length_predictor
from .transformer_denoiser import TransformerDenoiser, TransformerDenoiserConfig
from .vae import MotionVAE, VAEConfig, VAEOutput

DENOISERS: dict[str, tuple[type[ModelConfig], type[nn.Module]]] = {
    "mamba_unet": (DenoiserConfig, MambaUNetDenoiser),
    "transformer": (TransformerDenoiserConfig, TransformerDenoiser),
}


def build_denoiser(config: Mapping[str, Any]) -> nn.Module:
    """Denoiser from a dict with "type" in DENOISERS and that type's config fields (missing = default)."""
    if not isinstance(config, Mapping) or "type" not in config:
        raise ConfigError(f"denoiser config needs a 'type' key, one of {sorted(DENOISERS)}; got {config!r}")
    kind = config["type"]
    if kind not in DENOISERS:
        raise ConfigError(f"unknown denoiser type {kind!r}; expected one of {sorted(DENOISERS)}")
    config_cls, model_cls = DENOISERS[kind]
    return model_cls(config_cls.from_dict(config))


def denoiser_config_dict(model: nn.Module) -> dict[str, Any]:
    """The dict `build_denoiser` rebuilds `model` from (its config plus the "type" key)."""
    for kind, (_, model_cls) in DENOISERS.items():
        if type(model) is model_cls:
            return {"type": kind, **model.config.to_dict()}
    raise TypeError(f"{type(model).__name__} is not a registered denoiser")


def build_vae(config: Mapping[str, Any] | None = None) -> MotionVAE:
    """MotionVAE from a dict of VAEConfig fields (missing = default)."""
    return MotionVAE(VAEConfig.from_dict(config or {}))


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


__all__ = [
    "ConfigError", "DenoiserConfig", "MambaUNetDenoiser", "TransformerDenoiserConfig", "TransformerDenoiser",
    "VAEConfig", "MotionVAE", "VAEOutput", "build_denoiser", "build_vae", "count_parameters",
    "denoiser_config_dict", "LengthPredictor", "LengthPredictorConfig", "build_length_predictor",
]

"""Text encoders: prompt strings -> per-token features the denoiser cross-attends to.

Every encoder implements `TextEncoder`: ``encode(prompts) -> (tokens (B, N, E) float, mask (B, N) bool)`` where
``mask`` is True for real tokens and False for padding. The empty prompt ``""`` is always accepted: it is the
unconditional input of classifier-free guidance.

`build_text_encoder(config)` dispatches on ``config["type"]``; an encoder's own ``config()`` round-trips through it,
which is how a checkpoint's ``config.json`` rebuilds the encoder it was trained with.
"""
from __future__ import annotations

import torch
from torch import nn


class TextEncoder(nn.Module):
    """Interface of all text encoders. Subclasses set `dim` (E) and `trainable`, and implement the methods."""

    dim: int
    trainable: bool

    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch of prompts to (tokens (B, N, dim), mask (B, N) bool, True = real token)."""
        return self.forward_prepared(*self.prepare(prompts))

    # Encoders may split `encode` in two: `prepare` does the host work (tokenising) and returns tensors on the
    # encoder's device; `forward_prepared` is tensor work only, which the engine can replay as a CUDA graph.
    def prepare(self, prompts: list[str]) -> tuple[torch.Tensor, ...]:
        """The host half of `encode`: tensors on this encoder's device for `forward_prepared`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement prepare()")

    def forward_prepared(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The device half of `encode`: no host work, no read-back (capturable)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward_prepared()")

    @property
    def splits_encoding(self) -> bool:
        """Whether this encoder implements `prepare` and `forward_prepared`."""
        return type(self).prepare is not TextEncoder.prepare

    def config(self) -> dict:
        """JSON-serialisable dict, including "type", that `build_text_encoder` turns back into this encoder."""
        raise NotImplementedError(f"{type(self).__name__} does not implement config()")

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")


ENCODER_TYPES = ("offline", "wordvec", "openclip")


def build_text_encoder(config: dict) -> TextEncoder:
    """Build the encoder `config["type"]` names ("offline", "wordvec" or "openclip") from the rest of the config's keys."""
    if not isinstance(config, dict):
        raise TypeError(f"text encoder config must be a dict, got {type(config).__name__}")
    kind = config.get("type")
    kwargs = {k: v for k, v in config.items() if k != "type"}
    if kind == "offline":
        from motion_core.text.offline import OfflineTextEncoder
        return OfflineTextEncoder(**kwargs)
    if kind == "wordvec":
        from motion_core.text.wordvec import WordVecTextEncoder
        return WordVecTextEncoder(**kwargs)
    if kind == "openclip":
        from motion_core.text.openclip import OpenCLIPTextEncoder
        return OpenCLIPTextEncoder(**kwargs)
    raise ValueError(f"unknown text encoder type {kind!r}; expected one of {list(ENCODER_TYPES)}")


__all__ = ["TextEncoder", "build_text_encoder", "ENCODER_TYPES"]

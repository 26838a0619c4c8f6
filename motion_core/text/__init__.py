"""Text encoders: prompt strings -> per-token features the denoiser cross-attends to.

Every encoder implements `TextEncoder`: ``encode(prompts) -> (tokens (B, N, E) float, mask (B, N) bool)`` where
``mask`` is True for real tokens and False for padding. The empty prompt ``""`` is always accepted: it is the
unconditional input of classifier-free guidance.

`build_text_encoder(config)` dispatches on ``config["type"]``; an encoder's own ``config()`` round-trips through it,
which is how a checkpoint's ``config.json`` rebuilds the encoder it was trained with.
"""
from __future__ import annotations

from motion_core.text.base import TextEncoder

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

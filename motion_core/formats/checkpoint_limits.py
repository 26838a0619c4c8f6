"""Checkpoint format rules: the format version, file names, size limits, and the error for breaking them.

Every part of `motion_core.formats.checkpoint` (config schema and validation, safetensors header, tensor shapes,
reading and writing) checks against these limits and raises `CheckpointError`.
"""
from __future__ import annotations

__all__ = ["FORMAT_VERSION", "CONFIG_NAME", "WEIGHTS_NAME", "TENSOR_PREFIXES", "MAX_WIDTH", "MAX_LAYERS", "MAX_PARAMS",
           "MAX_CONFIG_BYTES", "MAX_HEADER_BYTES", "ALLOWED_DTYPES", "CheckpointError"]

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
TENSOR_PREFIXES = ("vae.", "denoiser.", "text.", "normalizer.", "length.")

MAX_WIDTH = 4096            # any width/dim/channels/heads-like size
MAX_LAYERS = 64             # any layers/depth/blocks-like count
MAX_PARAMS = 2_000_000_000  # estimated parameters of the whole model
MAX_CONFIG_BYTES = 1 << 20
MAX_HEADER_BYTES = 64 << 20
ALLOWED_DTYPES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
                  "BOOL": 1}


class CheckpointError(ValueError):
    """A checkpoint (config or tensors) is malformed, inconsistent, or unsafe to load."""

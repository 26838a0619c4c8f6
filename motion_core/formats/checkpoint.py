"""Model checkpoints: a directory holding ``model.safetensors`` and ``config.json``.

Checkpoints are downloaded and shared, so loading one is treated as parsing untrusted input:

- tensors come only from safetensors (never torch.load / pickle, which can run arbitrary code);
- ``config.json`` is validated by `validate_config` *before* anything is allocated from it: a crafted config
  asking for a 10^12-parameter model, or a string where a width belongs, is rejected with a message naming the
  offending key;
- the safetensors header is read and checked (dtypes, shapes, byte ranges, key prefixes, shapes implied by the
  config) before any tensor data is loaded.

This module reads and writes whole checkpoints (`load_checkpoint`, `save_checkpoint`) and is the front
of the checkpoint parts, whose public names it re-exports: `checkpoint_limits` (format version, limits,
`CheckpointError`), `config_schema` and `checkpoint_config` (``config.json``), `safetensors_header` and
`checkpoint_shapes` (tensors).

Tensor keys are prefixed by the module they belong to: ``vae.``, ``denoiser.``, ``text.`` (only for trainable
text encoders), ``normalizer.`` (``normalizer.mean`` / ``normalizer.std``) and ``length.`` (the optional length
predictor, present exactly when ``config["length_predictor"]`` is; older checkpoints have neither). Saving is atomic: files are
written to a temporary sibling directory that is renamed into place, so a crash never leaves a half checkpoint.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import torch

from motion_core.formats.checkpoint_config import estimate_parameters, read_config, validate_config
from motion_core.formats.checkpoint_limits import (CONFIG_NAME, FORMAT_VERSION, MAX_CONFIG_BYTES, MAX_HEADER_BYTES,
                                                   MAX_LAYERS, MAX_PARAMS, MAX_WIDTH, TENSOR_PREFIXES, WEIGHTS_NAME,
                                                   CheckpointError)
from motion_core.formats.checkpoint_shapes import check_tensor_shapes, expected_shapes, module_shapes
from motion_core.formats.safetensors_header import read_safetensors_header


def load_checkpoint(path: str | os.PathLike, expected: dict[str, tuple[int, ...]] | None = None,
                    device: str | torch.device = "cpu", built: dict[str, torch.nn.Module] | None = None
                    ) -> tuple[dict, dict[str, torch.Tensor]]:
    """Load (config, tensors) from checkpoint directory `path`, validating everything before allocating.

    `expected` optionally maps tensor keys to shapes for modules whose shapes the config alone does not fix
    (typically ``module_shapes("denoiser.", meta_built_denoiser)``); every key under such a prefix must match.
    `built`: the text encoder / length predictor already built from this checkpoint's config, if the caller has
    them (see `expected_shapes`).
    """
    path = Path(path)
    config = read_config(path)
    header = read_safetensors_header(path / WEIGHTS_NAME)
    total = sum(math.prod(entry.shape) for entry in header.values())
    if total > MAX_PARAMS:
        raise CheckpointError(f"{path / WEIGHTS_NAME} holds {total:.3g} values, more than {MAX_PARAMS:.3g}")
    check_tensor_shapes(config, {k: e.shape for k, e in header.items()}, expected, built)
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        tensors = load_file(str(path / WEIGHTS_NAME), device=str(device))
    except SafetensorError as error:  # anything the header checks above did not anticipate
        raise CheckpointError(f"{path / WEIGHTS_NAME} could not be read: {error}") from error
    return config, tensors


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------

def save_checkpoint(path: str | os.PathLike, tensors: dict[str, torch.Tensor], config: dict,
                    expected: dict[str, tuple[int, ...]] | None = None) -> Path:
    """Validate, then atomically write `tensors` and `config` as checkpoint directory `path`.

    An existing checkpoint at `path` is replaced only once the new one is complete; a directory at `path` that
    is not a checkpoint is never overwritten.
    """
    from safetensors.torch import save_file
    path = Path(path)
    validate_config(config)
    for key, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"tensor {key!r} is a {type(value).__name__}, not a torch.Tensor")
    check_tensor_shapes(config, {k: tuple(v.shape) for k, v in tensors.items()}, expected)
    if path.exists() and not (path / CONFIG_NAME).is_file() and (not path.is_dir() or any(path.iterdir())):
        raise CheckpointError(f"refusing to overwrite {path}: it exists and is not a checkpoint directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a checkpoint is meant to be shared and packaged
        save_file(_storable(tensors), str(staging / WEIGHTS_NAME), metadata={"format_version": str(FORMAT_VERSION)})
        (staging / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True, allow_nan=False) + "\n",
                                           encoding="utf-8")
        for file in staging.iterdir():
            file.chmod(0o644)  # safetensors creates its file private (0600): same reason as the directory
        _fsync_tree(staging)
        _swap_into_place(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _storable(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU, contiguous, detached tensors that share no storage (safetensors refuses shared storage)."""
    out, seen = {}, set()
    for key, value in tensors.items():
        t = value.detach().to("cpu").contiguous()
        pointer = t.untyped_storage().data_ptr()
        if pointer in seen:
            t = t.clone()
        seen.add(pointer)
        out[key] = t
    return out


def _fsync_tree(directory: Path) -> None:
    for file in directory.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())


def _swap_into_place(staging: Path, path: Path) -> None:
    if not path.exists():
        os.replace(staging, path)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
    backup.rmdir()
    os.replace(path, backup)
    try:
        os.replace(staging, path)
    except BaseException:
        os.replace(backup, path)  # put the previous checkpoint back
        raise
    shutil.rmtree(backup, ignore_errors=True)


__all__ = ["FORMAT_VERSION", "CheckpointError", "validate_config", "estimate_parameters", "module_shapes",
           "expected_shapes", "check_tensor_shapes", "read_config", "read_safetensors_header",
           "load_checkpoint", "save_checkpoint",
           # re-exported limits (motion_core.formats.checkpoint_limits)
           "CONFIG_NAME", "WEIGHTS_NAME", "TENSOR_PREFIXES", "MAX_WIDTH", "MAX_LAYERS", "MAX_PARAMS",
           "MAX_CONFIG_BYTES", "MAX_HEADER_BYTES"]

"""Checkpoint tensor shapes: which tensors a config implies, and the check that a checkpoint holds exactly those.

`check_tensor_shapes` compares a checkpoint's tensor keys and shapes (from the safetensors header, before
any data is read, or from tensors about to be saved) with what its config implies (`expected_shapes`) and
with shapes the caller knows (`module_shapes` of modules built on the "meta" device).
"""
from __future__ import annotations

import torch

from motion_core.formats.checkpoint_config import TRAINABLE_TEXT_TYPES, length_predictor_config
from motion_core.formats.checkpoint_limits import TENSOR_PREFIXES, CheckpointError

__all__ = ["module_shapes", "expected_shapes", "check_tensor_shapes"]


def module_shapes(prefix: str, module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """{prefix + name: shape} of a module's state dict; build the module on the "meta" device to stay free."""
    return {f"{prefix}{name}": tuple(t.shape) for name, t in module.state_dict().items()}


def expected_shapes(config: dict, built: dict[str, torch.nn.Module] | None = None
                    ) -> dict[str, dict[str, tuple[int, ...]]]:
    """Shapes the config itself implies, grouped by prefix: the normaliser and a trainable text encoder.

    VAE and denoiser shapes depend on modules defined elsewhere; callers pass them to `load_checkpoint` through
    `expected` (see `module_shapes`). `built` may hold the "text" encoder and "length" predictor the caller has
    already built from this config; the others are built on the "meta" device. That is free in memory but not in
    time: initialising a meta tensor imports TorchDynamo, 1.3 s of a cold `Engine.load` that took 1.7 s.
    """
    built = built or {}
    groups: dict[str, dict[str, tuple[int, ...]]] = {}
    if "feature_dim" in config:
        d = config["feature_dim"]
        groups["normalizer."] = {"normalizer.mean": (d,), "normalizer.std": (d,)}
    text = config["architecture"].get("text")
    if text is not None:
        if text["type"] in TRAINABLE_TEXT_TYPES:
            from motion_core.text import build_text_encoder
            groups["text."] = module_shapes("text.", _built_or_meta(built.get("text"),
                                                                    lambda: build_text_encoder(text)))
        else:
            groups["text."] = {}  # frozen encoders load their own weights; the checkpoint holds none
    if "length_predictor" in config:
        from motion_core.models.length_predictor import LengthPredictor
        arch = config["length_predictor"]["architecture"]
        predictor = _built_or_meta(built.get("length"), lambda: LengthPredictor(length_predictor_config(arch)))
        groups["length."] = module_shapes("length.", predictor)
    return groups


def _built_or_meta(module: torch.nn.Module | None, build) -> torch.nn.Module:
    if module is not None:
        return module
    with torch.device("meta"):
        return build()


def check_tensor_shapes(config: dict, shapes: dict[str, tuple[int, ...]],
                        expected: dict[str, tuple[int, ...]] | None = None,
                        built: dict[str, torch.nn.Module] | None = None) -> None:
    """Raise CheckpointError if tensor keys/shapes disagree with the config (and `expected`, if given); `built`:
    see `expected_shapes`."""
    for key in shapes:
        if not key.startswith(TENSOR_PREFIXES):
            raise CheckpointError(f"tensor {key!r:.80} has no known module prefix {list(TENSOR_PREFIXES)}")
    arch = config["architecture"]
    for module in ("vae", "denoiser"):
        has_tensors = any(k.startswith(f"{module}.") for k in shapes)
        if has_tensors and module not in arch:
            raise CheckpointError(f"checkpoint has {module}.* tensors but config.json has no architecture.{module}")
        if module in arch and not has_tensors:
            raise CheckpointError(f"config.json describes architecture.{module} but there are no {module}.* tensors")
    if "length_predictor" not in config and any(k.startswith("length.") for k in shapes):
        raise CheckpointError("checkpoint has length.* tensors but config.json has no length_predictor entry")
    groups = expected_shapes(config, built)
    if expected:
        for key, shape in expected.items():
            groups.setdefault(key.split(".", 1)[0] + ".", {})[key] = tuple(shape)
    for prefix, wanted in groups.items():
        present = {k: tuple(s) for k, s in shapes.items() if k.startswith(prefix)}
        if prefix == "normalizer." and not present:
            continue  # the normaliser is optional (e.g. a VAE-only pre-training checkpoint)
        _compare(prefix, present, wanted)


def _compare(prefix: str, present: dict, wanted: dict) -> None:
    missing = sorted(set(wanted) - set(present))
    unexpected = sorted(set(present) - set(wanted))
    wrong = [f"{k}: {present[k]} (config implies {wanted[k]})"
             for k in sorted(set(present) & set(wanted)) if present[k] != tuple(wanted[k])]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing[:8]}{' ...' if len(missing) > 8 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}")
        if wrong:
            parts.append("shape mismatch " + "; ".join(wrong[:8]))
        raise CheckpointError(f"{prefix}* tensors do not match config.json: " + ", ".join(parts))

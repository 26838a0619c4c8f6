#!/usr/bin/env python3
"""Carrying a text-tuned model back from the GPU machine as its tuned part only.

    python benchmarks/device_jobs/encoder_delta.py extract TUNED_MODEL DELTA_DIR
    python benchmarks/device_jobs/encoder_delta.py apply BASE_MODEL DELTA_DIR OUT_MODEL

Why: a device call returns files of at most 16 MiB, and the bundled model is 26 MB, but `train.text_tuning`
changes only the text encoder's trained weights (~3 MB; its word table and tokenizer are frozen buffers). So
`extract` writes DELTA_DIR/text_encoder.safetensors (those weights) and DELTA_DIR/config.json (the tuned model's
config, which records the tuning), and `apply` rebuilds the tuned model from the base it was tuned from: the
base's tensors with the delta's swapped in, under the delta's config. `apply` refuses a delta whose tensors the
base lacks or shapes differently, and a base that differs from the tuned model anywhere else (the delta records
a digest of every other tensor: a delta applied to the wrong base would give a model nobody measured).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # run as a script from anywhere

from motion_core.formats.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from train.text_tuning import tuned_keys  # noqa: E402

WEIGHTS = "text_encoder.safetensors"
CONFIG = "config.json"


def untouched_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, dtypes and bytes of every tensor tuning leaves alone."""
    digest = hashlib.sha256()
    tuned = set(tuned_keys(tensors))
    for key in sorted(k for k in tensors if k not in tuned):
        value = tensors[key].contiguous()
        digest.update(f"{key}:{value.dtype}:{tuple(value.shape)};".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def extract(tuned: Path, out: Path) -> Path:
    config, tensors = load_checkpoint(tuned)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: tensors[k].contiguous() for k in tuned_keys(tensors)}, str(out / WEIGHTS),
              metadata={"untouched_digest": untouched_digest(tensors)})
    (out / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def apply(base: Path, delta: Path, out: Path) -> Path:
    _, tensors = load_checkpoint(base)
    with safe_open(str(delta / WEIGHTS), "pt") as handle:
        recorded = (handle.metadata() or {}).get("untouched_digest")
    if recorded != untouched_digest(tensors):
        raise ValueError(f"{base} is not the model {delta} was tuned from: tensors outside the text encoder's "
                         "tuned weights differ")
    weights = load_file(str(delta / WEIGHTS))
    for key, value in weights.items():
        if key not in tensors or tuple(tensors[key].shape) != tuple(value.shape):
            raise ValueError(f"{base} has no tensor {key} of shape {tuple(value.shape)}")
        tensors[key] = value.to(tensors[key].dtype)
    config = json.loads((delta / CONFIG).read_text(encoding="utf-8"))
    return save_checkpoint(out, tensors, config)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="encoder_delta.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("extract", help="write a tuned model's text-encoder weights and config")
    take.add_argument("tuned", type=Path)
    take.add_argument("delta", type=Path)
    put = commands.add_parser("apply", help="rebuild the tuned model from its base and a delta")
    put.add_argument("base", type=Path)
    put.add_argument("delta", type=Path)
    put.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    try:
        path = extract(args.tuned, args.delta) if args.command == "extract" else apply(args.base, args.delta, args.out)
    except (OSError, ValueError) as error:   # CheckpointError is a ValueError
        print(f"encoder_delta.py: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

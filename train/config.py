"""Training configuration: a JSON file merged over defaults, validated before anything is built.

Layout (see train/configs/default.json):

    {"name": ..., "seed": ..., "stages": ["vae", "denoiser"],
     "data":     {"root", "texts_dir", "min_frames", "max_frames", "drop_frames", "num_workers", "limit",
                  "device_bank" (true: every training window lives on the training device, see
                  train/data/motion_bank.py; false: batches are built on the host by loader workers)},
     "vae":      {"model": VAEConfig fields, "optim": {...}, "freeze_encoder": false (true: refine the decoder of
                  an --init-from VAE alone; its latents stay as they were, so the checkpoint's denoiser stays valid)},
     "denoiser": {"model": build_denoiser dict, "text": text encoder config ("offline" or "wordvec"), "diffusion": NoiseSchedule
                  config (+ sampler/sample_steps/guidance for export), "cond_drop": 0.1, "open_text_gates": false (true:
                  fold the text gates of the --init-from model into their attentions and train them open, see
                  train/text_gates.py), "optim": {...}}}

Every optim block takes the keys of OPTIM_DEFAULTS. Unknown keys are errors: a typo ("max_step") must not
silently train with the default.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

STAGES = ("vae", "denoiser")
# "offline": hashed words, knows nothing before training; "wordvec": frozen pretrained word vectors (WordLlama,
# see train/word_vectors.py) under a trained transformer; its "vectors" key names the file train.word_vectors wrote.
TRAINED_TEXT_TYPES = ("offline", "wordvec")
DDP_GRAD_DTYPES = ("float32", "bfloat16")

OPTIM_DEFAULTS: dict[str, Any] = {
    "batch_size": 64,          # per process
    "max_steps": 1000,
    "lr": 2e-4,
    "weight_decay": 0.0,
    "betas": [0.9, 0.99],
    "warmup_steps": 100,
    "min_lr_ratio": 0.05,      # cosine decays to lr * min_lr_ratio
    "grad_clip": 1.0,
    "ema_decay": 0.999,
    "checkpoint_every": 500,
    "log_every": 25,
    # Also keep the EMA weights of every checkpoint as models/step_NNNNNN/ (a few tens of MB each), so a
    # training curve can be evaluated afterwards, and the best step shipped rather than the last.
    "keep_models": False,
    # Data-parallel runs only (torchrun, N > 1): DDP's all-reduce bucket size in MiB, and the dtype gradients
    # travel in ("bfloat16" halves the bytes; the average is then rounded to bf16's 8-bit mantissa; CUDA only).
    "ddp_bucket_mb": 25.0,
    "ddp_grad_dtype": "float32",
}

DEFAULTS: dict[str, Any] = {
    "name": "motion-mamba",
    "seed": 1234,
    "stages": list(STAGES),
    "data": {"root": None, "texts_dir": "texts", "min_frames": 40, "max_frames": 196, "drop_frames": 200,
             "num_workers": 2, "limit": None, "device_bank": False},
    "vae": {"model": {}, "optim": {}, "freeze_encoder": False},
    "denoiser": {"model": {"type": "mamba_unet"}, "text": {"type": "offline"},
                 "diffusion": {"num_train_steps": 1000, "beta_schedule": "scaled_linear", "prediction": "epsilon",
                               "sampler": "ddim", "sample_steps": 20, "guidance": 2.5},
                 "cond_drop": 0.1, "latent_scale_batches": 8, "open_text_gates": False, "optim": {}},
}

_SECTION_KEYS = {
    "vae": {"model", "optim", "freeze_encoder"},
    "denoiser": {"model", "text", "diffusion", "cond_drop", "latent_scale_batches", "open_text_gates", "optim"},
}


class TrainConfigError(ValueError):
    """The training config is malformed; the message names the offending key."""


def load_config(path: str | Path, word_vectors: str | Path | None = None) -> dict:
    """The config at `path`, resolved; `word_vectors` (a train.word_vectors directory or file) sets
    denoiser.text.vectors."""
    path = Path(path)
    if not path.is_file():
        raise TrainConfigError(f"training config {path} not found")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise TrainConfigError(f"{path} is not valid JSON: {error}") from error
    if word_vectors is not None:
        file = Path(word_vectors)
        if file.is_dir():
            file = file / "word_vectors.safetensors"
        raw.setdefault("denoiser", {}).setdefault("text", {})["vectors"] = str(file)
    config = resolve_config(raw)
    if word_vectors is not None and config["denoiser"]["text"]["type"] != "wordvec":
        raise TrainConfigError(f"word vectors given, but {path} trains a {config['denoiser']['text']['type']!r} "
                               "text encoder (denoiser.text.type must be 'wordvec')")
    return config


def resolve_config(raw: dict) -> dict:
    """Defaults <- raw, checked. Model sub-dicts are replaced/merged shallowly, optim blocks key by key."""
    if not isinstance(raw, dict):
        raise TrainConfigError(f"a training config is a JSON object, got {type(raw).__name__}")
    _reject_unknown(raw, set(DEFAULTS), "")
    config = copy.deepcopy(DEFAULTS)
    for key, value in raw.items():
        if key in ("vae", "denoiser", "data"):
            if not isinstance(value, dict):
                raise TrainConfigError(f"{key} must be an object")
            allowed = set(DEFAULTS["data"]) if key == "data" else _SECTION_KEYS[key]
            _reject_unknown(value, allowed, key)
            for sub, item in value.items():
                if isinstance(item, dict) and sub in ("model", "text", "diffusion"):
                    config[key][sub] = {**config[key][sub], **item}
                else:
                    config[key][sub] = item
        else:
            config[key] = value
    for stage in STAGES:
        optim = config[stage]["optim"]
        _reject_unknown(optim, set(OPTIM_DEFAULTS), f"{stage}.optim")
        config[stage]["optim"] = {**OPTIM_DEFAULTS, **optim}
    _check(config)
    return config


def _reject_unknown(block: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(block) - allowed)
    if unknown:
        raise TrainConfigError(f"unknown key(s) {unknown} in {where or 'config'}; allowed: {sorted(allowed)}")


def _check(config: dict) -> None:
    stages = config["stages"]
    if not isinstance(stages, list) or not stages or any(s not in STAGES for s in stages):
        raise TrainConfigError(f"stages must be a non-empty list drawn from {list(STAGES)}, got {stages!r}")
    for stage in STAGES:
        optim = config[stage]["optim"]
        for key in ("batch_size", "max_steps", "checkpoint_every", "log_every"):
            if type(optim[key]) is not int or optim[key] < 1:
                raise TrainConfigError(f"{stage}.optim.{key} must be a positive integer, got {optim[key]!r}")
        if type(optim["warmup_steps"]) is not int or optim["warmup_steps"] < 0:
            raise TrainConfigError(f"{stage}.optim.warmup_steps must be an integer >= 0")
        if not 0.0 <= float(optim["ema_decay"]) < 1.0:
            raise TrainConfigError(f"{stage}.optim.ema_decay must be in [0, 1), got {optim['ema_decay']}")
        if not float(optim["ddp_bucket_mb"]) > 0:
            raise TrainConfigError(f"{stage}.optim.ddp_bucket_mb must be positive, got {optim['ddp_bucket_mb']}")
        if optim["ddp_grad_dtype"] not in DDP_GRAD_DTYPES:
            raise TrainConfigError(f"{stage}.optim.ddp_grad_dtype must be one of {DDP_GRAD_DTYPES}, "
                                   f"got {optim['ddp_grad_dtype']!r}")
        if not float(optim["lr"]) > 0:
            raise TrainConfigError(f"{stage}.optim.lr must be positive, got {optim['lr']}")
    for stage, key in (("vae", "freeze_encoder"), ("denoiser", "open_text_gates")):
        if type(config[stage][key]) is not bool:
            raise TrainConfigError(f"{stage}.{key} must be true or false, got {config[stage][key]!r}")
    if not 0.0 <= float(config["denoiser"]["cond_drop"]) < 1.0:
        raise TrainConfigError(f"denoiser.cond_drop must be in [0, 1), got {config['denoiser']['cond_drop']}")
    text = config["denoiser"]["text"]
    if text.get("type") not in TRAINED_TEXT_TYPES:
        raise TrainConfigError(f"denoiser.text.type must be one of {list(TRAINED_TEXT_TYPES)}: the encoders trained "
                               "jointly here")
    if text["type"] == "wordvec" and not isinstance(text.get("vectors"), str):
        raise TrainConfigError("denoiser.text.vectors must name the word-vector file (python -m train.word_vectors "
                               "--out DIR; then DIR/word_vectors.safetensors, or pass --word-vectors DIR to train.fit)")

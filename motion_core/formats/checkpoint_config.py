"""A checkpoint's ``config.json``: its spec, its validation and the model size it implies.

`validate_config` checks a parsed config against `CONFIG_SPEC` (built with `motion_core.formats.config_schema`),
then cross-key consistency and the estimated parameter count (`estimate_parameters`) against `MAX_PARAMS`;
`read_config` parses and validates the file of a checkpoint directory.
"""
from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motion_core.formats.checkpoint_limits import (CONFIG_NAME, FORMAT_VERSION, MAX_CONFIG_BYTES, MAX_LAYERS,
                                                   MAX_PARAMS, MAX_WIDTH, CheckpointError)
from motion_core.formats.config_schema import (LAYER_KEY, WIDTH_KEY, ArchConfig, Float, Int, JsonData, Obj, Str,
                                               fail_at, type_name)
from motion_core.text.offline import OfflineTextEncoder
from motion_core.text.wordvec import WordVecTextEncoder

__all__ = ["OFFLINE_TEXT_SPEC", "WORDVEC_TEXT_SPEC", "OPENCLIP_TEXT_SPEC", "TEXT_SPECS", "TRAINABLE_TEXT_TYPES",
           "trainable_text_defaults", "TextConfig", "DIFFUSION_SPEC", "CONFIG_SPEC",
           "validate_config", "length_predictor_config", "estimate_parameters", "read_config"]


OFFLINE_TEXT_SPEC = Obj(
    fields={"type": Str(("offline",)), "dim": Int(8, MAX_WIDTH), "layers": Int(0, MAX_LAYERS),
            "heads": Int(1, 256), "ff_dim": Int(1, 4 * MAX_WIDTH), "num_buckets": Int(2, 1 << 20),
            "max_tokens": Int(1, 1024), "max_char_ngrams": Int(0, 64), "dropout": Float(0.0, 0.9)},
    required=frozenset({"type"}))
OPENCLIP_TEXT_SPEC = Obj(
    fields={"type": Str(("openclip",)), "model_name": Str(max_len=64, pattern=r"[A-Za-z0-9][A-Za-z0-9_.\-]*"),
            "weights_path": Str(max_len=1024)},
    required=frozenset({"type", "model_name"}))
# "vectors" (a training-time path to the word-vector file) is never saved: the table travels as text.* tensors;
# likewise "gist_vectors", whose table travels as text.gist.* tensors (motion_core.text.sentence_gist).
SENTENCE_GIST_SPEC = Obj(
    fields={"vocab_size": Int(1, 1 << 18), "dim": Int(1, MAX_WIDTH), "tokenizer_bytes": Int(1, 1 << 24),
            "notice": Str(max_len=1024)},
    required=frozenset({"vocab_size", "dim", "tokenizer_bytes"}))
WORDVEC_TEXT_SPEC = Obj(
    fields={"type": Str(("wordvec",)), "dim": Int(8, MAX_WIDTH), "layers": Int(0, MAX_LAYERS),
            "heads": Int(1, 256), "ff_dim": Int(1, 4 * MAX_WIDTH), "max_tokens": Int(1, 1024),
            "dropout": Float(0.0, 0.9), "vocab_size": Int(1, 1 << 18), "word_dim": Int(1, MAX_WIDTH),
            "tokenizer_bytes": Int(1, 1 << 24), "notice": Str(max_len=1024), "gist": SENTENCE_GIST_SPEC},
    required=frozenset({"type", "vocab_size", "tokenizer_bytes"}))
TEXT_SPECS = {"offline": OFFLINE_TEXT_SPEC, "wordvec": WORDVEC_TEXT_SPEC, "openclip": OPENCLIP_TEXT_SPEC}
TRAINABLE_TEXT_TYPES = ("offline", "wordvec")   # encoders whose weights the checkpoint holds


@dataclass(frozen=True)
class TextConfig:
    """The ``architecture.text`` spec: the encoder's own spec, chosen by its ``type``."""
    def check(self, value: Any, path: str) -> None:
        if type(value) is not dict:
            fail_at(path, f"expected an object, got {type_name(value)}")
        kind = value.get("type")
        if kind not in TEXT_SPECS:
            fail_at(f"{path}.type", f"unknown text encoder type {kind!r:.60}; expected one of {sorted(TEXT_SPECS)}")
        TEXT_SPECS[kind].check(value, path)


DIFFUSION_SPEC = Obj(
    fields={"num_train_steps": Int(2, 100_000), "beta_schedule": Str(("scaled_linear", "linear", "cosine")),
            "prediction": Str(("epsilon", "v", "sample")), "beta_start": Float(0.0, 1.0, lo_exclusive=True),
            "beta_end": Float(0.0, 1.0, lo_exclusive=True), "sampler": Str(("ddim", "dpm_solver_pp")),
            "sample_steps": Int(1, 100_000), "guidance": Float(0.0, 100.0), "eta": Float(0.0, 1.0)},
    required=frozenset({"num_train_steps", "beta_schedule", "prediction"}))

CONFIG_SPEC = Obj(
    fields={
        "format_version": Int(FORMAT_VERSION, FORMAT_VERSION),
        "architecture": Obj(fields={"vae": ArchConfig(), "denoiser": ArchConfig(), "text": TextConfig()}),
        "text_encoder_type": Str(tuple(TEXT_SPECS)),
        "diffusion": DIFFUSION_SPEC,
        "fps": Float(0.0, 1000.0, lo_exclusive=True),
        "skeleton": Str(("humanml3d", "kit")),
        "feature_dim": Int(1, MAX_WIDTH),
        "training": JsonData(),
        "name": Str(max_len=256),
        "description": Str(max_len=4096),
        "created": Str(max_len=64),
        # optional (see motion_core.models.length_predictor): its architecture and how well it was fitted
        "length_predictor": Obj(fields={"architecture": ArchConfig(max_depth=1), "metrics": JsonData(max_depth=2)},
                                required=frozenset({"architecture"})),
        # optional (see motion_core.text.vocabulary): the training captions' words and the actions the model knows
        "vocabulary": Obj(fields={"words": JsonData(max_depth=1, max_items=65536, max_str=64),
                                  "actions": JsonData(max_depth=2, max_items=65536, max_str=64),
                                  "threshold": Float(0.0, 1.0),
                                  # both views (word vectors and the sentence gist's) must agree at this cosine
                                  "threshold_with_gist": Float(0.0, 1.0),
                                  # unseen word -> trained word (motion_core.text.readings), with WordNet's notice
                                  "readings": JsonData(max_depth=1, max_items=262144, max_str=64),
                                  "verb_readings": JsonData(max_depth=1, max_items=262144, max_str=64),
                                  "nominal_targets": JsonData(max_depth=1, max_items=262144, max_str=64),
                                  "thing_nouns": JsonData(max_depth=1, max_items=262144, max_str=64),
                                  "phrase_readings": JsonData(max_depth=1, max_items=262144, max_str=64),
                                  "readings_notice": Str(max_len=1024)}),
    },
    required=frozenset({"format_version", "architecture"}))


def validate_config(config: Any) -> dict:
    """Check a checkpoint config dict; return it unchanged or raise CheckpointError naming the bad key.

    Pure function: no file access, no allocation beyond the dict walk. Besides per-key types and bounds it
    checks cross-key consistency and that the estimated parameter count stays below MAX_PARAMS.
    """
    if type(config) is not dict:
        fail_at("", f"expected a JSON object, got {type_name(config)}")
    if "format_version" in config and config["format_version"] != FORMAT_VERSION:
        fail_at("format_version", f"unsupported checkpoint format {config['format_version']!r:.40} "
                                f"(this version of motion_core reads format {FORMAT_VERSION})")
    CONFIG_SPEC.check(config, "")
    _check_consistency(config)
    params = estimate_parameters(config)
    if params > MAX_PARAMS:
        fail_at("architecture", f"estimated {params:.3g} parameters exceeds the limit of {MAX_PARAMS:.3g}")
    return config


def _check_consistency(config: dict) -> None:
    arch = config["architecture"]
    if not arch:
        fail_at("architecture", "describes no module (expected at least one of vae, denoiser, text)")
    text = arch.get("text")
    if text is not None:
        declared = config.get("text_encoder_type")
        if declared is not None and declared != text["type"]:
            fail_at("text_encoder_type", f"{declared!r} disagrees with architecture.text.type {text['type']!r}")
        if text["type"] in TRAINABLE_TEXT_TYPES:
            defaults = trainable_text_defaults(text["type"])
            dim, heads = text.get("dim", defaults["dim"]), text.get("heads", defaults["heads"])
            if dim % heads:
                fail_at("architecture.text.heads", f"dim {dim} is not divisible by heads {heads}")
    length = config.get("length_predictor")
    if length is not None:
        length_predictor_config(length["architecture"])
    diffusion = config.get("diffusion")
    if diffusion:
        if diffusion.get("sample_steps", 1) > diffusion["num_train_steps"]:
            fail_at("diffusion.sample_steps", "more sampling steps than training steps")
        if diffusion.get("beta_start", 0) >= diffusion.get("beta_end", 1):
            fail_at("diffusion.beta_start", "must be smaller than beta_end")


def length_predictor_config(arch: dict):
    """The length predictor's config object (`LengthPredictorConfig`) of its ``architecture`` dict; its own
    range checks turned into CheckpointErrors naming the key."""
    from motion_core.models.config import ConfigError
    from motion_core.models.length_predictor import LengthPredictorConfig
    try:
        return LengthPredictorConfig.from_dict(arch)
    except (ConfigError, TypeError) as error:
        fail_at("length_predictor.architecture", str(error))


def trainable_text_defaults(kind: str = "offline") -> dict:
    """The defaults of a trainable text encoder's arguments, read from its signature so the two never drift apart."""
    encoder = WordVecTextEncoder if kind == "wordvec" else OfflineTextEncoder
    params = inspect.signature(encoder.__init__).parameters
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def estimate_parameters(config: dict) -> int:
    """Rough upper estimate of the model size a (type-checked) config implies, before building anything."""
    arch = config.get("architecture", {})
    total = sum(_estimate_generic(arch[name]) for name in ("vae", "denoiser") if name in arch)
    if "length_predictor" in config:
        total += _estimate_generic(config["length_predictor"]["architecture"])
    text = arch.get("text")
    if text is not None and text.get("type") == "offline":
        c = {**trainable_text_defaults(), **text}
        per_layer = 4 * c["dim"] ** 2 + 2 * c["dim"] * c["ff_dim"]
        total += c["num_buckets"] * c["dim"] + c["layers"] * per_layer + (c["max_tokens"] + 1) * c["dim"]
    if text is not None and text.get("type") == "wordvec":
        c = {**trainable_text_defaults("wordvec"), **text}
        per_layer = 4 * c["dim"] ** 2 + 2 * c["dim"] * c["ff_dim"]
        total += (c["vocab_size"] + c["dim"]) * c["word_dim"] + c["tokenizer_bytes"] // 8 + c["layers"] * per_layer \
            + (c["max_tokens"] + 1) * c["dim"]
        gist = c.get("gist")
        if gist:
            total += (gist["vocab_size"] + c["dim"] + 1) * gist["dim"] + gist["tokenizer_bytes"] // 8
    return int(total)


def _estimate_generic(arch: dict) -> int:
    """~16 * width^2 per layer (attention/SSM projections plus a 4x MLP), over all layer-like counts."""
    widths, layers = [1], []

    def walk(value, key):
        if type(value) is dict:
            for k, v in value.items():
                walk(v, k)
        elif type(value) is list:
            for v in value:
                walk(v, key)
        elif type(value) is int:
            if WIDTH_KEY.search(key) and not key.endswith("heads"):
                widths.append(value)
            elif LAYER_KEY.search(key):
                layers.append(value)

    walk(arch, "")
    return 16 * max(widths) ** 2 * max(sum(layers), 1)


def read_config(path: str | os.PathLike) -> dict:
    """Parse and validate ``config.json`` of checkpoint directory `path`."""
    file = Path(path) / CONFIG_NAME
    if not file.is_file():
        raise CheckpointError(f"{path} is not a checkpoint: {CONFIG_NAME} not found")
    if file.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{file} is larger than {MAX_CONFIG_BYTES} bytes")

    def reject_constant(name: str):
        raise CheckpointError(f"{file}: {name} is not allowed")

    try:
        config = json.loads(file.read_text(encoding="utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise CheckpointError(f"{file} is not valid JSON: {error!s:.200}") from error
    return validate_config(config)

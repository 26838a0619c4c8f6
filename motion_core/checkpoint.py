"""Model checkpoints: a directory holding ``model.safetensors`` and ``config.json``.

Checkpoints are downloaded and shared, so loading one is treated as parsing untrusted input:

- tensors come only from safetensors (never torch.load / pickle, which can run arbitrary code);
- ``config.json`` is validated by `validate_config` *before* anything is allocated from it: a crafted config
  asking for a 10^12-parameter model, or a string where a width belongs, is rejected with a message naming the
  offending key;
- the safetensors header is read and checked (dtypes, shapes, byte ranges, key prefixes, shapes implied by the
  config) before any tensor data is loaded.

Tensor keys are prefixed by the module they belong to: ``vae.``, ``denoiser.``, ``text.`` (only for trainable
text encoders), ``normalizer.`` (``normalizer.mean`` / ``normalizer.std``) and ``length.`` (the optional length
predictor, present exactly when ``config["length_predictor"]`` is; older checkpoints have neither). Saving is atomic: files are
written to a temporary sibling directory that is renamed into place, so a crash never leaves a half checkpoint.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

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


# --------------------------------------------------------------------------------------------------------------
# A tiny JSON-schema-like spec language, so validation is a pure function over dicts with no new dependency.
# Each spec's check(value, path) raises CheckpointError naming the path ("architecture.text.dim") on failure.
# --------------------------------------------------------------------------------------------------------------

def _fail(path: str, message: str):
    raise CheckpointError(f"config.json: {path or '<root>'}: {message}")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


@dataclass(frozen=True)
class Int:
    lo: int
    hi: int

    def check(self, value: Any, path: str) -> None:
        # bool is a subclass of int in Python; "true" is not a valid layer count.
        if type(value) is not int:
            _fail(path, f"expected an integer, got {_type_name(value)} {value!r:.60}")
        if not self.lo <= value <= self.hi:
            _fail(path, f"{value} is outside the allowed range [{self.lo}, {self.hi}]")


@dataclass(frozen=True)
class Float:
    lo: float
    hi: float
    lo_exclusive: bool = False

    def check(self, value: Any, path: str) -> None:
        if type(value) not in (int, float):
            _fail(path, f"expected a number, got {_type_name(value)} {value!r:.60}")
        if not math.isfinite(value):
            _fail(path, f"expected a finite number, got {value}")
        low_ok = value > self.lo if self.lo_exclusive else value >= self.lo
        if not (low_ok and value <= self.hi):
            bracket = "(" if self.lo_exclusive else "["
            _fail(path, f"{value} is outside the allowed range {bracket}{self.lo}, {self.hi}]")


@dataclass(frozen=True)
class Str:
    choices: tuple[str, ...] | None = None
    max_len: int = 256
    pattern: str | None = None

    def check(self, value: Any, path: str) -> None:
        if type(value) is not str:
            _fail(path, f"expected a string, got {_type_name(value)}")
        if len(value) > self.max_len:
            _fail(path, f"string longer than {self.max_len} characters")
        if self.choices is not None and value not in self.choices:
            _fail(path, f"{value!r:.60} is not one of {list(self.choices)}")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            _fail(path, f"{value!r:.60} does not match {self.pattern}")


@dataclass(frozen=True)
class Bool:
    def check(self, value: Any, path: str) -> None:
        if type(value) is not bool:
            _fail(path, f"expected true/false, got {_type_name(value)}")


@dataclass(frozen=True)
class Obj:
    fields: dict
    required: frozenset = frozenset()
    extra: Any = None  # spec for keys not in `fields`; None rejects unknown keys

    def check(self, value: Any, path: str) -> None:
        if type(value) is not dict:
            _fail(path, f"expected an object, got {_type_name(value)}")
        missing = sorted(self.required - value.keys())
        if missing:
            _fail(path, f"missing required key(s) {missing}")
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            spec = self.fields.get(key, self.extra)
            if spec is None:
                _fail(sub, f"unknown key (allowed: {sorted(self.fields)})")
            spec.check(item, sub)


@dataclass(frozen=True)
class JsonData:
    """Free-form JSON (training notes, metrics) of bounded depth and size."""
    max_depth: int = 4
    max_items: int = 4096
    max_str: int = 4096

    def check(self, value: Any, path: str) -> None:
        budget = [self.max_items]
        self._walk(value, path, self.max_depth, budget)

    def _walk(self, value: Any, path: str, depth: int, budget: list[int]) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            _fail(path, f"too much data (more than {self.max_items} values)")
        if value is None or type(value) in (bool, int):
            if type(value) is int and abs(value) > 2 ** 53:
                _fail(path, "integer too large")
            return
        if type(value) is float:
            if not math.isfinite(value):
                _fail(path, "NaN/infinite numbers are not allowed")
            return
        if type(value) is str:
            if len(value) > self.max_str:
                _fail(path, f"string longer than {self.max_str} characters")
            return
        if depth <= 0 and type(value) in (list, dict):
            _fail(path, f"nested deeper than {self.max_depth} levels")
        if type(value) is list:
            for i, item in enumerate(value):
                self._walk(item, f"{path}[{i}]", depth - 1, budget)
            return
        if type(value) is dict:
            for key, item in value.items():
                if type(key) is not str or len(key) > 128:
                    _fail(path, f"invalid key {key!r:.60}")
                self._walk(item, f"{path}.{key}", depth - 1, budget)
            return
        _fail(path, f"unsupported value type {_type_name(value)}")


# Dunder names are refused too: code that maps config keys onto attributes must never see "__class__".
_KEY_PATTERN = r"(?!__)[A-Za-z_][A-Za-z0-9_]{0,63}"
# Name-based size rules for architecture configs owned by other modules (VAE, denoiser): whatever their exact
# keys, a width-like or layer-like value outside sane bounds is a crafted or corrupt config.
_WIDTH_KEY = re.compile(r"(^|_)(dim|dims|width|widths|channels|hidden|heads|features|size|sizes)$")
_LAYER_KEY = re.compile(r"(^|_)(layers|depth|depths|blocks|levels|stages)$")


def _check_key(key: Any, path: str) -> None:
    if type(key) is not str or not re.fullmatch(_KEY_PATTERN, key):
        _fail(path, f"invalid key {key!r:.60} (expected an identifier of at most 64 characters, no dunder)")


@dataclass(frozen=True)
class ArchConfig:
    """Architecture hyper-parameters of a module: identifiers mapped to scalars, short lists or nested configs."""
    max_depth: int = 3
    max_keys: int = 256

    def check(self, value: Any, path: str) -> None:
        if type(value) is not dict:
            _fail(path, f"expected an object, got {_type_name(value)}")
        self._walk(value, path, self.max_depth, key="")

    def _walk(self, value: Any, path: str, depth: int, key: str) -> None:
        if type(value) is dict:
            if depth <= 0:
                _fail(path, f"nested deeper than {self.max_depth} levels")
            if len(value) > self.max_keys:
                _fail(path, f"more than {self.max_keys} keys")
            for sub_key, item in value.items():
                _check_key(sub_key, path)
                self._walk(item, f"{path}.{sub_key}", depth - 1, sub_key)
        elif type(value) is list:
            if len(value) > MAX_LAYERS:
                _fail(path, f"list longer than {MAX_LAYERS}")
            for i, item in enumerate(value):
                if type(item) in (dict, list):
                    self._walk(item, f"{path}[{i}]", depth - 1, key)
                else:
                    self._scalar(item, f"{path}[{i}]", key)
        else:
            self._scalar(value, path, key)

    @staticmethod
    def _scalar(value: Any, path: str, key: str) -> None:
        sized = _WIDTH_KEY.search(key) or _LAYER_KEY.search(key)
        if sized and value is not None and type(value) is not int:
            # "32" or true where a width belongs would pass here and fail (or worse) inside a module constructor
            _fail(path, f"expected an integer, got {_type_name(value)} {value!r:.60}")
        if value is None or type(value) is bool:
            return
        if type(value) is int:
            if _WIDTH_KEY.search(key):
                Int(1, MAX_WIDTH).check(value, path)
            elif _LAYER_KEY.search(key):
                Int(0, MAX_LAYERS).check(value, path)
            else:
                Int(-1, 10_000_000).check(value, path)
        elif type(value) is float:
            Float(-1e6, 1e6).check(value, path)
        elif type(value) is str:
            Str(max_len=256).check(value, path)
        else:
            _fail(path, f"unsupported value type {_type_name(value)}")


OFFLINE_TEXT_SPEC = Obj(
    fields={"type": Str(("offline",)), "dim": Int(8, MAX_WIDTH), "layers": Int(0, MAX_LAYERS),
            "heads": Int(1, 256), "ff_dim": Int(1, 4 * MAX_WIDTH), "num_buckets": Int(2, 1 << 20),
            "max_tokens": Int(1, 1024), "max_char_ngrams": Int(0, 64), "dropout": Float(0.0, 0.9)},
    required=frozenset({"type"}))
OPENCLIP_TEXT_SPEC = Obj(
    fields={"type": Str(("openclip",)), "model_name": Str(max_len=64, pattern=r"[A-Za-z0-9][A-Za-z0-9_.\-]*"),
            "weights_path": Str(max_len=1024)},
    required=frozenset({"type", "model_name"}))
# "vectors" (a training-time path to the word-vector file) is never saved: the table travels as text.* tensors.
WORDVEC_TEXT_SPEC = Obj(
    fields={"type": Str(("wordvec",)), "dim": Int(8, MAX_WIDTH), "layers": Int(0, MAX_LAYERS),
            "heads": Int(1, 256), "ff_dim": Int(1, 4 * MAX_WIDTH), "max_tokens": Int(1, 1024),
            "dropout": Float(0.0, 0.9), "vocab_size": Int(1, 1 << 18), "word_dim": Int(1, MAX_WIDTH),
            "tokenizer_bytes": Int(1, 1 << 24), "notice": Str(max_len=1024)},
    required=frozenset({"type", "vocab_size", "tokenizer_bytes"}))
TEXT_SPECS = {"offline": OFFLINE_TEXT_SPEC, "wordvec": WORDVEC_TEXT_SPEC, "openclip": OPENCLIP_TEXT_SPEC}
TRAINABLE_TEXT_TYPES = ("offline", "wordvec")


@dataclass(frozen=True)
class TextConfig:
    def check(self, value: Any, path: str) -> None:
        if type(value) is not dict:
            _fail(path, f"expected an object, got {_type_name(value)}")
        kind = value.get("type")
        if kind not in TEXT_SPECS:
            _fail(f"{path}.type", f"unknown text encoder type {kind!r:.60}; expected one of {sorted(TEXT_SPECS)}")
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
        # optional (see motion_core.vocabulary): the training captions' words and the actions the model knows
        "vocabulary": Obj(fields={"words": JsonData(max_depth=1, max_items=65536, max_str=64),
                                  "actions": JsonData(max_depth=2, max_items=65536, max_str=64)}),
    },
    required=frozenset({"format_version", "architecture"}))


def validate_config(config: Any) -> dict:
    """Check a checkpoint config dict; return it unchanged or raise CheckpointError naming the bad key.

    Pure function: no file access, no allocation beyond the dict walk. Besides per-key types and bounds it
    checks cross-key consistency and that the estimated parameter count stays below MAX_PARAMS.
    """
    if type(config) is not dict:
        _fail("", f"expected a JSON object, got {_type_name(config)}")
    if "format_version" in config and config["format_version"] != FORMAT_VERSION:
        _fail("format_version", f"unsupported checkpoint format {config['format_version']!r:.40} "
                                f"(this version of motion_core reads format {FORMAT_VERSION})")
    CONFIG_SPEC.check(config, "")
    _check_consistency(config)
    params = estimate_parameters(config)
    if params > MAX_PARAMS:
        _fail("architecture", f"estimated {params:.3g} parameters exceeds the limit of {MAX_PARAMS:.3g}")
    return config


def _check_consistency(config: dict) -> None:
    arch = config["architecture"]
    if not arch:
        _fail("architecture", "describes no module (expected at least one of vae, denoiser, text)")
    text = arch.get("text")
    if text is not None:
        declared = config.get("text_encoder_type")
        if declared is not None and declared != text["type"]:
            _fail("text_encoder_type", f"{declared!r} disagrees with architecture.text.type {text['type']!r}")
        if text["type"] in TRAINABLE_TEXT_TYPES:
            defaults = _offline_defaults(text["type"])
            dim, heads = text.get("dim", defaults["dim"]), text.get("heads", defaults["heads"])
            if dim % heads:
                _fail("architecture.text.heads", f"dim {dim} is not divisible by heads {heads}")
    length = config.get("length_predictor")
    if length is not None:
        _length_predictor_config(length["architecture"])
    diffusion = config.get("diffusion")
    if diffusion:
        if diffusion.get("sample_steps", 1) > diffusion["num_train_steps"]:
            _fail("diffusion.sample_steps", "more sampling steps than training steps")
        if diffusion.get("beta_start", 0) >= diffusion.get("beta_end", 1):
            _fail("diffusion.beta_start", "must be smaller than beta_end")


def _length_predictor_config(arch: dict):
    """The predictor's config object; its own range checks turned into CheckpointErrors naming the key."""
    from motion_core.models.config import ConfigError
    from motion_core.models.length_predictor import LengthPredictorConfig
    try:
        return LengthPredictorConfig.from_dict(arch)
    except (ConfigError, TypeError) as error:
        _fail("length_predictor.architecture", str(error))


def _offline_defaults(kind: str = "offline") -> dict:
    # The trainable encoder's own defaults, read from its signature so the two never drift apart.
    import inspect
    if kind == "wordvec":
        from motion_core.text.wordvec import WordVecTextEncoder as encoder
    else:
        from motion_core.text.offline import OfflineTextEncoder as encoder
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
        c = {**_offline_defaults(), **text}
        per_layer = 4 * c["dim"] ** 2 + 2 * c["dim"] * c["ff_dim"]
        total += c["num_buckets"] * c["dim"] + c["layers"] * per_layer + (c["max_tokens"] + 1) * c["dim"]
    if text is not None and text.get("type") == "wordvec":
        c = {**_offline_defaults("wordvec"), **text}
        per_layer = 4 * c["dim"] ** 2 + 2 * c["dim"] * c["ff_dim"]
        total += (c["vocab_size"] + c["dim"]) * c["word_dim"] + c["tokenizer_bytes"] // 8 + c["layers"] * per_layer \
            + (c["max_tokens"] + 1) * c["dim"]
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
            if _WIDTH_KEY.search(key) and not key.endswith("heads"):
                widths.append(value)
            elif _LAYER_KEY.search(key):
                layers.append(value)

    walk(arch, "")
    return 16 * max(widths) ** 2 * max(sum(layers), 1)


# --------------------------------------------------------------------------------------------------------------
# Tensor shape checks
# --------------------------------------------------------------------------------------------------------------

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
        predictor = _built_or_meta(built.get("length"), lambda: LengthPredictor(_length_predictor_config(arch)))
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


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------

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


@dataclass
class _HeaderEntry:
    dtype: str
    shape: tuple[int, ...]
    offsets: tuple[int, int] = field(default=(0, 0))


def read_safetensors_header(file: str | os.PathLike) -> dict[str, _HeaderEntry]:
    """Parse and sanity-check a safetensors header without touching tensor data.

    Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}, data.
    """
    file = Path(file)
    if not file.is_file():
        raise CheckpointError(f"{file} not found")
    size = file.stat().st_size
    with open(file, "rb") as handle:
        raw = handle.read(8)
        if len(raw) < 8:
            raise CheckpointError(f"{file} is not a safetensors file (too short)")
        (header_len,) = struct.unpack("<Q", raw)
        if header_len < 2 or header_len > min(MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{file} is not a safetensors file (implausible header length {header_len})")
        header_bytes = handle.read(header_len)
    if not header_bytes.lstrip().startswith(b"{"):
        raise CheckpointError(f"{file} is not a safetensors file (header is not a JSON object)")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise CheckpointError(f"{file} is not a safetensors file (bad header: {error!s:.200})") from error
    if type(header) is not dict:
        raise CheckpointError(f"{file} is not a safetensors file (header is not a JSON object)")
    header.pop("__metadata__", None)
    data_size = size - 8 - header_len
    entries = {key: _parse_entry(file, key, entry, data_size) for key, entry in header.items()}
    _check_no_overlap(file, entries)
    return entries


def _check_no_overlap(file: Path, entries: dict[str, "_HeaderEntry"]) -> None:
    """Each tensor must own its bytes: overlapping ranges are how a crafted file aliases one tensor's data."""
    end, previous = 0, None
    for key, entry in sorted(entries.items(), key=lambda item: item[1].offsets):
        start, stop = entry.offsets
        if start < end:
            raise CheckpointError(f"{file}: tensors {previous!r:.80} and {key!r:.80} have overlapping data offsets")
        if stop > start:
            end, previous = stop, key


def _parse_entry(file: Path, key: str, entry: Any, data_size: int) -> _HeaderEntry:
    def bad(message: str):
        raise CheckpointError(f"{file}: tensor {key!r:.80}: {message}")

    if type(entry) is not dict or set(entry) != {"dtype", "shape", "data_offsets"}:
        bad("malformed header entry")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in ALLOWED_DTYPES:
        bad(f"unsupported dtype {dtype!r:.20}")
    if (type(shape) is not list or len(shape) > 8
            or not all(type(s) is int and 0 <= s <= MAX_PARAMS for s in shape)):
        bad(f"invalid shape {shape!r:.80}")
    if (type(offsets) is not list or len(offsets) != 2 or not all(type(o) is int for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size):
        bad(f"invalid data offsets {offsets!r:.80}")
    if offsets[1] - offsets[0] != math.prod(shape) * ALLOWED_DTYPES[dtype]:
        bad("data size does not match dtype and shape")
    return _HeaderEntry(dtype, tuple(shape), (offsets[0], offsets[1]))


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
           "load_checkpoint", "save_checkpoint"]

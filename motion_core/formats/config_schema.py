"""The config schema language: small JSON-schema-like specs that validate ``config.json`` with no new dependency.

Each spec (`Int`, `Float`, `Str`, `Bool`, `Obj`, `JsonData`, `ArchConfig`) has ``check(value, path)``, which raises
`CheckpointError` naming the path ("architecture.text.dim") on failure (`fail_at`). `ArchConfig` bounds the
architecture configs of modules defined elsewhere by key names (`WIDTH_KEY`, `LAYER_KEY`). The checkpoint's own
config spec, built from these, is `motion_core.formats.checkpoint_config`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from motion_core.formats.checkpoint_limits import MAX_LAYERS, MAX_WIDTH, CheckpointError

__all__ = ["fail_at", "type_name", "Int", "Float", "Str", "Bool", "Obj", "JsonData", "ArchConfig", "WIDTH_KEY",
           "LAYER_KEY"]


def fail_at(path: str, message: str):
    """Raise the CheckpointError of a bad config value at `path` ("architecture.text.dim")."""
    raise CheckpointError(f"config.json: {path or '<root>'}: {message}")


def type_name(value: Any) -> str:
    """The JSON-ish name of a value's type, for error messages ("null" for None)."""
    return "null" if value is None else type(value).__name__


@dataclass(frozen=True)
class Int:
    lo: int
    hi: int

    def check(self, value: Any, path: str) -> None:
        # bool is a subclass of int in Python; "true" is not a valid layer count.
        if type(value) is not int:
            fail_at(path, f"expected an integer, got {type_name(value)} {value!r:.60}")
        if not self.lo <= value <= self.hi:
            fail_at(path, f"{value} is outside the allowed range [{self.lo}, {self.hi}]")


@dataclass(frozen=True)
class Float:
    lo: float
    hi: float
    lo_exclusive: bool = False

    def check(self, value: Any, path: str) -> None:
        if type(value) not in (int, float):
            fail_at(path, f"expected a number, got {type_name(value)} {value!r:.60}")
        if not math.isfinite(value):
            fail_at(path, f"expected a finite number, got {value}")
        low_ok = value > self.lo if self.lo_exclusive else value >= self.lo
        if not (low_ok and value <= self.hi):
            bracket = "(" if self.lo_exclusive else "["
            fail_at(path, f"{value} is outside the allowed range {bracket}{self.lo}, {self.hi}]")


@dataclass(frozen=True)
class Str:
    choices: tuple[str, ...] | None = None
    max_len: int = 256
    pattern: str | None = None

    def check(self, value: Any, path: str) -> None:
        if type(value) is not str:
            fail_at(path, f"expected a string, got {type_name(value)}")
        if len(value) > self.max_len:
            fail_at(path, f"string longer than {self.max_len} characters")
        if self.choices is not None and value not in self.choices:
            fail_at(path, f"{value!r:.60} is not one of {list(self.choices)}")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            fail_at(path, f"{value!r:.60} does not match {self.pattern}")


@dataclass(frozen=True)
class Bool:
    def check(self, value: Any, path: str) -> None:
        if type(value) is not bool:
            fail_at(path, f"expected true/false, got {type_name(value)}")


@dataclass(frozen=True)
class Obj:
    fields: dict
    required: frozenset = frozenset()
    extra: Any = None  # spec for keys not in `fields`; None rejects unknown keys

    def check(self, value: Any, path: str) -> None:
        if type(value) is not dict:
            fail_at(path, f"expected an object, got {type_name(value)}")
        missing = sorted(self.required - value.keys())
        if missing:
            fail_at(path, f"missing required key(s) {missing}")
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            spec = self.fields.get(key, self.extra)
            if spec is None:
                fail_at(sub, f"unknown key (allowed: {sorted(self.fields)})")
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
            fail_at(path, f"too much data (more than {self.max_items} values)")
        if value is None or type(value) in (bool, int):
            if type(value) is int and abs(value) > 2 ** 53:
                fail_at(path, "integer too large")
            return
        if type(value) is float:
            if not math.isfinite(value):
                fail_at(path, "NaN/infinite numbers are not allowed")
            return
        if type(value) is str:
            if len(value) > self.max_str:
                fail_at(path, f"string longer than {self.max_str} characters")
            return
        if depth <= 0 and type(value) in (list, dict):
            fail_at(path, f"nested deeper than {self.max_depth} levels")
        if type(value) is list:
            for i, item in enumerate(value):
                self._walk(item, f"{path}[{i}]", depth - 1, budget)
            return
        if type(value) is dict:
            for key, item in value.items():
                if type(key) is not str or len(key) > 128:
                    fail_at(path, f"invalid key {key!r:.60}")
                self._walk(item, f"{path}.{key}", depth - 1, budget)
            return
        fail_at(path, f"unsupported value type {type_name(value)}")


# Dunder names are refused too: code that maps config keys onto attributes must never see "__class__".
_KEY_PATTERN = r"(?!__)[A-Za-z_][A-Za-z0-9_]{0,63}"
# Name-based size rules for architecture configs owned by other modules (VAE, denoiser): whatever their exact
# keys, a width-like or layer-like value outside sane bounds is a crafted or corrupt config.
WIDTH_KEY = re.compile(r"(^|_)(dim|dims|width|widths|channels|hidden|heads|features|size|sizes)$")
LAYER_KEY = re.compile(r"(^|_)(layers|depth|depths|blocks|levels|stages)$")


def _check_key(key: Any, path: str) -> None:
    if type(key) is not str or not re.fullmatch(_KEY_PATTERN, key):
        fail_at(path, f"invalid key {key!r:.60} (expected an identifier of at most 64 characters, no dunder)")


@dataclass(frozen=True)
class ArchConfig:
    """Architecture hyper-parameters of a module: identifiers mapped to scalars, short lists or nested configs."""
    max_depth: int = 3
    max_keys: int = 256

    def check(self, value: Any, path: str) -> None:
        if type(value) is not dict:
            fail_at(path, f"expected an object, got {type_name(value)}")
        self._walk(value, path, self.max_depth, key="")

    def _walk(self, value: Any, path: str, depth: int, key: str) -> None:
        if type(value) is dict:
            if depth <= 0:
                fail_at(path, f"nested deeper than {self.max_depth} levels")
            if len(value) > self.max_keys:
                fail_at(path, f"more than {self.max_keys} keys")
            for sub_key, item in value.items():
                _check_key(sub_key, path)
                self._walk(item, f"{path}.{sub_key}", depth - 1, sub_key)
        elif type(value) is list:
            if len(value) > MAX_LAYERS:
                fail_at(path, f"list longer than {MAX_LAYERS}")
            for i, item in enumerate(value):
                if type(item) in (dict, list):
                    self._walk(item, f"{path}[{i}]", depth - 1, key)
                else:
                    self._scalar(item, f"{path}[{i}]", key)
        else:
            self._scalar(value, path, key)

    @staticmethod
    def _scalar(value: Any, path: str, key: str) -> None:
        sized = WIDTH_KEY.search(key) or LAYER_KEY.search(key)
        if sized and value is not None and type(value) is not int:
            # "32" or true where a width belongs would pass here and fail (or worse) inside a module constructor
            fail_at(path, f"expected an integer, got {type_name(value)} {value!r:.60}")
        if value is None or type(value) is bool:
            return
        if type(value) is int:
            if WIDTH_KEY.search(key):
                Int(1, MAX_WIDTH).check(value, path)
            elif LAYER_KEY.search(key):
                Int(0, MAX_LAYERS).check(value, path)
            else:
                Int(-1, 10_000_000).check(value, path)
        elif type(value) is float:
            Float(-1e6, 1e6).check(value, path)
        elif type(value) is str:
            Str(max_len=256).check(value, path)
        else:
            fail_at(path, f"unsupported value type {type_name(value)}")

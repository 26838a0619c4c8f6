"""Small, validated config dataclasses that checkpoints store as JSON.

Every network takes one frozen dataclass. `to_dict`/`from_dict` round-trip through plain JSON types, and
validation runs at construction so a bad checkpoint or a typo fails loudly with the field's name, not
deep inside a forward pass with a shape error.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

C = TypeVar("C", bound="ModelConfig")


class ConfigError(ValueError):
    """A model config field is missing, unknown, or out of range."""


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Base class: subclasses declare fields and extend `validate`."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:  # overridden; the base has nothing to check
        pass

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = _to_json(value)
        return out

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """Build from a dict such as `to_dict()` wrote; unknown keys are an error, missing keys use defaults.

        A "type" key is tolerated (the builders in `motion_core.models` dispatch on it) but not stored.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{cls.__name__}.from_dict expects a mapping, got {type(data).__name__}")
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names) - {"type"})
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown field(s) {unknown}; known fields: {sorted(names)}")
        kwargs = {}
        for key, value in data.items():
            if key == "type":
                continue
            kwargs[key] = tuple(_as_tuple(v) for v in value) if isinstance(value, list) else value
        return cls(**kwargs)


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _as_tuple(value: Any) -> Any:
    """Nested JSON lists back into tuples (configs are frozen and hashable)."""
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list) else value


# --- field checks: each raises ConfigError naming the config and field ---------------------------------

def check_int(owner: str, name: str, value: Any, low: int = 1, high: int = 1 << 16) -> None:
    """`value` must be a plain int in [low, high] (bools are rejected: `True` is not a width)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{owner}.{name} must be an int, got {value!r} ({type(value).__name__})")
    if not low <= value <= high:
        raise ConfigError(f"{owner}.{name} must be in [{low}, {high}], got {value}")


def check_float(owner: str, name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{owner}.{name} must be a number, got {value!r}")
    if not low <= float(value) <= high:
        raise ConfigError(f"{owner}.{name} must be in [{low}, {high}], got {value}")


def check_divisible(owner: str, name: str, value: int, divisor_name: str, divisor: int) -> None:
    if value % divisor:
        raise ConfigError(f"{owner}.{name}={value} must be divisible by {divisor_name}={divisor}")

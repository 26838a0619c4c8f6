"""Pick the torch device the engine runs on.

"auto" prefers the fastest backend present (CUDA, then Apple's MPS, then CPU) so an animator never has to
know what their machine has; an explicit request for a backend that is missing fails loudly instead of
silently falling back, because a user who typed "cuda" expects GPU speed.
"""
from __future__ import annotations

import torch

__all__ = ["best_device", "available_backends", "DeviceError", "is_out_of_memory"]

_CHOICES = ("auto", "cuda", "mps", "cpu")


class DeviceError(RuntimeError):
    """A requested device is not usable on this machine."""


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_backends() -> dict[str, bool]:
    """Which backends this torch build can use here, for `motion-core info` and error messages."""
    return {"cuda": torch.cuda.is_available(), "mps": _mps_available(), "cpu": True}


def best_device(preference: str | torch.device | None = "auto") -> torch.device:
    """Resolve a user preference ("auto", "cuda", "cuda:1", "mps", "cpu" or a torch.device) to a device.

    Raises DeviceError for an unknown name and when the named backend is absent.
    """
    if isinstance(preference, torch.device):
        preference = str(preference)
    pref = (preference or "auto").strip().lower()
    kind, _, index = pref.partition(":")
    if kind not in _CHOICES:
        raise DeviceError(f"unknown device {preference!r}; choose one of: {', '.join(_CHOICES)} (or cuda:N)")
    backends = available_backends()
    if kind == "auto":
        if backends["cuda"]:
            return torch.device("cuda")
        if backends["mps"]:
            return torch.device("mps")
        return torch.device("cpu")
    if not backends[kind]:
        have = ", ".join(k for k, ok in backends.items() if ok)
        raise DeviceError(f"device {pref!r} was requested but this torch build cannot use it here "
                          f"(torch {torch.__version__}; available: {have}); use --device auto or cpu")
    if kind == "cuda" and index:
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise DeviceError(f"device {pref!r} does not exist; this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    return torch.device(pref)


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA/MPS/CPU allocation failures, whichever exception type the backend raises."""
    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    if isinstance(exc, MemoryError) or (oom is not None and isinstance(exc, oom)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)

"""Per-dimension feature standardisation (z-scoring) for HumanML3D-style motion features.

The VAE and the denoiser work on normalised features; the engine de-normalises what the VAE decodes. The same
statistics must therefore travel with the checkpoint, so the normaliser converts to and from the flat tensor
dictionary that `motion_core.formats.checkpoint` stores (keys ``normalizer.mean`` / ``normalizer.std``).
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]

# Some HumanML3D dimensions are (almost) constant over a dataset, e.g. foot contacts in a tiny subset or the
# root height of a crawl-free corpus. Dividing by their ~0 std would blow noise up by orders of magnitude, so the
# std is floored. 1e-3 is far below the spread of any informative dimension (metres, radians, 6D rotations).
DEFAULT_MIN_STD = 1e-3


class FeatureNormalizer:
    """z = (x - mean) / std over the last axis; works on numpy arrays and torch tensors of any leading shape."""

    def __init__(self, mean: ArrayLike, std: ArrayLike, min_std: float = DEFAULT_MIN_STD):
        mean = _as_numpy_vector(mean, "mean")
        std = _as_numpy_vector(std, "std")
        if mean.shape != std.shape:
            raise ValueError(f"mean and std must have the same shape, got {mean.shape} and {std.shape}")
        if not (min_std > 0 and np.isfinite(min_std)):
            raise ValueError(f"min_std must be a positive finite number, got {min_std!r}")
        self.mean = mean.astype(np.float32)
        # abs() guards against statistics that were stored as variances' signed roots or flipped by a bug.
        self.std = np.maximum(np.abs(std), min_std).astype(np.float32)
        self._torch_cache: dict[tuple[torch.device, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}
        # A plain int: TorchDynamo treats any numpy array it meets while tracing as a tensor to guard on, which
        # breaks compiling the decoder (Engine(compile=True)); tensor inputs never touch the arrays after caching.
        self._dim = int(self.mean.shape[0])

    @classmethod
    def from_data(cls, features: ArrayLike, min_std: float = DEFAULT_MIN_STD) -> "FeatureNormalizer":
        """Statistics over every frame of `features` (..., D), e.g. a concatenation of training clips."""
        data = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else np.asarray(features)
        if data.ndim < 1 or data.shape[-1] == 0:
            raise ValueError(f"features must have a non-empty last (feature) axis, got shape {data.shape}")
        flat = data.reshape(-1, data.shape[-1]).astype(np.float64)
        if flat.shape[0] == 0:
            raise ValueError("features contain no frames")
        return cls(flat.mean(axis=0), flat.std(axis=0), min_std=min_std)

    @property
    def dim(self) -> int:
        return self._dim

    def normalize(self, x: ArrayLike) -> ArrayLike:
        mean, std = self._stats_like(x)
        return (x - mean) / std

    def denormalize(self, x: ArrayLike) -> ArrayLike:
        mean, std = self._stats_like(x)
        return x * std + mean

    def to_tensors(self, prefix: str = "normalizer.") -> dict[str, torch.Tensor]:
        """Flat, contiguous CPU tensors ready for safetensors (std is stored already floored)."""
        return {f"{prefix}mean": torch.from_numpy(self.mean.copy()),
                f"{prefix}std": torch.from_numpy(self.std.copy())}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], prefix: str = "normalizer.",
                     min_std: float = DEFAULT_MIN_STD) -> "FeatureNormalizer":
        missing = [k for k in (f"{prefix}mean", f"{prefix}std") if k not in tensors]
        if missing:
            raise KeyError(f"normaliser tensors missing: {missing}")
        return cls(tensors[f"{prefix}mean"], tensors[f"{prefix}std"], min_std=min_std)

    def _stats_like(self, x: ArrayLike):
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"expected features with last dimension {self.dim}, got shape {tuple(x.shape)}")
        if isinstance(x, torch.Tensor):
            # Cache per (device, dtype) so a sampling loop does not copy the statistics to the GPU every call.
            key = (x.device, x.dtype)
            if key not in self._torch_cache:
                self._torch_cache[key] = (torch.as_tensor(self.mean, device=x.device, dtype=x.dtype),
                                          torch.as_tensor(self.std, device=x.device, dtype=x.dtype))
            return self._torch_cache[key]
        if isinstance(x, np.ndarray):
            dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
            return self.mean.astype(dtype, copy=False), self.std.astype(dtype, copy=False)
        raise TypeError(f"expected a numpy array or torch tensor, got {type(x).__name__}")


def _as_numpy_vector(value: ArrayLike, name: str) -> np.ndarray:
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if array.ndim != 1 or array.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D vector, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array.astype(np.float64)

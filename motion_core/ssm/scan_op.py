"""The selective scan as one opaque torch operator, so `torch.compile` can take a whole Mamba denoiser.

Why: neither scan is traceable by TorchDynamo. mamba_ssm's kernel is a call into a C++ extension, and the
PyTorch scan reads chunk sizes back from the device (``.item()``). Each would split a compiled denoiser
into dozens of pieces. Registered as a custom operator, the scan is a single node that the compiler keeps
as it is and fuses everything around it (layer norms, modulation, gates, masks, convolution activations),
which is where a sampling step's hundreds of tiny kernels come from.

The operator runs `backends.selective_scan` at run time, so it takes the same path eager code takes on that
device: mamba_ssm's kernel (packed short sequences included) on CUDA, the PyTorch scan elsewhere. It covers
the stateless, forward-only case (inference); `Mamba` uses it only while being compiled and stateless.
"""
from __future__ import annotations

from typing import Optional

import torch

from motion_core.ssm.backends import selective_scan

__all__ = ["selective_scan_op"]


@torch.library.custom_op("motion_core::selective_scan", mutates_args=())
def selective_scan_op(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                      D: Optional[torch.Tensor], z: Optional[torch.Tensor], delta_bias: Optional[torch.Tensor],
                      delta_softplus: bool, packed_length: int, backend: str = "") -> torch.Tensor:
    """`backends.selective_scan(...)` from rest, without the last state: out (batch, dim, L) in u's dtype.
    `backend`: "torch" or "cuda" to pin one, "" to pick per call (as `Mamba.backend = None` does)."""
    return selective_scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus, backend=backend or None,
                          packed_length=packed_length)


@selective_scan_op.register_fake
def _(u, delta, A, B, C, D, z, delta_bias, delta_softplus, packed_length, backend=""):
    return torch.empty_like(u, memory_format=torch.contiguous_format)

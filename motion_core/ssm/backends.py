"""Run-time choice between mamba_ssm's fused CUDA kernels and the pure-PyTorch scan.

`import mamba_ssm` raises (ImportError, or OSError from a missing/ABI-mismatched .so) wherever its
compiled extension is absent, e.g. every CPU machine and the Blender add-on.  So it is imported
only inside `cuda_ops()`, once, and only when CUDA is available; failures mean "no cuda backend".

Selection: tensors on CUDA with the kernels importable -> "cuda", else "torch".  The environment
variable MOTION_SSM_BACKEND=torch|cuda|auto overrides (read at every call so tests can flip it);
asking for "cuda" where it cannot run is an error rather than a silent fallback.
"""
from __future__ import annotations

import functools
import os
from typing import Callable, NamedTuple, Optional

import torch

from motion_core.ssm import packing
from motion_core.ssm.scan_torch import initial_state_contribution, selective_scan_torch

ENV_VAR = "MOTION_SSM_BACKEND"
BACKENDS = ("torch", "cuda")


class CudaOps(NamedTuple):
    """The fused kernels we use from mamba_ssm (and causal_conv1d, which is optional)."""
    selective_scan_fn: Callable
    mamba_inner_fn: Callable
    causal_conv1d_fn: Optional[Callable]


@functools.lru_cache(maxsize=None)
def cuda_ops() -> Optional[CudaOps]:
    """mamba_ssm's kernels, or None when CUDA or the compiled extension is unavailable."""
    if not torch.cuda.is_available():
        return None
    try:
        from mamba_ssm.ops.selective_scan_interface import mamba_inner_fn, selective_scan_fn
    except (ImportError, OSError):
        return None
    try:
        from causal_conv1d import causal_conv1d_fn
    except (ImportError, OSError):
        causal_conv1d_fn = None
    return CudaOps(selective_scan_fn, mamba_inner_fn, causal_conv1d_fn)


def available_backends() -> list[str]:
    """Backends usable on this machine: always "torch", plus "cuda" with GPU + mamba_ssm."""
    return ["torch", "cuda"] if cuda_ops() is not None else ["torch"]


def resolve_backend(device: torch.device, requested: Optional[str] = None) -> str:
    """The backend for tensors on `device`: explicit request, else $MOTION_SSM_BACKEND, else auto."""
    choice = (requested or os.environ.get(ENV_VAR, "") or "auto").strip().lower()
    if choice not in BACKENDS + ("auto",):
        raise ValueError(f"unknown SSM backend {choice!r} (from argument or ${ENV_VAR}); "
                         f"expected one of {BACKENDS + ('auto',)}")
    if choice == "torch":
        return "torch"
    usable = torch.device(device).type == "cuda" and cuda_ops() is not None
    if choice == "cuda" and not usable:
        why = ("tensors are on " + str(device) if torch.device(device).type != "cuda"
               else "mamba_ssm's CUDA kernels could not be imported (pip install "
                    "'motion-core[cuda]' on a machine with nvcc)")
        raise RuntimeError(f"SSM backend 'cuda' was requested but cannot run: {why}")
    return "cuda" if usable else "torch"


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                   return_last_state=False, initial_state=None, backend=None,
                   packed_length=packing.PACKED_LENGTH):
    """mamba_ssm.selective_scan_fn semantics on any device (see scan_torch for the maths).

    Shapes: u, delta, z (batch, dim, L); A (dim, N); B, C (dim, N), (batch, N, L) or
    (batch, G, N, L); D, delta_bias (dim,); initial_state (batch, dim, N) or None.
    Returns out (batch, dim, L) in u's dtype [, last state (batch, dim, N) float32].
    `packed_length`: on CUDA, short sequences run packed into rows of this length (see packing; 0: never).
    """
    if resolve_backend(u.device, backend) == "torch":
        return selective_scan_torch(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                    return_last_state, initial_state)
    return _selective_scan_cuda(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                return_last_state, initial_state, packed_length)


def _selective_scan_cuda(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                         return_last_state, initial_state, packed_length=packing.PACKED_LENGTH):
    """The fused kernel; a non-zero initial state is added afterwards by linearity."""
    scan = cuda_ops().selective_scan_fn
    u, delta, B, C = (t.contiguous() for t in (u, delta, B, C))
    z = None if z is None else z.contiguous()
    if initial_state is None and not return_last_state and B.dim() == 3 and C.dim() == 3 \
            and packing.applies(u.shape[-1], packed_length, u.shape[0]):
        return packing.packed_selective_scan(scan, u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                             packed_length)
    if initial_state is None:
        return scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state)
    # The kernel starts from zeros and applies z itself, so run it ungated and in float32 (it
    # needs u, delta, B, C in one dtype), add the initial state's term, then gate: the scan is
    # linear in the state, the gating is not.
    out, last = scan(u.float(), delta.float(), A, B.float(), C.float(), D, None, delta_bias,
                     delta_softplus, True)
    dt = delta.float()
    if delta_bias is not None:
        dt = dt + delta_bias.float()[:, None]
    if delta_softplus:
        dt = torch.nn.functional.softplus(dt)
    extra_y, extra_last = initial_state_contribution(dt, A, C, initial_state)
    out = out.float() + extra_y
    if z is not None:
        out = out * torch.nn.functional.silu(z.float())
    out = out.to(u.dtype)
    return (out, last + extra_last) if return_last_state else out

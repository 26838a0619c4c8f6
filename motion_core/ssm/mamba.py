"""The Mamba (S6) layer, parameter-compatible with `mamba_ssm.modules.mamba_simple.Mamba`.

Parameter names, shapes, dtypes and initialisation follow mamba_ssm so a checkpoint trained on a
GPU with mamba_ssm loads here and vice versa.  The computation is dispatched per call (see
backends.py): mamba_ssm's fused kernels on CUDA when importable, the PyTorch scan elsewhere.

Beyond mamba_ssm, forward can start from and return a `MambaState`, and `forward_chunked` runs an
arbitrarily long sequence chunk by chunk with the same result as one pass: that is what lets a
12,000-frame motion be denoised in memory linear in its length.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from motion_core.ssm import packing
from motion_core.ssm.backends import cuda_ops, resolve_backend, selective_scan
from motion_core.ssm.scan_op import selective_scan_op


class MambaState(NamedTuple):
    """What a Mamba layer must remember between two pieces of one sequence.

    conv_state: (batch, d_inner, d_conv - 1), the last inputs of the causal convolution
        (mamba_ssm's decode cache keeps d_conv columns; the oldest one is never used).
    ssm_state: (batch, d_inner, d_state) float32, the scan's hidden state.
    """
    conv_state: torch.Tensor
    ssm_state: torch.Tensor


class Mamba(nn.Module):
    """Selective state-space block: in_proj -> causal depthwise conv + SiLU -> selective scan
    (input-dependent dt, B, C) gated by SiLU(z) -> out_proj.  Input and output (batch, L, d_model).
    """

    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, dt_rank="auto", dt_min=0.001,
                 dt_max=0.1, dt_init="random", dt_scale=1.0, dt_init_floor=1e-4, conv_bias=True,
                 bias=False, use_fast_path=True, layer_idx=None, device=None, dtype=None):
        super().__init__()
        _check_config(d_model, d_state, d_conv, expand, dt_rank, dt_min, dt_max, dt_init)
        factory = {"device": device, "dtype": dtype}
        self.d_model, self.d_state, self.d_conv, self.expand = d_model, d_state, d_conv, expand
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else dt_rank
        self.use_fast_path = use_fast_path
        self.layer_idx = layer_idx

        self.in_proj = nn.Linear(d_model, self.d_inner * 2, bias=bias, **factory)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, kernel_size=d_conv, groups=self.d_inner,
                                padding=d_conv - 1, bias=conv_bias, **factory)
        self.activation = "silu"
        self.act = nn.SiLU()
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False, **factory)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True, **factory)
        self._init_dt_proj(dt_init, dt_scale, dt_min, dt_max, dt_init_floor)

        # S4D-real initialisation A[d, n] = -(n + 1), stored as log so A stays negative.
        # A_log and D are float32 whatever `dtype` is, as in mamba_ssm.
        a = torch.arange(1, d_state + 1, dtype=torch.float32, device=device)
        self.A_log = nn.Parameter(torch.log(a).repeat(self.d_inner, 1))
        self.A_log._no_weight_decay = True
        self.D = nn.Parameter(torch.ones(self.d_inner, device=device))
        self.D._no_weight_decay = True
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias, **factory)
        # Run-time preference (not a weight): "torch" or "cuda" pins this layer's backend, None picks per call
        # (see backends.resolve_backend). Both backends compute the same function of the same parameters.
        self.backend: Optional[str] = None
        # Run-time setting too: on CUDA, sequences of at most packing.MAX_PACKED_SEQUENCE steps are scanned
        # packed into rows of this length (same result, see ssm/packing.py); 0 scans them one by one.
        self.packed_length: int = packing.PACKED_LENGTH

    def _init_dt_proj(self, dt_init, dt_scale, dt_min, dt_max, dt_init_floor):
        """dt_proj so that softplus(dt_proj(.) + bias) starts log-uniform in [dt_min, dt_max]."""
        std = self.dt_rank ** -0.5 * dt_scale
        if dt_init == "constant":
            nn.init.constant_(self.dt_proj.weight, std)
        else:
            nn.init.uniform_(self.dt_proj.weight, -std, std)
        bias = self.dt_proj.bias
        log_dt = (torch.rand(self.d_inner, device=bias.device, dtype=bias.dtype)
                  * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = torch.exp(log_dt).clamp(min=dt_init_floor)
        with torch.no_grad():
            bias.copy_(dt + torch.log(-torch.expm1(-dt)))   # inverse of softplus
        bias._no_reinit = True

    def forward(self, hidden_states, state: Optional[MambaState] = None, return_state=False):
        """(batch, L, d_model) -> (batch, L, d_model) [, MambaState after the last step].

        `state` continues a sequence whose previous piece returned it; None starts from rest.
        """
        self._check_input(hidden_states, state)
        if state is None and not return_state and torch.compiler.is_compiling():
            return self._traceable_forward(hidden_states)
        backend = resolve_backend(hidden_states.device, self.backend)
        ops = cuda_ops() if backend == "cuda" else None
        xz = self._in_projection(hidden_states)                              # (b, 2*d_inner, L)
        A = -torch.exp(self.A_log.float())
        stateless = state is None and not return_state
        packs = packing.applies(hidden_states.shape[1], self.packed_length, hidden_states.shape[0])
        # The fused path scans sequence by sequence; packed short sequences leave it for the kernel's
        # own scan (ssm/packing.py says why that is faster).
        if ops and stateless and self.use_fast_path and ops.causal_conv1d_fn is not None and not packs:
            return ops.mamba_inner_fn(
                xz, self.conv1d.weight, self.conv1d.bias, self.x_proj.weight, self.dt_proj.weight,
                self.out_proj.weight, self.out_proj.bias, A, None, None, self.D.float(),
                delta_bias=self.dt_proj.bias.float(), delta_softplus=True)
        x, z = xz.chunk(2, dim=1)
        x, conv_state = self._causal_conv(x, None if state is None else state.conv_state, ops, short=packs)
        dt, B, C = self._selection(x)
        result = selective_scan(x, dt, A, B, C, self.D.float(), z=z,
                                delta_bias=self.dt_proj.bias.float(), delta_softplus=True,
                                return_last_state=return_state,
                                initial_state=None if state is None else state.ssm_state,
                                backend=backend, packed_length=self.packed_length)
        y, ssm_state = result if return_state else (result, None)
        out = self.out_proj(y.transpose(1, 2))
        return (out, MambaState(conv_state, ssm_state)) if return_state else out

    def forward_unprojected(self, hidden_states):
        """`forward` from rest without out_proj: the scan's gated output y (batch, d_inner, L), which `forward`
        returns as out_proj(y.transpose(1, 2)). For callers that fold out_proj into a linear map of their own."""
        self._check_input(hidden_states, None)
        if torch.compiler.is_compiling():
            return self._traceable_forward(hidden_states, project_out=False)
        backend = resolve_backend(hidden_states.device, self.backend)
        ops = cuda_ops() if backend == "cuda" else None
        xz = self._in_projection(hidden_states)
        packs = packing.applies(hidden_states.shape[1], self.packed_length, hidden_states.shape[0])
        x, z = xz.chunk(2, dim=1)
        x, _ = self._causal_conv(x, None, ops, short=packs)
        dt, B, C = self._selection(x)
        return selective_scan(x, dt, -torch.exp(self.A_log.float()), B, C, self.D.float(), z=z,
                              delta_bias=self.dt_proj.bias.float(), delta_softplus=True, backend=backend,
                              packed_length=self.packed_length)

    def _traceable_forward(self, hidden_states, project_out: bool = True):
        """`forward` from rest as torch.compile can trace it: the scan is one opaque operator (ssm/scan_op.py)
        that picks its backend when it runs, and the convolution is written out tap by tap (causal-conv1d's and
        mamba_ssm's fused paths are extension calls it cannot trace)."""
        xz = self._in_projection(hidden_states)
        x, z = xz.chunk(2, dim=1)
        x = self._causal_conv_taps(x)
        dt, B, C = self._selection(x)
        y = selective_scan_op(x, dt, -torch.exp(self.A_log.float()), B, C, self.D.float(), z.contiguous(),
                              self.dt_proj.bias.float(), True, self.packed_length, self.backend or "")
        return self.out_proj(y.transpose(1, 2)) if project_out else y

    def _selection(self, x):
        """The input-dependent scan parameters from conv output x (batch, d_inner, L):
        dt (batch, d_inner, L) before its bias and softplus, B and C (batch, d_state, L)."""
        batch, _, length = x.shape
        x_dbl = self.x_proj(x.transpose(1, 2).reshape(batch * length, self.d_inner))
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = (self.dt_proj.weight @ dt.t()).view(self.d_inner, batch, length).permute(1, 0, 2)
        B = B.view(batch, length, self.d_state).transpose(1, 2).contiguous()
        C = C.view(batch, length, self.d_state).transpose(1, 2).contiguous()
        return dt, B, C

    def forward_chunked(self, hidden_states, chunk_len, state: Optional[MambaState] = None,
                        return_state=False):
        """Same result as forward, computed `chunk_len` steps at a time with the state carried.

        Peak activation memory is that of one chunk (call it under torch.inference_mode() for
        long sequences: with autograd recording, every chunk's activations are kept).
        """
        if not (isinstance(chunk_len, int) and chunk_len >= 1):
            raise ValueError(f"chunk_len must be a positive int; got {chunk_len!r}")
        self._check_input(hidden_states, state)
        outs = []
        for start in range(0, hidden_states.shape[1], chunk_len):
            out, state = self(hidden_states[:, start:start + chunk_len], state, return_state=True)
            outs.append(out)
        out = torch.cat(outs, dim=1)
        return (out, state) if return_state else out

    def _in_projection(self, hidden_states):
        """xz = W_in @ x laid out (batch, 2*d_inner, L) with L contiguous, as the kernels want."""
        batch, length, dim = hidden_states.shape
        flat = hidden_states.reshape(batch * length, dim).t()
        xz = (self.in_proj.weight @ flat).view(-1, batch, length).permute(1, 0, 2)
        if self.in_proj.bias is not None:
            xz = xz + self.in_proj.bias.to(dtype=xz.dtype)[:, None]
        return xz

    def _causal_conv(self, x, conv_state, ops, short: bool = False):
        """SiLU(causal depthwise conv(x)) continuing from `conv_state`, and the next conv_state.

        `short`: many sequences of a few steps (the spatial blocks' joint groups). causal-conv1d's kernels
        work through the time axis in long tiles; on these shapes its forward + backward took 97 ms of a
        training step where PyTorch's depthwise convolution took 24 ms (batch 1024, H200), so they keep the
        PyTorch convolution.
        """
        keep = self.d_conv - 1
        if conv_state is None:
            conv_state = x.new_zeros(x.shape[0], self.d_inner, keep)
            fresh = True
        else:
            fresh = False
        padded = torch.cat([conv_state.to(x.dtype), x], dim=-1)
        next_state = padded[..., padded.shape[-1] - keep:]
        if ops and fresh and not short and ops.causal_conv1d_fn is not None:
            y = ops.causal_conv1d_fn(x=x, weight=self.conv1d.weight.squeeze(1),
                                     bias=self.conv1d.bias, activation=self.activation)
        else:
            y = self._conv_full_precision(padded).to(x.dtype)
        return y, next_state

    def _causal_conv_taps(self, x):
        """SiLU(causal depthwise conv(x)) from rest as d_conv shifted multiply-adds in float32, what
        `_conv_full_precision` computes. Traced, they fuse into one kernel with the padding, the SiLU and the
        casts; the convolution operator is a library call the compiler keeps, with a copy before it (measured
        in a compiled generate call on an H100: 180 convolution + 180 copy kernels, 0.9 ms of 11)."""
        length, taps = x.shape[-1], self.d_conv
        padded = F.pad(x.float(), (taps - 1, 0))
        weight = self.conv1d.weight.float().squeeze(1)                   # (d_inner, d_conv)
        y = padded[..., :length] * weight[:, :1]
        for k in range(1, taps):
            y = y + padded[..., k:k + length] * weight[:, k:k + 1]
        if self.conv1d.bias is not None:
            y = y + self.conv1d.bias.float()[:, None]
        return self.act(y).to(x.dtype)

    def _conv_full_precision(self, padded):
        """SiLU(valid depthwise conv) in at least float32, outside autocast.

        causal_conv1d's kernel keeps the weights in float32 and applies SiLU before rounding to
        the activation dtype; doing the same here keeps the two backends within rounding of each
        other under bf16/fp16 autocast (autocast would round the weights to 16 bits first).
        """
        dtype = torch.promote_types(padded.dtype, torch.float32)
        bias = self.conv1d.bias
        with torch.autocast(device_type=padded.device.type, enabled=False):
            y = F.conv1d(padded.to(dtype), self.conv1d.weight.to(dtype),
                         None if bias is None else bias.to(dtype), groups=self.d_inner)
            return self.act(y)

    def _check_input(self, hidden_states, state):
        if hidden_states.dim() != 3 or hidden_states.shape[-1] != self.d_model:
            raise ValueError(f"Mamba expects (batch, L, d_model={self.d_model}); got "
                             f"{tuple(hidden_states.shape)}")
        if hidden_states.shape[1] == 0:
            raise ValueError("Mamba needs a sequence of at least one step")
        if state is not None:
            batch = hidden_states.shape[0]
            want = ((batch, self.d_inner, self.d_conv - 1), (batch, self.d_inner, self.d_state))
            got = (tuple(state.conv_state.shape), tuple(state.ssm_state.shape))
            if got != want:
                raise ValueError(f"state shapes (conv_state, ssm_state) must be {want}; got {got}")


def _check_config(d_model, d_state, d_conv, expand, dt_rank, dt_min, dt_max, dt_init):
    for name, value in (("d_model", d_model), ("d_state", d_state), ("d_conv", d_conv)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    if not int(expand * d_model) >= 1:
        raise ValueError(f"expand * d_model must be >= 1; got expand={expand!r}")
    if dt_rank != "auto" and not (isinstance(dt_rank, int) and dt_rank >= 1):
        raise ValueError(f"dt_rank must be 'auto' or a positive int; got {dt_rank!r}")
    if not 0 < dt_min <= dt_max:
        raise ValueError(f"need 0 < dt_min <= dt_max; got dt_min={dt_min}, dt_max={dt_max}")
    if dt_init not in ("random", "constant"):
        raise ValueError(f"dt_init must be 'random' or 'constant'; got {dt_init!r}")

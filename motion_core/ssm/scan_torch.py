"""Pure-PyTorch selective scan (Mamba's S6 recurrence), chunked so it is fast on CPU.

Semantics are those of `mamba_ssm.ops.selective_scan_interface.selective_scan_ref`:

    delta  = softplus(delta + delta_bias)            (each optional)
    h_t    = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t
    y_t    = <C_t, h_t> + D * u_t
    out_t  = y_t * silu(z_t)                           (if z is given)

Why chunked: a Python loop over time issues a few small kernels per step and is bound by
dispatch overhead (and it cannot use a second core on (batch, dim, N)-sized steps).  Mamba's log-decay factorises as delta[b, d, t] * A[d, n] with A constant in
time, so inside a chunk of T steps the cumulative log-decay is A * cumsum(delta), and

    h_t = E_t * (exp(A * half) * h_0 + sum_{s<=t} b_s / E_s),  E_t = exp(A * (cum_t - half)),
    b_s = delta_s * B_s * u_s,  cum_t = sum_{s<=t} delta_s,

with `half` = half the chunk's total delta: one exp, one cumsum and a few products per chunk.
Centring the exponent on the chunk's midpoint keeps E_t and 1/E_t within exp(+-_MAX_EXPONENT),
so nothing overflows in float32.  The (batch, channel) rows too steep for that bound are redone
by Hillis-Steele doubling in the linear domain, which is stable for any decay, so the result is
exact (no clamping survives) whatever the input; float64 runs agree with the plain recurrence
to 1e-12 (tests/test_ssm.py).  The state is carried from chunk to chunk, so memory is linear in
L with a small constant (one (batch, dim, N, T) block at a time when no gradient is recorded).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# 16 measured fastest on CPU (benchmarks/bench_scan_cpu.py: 16 < 32 < 64 in time at L = 196..12000):
# a (2, 512, 16, 16) block stays in L2, and fewer (batch, channel) rows exceed the exponent bound.
DEFAULT_CHUNK_LEN = 16
# |exponent| bound inside a chunk: E and 1/E stay within e^30 ~ 1e13, so b / E cannot overflow
# float32 for |b| < 1e25, and the exponent's rounding error (~eps * 30) stays ~2e-6 relative.
_MAX_EXPONENT = 30.0
_LOG2E = 1.4426950408889634
METHODS = ("chunked", "doubling", "sequential")
SHORT_SEQUENCE = 16   # on a GPU, sequences up to this length run step by step (see selective_scan_torch)


def selective_scan_torch(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                         return_last_state=False, initial_state=None,
                         chunk_len=DEFAULT_CHUNK_LEN, method="chunked",
                         compute_dtype=torch.float32):
    """Selective scan with mamba_ssm's `selective_scan_fn` signature, plus an initial state.

    Args:
        u, delta: (batch, dim, L).
        A: (dim, N) real.
        B, C: (dim, N) time-invariant, (batch, N, L) or grouped (batch, G, N, L) with G | dim.
        D, delta_bias: (dim,) or None.  z: (batch, dim, L) or None.
        initial_state: (batch, dim, N) state before step 0 (zeros if None).
        chunk_len: time steps per chunk.  method: "chunked" (closed form, doubling for steep
            chunks), or, for tests and benchmarks, "doubling" (always) or "sequential" (the
            plain step-by-step loop).
        compute_dtype: float32 as in mamba_ssm; float64 for reference runs.
    Returns:
        out (batch, dim, L) in u's dtype, and the last state (batch, dim, N) in compute_dtype
        if return_last_state.
    """
    _check_inputs(u, delta, A, B, C, D, z, delta_bias, initial_state, chunk_len, method,
                  compute_dtype)
    dtype_in, cd = u.dtype, compute_dtype
    u, delta, A = u.to(cd), delta.to(cd), A.to(cd)
    if delta_bias is not None:
        delta = delta + delta_bias.to(cd)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, length = u.shape
    if method == "chunked" and u.is_cuda:
        # The closed form counts its steep rows on the host: on a GPU that is a sync per chunk (and a
        # CUDA-graph capture forbids it). Data-independent forms compute the same recurrence: for
        # sequences of at most SHORT_SEQUENCE steps the plain loop (a few wide kernels per step, no
        # copies), else the doubling scan.
        method = "sequential" if length <= SHORT_SEQUENCE else "doubling"
    h = (u.new_zeros(batch, dim, A.shape[1]) if initial_state is None
         else initial_state.to(cd))
    y, h = _scan(delta, delta * u, A, _state_major(B, cd), _state_major(C, cd), h,
                 chunk_len, method)
    out = y if D is None else y + u * D.to(cd)[:, None]
    if z is not None:
        out = out * F.silu(z.to(cd))
    out = out.to(dtype_in)
    return (out, h) if return_last_state else out


def initial_state_contribution(delta, A, C, initial_state):
    """Output term due to a non-zero initial state, before D and z gating: (batch, dim, L).

    The recurrence is linear in the state, so scan(h0) = scan(0) + C_t . (exp(A * cum_t) h0).
    The CUDA kernel has no initial-state input; its backend adds this term instead.
    `delta` must already include delta_bias/softplus.  Also returns the decayed state at the
    last step, exp(A * cum_L) * h0, to add to the kernel's last state.
    """
    cum = delta.float().cumsum(-1)[:, :, None, :]                          # (b, d, 1, L)
    carried = torch.exp(A.float()[:, :, None] * cum) * initial_state.float()[..., None]
    C = _expand_groups(_state_major(C, torch.float32), delta.shape[1])
    return (carried * C).sum(-2), carried[..., -1]


def _scan(delta, du, A, B, C, h, chunk_len, method):
    """Scan chunk by chunk, carrying the state; returns (y (b, d, L), last state (b, d, N)).

    Inside a chunk tensors are laid out (batch, dim, N, T): time innermost makes the cumsum and
    the slices contiguous, which measured ~2x faster on CPU than (batch, dim, T, N).
    """
    dim = A.shape[0]
    a2 = (A * _LOG2E)[:, :, None]                 # exp(x * A) == exp2(x * A * log2 e), cheaper
    a_max = A.abs().amax(-1)                      # (dim,)
    span = {"chunked": _span_closed_form, "doubling": _span_doubling,
            "sequential": _span_sequential}[method]
    ys = []
    for start in range(0, delta.shape[-1], chunk_len):
        stop = start + chunk_len
        y, h = span(delta[..., start:stop], du[..., start:stop], a2,
                    _expand_groups(_time_slice(B, start, stop), dim),
                    _expand_groups(_time_slice(C, start, stop), dim), h, a_max)
        ys.append(y)
    return torch.cat(ys, -1), h


def _span_closed_form(dl, du, a2, B, C, h, a_max):
    """Closed-form scan of one chunk.  Rows (batch, channel) whose decays are too steep for its
    exponent bound are computed with clamped (finite, wrong) exponents, then redone exactly by
    the doubling scan; typically a few % of rows, e.g. Mamba's largest-dt channels."""
    cum = dl.cumsum(-1)
    half = 0.5 * cum[..., -1:]
    centred = cum - half
    steep = ~(centred.abs().amax(-1) * a_max <= _MAX_EXPONENT)            # (b, d); flags nan too
    n_steep = int(steep.sum())
    if n_steep == steep.numel():
        return _span_doubling(dl, du, a2, B, C, h)
    limit = _MAX_EXPONENT * _LOG2E                                         # a2 is in base 2
    exponent = centred[:, :, None, :] * a2
    carry_exponent = half[..., None] * a2
    if n_steep:
        exponent = exponent.clamp(-limit, limit)
        carry_exponent = carry_exponent.clamp(-limit, limit)
    growth = torch.exp2(exponent)                                          # E_t, (b, d, N, T)
    inner = (du[:, :, None, :] * B) / growth
    inner[..., 0] += torch.exp2(carry_exponent)[..., 0] * h               # exp(A*half) * h0
    states = inner.cumsum(-1) * growth
    y, last = (states * C).sum(-2), states[..., -1]
    if n_steep:
        y, last = _redo_rows(steep, y, last, dl, du, a2, B, C, h)
    return y, last


def _redo_rows(rows, y, last, dl, du, a2, B, C, h):
    """Replace the (batch, channel) rows flagged in `rows` by their doubling scan."""
    batch, dim, length = dl.shape
    flat = rows.flatten().nonzero().squeeze(1)
    b_idx, d_idx = flat // dim, flat % dim

    def pick(t):   # the flagged rows of a tensor broadcastable to (batch, dim, ...), batch of 1
        return t[b_idx if t.shape[0] > 1 else 0, d_idx if t.shape[1] > 1 else 0][None]

    y_rows, last_rows = _span_doubling(pick(dl), pick(du), a2[d_idx], pick(B), pick(C), pick(h))
    y = y.reshape(batch * dim, length).index_copy(0, flat, y_rows[0])
    last = last.reshape(batch * dim, -1).index_copy(0, flat, last_rows[0])
    return y.view(batch, dim, length), last.view(batch, dim, -1)


def _span_doubling(dl, du, a2, B, C, h, a_max=None):
    """Hillis-Steele scan of one chunk in the linear domain: log2(T) vectorised rounds.

    Combining (decay, drive) pairs only multiplies decays together, as the step-by-step
    recurrence does (for Mamba's A < 0 they are <= 1 and underflow harmlessly to 0), so it never
    overflows where the recurrence would not.  It does ~log2(T) passes where the closed form does
    one, hence it is only used for the chunks the closed form cannot take.
    """
    decay = torch.exp2(dl[:, :, None, :] * a2)                             # (b, d, N, T)
    drive = du[:, :, None, :] * B
    first = torch.addcmul(drive[..., :1], decay[..., :1], h[..., None])
    states = torch.cat([first, drive[..., 1:]], dim=-1)
    length, step = dl.shape[-1], 1
    while step < length:
        shifted = torch.addcmul(states[..., step:], decay[..., step:], states[..., :-step])
        states = torch.cat([states[..., :step], shifted], dim=-1)
        if 2 * step < length:
            decay = torch.cat([decay[..., :step], decay[..., step:] * decay[..., :-step]], -1)
        step *= 2
    return (states * C).sum(-2), states[..., -1]


def _span_sequential(dl, du, a2, B, C, h, a_max=None):
    """Plain recurrence, one step at a time (in (b, d, T, N) so each step's slice is contiguous)."""
    decay = torch.exp2(dl[..., None] * a2.transpose(-1, -2))                # (b, d, T, N)
    drive = du[..., None] * B.transpose(-1, -2)
    states = []
    for t in range(dl.shape[-1]):
        h = torch.addcmul(drive[:, :, t], decay[:, :, t], h)
        states.append(h)
    return torch.linalg.vecdot(torch.stack(states, 2), C.transpose(-1, -2)), h


def _state_major(M, dtype):
    """B or C as a float tensor broadcastable to (batch, dim, N, L) (time last, size 1 if
    time-invariant).  Grouped (batch, G, N, L) keeps G; _expand_groups repeats it per chunk."""
    M = M.to(dtype)
    if M.dim() == 2:                        # (dim, N): time-invariant
        return M[None, :, :, None]
    if M.dim() == 3:                        # (batch, N, L): shared by all channels
        return M[:, None]
    return M                                # (batch, G, N, L)


def _time_slice(M, start, stop):
    """Steps [start, stop) of a _state_major tensor (all of it when time-invariant)."""
    return M if M.shape[-1] == 1 else M[..., start:stop]


def _expand_groups(M, dim):
    """Repeat a grouped (batch, G, N, T) slice to one row per channel (channel d uses group
    d // (dim // G), as in mamba_ssm); done per chunk so it never costs O(L * dim * N) memory."""
    groups = M.shape[1]
    return M if groups in (1, dim) else M.repeat_interleave(dim // groups, dim=1)


def _check_inputs(u, delta, A, B, C, D, z, delta_bias, initial_state, chunk_len, method,
                  compute_dtype):
    if u.dim() != 3 or delta.shape != u.shape:
        raise ValueError(f"u and delta must both be (batch, dim, L); got {tuple(u.shape)} and "
                         f"{tuple(delta.shape)}")
    batch, dim, length = u.shape
    if A.is_complex():
        raise NotImplementedError("complex A is not supported (Mamba uses real A)")
    if A.dim() != 2 or A.shape[0] != dim:
        raise ValueError(f"A must be (dim={dim}, N); got {tuple(A.shape)}")
    n = A.shape[1]
    for name, M in (("B", B), ("C", C)):
        ok = ((M.dim() == 2 and M.shape == (dim, n))
              or (M.dim() == 3 and M.shape == (batch, n, length))
              or (M.dim() == 4 and M.shape[0] == batch and M.shape[2:] == (n, length)
                  and M.shape[1] > 0 and dim % M.shape[1] == 0))
        if not ok:
            raise ValueError(f"{name} must be (dim, N), (batch, N, L) or (batch, G, N, L) with "
                             f"G dividing dim, for dim={dim}, N={n}, L={length}; got "
                             f"{tuple(M.shape)}")
    for name, v in (("D", D), ("delta_bias", delta_bias)):
        if v is not None and v.shape != (dim,):
            raise ValueError(f"{name} must be ({dim},); got {tuple(v.shape)}")
    if z is not None and z.shape != u.shape:
        raise ValueError(f"z must match u {tuple(u.shape)}; got {tuple(z.shape)}")
    if initial_state is not None and initial_state.shape != (batch, dim, n):
        raise ValueError(f"initial_state must be ({batch}, {dim}, {n}); got "
                         f"{tuple(initial_state.shape)}")
    if length == 0:
        raise ValueError("sequence length must be at least 1")
    if not (isinstance(chunk_len, int) and chunk_len >= 1):
        raise ValueError(f"chunk_len must be a positive int; got {chunk_len!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if compute_dtype not in (torch.float32, torch.float64):
        raise ValueError(f"compute_dtype must be float32 or float64; got {compute_dtype}")

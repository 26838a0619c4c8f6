"""Many short scans run as a few long ones: packing for mamba_ssm's selective-scan kernel.

The spatial blocks scan each frame's 8 joint-group tokens: hundreds of thousands of 8-step sequences per
training batch. mamba_ssm's kernel gives every (sequence, channel) pair a thread block sized for at least
128 steps, so on 8-step sequences almost all of its threads idle and a step costs as much as 16 would.

Packing lays `per_row` sequences end to end in one row, each preceded by one *separator* step whose input
is zero and whose delta is RESET_DELTA. At the separator the state becomes

    h = exp(RESET_DELTA * A) * h_prev + RESET_DELTA * B * u = 0 * h_prev + RESET_DELTA * 0 * 0 = 0,

since exp(RESET_DELTA * A) underflows to exactly 0 for every |A| >= 1.1e-4 (Mamba's A = -exp(A_log) starts at
-1 ... -d_state; the shipped model's smallest |A| is 0.79), and B, C, u, z are zero there. So each packed
sequence starts from rest exactly as if scanned alone, the separator's output is 0 and is dropped, and its
gradient contributions (all multiplied by exp(RESET_DELTA * A) = 0, or by B, u = 0) vanish: forward and
backward equal the unpacked scan. The packing itself is two copies per tensor, cheap next to the idle
threads it removes (benchmarks/bench_blocks.py times both).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# Longest sequence that is packed; longer ones already fill the kernel's thread blocks.
MAX_PACKED_SEQUENCE = 16
# Fewest sequences that are packed. A few hundred short sequences fill the GPU anyway and the packing copies
# would only add launches. Measured (README): a 10-step guided sampling of a 196-frame clip (196 sequences per
# finest spatial block) took 1.9 ms longer packed; one denoiser forward was no faster at 1,000 sequences and
# faster from 2,000 on.
MIN_PACKED_SEQUENCES = 1024
# Length of a packed row. mamba_ssm sizes its thread block by the sequence length (32 threads x 4 steps
# up to 128, then 32 x 8, 64 x 8, ...); see the README's benchmark table for the measured choice.
PACKED_LENGTH = 128
# Separator delta: exp(RESET_DELTA * A) must underflow to 0 in float32 (exponent below -104, so
# |A| >= 1.1e-4), while RESET_DELTA times any gradient stays far from float32's overflow.
RESET_DELTA = 1e6


def applies(length: int, packed_length: int, count: int) -> bool:
    """Whether `count` sequences of `length` steps are packed into rows of `packed_length` (0: never)."""
    return (packed_length > 0 and length <= MAX_PACKED_SEQUENCE and packed_length >= 2 * (length + 1)
            and count >= MIN_PACKED_SEQUENCES)


def pack(x: torch.Tensor, per_row: int, separator: float = 0.0) -> torch.Tensor:
    """(n, c, L) -> (ceil(n / per_row), c, per_row * (L + 1)): sequences end to end, each after one
    separator step of value `separator`; rows are filled up with all-separator sequences."""
    n, c, length = x.shape
    rows = -(-n // per_row)
    if rows * per_row != n:
        x = F.pad(x, (0, 0, 0, 0, 0, rows * per_row - n), value=separator)
    out = x.new_full((rows, c, per_row, length + 1), separator)
    out[..., 1:] = x.view(rows, per_row, c, length).transpose(1, 2)
    return out.view(rows, c, per_row * (length + 1))


def unpack(y: torch.Tensor, n: int, length: int) -> torch.Tensor:
    """Inverse of `pack`: (rows, c, per_row * (L + 1)) -> the first n sequences, (n, c, L)."""
    rows, c, packed = y.shape
    per_row = packed // (length + 1)
    y = y.view(rows, c, per_row, length + 1)[..., 1:]
    return y.transpose(1, 2).reshape(rows * per_row, c, length)[:n]


def packed_selective_scan(scan, u, delta, A, B, C, D, z, delta_bias, delta_softplus, packed_length: int):
    """`scan` (selective_scan_fn semantics, no state in or out) over short sequences, run packed.

    u, delta, z: (n, dim, L); B, C: (n, N, L). Returns out (n, dim, L) as `scan` would unpacked.
    """
    n, _, length = u.shape
    per_row = packed_length // (length + 1)
    packed = lambda t, separator=0.0: pack(t, per_row, separator)
    out = scan(packed(u), packed(delta, RESET_DELTA), A, packed(B), packed(C), D,
               None if z is None else packed(z), delta_bias, delta_softplus, False)
    return unpack(out, n, length)

"""Building blocks shared by the VAE and both denoisers: masks, resampling, embeddings, attention.

Conventions: sequences are channels-last (B, L, D); a mask is (B, L) bool with True = valid frame, and
valid frames come first (right padding). Helpers zero padded frames before any operator that mixes
neighbouring frames, so whatever a caller leaves in the padding cannot reach a valid output.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


# --- masks ---------------------------------------------------------------------------------------------

def check_mask(mask: torch.Tensor | None, batch: int, length: int, name: str = "mask") -> torch.Tensor | None:
    """Validate a (B, L) padding mask: bool, right shape, valid frames first. Returns it unchanged."""
    if mask is None:
        return None
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must be a bool tensor (True = valid), got dtype {mask.dtype}")
    if tuple(mask.shape) != (batch, length):
        raise ValueError(f"{name} must have shape ({batch}, {length}), got {tuple(mask.shape)}")
    if capturing(mask):
        return mask   # value checks read the mask on the host, which a CUDA-graph capture forbids
    # Reversed scans and resampling rely on padding sitting after the valid frames.
    right_padded = ~(mask[:, 1:] & ~mask[:, :-1]).any() if length > 1 else None
    nonempty = mask[:, 0].all()
    problems = ((right_padded, f"{name} must be a right-padding mask: each row True for a prefix, then False"),
                (nonempty, f"{name} has a row with no valid frame; every sequence needs at least one"))
    for holds, message in problems:
        if holds is None:
            continue
        if mask.is_cuda:
            # Reading the answer on the host would drain the GPU's queue at every call (four times per
            # training step). On a GPU the masks come from the engine and the trainer, which build them
            # right-padded, so a bad one is a programming error: the device checks it, and a failure
            # stops the process with this message (and leaves the CUDA context unusable).
            torch._assert_async(holds, message)
        elif not bool(holds):
            raise ValueError(message)
    return mask


def capturing(tensor: torch.Tensor) -> bool:
    """True while `tensor`'s CUDA stream is being captured into a graph: no host syncs allowed then."""
    return tensor.is_cuda and torch.cuda.is_current_stream_capturing()


def valid_frame_index(mask: torch.Tensor | None) -> torch.Tensor | None:
    """Flat indices (into B * L) of a (B, L) mask's valid frames, or None when there is no mask or a CUDA-graph
    capture forbids reading it. Finding them is one host sync: compute it once per mask and share it, since
    selecting with it (index_select / index_copy) needs no sync in the forward or the backward pass, where
    boolean indexing syncs at every use."""
    return valid_frame_indices([mask])[0]


def valid_frame_indices(masks: list[torch.Tensor | None]) -> list[torch.Tensor | None]:
    """`valid_frame_index` of several masks (one U-Net's levels) for the price of one: the first host sync
    drains the GPU's queue; the second finds it empty and costs only the round trip."""
    if any(m is None or capturing(m) for m in masks):
        return [None if m is None or capturing(m) else valid_frame_index(m) for m in masks]
    counts = torch.stack([m.sum() for m in masks]).tolist()
    flat = torch.cat([m.flatten() for m in masks]).nonzero().squeeze(1)
    starts = [0]
    for m in masks[:-1]:
        starts.append(starts[-1] + m.numel())
    return [index - start for index, start in zip(flat.split(counts), starts)]


def apply_mask(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Zero the padded frames of x (B, L, D)."""
    return x if mask is None else x * mask.unsqueeze(-1).to(x.dtype)


def downsample_mask(mask: torch.Tensor | None, factor: int = 2) -> torch.Tensor | None:
    """(B, L) -> (B, ceil(L / factor)): a coarse frame is valid if any of its fine frames is."""
    if mask is None:
        return None
    pad = (-mask.shape[1]) % factor
    m = F.pad(mask, (0, pad), value=False)
    return m.view(m.shape[0], -1, factor).any(dim=-1)


def upsample_mask(mask: torch.Tensor | None, factor: int, length: int) -> torch.Tensor | None:
    """(B, Lc) -> (B, length): each coarse frame's validity repeated `factor` times, cropped."""
    if mask is None:
        return None
    return mask.repeat_interleave(factor, dim=1)[:, :length]


def lengths_to_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """(B,) int lengths -> (B, max_len) right-padding mask."""
    max_len = int(lengths.max()) if max_len is None else max_len
    return torch.arange(max_len, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over the sequence axis of x (B, L, D) using valid frames only; all-padding rows give zeros."""
    if mask is None:
        return x.mean(dim=1)
    w = mask.unsqueeze(-1).to(x.dtype)
    return (x * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)


# --- temporal resampling by 2 (no overlap between windows, so padding never crosses into valid frames) ---

class TemporalDownsample(nn.Module):
    """Halve the frame rate: merge each pair of frames with a learned linear map (a stride-2, kernel-2 conv).

    Odd lengths get one zero frame appended, so the output has ceil(L / 2) frames.
    """

    def __init__(self, width: int, out_width: int | None = None):
        super().__init__()
        self.proj = nn.Linear(2 * width, out_width or width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = apply_mask(x, mask)
        if x.shape[1] % 2:
            x = F.pad(x, (0, 0, 0, 1))
        b, length, d = x.shape
        return self.proj(x.reshape(b, length // 2, 2 * d))


class TemporalUpsample(nn.Module):
    """Double the frame rate: each frame emits two with a learned linear map (a stride-2 transposed conv).

    Learned rather than linear interpolation because interpolation at the last valid frame would read
    the first padded frame and break padding invariance; the following blocks smooth across pairs.
    """

    def __init__(self, width: int, out_width: int | None = None):
        super().__init__()
        self.out_width = out_width or width
        self.proj = nn.Linear(width, 2 * self.out_width)

    def forward(self, x: torch.Tensor, length: int) -> torch.Tensor:
        b, lc, _ = x.shape
        if not 2 * lc - 1 <= length <= 2 * lc:
            raise ValueError(f"cannot upsample {lc} frames to {length}: expected {2 * lc - 1} or {2 * lc}")
        return self.proj(x).reshape(b, 2 * lc, self.out_width)[:, :length]


# --- conditioning ----------------------------------------------------------------------------------------

def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding (B,) -> (B, dim) of integer or continuous diffusion timesteps."""
    if t.dim() != 1:
        raise ValueError(f"timesteps must have shape (B,), got {tuple(t.shape)}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.to(torch.float32).unsqueeze(1) * freqs.unsqueeze(0)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return F.pad(emb, (0, dim % 2))


def sinusoidal_positions(length: int, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(length, dim) fixed position codes; computed on the fly so any length works."""
    return timestep_embedding(torch.arange(length, device=device), dim).to(dtype)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """FiLM/AdaLN: x (B, L, D) with per-sample shift/scale (B, D). `1 + scale` so zero init is identity."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class TimestepEmbedder(nn.Module):
    """Sinusoidal features then a small MLP, as in DDPM/DiT."""

    def __init__(self, width: int):
        super().__init__()
        self.width = width
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(timestep_embedding(t, self.width))


class TextEncoderAdapter(nn.Module):
    """Project frozen text-encoder tokens to the model width and append a learned always-valid null token.

    The null token keeps attention defined when every text token is masked (classifier-free guidance drops
    the prompt by masking it out), and gives the unconditional branch a learned pooled embedding.
    """

    def __init__(self, text_dim: int, width: int):
        super().__init__()
        self.text_dim = text_dim
        self.proj = nn.Linear(text_dim, width)
        self.null_token = nn.Parameter(torch.randn(width) * 0.02)
        self.pool_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, tokens: torch.Tensor,
                mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """tokens (B, N, E), mask (B, N) -> (tokens (B, N+1, D), mask (B, N+1), pooled (B, D))."""
        if tokens.dim() != 3 or tokens.shape[-1] != self.text_dim:
            raise ValueError(f"text_tokens must have shape (B, N, {self.text_dim}), got {tuple(tokens.shape)}")
        b, n, _ = tokens.shape
        if mask is None:
            mask = torch.ones(b, n, dtype=torch.bool, device=tokens.device)
        elif mask.dtype != torch.bool or tuple(mask.shape) != (b, n):
            raise ValueError(f"text_mask must be a bool tensor of shape ({b}, {n}), got "
                             f"{mask.dtype} {tuple(mask.shape)}")
        h = self.proj(tokens)
        has_text = mask.any(dim=1, keepdim=True).to(h.dtype)
        pooled = masked_mean(h, mask) + (1 - has_text) * self.null_token
        null = self.null_token.expand(b, 1, -1)
        h = torch.cat([h, null], dim=1)
        mask = torch.cat([mask, torch.ones(b, 1, dtype=torch.bool, device=mask.device)], dim=1)
        return h, mask, self.pool_mlp(pooled)


# --- attention ---------------------------------------------------------------------------------------------

class MultiHeadAttention(nn.Module):
    """Self- or cross-attention on F.scaled_dot_product_attention with a key padding mask."""

    def __init__(self, width: int, num_heads: int, context_width: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(context_width or width, 2 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, L, D) attends to context (B, S, Dc) (x itself if None); key_mask (B, S) True = attend."""
        context = x if context is None else context
        b, length, d = x.shape
        h = self.num_heads
        q = self.q(x).view(b, length, h, d // h).transpose(1, 2)
        k, v = self.kv(context).view(b, context.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, length, d))


class FeedForward(nn.Module):
    def __init__(self, width: int, mult: int, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, mult * width), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(mult * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

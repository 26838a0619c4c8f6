"""MLD-style transformer denoiser: the same-harness baseline for the Mamba U-Net.

One sequence [condition token, text tokens, latent frames] goes through pre-norm transformer layers
(F.scaled_dot_product_attention) with U-Net-like long skips between the first and second half of the
layers, as MLD's skip-transformer does; the latent-frame outputs are the prediction. The condition token
is the timestep embedding plus pooled text. Same forward signature as MambaUNetDenoiser.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from .config import ConfigError, ModelConfig, check_divisible, check_float, check_int
from .layers import (FeedForward, MultiHeadAttention, TextEncoderAdapter, TimestepEmbedder, apply_mask,
                     check_mask, sinusoidal_positions)


@dataclasses.dataclass(frozen=True)
class TransformerDenoiserConfig(ModelConfig):
    latent_dim: int = 32
    text_dim: int = 512
    width: int = 256
    num_layers: int = 6             # even (the first half feeds long skips into the second); ~ the U-Net's parameters
    num_heads: int = 4
    ffn_mult: int = 4
    dropout: float = 0.0

    def validate(self) -> None:
        name = type(self).__name__
        check_int(name, "latent_dim", self.latent_dim, 1, 1024)
        check_int(name, "text_dim", self.text_dim, 1, 8192)
        check_int(name, "width", self.width, 8, 2048)
        check_int(name, "num_layers", self.num_layers, 2, 48)
        if self.num_layers % 2:
            raise ConfigError(f"{name}.num_layers must be even (long skips pair the halves), got {self.num_layers}")
        check_int(name, "num_heads", self.num_heads, 1, 64)
        check_divisible(name, "width", self.width, "num_heads", self.num_heads)
        check_int(name, "ffn_mult", self.ffn_mult, 1, 8)
        check_float(name, "dropout", self.dropout, 0.0, 0.9)


class TransformerLayer(nn.Module):
    """Pre-norm self-attention + FFN over the whole token sequence."""

    def __init__(self, cfg: TransformerDenoiserConfig):
        super().__init__()
        self.norm_attn = nn.LayerNorm(cfg.width)
        self.attn = MultiHeadAttention(cfg.width, cfg.num_heads, dropout=cfg.dropout)
        self.norm_ffn = nn.LayerNorm(cfg.width)
        self.ffn = FeedForward(cfg.width, cfg.ffn_mult, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm_attn(x), key_mask=key_mask))
        return x + self.drop(self.ffn(self.norm_ffn(x)))


class TransformerDenoiser(nn.Module):
    """forward(z_t, t, text_tokens, text_mask, latent_mask) -> prediction with z_t's shape."""

    def __init__(self, config: TransformerDenoiserConfig | None = None):
        super().__init__()
        cfg = config or TransformerDenoiserConfig()
        self.config = cfg
        d = cfg.width
        self.in_proj = nn.Linear(cfg.latent_dim, d)
        self.time_embed = TimestepEmbedder(d)
        self.text = TextEncoderAdapter(cfg.text_dim, d)
        self.segment = nn.Parameter(torch.randn(3, d) * 0.02)  # condition / text / motion token types
        half = cfg.num_layers // 2
        self.layers = nn.ModuleList(TransformerLayer(cfg) for _ in range(cfg.num_layers))
        self.skip_fuse = nn.ModuleList(nn.Linear(2 * d, d) for _ in range(half))
        self.norm_out = nn.LayerNorm(d)
        self.out_proj = nn.Linear(d, cfg.latent_dim)
        nn.init.zeros_(self.out_proj.weight)  # first prediction is 0, as for the Mamba U-Net
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, z_t: torch.Tensor, t: torch.Tensor, text_tokens: torch.Tensor,
                text_mask: torch.Tensor | None = None, latent_mask: torch.Tensor | None = None) -> torch.Tensor:
        c = self.config.latent_dim
        if z_t.dim() != 3 or z_t.shape[-1] != c or z_t.shape[1] < 1:
            raise ValueError(f"z_t must have shape (B, L>=1, {c}), got {tuple(z_t.shape)}")
        if not torch.is_tensor(t) or t.shape != (z_t.shape[0],):
            raise ValueError(f"t must be a tensor of shape ({z_t.shape[0]},)")
        b, length, _ = z_t.shape
        mask = check_mask(latent_mask, b, length, "latent_mask")
        if mask is None:
            mask = torch.ones(b, length, dtype=torch.bool, device=z_t.device)
        text, text_mask, pooled = self.text(text_tokens, text_mask)

        cond = (self.time_embed(t.to(z_t.device)) + pooled).unsqueeze(1) + self.segment[0]
        motion = self.in_proj(z_t) + sinusoidal_positions(length, self.config.width, z_t.device, z_t.dtype)
        x = torch.cat([cond, text + self.segment[1], motion + self.segment[2]], dim=1)
        key_mask = torch.cat([mask.new_ones(b, 1), text_mask, mask], dim=1)

        half = len(self.layers) // 2
        skips = []
        for i, layer in enumerate(self.layers):
            if i >= half:
                x = self.skip_fuse[i - half](torch.cat([x, skips.pop()], dim=-1))
            x = layer(x, key_mask)
            if i < half:
                skips.append(x)
        out = self.out_proj(self.norm_out(x[:, -length:]))
        return apply_mask(out, mask)

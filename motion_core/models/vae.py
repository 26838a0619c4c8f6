"""Motion VAE: normalised feature frames (B, T, F) <-> temporal latents (B, ceil(T / 4), latent_dim).

Temporal latents (one vector per 4 frames) rather than one vector per clip: cost is linear in T, so a
12,000-frame take encodes and decodes like a 200-frame one, and the diffusion model works on sequences.

Encoder: linear in -> [dilated residual conv stack -> 2x downsample] * num_down -> conv stack -> (mu, logvar).
Decoder mirrors it with 2x upsamples. Convolutions are non-causal, so padded frames are zeroed before
each one; with the non-overlapping 2x resamplers this makes valid outputs independent of padding (its
content and its amount), which the tests check.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .config import ConfigError, ModelConfig, check_float, check_int
from .layers import (TemporalDownsample, TemporalUpsample, apply_mask, check_mask, downsample_mask,
                     upsample_mask)

_LOGVAR_RANGE = (-30.0, 20.0)  # keeps exp(logvar) finite early in training
ENCODER_PREFIX = "enc_"         # parameter names of the features -> latents half


@dataclasses.dataclass(frozen=True)
class VAEConfig(ModelConfig):
    feature_dim: int = 263          # HumanML3D features (251 for KIT)
    latent_dim: int = 32
    width: int = 192
    num_down: int = 2               # temporal downsampling by 2**num_down
    res_blocks: int = 2             # residual units per conv stack; dilation 1, 3, 9, ... within a stack
    kernel_size: int = 3
    kl_weight: float = 1e-4
    velocity_weight: float = 0.5    # 0 turns the velocity term off

    @property
    def downsample_factor(self) -> int:
        return 2 ** self.num_down

    def validate(self) -> None:
        name = type(self).__name__
        check_int(name, "feature_dim", self.feature_dim, 1, 4096)
        check_int(name, "latent_dim", self.latent_dim, 1, 1024)
        check_int(name, "width", self.width, 8, 2048)
        check_int(name, "num_down", self.num_down, 0, 4)
        check_int(name, "res_blocks", self.res_blocks, 1, 8)
        check_int(name, "kernel_size", self.kernel_size, 1, 15)
        if self.kernel_size % 2 == 0:
            raise ConfigError(f"{name}.kernel_size must be odd (symmetric 'same' padding), got {self.kernel_size}")
        check_float(name, "kl_weight", self.kl_weight, 0.0, 10.0)
        check_float(name, "velocity_weight", self.velocity_weight, 0.0, 100.0)


class VAEOutput(NamedTuple):
    recon: torch.Tensor             # (B, T, F)
    mu: torch.Tensor                # (B, Lz, latent_dim)
    logvar: torch.Tensor
    z: torch.Tensor                 # the latent that was decoded (a sample in training, mu in eval)
    latent_mask: torch.Tensor | None
    kl: torch.Tensor                # scalar: KL(q(z|x) || N(0, I)) per valid latent element, averaged


class ResidualUnit(nn.Module):
    """x + conv1x1(SiLU(dilated conv(SiLU(x)))): local temporal mixing with a growing receptive field."""

    def __init__(self, width: int, kernel_size: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(width, width, kernel_size, dilation=dilation, padding=dilation * (kernel_size // 2))
        self.mix = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = F.silu(apply_mask(x, mask))
        h = self.conv(h.transpose(1, 2)).transpose(1, 2)
        return x + self.mix(F.silu(h))


class ConvStack(nn.Module):
    def __init__(self, width: int, blocks: int, kernel_size: int):
        super().__init__()
        self.units = nn.ModuleList(ResidualUnit(width, kernel_size, 3 ** i) for i in range(blocks))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        for unit in self.units:
            x = unit(x, mask)
        return x


class MotionVAE(nn.Module):
    def __init__(self, config: VAEConfig | None = None):
        super().__init__()
        cfg = config or VAEConfig()
        self.config = cfg
        w, k = cfg.width, cfg.kernel_size
        self.enc_in = nn.Linear(cfg.feature_dim, w)
        self.enc_stacks = nn.ModuleList(ConvStack(w, cfg.res_blocks, k) for _ in range(cfg.num_down + 1))
        self.enc_downs = nn.ModuleList(TemporalDownsample(w) for _ in range(cfg.num_down))
        self.enc_out = nn.Linear(w, 2 * cfg.latent_dim)
        self.dec_in = nn.Linear(cfg.latent_dim, w)
        self.dec_stacks = nn.ModuleList(ConvStack(w, cfg.res_blocks, k) for _ in range(cfg.num_down + 1))
        self.dec_ups = nn.ModuleList(TemporalUpsample(w) for _ in range(cfg.num_down))
        self.dec_out = nn.Linear(w, cfg.feature_dim)

    def encoder_parameters(self):
        """The parameters that map features to latents (`enc_*`): a denoiser trained on this VAE's latents
        depends on them, and on no decoder weight."""
        return (p for name, p in self.named_parameters() if name.startswith(ENCODER_PREFIX))

    # --- shapes and masks ---------------------------------------------------------------------------------

    def latent_length(self, num_frames: int) -> int:
        f = self.config.downsample_factor
        return -(-num_frames // f)

    def latent_mask(self, mask: torch.Tensor | None) -> torch.Tensor | None:
        """Frame mask (B, T) -> latent mask (B, ceil(T / 4)): a latent is valid if any of its frames is."""
        return downsample_mask(mask, self.config.downsample_factor)

    # --- encode / decode ----------------------------------------------------------------------------------

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, F) normalised features, mask (B, T) -> mu, logvar (B, ceil(T / 4), latent_dim)."""
        f = self.config.feature_dim
        if x.dim() != 3 or x.shape[-1] != f or x.shape[1] < 1:
            raise ValueError(f"x must have shape (B, T>=1, {f}), got {tuple(x.shape)}")
        mask = check_mask(mask, x.shape[0], x.shape[1])
        h = apply_mask(self.enc_in(x), mask)
        for i, stack in enumerate(self.enc_stacks):
            h = stack(h, mask)
            if i < len(self.enc_downs):
                h = self.enc_downs[i](h, mask)
                mask = downsample_mask(mask)
        mu, logvar = apply_mask(self.enc_out(h), mask).chunk(2, dim=-1)
        return mu, logvar.clamp(*_LOGVAR_RANGE)

    def decode(self, z: torch.Tensor, num_frames: int | None = None,
               latent_mask: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, Lz, latent_dim) -> features (B, num_frames, F); num_frames defaults to 4 * Lz.

        num_frames must lie in (4 * (Lz - 1), 4 * Lz]. Frames past each sample's valid latents are garbage:
        crop them with the sample's own frame count.
        """
        c, factor = self.config.latent_dim, self.config.downsample_factor
        if z.dim() != 3 or z.shape[-1] != c or z.shape[1] < 1:
            raise ValueError(f"z must have shape (B, Lz>=1, {c}), got {tuple(z.shape)}")
        lz = z.shape[1]
        num_frames = factor * lz if num_frames is None else int(num_frames)
        if not factor * (lz - 1) < num_frames <= factor * lz:
            raise ValueError(f"num_frames={num_frames} does not fit {lz} latents: expected "
                             f"{factor * (lz - 1) + 1}..{factor * lz}")
        mask = check_mask(latent_mask, z.shape[0], lz, "latent_mask")
        # Decode all factor * Lz frames and crop at the end: every sample then sees the same frames whether
        # it is decoded alone or padded in a batch (cropping earlier would depend on the batch's length).
        h = apply_mask(self.dec_in(z), mask)
        for i, stack in enumerate(self.dec_stacks):
            h = stack(h, mask)
            if i < len(self.dec_ups):
                h = self.dec_ups[i](h, 2 * h.shape[1])
                mask = upsample_mask(mask, 2, h.shape[1])
        return self.dec_out(h[:, :num_frames])

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, sample: bool | None = None) -> VAEOutput:
        """Encode, sample (training) or take the mean (eval), decode to x's length."""
        sample = self.training if sample is None else sample
        mu, logvar = self.encode(x, mask)
        latent_mask = self.latent_mask(mask)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        recon = self.decode(z, x.shape[1], latent_mask)
        return VAEOutput(recon, mu, logvar, z, latent_mask, kl_divergence(mu, logvar, latent_mask))

    def loss(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Training objective: masked smooth-L1 reconstruction + kl_weight * KL + velocity_weight * velocity.

        Returns {"loss", "recon", "kl", "velocity"} (scalars; "loss" is the weighted sum to backprop).
        """
        out = self(x, mask)
        recon = masked_smooth_l1(out.recon, x, mask)
        velocity = x.new_zeros(())
        if self.config.velocity_weight > 0 and x.shape[1] > 1:
            pair_mask = None if mask is None else mask[:, 1:] & mask[:, :-1]
            velocity = masked_smooth_l1(out.recon.diff(dim=1), x.diff(dim=1), pair_mask)
        total = recon + self.config.kl_weight * out.kl + self.config.velocity_weight * velocity
        return {"loss": total, "recon": recon, "kl": out.kl, "velocity": velocity}


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) averaged over valid latent elements."""
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
    return _masked_mean(kl, mask)


def masked_smooth_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return _masked_mean(F.smooth_l1_loss(pred, target, reduction="none"), mask)


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of values (B, T, D) over valid frames and all channels."""
    if mask is None:
        return values.mean()
    w = mask.unsqueeze(-1).to(values.dtype)
    return (values * w).sum() / (w.sum() * values.shape[-1]).clamp_min(1.0)

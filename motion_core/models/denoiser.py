"""Motion Mamba denoiser: a temporal U-Net of HTM + BSM blocks with an attention bottleneck.

    z_t (B, L, C) -> in proj (width d)
      encoder, level i = 0..n-1 at L / 2**i frames: MambaBlock (HTM with scans[i], then BSM) -> skip_i -> down
      bottleneck at L / 2**(n-1): AttentionMixer (self-attention over frames, cross-attention to text, FFN)
      decoder, level i = n-1..0: fuse(x, skip_i) -> MambaBlock (HTM with scans[i] mirrored) -> up
    -> final AdaLN + out proj -> prediction (B, L, C)

The text tokens reach the frames through the bottleneck's cross-attention alone, and the pooled text through
every block's AdaLN. `text_levels` adds a gated cross-attention to the Mamba blocks of those levels (encoder and
decoder): trained 800 steps from scratch, the bottleneck-only U-Net hardly listened to its prompts while a
transformer that attends to the text in every layer did (benchmarks/results/compare_denoisers_20261205/).
`text_scan_levels` puts the prompt into those levels' scans themselves: a few summary tokens of the text lead
every temporal scan of their Mamba blocks, so the state that carries through the frames starts from the prompt,
as a transformer's text tokens share each layer's sequence with the frames.

Conditioning: sinusoidal timestep MLP + pooled text form one vector `c`; one shared linear maps c to the
AdaLN shift/scale/gate sets, and each block adds its own learned offsets ("adaLN-single", PixArt-alpha),
which keeps per-block modulation at 6*d parameters instead of 6*d*d. All gates start at zero so every
block begins as the identity and training starts stable. `block_modulation_rank` > 0 gives each block its own
low-rank map from c as well (7*d*r parameters a block), so blocks can answer the prompt differently.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from .config import ConfigError, ModelConfig, check_divisible, check_float, check_int
from .layers import (FeedForward, MultiHeadAttention, TemporalDownsample, TemporalUpsample,
                     TextEncoderAdapter, TimestepEmbedder, apply_mask, check_mask, downsample_mask, modulate,
                     valid_frame_indices)
from .mamba_blocks import BidirectionalSpatialMamba, HierarchicalTemporalMamba, ScanKind

_NUM_MOD = 6  # shift, scale, gate for two sub-blocks


@dataclasses.dataclass(frozen=True)
class DenoiserConfig(ModelConfig):
    latent_dim: int = 32            # C: the VAE latent channels
    text_dim: int = 512             # E: text-encoder token width (CLIP ViT-B/32: 512)
    width: int = 256                # d
    scan_kinds: tuple[tuple[str, ...], ...] = (("fwd", "rev", "fwd_s2"), ("fwd", "rev"), ("fwd",))
    spatial_groups: int = 8         # G joint-group tokens for the BSM
    # Mamba sizes. Smaller than Mamba's usual d_state=16, expand=2: the CPU scan's cost grows with
    # d_inner * d_state, and on 2 cores (batch 2, 50 latents) d_state=16 took ~2.5x the time of 8.
    d_state: int = 8                # temporal (HTM) scans
    d_conv: int = 4
    expand: int = 1
    spatial_d_state: int = 8        # BSM scans: only G tokens long, one sequence per frame
    spatial_expand: int = 1
    num_heads: int = 4
    ffn_mult: int = 2
    num_mid_layers: int = 1         # attention mixers at the bottleneck
    text_levels: tuple[int, ...] = ()   # levels whose Mamba blocks also cross-attend to the text tokens
    # Initial value of every text cross-attention gate. 0 starts each shut (a grown model computes what it did);
    # a shut gate also passes no gradient to its attention, which then learns only as fast as the gate opens.
    # Trained checkpoints load their own gates over it.
    text_gate_init: float = 0.0
    # Rank of each block's own map from the conditioning vector (timestep + pooled text) to its AdaLN parameters,
    # added to the shared map's. 0: adaLN-single alone, where every block moves with the prompt along one shared
    # direction (plus a constant offset). The map's output layer starts at zero: a block gaining one starts as it was.
    block_modulation_rank: int = 0
    # Levels whose Mamba blocks' temporal scans first read `text_scan_tokens` summary tokens of the prompt (learned
    # queries attending to its tokens: a fixed count, so padding the prompt changes nothing), every scan order and
    # interleaved subsequence alike. 2,400 steps from scratch left the cross-attention U-Net behind a transformer on
    # synonyms (0.40 vs 0.63, benchmarks/results/compare_denoisers_2400_20261206/): its frames met the prompt only
    # through attention, never in the state their scans carry. Tried at 2,400 steps: no better, twice the training
    # time (benchmarks/results/compare_denoisers_text_scan_20261206/); the shipped model has none.
    text_scan_levels: tuple[int, ...] = ()
    text_scan_tokens: int = 8

    @property
    def num_levels(self) -> int:
        return len(self.scan_kinds)

    def validate(self) -> None:
        name = type(self).__name__
        check_int(name, "latent_dim", self.latent_dim, 1, 1024)
        check_int(name, "text_dim", self.text_dim, 1, 8192)
        check_int(name, "width", self.width, 8, 2048)
        check_int(name, "spatial_groups", self.spatial_groups, 1, 64)
        check_divisible(name, "width", self.width, "spatial_groups", self.spatial_groups)
        check_int(name, "d_state", self.d_state, 1, 256)
        check_int(name, "d_conv", self.d_conv, 1, 16)
        check_int(name, "expand", self.expand, 1, 8)
        check_int(name, "spatial_d_state", self.spatial_d_state, 1, 256)
        check_int(name, "spatial_expand", self.spatial_expand, 1, 8)
        check_int(name, "num_heads", self.num_heads, 1, 64)
        check_divisible(name, "width", self.width, "num_heads", self.num_heads)
        check_int(name, "ffn_mult", self.ffn_mult, 1, 8)
        check_int(name, "num_mid_layers", self.num_mid_layers, 0, 16)
        check_float(name, "text_gate_init", self.text_gate_init, 0.0, 4.0)
        check_int(name, "block_modulation_rank", self.block_modulation_rank, 0, self.width)
        check_int(name, "text_scan_tokens", self.text_scan_tokens, 1, 64)
        if not isinstance(self.scan_kinds, tuple) or not 1 <= len(self.scan_kinds) <= 6:
            raise ConfigError(f"{name}.scan_kinds must be a tuple of 1..6 levels, got {self.scan_kinds!r}")
        for field in ("text_levels", "text_scan_levels"):
            levels = getattr(self, field)
            if not isinstance(levels, tuple) or len(set(levels)) != len(levels) or any(
                    isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self.scan_kinds)
                    for i in levels):
                raise ConfigError(f"{name}.{field} must be distinct level indices in [0, {len(self.scan_kinds)}), "
                                  f"got {levels!r}")
        for level, kinds in enumerate(self.scan_kinds):
            if not isinstance(kinds, tuple) or not 1 <= len(kinds) <= 8:
                raise ConfigError(f"{name}.scan_kinds[{level}] must be a tuple of 1..8 scan names, got {kinds!r}")
            for kind in kinds:
                try:
                    ScanKind.parse(kind)
                except ValueError as err:
                    raise ConfigError(f"{name}.scan_kinds[{level}]: {err}") from None


class TextCrossAttention(nn.Module):
    """Gated residual cross-attention from frames to text tokens. The gate starts at `text_gate_init`, zero by
    default, so a block that gains one (a trained model grown with `text_levels`) starts as the block it was."""

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.norm = nn.LayerNorm(cfg.width)
        self.attn = MultiHeadAttention(cfg.width, cfg.num_heads)
        self.gate = nn.Parameter(torch.full((cfg.width,), float(cfg.text_gate_init)))

    def forward(self, x: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor | None) -> torch.Tensor:
        return x + self.gate * self.attn(self.norm(x), text, key_mask=text_mask)


class TextSummary(nn.Module):
    """`text_scan_tokens` tokens summarising the prompt for the scans to read first: learned queries attend to the
    text tokens (padding masked), so the summary's length and content do not depend on the batch's padding."""

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(cfg.text_scan_tokens, cfg.width) * 0.02)
        self.attn = MultiHeadAttention(cfg.width, cfg.num_heads)

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor | None) -> torch.Tensor:
        queries = self.queries.unsqueeze(0).expand(text.shape[0], -1, -1)
        return queries + self.attn(queries, text, key_mask=text_mask)


class BlockModulation(nn.Module):
    """One block's own low-rank map from the conditioning vector to its AdaLN shift/scale/gate sets; zero at first."""

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.down = nn.Linear(cfg.width, cfg.block_modulation_rank)
        self.up = nn.Linear(cfg.block_modulation_rank, _NUM_MOD * cfg.width)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        return self.up(F.silu(self.down(F.silu(cond)))).view(cond.shape[0], _NUM_MOD, -1)


def own_modulation(cfg: DenoiserConfig) -> BlockModulation | None:
    return BlockModulation(cfg) if cfg.block_modulation_rank else None


class MambaBlock(nn.Module):
    """AdaLN-modulated, gated residual HTM followed by the same around a BSM (and, optionally, text attention)."""

    def __init__(self, cfg: DenoiserConfig, scan_kinds: tuple[str, ...], reads_text: bool = False,
                 scans_text: bool = False):
        super().__init__()
        d = cfg.width
        self.text_attention = TextCrossAttention(cfg) if reads_text else None
        self.scans_text = scans_text   # its temporal scans read the prompt's summary tokens first
        self.norm_temporal = nn.LayerNorm(d, elementwise_affine=False)
        self.temporal = HierarchicalTemporalMamba(d, scan_kinds, cfg.d_state, cfg.d_conv, cfg.expand)
        self.norm_spatial = nn.LayerNorm(d, elementwise_affine=False)
        self.spatial = BidirectionalSpatialMamba(d, cfg.spatial_groups, d_state=cfg.spatial_d_state,
                                                 d_conv=cfg.d_conv, expand=cfg.spatial_expand)
        self.mod_offset = nn.Parameter(torch.zeros(_NUM_MOD, d))
        self.own_modulation = own_modulation(cfg)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, mod: torch.Tensor,
                frame_index: torch.Tensor | None = None, text: torch.Tensor | None = None,
                text_mask: torch.Tensor | None = None, summary: torch.Tensor | None = None) -> torch.Tensor:
        shift_t, scale_t, gate_t, shift_s, scale_s, gate_s = (mod + self.mod_offset).unbind(1)
        # the summary tokens enter the scan normalised and modulated as the frames are, so they share one space
        prefix = modulate(self.norm_temporal(summary), shift_t, scale_t) if self.scans_text else None
        h = self.temporal(modulate(self.norm_temporal(x), shift_t, scale_t), mask, prefix)
        x = x + gate_t.unsqueeze(1) * h
        h = self.spatial(modulate(self.norm_spatial(x), shift_s, scale_s), mask, frame_index)
        x = x + gate_s.unsqueeze(1) * h
        if self.text_attention is not None:
            x = self.text_attention(x, text, text_mask)
        return apply_mask(x, mask)


class AttentionMixer(nn.Module):
    """Bottleneck block: modulated self-attention over latent frames, cross-attention to text, modulated FFN."""

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        d = cfg.width
        self.norm_self = nn.LayerNorm(d, elementwise_affine=False)
        self.self_attn = MultiHeadAttention(d, cfg.num_heads)
        self.norm_cross = nn.LayerNorm(d)
        self.cross_attn = MultiHeadAttention(d, cfg.num_heads)
        self.cross_gate = nn.Parameter(torch.full((d,), float(cfg.text_gate_init)))  # unconditioned
        self.norm_ffn = nn.LayerNorm(d, elementwise_affine=False)
        self.ffn = FeedForward(d, cfg.ffn_mult)
        self.mod_offset = nn.Parameter(torch.zeros(_NUM_MOD, d))
        self.own_modulation = own_modulation(cfg)

    def forward(self, x, mask, mod, text, text_mask):
        shift_a, scale_a, gate_a, shift_f, scale_f, gate_f = (mod + self.mod_offset).unbind(1)
        h = self.self_attn(modulate(self.norm_self(x), shift_a, scale_a), key_mask=mask)
        x = x + gate_a.unsqueeze(1) * h
        x = x + self.cross_gate * self.cross_attn(self.norm_cross(x), text, key_mask=text_mask)
        h = self.ffn(modulate(self.norm_ffn(x), shift_f, scale_f))
        return apply_mask(x + gate_f.unsqueeze(1) * h, mask)


def block_mod(block: nn.Module, mod: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    """The shared AdaLN parameters `mod`, plus the block's own share of the conditioning `cond` if it has one."""
    return mod if block.own_modulation is None else mod + block.own_modulation(cond)


class MambaUNetDenoiser(nn.Module):
    """forward(z_t, t, text_tokens, text_mask, latent_mask) -> prediction with z_t's shape."""

    def __init__(self, config: DenoiserConfig | None = None):
        super().__init__()
        cfg = config or DenoiserConfig()
        self.config = cfg
        d, n = cfg.width, cfg.num_levels
        self.in_proj = nn.Linear(cfg.latent_dim, d)
        self.time_embed = TimestepEmbedder(d)
        self.text = TextEncoderAdapter(cfg.text_dim, d)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(d, _NUM_MOD * d))
        self.summary = TextSummary(cfg) if cfg.text_scan_levels else None
        self.encoder = nn.ModuleList(self._block(cfg, i) for i in range(n))
        self.downs = nn.ModuleList(TemporalDownsample(d) for _ in range(n - 1))
        self.mid = nn.ModuleList(AttentionMixer(cfg) for _ in range(cfg.num_mid_layers))
        self.fuse = nn.ModuleList(nn.Linear(2 * d, d) for _ in range(n))
        self.decoder = nn.ModuleList(self._block(cfg, i) for i in range(n))
        self.ups = nn.ModuleList(TemporalUpsample(d) for _ in range(n - 1))
        self.norm_out = nn.LayerNorm(d, elementwise_affine=False)
        self.out_offset = nn.Parameter(torch.zeros(2, d))
        self.out_proj = nn.Linear(d, cfg.latent_dim)
        self._zero_init()

    @staticmethod
    def _block(cfg: DenoiserConfig, level: int) -> MambaBlock:
        return MambaBlock(cfg, cfg.scan_kinds[level], level in cfg.text_levels, level in cfg.text_scan_levels)

    def _zero_init(self) -> None:
        # Zero conditioning map + zero offsets => every gate is 0 => each block starts as the identity;
        # a zero output layer makes the first prediction 0 (DiT's recipe for stable starts).
        for layer in (self.modulation[-1], self.out_proj):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, z_t: torch.Tensor, t: torch.Tensor, text_tokens: torch.Tensor,
                text_mask: torch.Tensor | None = None, latent_mask: torch.Tensor | None = None) -> torch.Tensor:
        self._check_inputs(z_t, t)
        b, length, _ = z_t.shape
        mask = check_mask(latent_mask, b, length, "latent_mask")
        text, text_mask, pooled = self.text(text_tokens, text_mask)
        cond = self.time_embed(t.to(z_t.device)) + pooled
        mod = self.modulation(cond).view(b, _NUM_MOD, -1)
        summary = None if self.summary is None else self.summary(text, text_mask)

        # The masks of every level and one valid-frame index per level, shared by its encoder and decoder
        # blocks, all found before any block is queued: one drain of the GPU's queue per forward instead of
        # several syncs per block and pass (boolean indexing syncs at every use, backward included).
        masks = [mask]
        for _ in self.downs:
            masks.append(downsample_mask(masks[-1]))
        indices = valid_frame_indices(masks)
        x = apply_mask(self.in_proj(z_t), mask)
        lengths, skips = [], []
        for i, block in enumerate(self.encoder):
            mask = masks[i]
            lengths.append(x.shape[1])
            x = block(x, mask, block_mod(block, mod, cond), indices[i], text, text_mask, summary)
            skips.append(x)
            if i < len(self.downs):
                x = self.downs[i](x, mask)
        mask = masks[len(self.encoder) - 1]
        for mixer in self.mid:
            x = mixer(x, mask, block_mod(mixer, mod, cond), text, text_mask)
        for i in reversed(range(len(self.decoder))):
            mask = masks[i]
            x = self.fuse[i](torch.cat([x, skips[i]], dim=-1))
            x = self.decoder[i](x, mask, block_mod(self.decoder[i], mod, cond), indices[i], text,
                                text_mask, summary)
            if i > 0:
                x = self.ups[i - 1](x, lengths[i - 1])
        shift, scale = (mod[:, :2] + self.out_offset).unbind(1)
        return apply_mask(self.out_proj(modulate(self.norm_out(x), shift, scale)), mask)

    def set_scan_chunk_len(self, chunk_len: int | None) -> None:
        """Scan temporal Mambas `chunk_len` steps at a time (None: whole sequences). Same outputs; for very
        long sequences under torch.inference_mode() it bounds the scans' activation memory."""
        if chunk_len is not None and (isinstance(chunk_len, bool) or not isinstance(chunk_len, int)
                                      or chunk_len < 1):
            raise ValueError(f"chunk_len must be a positive int or None, got {chunk_len!r}")
        for module in self.modules():
            if isinstance(module, HierarchicalTemporalMamba):
                module.chunk_len = chunk_len

    def _check_inputs(self, z_t: torch.Tensor, t: torch.Tensor) -> None:
        c = self.config.latent_dim
        if z_t.dim() != 3 or z_t.shape[-1] != c or z_t.shape[1] < 1:
            raise ValueError(f"z_t must have shape (B, L>=1, {c}), got {tuple(z_t.shape)}")
        if not torch.is_tensor(t) or t.shape != (z_t.shape[0],):
            raise ValueError(f"t must be a tensor of shape ({z_t.shape[0]},), got "
                             f"{tuple(t.shape) if torch.is_tensor(t) else type(t).__name__}")

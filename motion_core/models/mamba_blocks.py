"""Motion Mamba's two selective-scan blocks: Hierarchical Temporal Mamba (HTM) and Bidirectional Spatial Mamba (BSM).

Every Mamba here is causal along the axis it scans. Padding invariance then comes from scan *order*, not
from zeroing alone: a Mamba fed zeros still moves its state (conv bias, dt bias), so a plain `flip` of a
right-padded sequence would let padded frames run first and colour every valid output. A reversed scan
therefore reverses each sequence within its own valid length and leaves the padding at the end.

Forward temporal scans are plain causal passes over (B, L, D), which is what a chunked/stateful Mamba can
run piecewise later; reversed and strided scans are expressed as permutations around such a pass.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from . import layers
from .layers import apply_mask

_SCAN_PATTERN = re.compile(r"^(fwd|rev)(?:_s([1-9]\d*))?$")


@dataclass(frozen=True)
class ScanKind:
    """One temporal scan order: direction and interleave stride.

    "fwd" / "rev" scan every frame; "fwd_s2" splits the sequence into 2 interleaved subsequences
    (frames 0,2,4,... and 1,3,5,...) and scans each, which doubles the frames one state step spans.
    """
    reverse: bool
    stride: int = 1

    @classmethod
    def parse(cls, name: str) -> "ScanKind":
        match = _SCAN_PATTERN.match(name) if isinstance(name, str) else None
        if match is None:
            raise ValueError(f"unknown scan kind {name!r}: use 'fwd' or 'rev', optionally with a stride "
                             f"suffix such as 'fwd_s2'")
        return cls(reverse=match.group(1) == "rev", stride=int(match.group(2) or 1))


def make_mamba(d_model: int, d_state: int, d_conv: int, expand: int) -> nn.Module:
    """The project's Mamba layer (CUDA kernels when available, a PyTorch scan otherwise)."""
    from motion_core.ssm import Mamba  # imported here so `motion_core.models` loads without building it
    return Mamba(d_model, d_state=d_state, d_conv=d_conv, expand=expand)


def reverse_within_length(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Reverse each row's valid prefix, leave its padding in place. The map is its own inverse."""
    if mask is None:
        return x.flip(1)
    length = x.shape[1]
    pos = torch.arange(length, device=x.device).unsqueeze(0)
    n = mask.sum(dim=1, keepdim=True)
    index = torch.where(pos < n, n - 1 - pos, pos)
    return x.gather(1, index.unsqueeze(-1).expand_as(x))


def run_scan(mamba: nn.Module, x: torch.Tensor, mask: torch.Tensor | None, kind: ScanKind,
             chunk_len: int | None = None, prefix: torch.Tensor | None = None) -> torch.Tensor:
    """Apply a causal Mamba to x (B, L, D) in the order `kind` describes; output in the original order.

    With `chunk_len`, the (permuted) sequence is scanned `chunk_len` steps at a time with the state carried
    (`Mamba.forward_chunked`): same result, peak scan memory of one chunk, for very long takes.
    `prefix` (B, P, D): steps scanned before the first frame of every order and subsequence (the prompt's
    summary tokens, see DenoiserConfig.text_scan_levels), so each frame's state has read them; their own
    outputs are dropped.
    """
    x = apply_mask(x, mask)
    if kind.reverse:
        x = reverse_within_length(x, mask)
    b, length, d = x.shape
    s = kind.stride
    if s > 1:
        # Interleave: (B, L, D) -> (B*s, ceil(L/s), D). Zero frames appended at the end stay after every
        # valid frame of every subsequence, so they never precede one in a causal scan.
        pad = (-length) % s
        x = torch.nn.functional.pad(x, (0, 0, 0, pad))
        x = x.view(b, -1, s, d).transpose(1, 2).reshape(b * s, -1, d)
    if prefix is not None:
        # row r of the interleaved batch is subsequence r % s of sample r // s
        lead = prefix.to(x.dtype).repeat_interleave(s, dim=0) if s > 1 else prefix.to(x.dtype)
        x = torch.cat([lead, x], dim=1)
    y = mamba(x) if chunk_len is None else mamba.forward_chunked(x, chunk_len)
    if prefix is not None:
        y = y[:, prefix.shape[1]:]
    if s > 1:
        y = y.view(b, s, -1, d).transpose(1, 2).reshape(b, -1, d)[:, :length]
    if kind.reverse:
        y = reverse_within_length(y, mask)
    return apply_mask(y, mask)


class HierarchicalTemporalMamba(nn.Module):
    """k parallel temporal scans (different orders/strides) merged by a per-frame softmax gate.

    More scans at fine levels, fewer at coarse ones (the hierarchy): fine levels hold the most frames and
    most local detail, where complementary scan orders help; coarse levels are short and also see the
    bottleneck attention.
    """

    def __init__(self, width: int, scan_kinds: tuple[str, ...], d_state: int, d_conv: int, expand: int):
        super().__init__()
        if not scan_kinds:
            raise ValueError("HierarchicalTemporalMamba needs at least one scan kind")
        self.kinds = tuple(ScanKind.parse(k) for k in scan_kinds)
        self.scans = nn.ModuleList(make_mamba(width, d_state, d_conv, expand) for _ in self.kinds)
        self.gate = nn.Linear(width, len(self.kinds)) if len(self.kinds) > 1 else None
        self.chunk_len: int | None = None  # run-time setting (not a config field): see run_scan
        # Run-time setting: run all k scans as one grouped selective scan (fused_temporal_scans). Off by default:
        # measured on an H200 (bf16, CUDA graph, batch 1, benchmarks/results/speed_part2_20261204) its scan kernels
        # took 0.85 ms where the per-scan ones took 1.01, but its layout copies cost more than that in eager
        # PyTorch: the forward at 18,000 latents took 9.76 ms against 8.58 (3000: 3.22 / 2.88, 49: 1.77 / 1.62).
        self.fused: bool = False
        if self.gate is not None:
            nn.init.zeros_(self.gate.weight)  # start as the plain average of the scans
            nn.init.zeros_(self.gate.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, prefix: torch.Tensor | None = None) -> torch.Tensor:
        """`prefix` (B, P, D): steps every scan reads before the frames (see run_scan)."""
        if prefix is None and self._fuses(x):
            return fused_temporal_scans(self, x, mask)
        outputs = [run_scan(m, x, mask, k, self.chunk_len, prefix) for m, k in zip(self.scans, self.kinds)]
        if self.gate is None:
            return outputs[0]
        weights = torch.softmax(self.gate(x), dim=-1)
        return sum(weights[..., i:i + 1] * y for i, y in enumerate(outputs))


    def _fuses(self, x: torch.Tensor) -> bool:
        if not self.fused or len(self.scans) < 2 or self.chunk_len is not None:
            return False
        return all(m.in_proj.bias is None and m.out_proj.bias is None for m in self.scans)


def _scan_layout(kind: ScanKind, length: int, mask: torch.Tensor | None, batch: int, sep: int,
                 device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where one scan kind reads its steps from, as one causal row.

    Returns `source` (B, T_k): the frame each step of the row reads (`length` = a zero frame), `is_sep`
    (B, T_k): the steps that separate two interleaved subsequences, and `where` (B, L): the step at which
    each frame's output lies. A stride-s scan lays its s subsequences end to end, each followed by `sep`
    zero steps (at least the causal convolution's reach, so the next subsequence's convolution starts from
    rest; the scan's state is reset there, see fused_temporal_scans).
    """
    pos = torch.arange(length, device=device).unsqueeze(0).expand(batch, length)
    if kind.reverse:
        n = (mask.sum(dim=1, keepdim=True) if mask is not None
             else torch.full((batch, 1), length, device=device, dtype=torch.long))
        order = torch.where(pos < n, n - 1 - pos, pos)     # an involution: frame <-> position
    else:
        order = pos
    s = kind.stride
    if s == 1:
        return order, torch.zeros_like(order, dtype=torch.bool), order
    per = -(-length // s)                                  # steps per subsequence
    padded = torch.nn.functional.pad(order, (0, per * s - length), value=length)
    sub = padded.view(batch, per, s).transpose(1, 2)       # (B, s, per): subsequence j = positions j, j+s, ...
    source = torch.nn.functional.pad(sub, (0, sep), value=length).reshape(batch, s * (per + sep))
    is_sep = (torch.arange(per + sep, device=device) >= per).repeat(s).unsqueeze(0).expand(batch, -1)
    where = (order % s) * (per + sep) + order // s         # frame f sits at position order[f] of the sequence
    return source, is_sep, where


def fused_temporal_scans(htm: "HierarchicalTemporalMamba", x: torch.Tensor,
                         mask: torch.Tensor | None) -> torch.Tensor:
    """HierarchicalTemporalMamba.forward with its k Mambas run as one grouped selective scan (same weights,
    same function to rounding).

    Each Mamba's steps are laid out as one causal row (its own order: forward, reversed within length, or
    interleaved subsequences end to end), the k rows are stacked along channels, and one kernel call scans
    all k * d_inner channels with grouped B and C (group i = scan i). A long scan is serial in time and gives
    the GPU only batch * d_inner thread blocks; k scans side by side give it k times as many and take the time
    of the longest instead of the sum. Around it: one batched GEMM for the k in_projs, one depthwise conv, one
    batched x_proj and dt_proj, and the gate-weighted sum of the k out_projs as one GEMM.

    Separators between interleaved subsequences: `sep` >= d_conv - 1 zero input steps, so the convolution of
    the next subsequence sees only zeros before it, as from rest; at those steps u is set to 0 (so B = 0) and
    delta to packing.RESET_DELTA, which makes exp(delta * A) = 0: the state is exactly 0 when the next
    subsequence starts (ssm/packing.py explains the reset).
    """
    from motion_core.ssm import packing
    from motion_core.ssm.backends import selective_scan
    from motion_core.ssm.scan_op import selective_scan_op

    mambas, kinds = list(htm.scans), htm.kinds
    m0 = mambas[0]
    k, di, n_state, rank, dc = len(mambas), m0.d_inner, m0.d_state, m0.dt_rank, m0.d_conv
    b, length, d = x.shape
    sep = max(dc - 1, 1)
    layouts = [_scan_layout(kind, length, mask, b, sep, x.device) for kind in kinds]
    steps = max(src.shape[1] for src, _, _ in layouts)
    source = torch.stack([torch.nn.functional.pad(src, (0, steps - src.shape[1]), value=length)
                          for src, _, _ in layouts])                                   # (k, B, T)
    is_sep = torch.stack([torch.nn.functional.pad(flag, (0, steps - flag.shape[1]))
                          for _, flag, _ in layouts], dim=1)                           # (B, k, T)
    where = torch.stack([w for _, _, w in layouts], dim=1)                             # (B, k, L)

    # in_proj of every scan's row: gather the frames (a zero frame for separators and padding), one bmm.
    frames = torch.nn.functional.pad(apply_mask(x, mask), (0, 0, 0, 1))                # (B, L+1, d)
    rows = frames[torch.arange(b, device=x.device).view(1, b, 1), source]              # (k, B, T, d)
    w_in = torch.stack([m.in_proj.weight for m in mambas]).transpose(1, 2)             # (k, d, 2 di)
    xz = torch.bmm(rows.reshape(k, b * steps, d), w_in).view(k, b, steps, 2, di)
    xz = xz.permute(3, 1, 0, 4, 2)                                                     # (2, B, k, di, T)
    u, z = xz[0].reshape(b, k * di, steps), xz[1].reshape(b, k * di, steps)

    # causal depthwise conv + SiLU in float32 outside autocast, as Mamba._conv_full_precision
    conv_w = torch.cat([m.conv1d.weight for m in mambas])
    conv_b = None if m0.conv1d.bias is None else torch.cat([m.conv1d.bias for m in mambas])
    with torch.autocast(device_type=x.device.type, enabled=False):
        dtype = torch.promote_types(u.dtype, torch.float32)
        conv = torch.nn.functional.conv1d(torch.nn.functional.pad(u.to(dtype), (dc - 1, 0)), conv_w.to(dtype),
                                          None if conv_b is None else conv_b.to(dtype), groups=k * di)
        u = torch.nn.functional.silu(conv).to(u.dtype)
    keep = (~is_sep).to(u.dtype).unsqueeze(2)                                           # (B, k, 1, T)
    u = (u.view(b, k, di, steps) * keep)

    # selection: x_proj and dt_proj of the k scans as two bmms
    w_x = torch.stack([m.x_proj.weight for m in mambas]).transpose(1, 2)               # (k, di, R + 2N)
    x_dbl = torch.bmm(u.permute(1, 0, 3, 2).reshape(k, b * steps, di), w_x)            # (k, B*T, R + 2N)
    dt, bb, cc = torch.split(x_dbl, [rank, n_state, n_state], dim=-1)
    w_dt = torch.stack([m.dt_proj.weight for m in mambas])                             # (k, di, R)
    dt = torch.bmm(w_dt.to(dt.dtype), dt.transpose(1, 2))
    dt = dt.view(k, di, b, steps).permute(2, 0, 1, 3)                                  # (B, k, di, T)
    dt = torch.where(is_sep.unsqueeze(2), torch.full_like(dt, packing.RESET_DELTA), dt).reshape(b, k * di, steps)
    bb = bb.view(k, b, steps, n_state).permute(1, 0, 3, 2).contiguous()               # (B, k, N, T)
    cc = cc.view(k, b, steps, n_state).permute(1, 0, 3, 2).contiguous()
    u = u.reshape(b, k * di, steps)

    A = -torch.exp(torch.cat([m.A_log for m in mambas]).float())
    D = torch.cat([m.D for m in mambas]).float()
    delta_bias = torch.cat([m.dt_proj.bias for m in mambas]).float()
    if torch.compiler.is_compiling():
        y = selective_scan_op(u, dt.contiguous(), A, bb, cc, D, z.contiguous(), delta_bias, True,
                              m0.packed_length, m0.backend or "")
    else:
        y = selective_scan(u, dt, A, bb, cc, D, z=z, delta_bias=delta_bias, delta_softplus=True,
                           backend=m0.backend, packed_length=m0.packed_length)          # (B, k di, T)

    # back to frame order, gate-weighted, and the k out_projs as one GEMM on the weighted outputs
    y = y.view(b, k, di, steps)
    y = y[torch.arange(b, device=x.device).view(b, 1, 1), torch.arange(k, device=x.device).view(1, k, 1), :,
          where]                                                                       # (B, k, L, di)
    weights = torch.softmax(htm.gate(x), dim=-1)                                       # (B, L, k)
    y = y * weights.transpose(1, 2).unsqueeze(-1).to(y.dtype)
    y = y.permute(0, 2, 1, 3).reshape(b, length, k * di)
    w_out = torch.cat([m.out_proj.weight for m in mambas], dim=1)                      # (d, k di)
    return apply_mask(torch.nn.functional.linear(y, w_out), mask)


class BidirectionalSpatialMamba(nn.Module):
    """Split each frame's channels into G group tokens and scan across the groups forward and backward.

    This mixes information across the channel (joint-group) axis within a frame; frames are independent,
    so padded frames cannot leak into valid ones here. One Mamba runs both directions in a single batched
    call (the reversed copies stacked under the forward ones): on CPU a Mamba call on these tiny
    sequences costs mostly fixed overhead, so this halves the block's time. A linear merge of the
    concatenated directions keeps them distinguishable.
    """

    def __init__(self, width: int, groups: int, d_state: int, d_conv: int, expand: int):
        super().__init__()
        if width % groups:
            raise ValueError(f"width {width} is not divisible by spatial groups {groups}")
        self.groups = groups
        self.scan = make_mamba(width // groups, d_state, d_conv, expand)
        self.merge = nn.Linear(2 * width, width)
        # Run-time setting: merge(out_proj(.)) as one linear map of the scan's output, see _merge_folded.
        # Measured on an H200 at 18,000 latents: the six spatial blocks 4.24 -> 3.57 ms (out_proj was a
        # K = N = 32 GEMM over 288,000 tokens, 0.16 ms per call at level 0).
        self.fold_out_proj: bool = True
        self._folded_cache: tuple | None = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None,
                frame_index: torch.Tensor | None = None) -> torch.Tensor:
        """`frame_index`: `layers.valid_frame_index(mask)` if the caller has it (saves the host sync)."""
        b, length, d = x.shape
        # Only valid frames are scanned (padding costs nothing); each frame is one length-G sequence.
        # Under a CUDA-graph capture the valid frames cannot be counted (a host sync): scan every frame
        # instead (frames are independent sequences here) and zero the padded ones below.
        if frame_index is None:
            frame_index = layers.valid_frame_index(mask)
        flat = x.reshape(b * length, d)
        frames = flat if frame_index is None else flat.index_select(0, frame_index)
        tokens = frames.view(-1, self.groups, d // self.groups)
        if self.fold_out_proj and self.scan.out_proj.bias is None:
            y = self._merge_folded(self.scan.forward_unprojected(torch.cat([tokens, tokens.flip(1)], dim=0)))
        else:
            y = self.scan(torch.cat([tokens, tokens.flip(1)], dim=0))
            forward, backward = y.chunk(2, dim=0)
            y = self.merge(torch.cat([forward, backward.flip(1)], dim=-1).reshape(-1, 2 * d))
        if frame_index is None:
            y = y.view(b, length, d)
            return y if mask is None else y * mask.unsqueeze(-1).to(y.dtype)
        # y's dtype: under autocast it is bf16 while x may be fp32
        return y.new_zeros(b * length, d).index_copy(0, frame_index, y).view(b, length, d)

    def _merge_folded(self, y: torch.Tensor) -> torch.Tensor:
        """merge(cat[out_proj(forward), out_proj(backward).flip]) from the scan's unprojected output y
        (2n, d_inner, G): out_proj and the flip are folded into two (d, d_inner * G) maps, applied to y's two
        halves as they lie in memory (no out_proj GEMM, no flip or concatenation of its output)."""
        fwd, bwd = self._folded_weights()
        n = y.shape[0] // 2
        flat = y.reshape(2, n, -1)
        out = torch.nn.functional.linear(flat[0], fwd, self.merge.bias)
        return torch.addmm(out, flat[1], bwd.t().to(out.dtype))

    def _folded_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The two (d, d_inner * G) maps of `_merge_folded`. Without autograd they are kept until a weight changes
        (in place: its version counter moves; or replaced), so sampling loops and graph replays skip the folding."""
        w_out, w_merge = self.scan.out_proj.weight, self.merge.weight
        # Weights made under torch.inference_mode (a model loaded there) have no version counter, so an in-place
        # change could not be seen: those are folded on every call (two small einsums), never cached.
        caching = (not torch.is_grad_enabled() and not torch.compiler.is_compiling()
                   and not w_out.is_inference() and not w_merge.is_inference())
        key = (w_out.data_ptr(), w_out._version, w_merge.data_ptr(), w_merge._version, w_out.device) if caching else None
        if caching and self._folded_cache is not None and self._folded_cache[0] == key:
            return self._folded_cache[1]
        d, g = self.merge.out_features, self.groups
        merge = w_merge.view(d, g, 2, d // g)                                # columns: group, direction, channel
        fwd = torch.einsum("ogj,jc->ocg", merge[:, :, 0], w_out)             # (d, d_inner, G)
        bwd = torch.einsum("ogj,jc->ocg", merge[:, :, 1], w_out).flip(-1)    # scan step p is group G-1-p
        folded = (fwd.reshape(d, -1), bwd.reshape(d, -1))
        self._folded_cache = (key, folded) if caching else None
        return folded

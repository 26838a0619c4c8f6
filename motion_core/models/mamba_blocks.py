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
             chunk_len: int | None = None) -> torch.Tensor:
    """Apply a causal Mamba to x (B, L, D) in the order `kind` describes; output in the original order.

    With `chunk_len`, the (permuted) sequence is scanned `chunk_len` steps at a time with the state carried
    (`Mamba.forward_chunked`): same result, peak scan memory of one chunk, for very long takes.
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
    y = mamba(x) if chunk_len is None else mamba.forward_chunked(x, chunk_len)
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
        if self.gate is not None:
            nn.init.zeros_(self.gate.weight)  # start as the plain average of the scans
            nn.init.zeros_(self.gate.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        outputs = [run_scan(m, x, mask, k, self.chunk_len) for m, k in zip(self.scans, self.kinds)]
        if self.gate is None:
            return outputs[0]
        weights = torch.softmax(self.gate(x), dim=-1)
        return sum(weights[..., i:i + 1] * y for i, y in enumerate(outputs))


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
        y = self.scan(torch.cat([tokens, tokens.flip(1)], dim=0))
        forward, backward = y.chunk(2, dim=0)
        y = self.merge(torch.cat([forward, backward.flip(1)], dim=-1).reshape(-1, 2 * d))
        if frame_index is None:
            y = y.view(b, length, d)
            return y if mask is None else y * mask.unsqueeze(-1).to(y.dtype)
        # y's dtype: under autocast it is bf16 while x may be fp32
        return y.new_zeros(b * length, d).index_copy(0, frame_index, y).view(b, length, d)

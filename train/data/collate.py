"""Batching variable-length motions: pad to the longest clip in the batch and say which frames are real."""
from __future__ import annotations

import torch


def collate_motion_text(batch: list[tuple[torch.Tensor, str, int]]) -> dict:
    """Stack `MotionTextDataset` items.

    Returns {"motion": (B, T_max, D) zero-padded, "mask": (B, T_max) bool, True on real frames,
    "lengths": (B,) long, "captions": list[str]}. Order is kept (no length sorting), so captions line up.
    """
    if not batch:
        raise ValueError("cannot collate an empty batch")
    motions, captions, lengths = zip(*batch)
    dims = {m.shape[-1] for m in motions}
    if len(dims) != 1 or any(m.ndim != 2 for m in motions):
        raise ValueError(f"every motion must be (T, D) with one D, got shapes {[tuple(m.shape) for m in motions]}")
    lengths_t = torch.tensor(lengths, dtype=torch.long)
    if any(int(n) != len(m) for n, m in zip(lengths, motions)):
        raise ValueError("a sample's length does not match its motion's frame count")
    t_max = int(lengths_t.max())
    out = motions[0].new_zeros((len(batch), t_max, dims.pop()))
    for i, motion in enumerate(motions):
        out[i, :len(motion)] = motion
    mask = torch.arange(t_max)[None, :] < lengths_t[:, None]
    return {"motion": out, "mask": mask, "lengths": lengths_t, "captions": list(captions)}

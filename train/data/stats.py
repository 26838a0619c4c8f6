"""Feature statistics (Mean.npy / Std.npy) over a dataset's motions.

Plain statistics are the per-dimension mean and std over every frame of every distinct motion file (mirrors
included when loaded), accumulated in float64 so tens of millions of frames lose no precision.

`per_block=True` reproduces HumanML3D's published recipe: within each feature block (root rotation velocity,
root xz velocity, root height, ric positions, 6D rotations, joint velocities, foot contacts) every dimension
gets the block's *average* std, and the contact block's std is further divided by `contact_scale` (5 in
HumanML3D), which weights contacts up after normalisation. Averaging keeps near-constant dimensions of a block
from being blown up to unit variance; the mean stays per-dimension. Use it to match released checkpoints.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from motion_core.kinematics.representation import feature_slices
from motion_core.kinematics.skeleton import HUMANML3D, Skeleton


def _motions_of(source) -> Iterable[np.ndarray]:
    if hasattr(source, "raw_motions"):
        return source.raw_motions()
    return source


def compute_mean_std(source, *, per_block: bool = False, skeleton: Skeleton = HUMANML3D,
                     contact_scale: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) float32 vectors over all frames of `source`.

    `source` is a `MotionTextDataset` (each distinct motion counted once, however many captioned
    sub-clips use it) or any iterable of (T, D) arrays.
    """
    total = total_sq = None
    frames = 0
    for motion in _motions_of(source):
        x = np.asarray(motion, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"each motion must be (T, D), got shape {x.shape}")
        if total is None:
            total, total_sq = np.zeros(x.shape[1]), np.zeros(x.shape[1])
        elif x.shape[1] != total.shape[0]:
            raise ValueError(f"motions disagree on the feature size: {x.shape[1]} vs {total.shape[0]}")
        total += x.sum(0)
        total_sq += (x * x).sum(0)
        frames += len(x)
    if not frames:
        raise ValueError("no frames to compute statistics from")
    mean = total / frames
    std = np.sqrt(np.maximum(total_sq / frames - mean * mean, 0.0))
    if per_block:
        std = _block_averaged(std, skeleton, contact_scale)
    return mean.astype(np.float32), std.astype(np.float32)


def _block_averaged(std: np.ndarray, skeleton: Skeleton, contact_scale: float) -> np.ndarray:
    s = feature_slices(skeleton)
    if std.shape[0] != s.dim:
        raise ValueError(f"per-block statistics need {s.dim}-dim {skeleton.name} features, got {std.shape[0]}")
    if contact_scale <= 0:
        raise ValueError(f"contact_scale must be positive, got {contact_scale}")
    out = std.copy()
    for block in (s.root_rot_vel, s.root_lin_vel, s.root_y, s.ric, s.rot6d, s.local_vel, s.contacts):
        out[block] = std[block].mean()
    out[s.contacts] /= contact_scale
    return out

"""Resampling joint trajectories to another frame rate (CMU: 120 fps, some trials 60 fps; HumanML3D: 20 fps)."""
from __future__ import annotations

import numpy as np


def resample(positions: np.ndarray, source_fps: float, target_fps: float = 20.0) -> np.ndarray:
    """Positions (T, ...) sampled at `target_fps` by linear interpolation in time, from t = 0 to the last
    source frame. When the ratio is a whole number (120 -> 20) this picks every k-th frame exactly.
    Motion at 120 fps carries nothing above the 10 Hz that 20 fps can hold, so no low-pass filter is applied,
    as in HumanML3D's own down-sampling of AMASS."""
    if source_fps <= 0 or target_fps <= 0:
        raise ValueError(f"frame rates must be positive, got {source_fps} -> {target_fps}")
    num = positions.shape[0]
    if num == 0:
        return positions.copy()
    duration = (num - 1) / source_fps
    count = int(np.floor(duration * target_fps + 1e-9)) + 1
    t = np.arange(count) * (source_fps / target_fps)          # in source frames
    lo = np.minimum(np.floor(t + 1e-9).astype(int), num - 1)
    hi = np.minimum(lo + 1, num - 1)
    w = (t - lo).reshape((-1,) + (1,) * (positions.ndim - 1))
    w = np.where(w < 1e-9, 0.0, w)
    return (1.0 - w) * positions[lo] + w * positions[hi]

"""Small 1-D signal tools over the time axis (axis 0) used to shape control channels."""
from __future__ import annotations

import numpy as np


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter along axis 0 with edge values held (no decay toward zero at the clip ends)."""
    if sigma <= 0:
        return np.array(x, dtype=float, copy=True)
    radius = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.concatenate([np.repeat(x[:1], radius, 0), x, np.repeat(x[-1:], radius, 0)], 0)
    flat = padded.reshape(len(padded), -1)
    out = np.stack([np.convolve(flat[:, i], k, mode="valid") for i in range(flat.shape[1])], -1)
    return out.reshape(x.shape)


def smooth_below(x: np.ndarray, radius: int) -> np.ndarray:
    """A smooth curve that never exceeds x: min-filter (erode) then box-average with the same radius.

    Every frame's average only sees eroded values that are each <= that frame's x, so the bound is exact; it is
    how the pelvis height is kept under the stance legs' reach without kinks.
    """
    if radius <= 0:
        return x.copy()
    n = len(x)
    padded = np.concatenate([np.full(radius, x[0]), x, np.full(radius, x[-1])])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)
    eroded = windows.min(axis=1)
    padded = np.concatenate([np.full(radius, eroded[0]), eroded, np.full(radius, eroded[-1])])
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1).mean(axis=1)[:n]


def smooth_above(x: np.ndarray, radius: int) -> np.ndarray:
    """A smooth curve that never falls below x (the mirror image of `smooth_below`)."""
    return -smooth_below(-x, radius)


def hermite(n: int, y0: float, v0: float, y1: float, v1: float, dt: float) -> np.ndarray:
    """n samples (excluding the start, including the end) of the cubic from (y0, slope v0) to (y1, slope v1).

    Jumps use it so the pelvis leaves the crouch with the flight's take-off speed and meets the landing with
    the flight's touch-down speed: no velocity jumps at take-off or touch-down.
    """
    T = n * dt
    t = np.arange(1, n + 1) * dt / T
    h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, -2 * t**3 + 3 * t**2, t**3 - t**2
    return h00 * y0 + h10 * T * v0 + h01 * y1 + h11 * T * v1


def smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def envelope(n: int, rise: int, fall: int) -> np.ndarray:
    """0 -> 1 over `rise` frames, hold, 1 -> 0 over the last `fall` frames (smoothstep ramps)."""
    t = np.arange(n, dtype=float)
    up = smoothstep((t + 1) / max(rise, 1))
    down = smoothstep((n - t) / max(fall, 1)) if fall > 0 else np.ones(n)
    return np.minimum(up, down)


def bumps(n: int, count: int) -> np.ndarray:
    """`count` smooth 0 -> 1 -> 0 humps (sin^2) filling n frames: repeated squats, punches, jumps."""
    u = np.arange(n) / max(n - 1, 1)
    return np.sin(np.pi * count * u) ** 2

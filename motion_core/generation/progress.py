"""Progress reporting: one rising 0..1 curve for a caller, however the work is chunked."""
from __future__ import annotations

from typing import Callable

ProgressFn = Callable[[float, str], None]


class Progress:
    """Maps a sub-task's 0..1 onto a slice of the caller's 0..1, so chunked work reports one rising curve."""

    def __init__(self, callback: ProgressFn | None, low: float = 0.0, high: float = 1.0, prefix: str = ""):
        self.callback, self.low, self.high, self.prefix = callback, low, high, prefix

    def __call__(self, fraction: float, message: str) -> None:
        if self.callback is not None:
            self.callback(self.low + (self.high - self.low) * fraction, self.prefix + message)

    def sub(self, low: float, high: float, prefix: str = "") -> "Progress":
        """The slice [low, high] of this one. Sampling takes its first 95%; the rest is decoding and IK, which
        report nothing finer."""
        span = self.high - self.low
        return Progress(self.callback, self.low + span * low, self.low + span * (low + 0.95 * (high - low)),
                        self.prefix + prefix)


def monotonic(callback: ProgressFn | None) -> ProgressFn | None:
    """Progress that never goes backwards (an out-of-memory retry re-runs a slice already reported)."""
    if callback is None:
        return None
    high = [0.0]

    def report(fraction: float, message: str) -> None:
        high[0] = max(high[0], fraction)
        callback(high[0], message)
    return report

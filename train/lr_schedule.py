"""Learning-rate schedule: linear warm-up, then cosine decay to a floor, as a LambdaLR multiplier.

The schedule's length can follow a run's measured step rate (`steps_that_fit`): a machine lent for a
fixed time then still anneals to the floor inside it, instead of being cut off halfway down the cosine (round 6
planned 2,000 steps on an H200, stopped at 1,500 with the learning rate still at 2.5e-5)."""
from __future__ import annotations

import math

import torch


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Multiplier of the base LR at optimizer step `step` (0-based)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    progress = min(max(step - warmup_steps, 0) / span, 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine:
    """`warmup_cosine` with a length that can change (`total_steps`)."""

    def __init__(self, warmup_steps: int, total_steps: int, min_ratio: float):
        self.warmup_steps, self.total_steps, self.min_ratio = warmup_steps, total_steps, min_ratio

    def __call__(self, step: int) -> float:
        return warmup_cosine(step, self.warmup_steps, self.total_steps, self.min_ratio)


def build_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                    min_ratio: float) -> tuple[torch.optim.lr_scheduler.LambdaLR, WarmupCosine]:
    """The scheduler and its schedule. The scheduler calls the schedule through a plain function: LambdaLR saves a
    callable object's attributes in its state, and the schedule's shape belongs to the run's config, not to a
    checkpoint (a --max-steps raised on resume must stretch it)."""
    schedule = WarmupCosine(warmup_steps, total_steps, min_ratio)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: schedule(step)), schedule


def steps_that_fit(step: int, total_steps: int, seconds_per_step: float, seconds_left: float,
                   margin: float = 0.05) -> int:
    """The last step a run at `step` reaches in `seconds_left` at its measured rate, less `margin` of that time
    (checkpoints and the final export also cost time), never beyond `total_steps` nor before the next step."""
    if seconds_per_step <= 0:
        return total_steps
    reachable = int(max(seconds_left, 0.0) * (1.0 - margin) / seconds_per_step)
    return max(step + 1, min(total_steps, step + reachable))

"""Exponential moving average of a module's weights: the weights we export and evaluate.

The EMA tracks floating-point parameters and copies buffers verbatim; it lives on the training device in
float32 whatever autocast does to activations. A warm-up on the decay (min(decay, (1 + n) / (10 + n))) keeps
the first averages from being dominated by the random initialisation in short runs.
"""
from __future__ import annotations

import torch
from torch import nn


class EMA:
    def __init__(self, module: nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.updates = 0
        self.shadow = {k: v.detach().clone().float() if v.is_floating_point() else v.detach().clone()
                       for k, v in module.state_dict().items()}
        # A frozen parameter's average is itself; averaging it anyway would round its last bits away, and a frozen
        # VAE encoder must come out bit-identical (train.export matches it against the denoiser's).
        self.frozen = {k for k, p in module.named_parameters() if not p.requires_grad}

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        decay = self.current_decay()
        targets, values = [], []
        for key, value in module.state_dict().items():
            if value.is_floating_point() and key not in self.frozen:
                targets.append(self.shadow[key])
                values.append(value.detach().float())
            else:
                self.shadow[key].copy_(value)
        # One fused launch per op instead of two per tensor: a GPU step is launch-bound at small batches.
        torch._foreach_mul_(targets, decay)
        torch._foreach_add_(targets, values, alpha=1.0 - decay)
        self.updates += 1

    def copy_to(self, module: nn.Module) -> nn.Module:
        """Load the averaged weights into `module` (same architecture); returns it."""
        current = module.state_dict()
        module.load_state_dict({k: v.to(device=current[k].device, dtype=current[k].dtype)
                                for k, v in self.shadow.items()})
        return module

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        if set(state["shadow"]) != set(self.shadow):
            raise ValueError("EMA state does not match the module's parameters")
        self.decay, self.updates = float(state["decay"]), int(state["updates"])
        for key, value in state["shadow"].items():
            self.shadow[key].copy_(value)

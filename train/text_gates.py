"""Open a trained U-Net's text gates without changing what it computes, so further training can use them.

Each text cross-attention of the Mamba U-Net adds ``gate * attention(x, text)``, the gate a per-channel vector
that starts at zero. A gate near zero scales every gradient its attention receives by the same near-zero amount,
and in our runs that kept the text attentions closed: model v6's grown level attentions have mean |gate| 0.001
after 2,400 steps and its bottleneck one 0.04 after 24,000, while U-Nets trained 800 steps with their gates open
from the start follow the prompt three times as often (benchmarks/results/compare_denoisers_text_open_20261205/).

Opening folds each gate into its attention's output projection (``W <- diag(g) W``, ``b <- g * b``, ``g <- 1``):
the output is the same up to rounding, but now the projection (zero for a freshly grown attention, as in a
ControlNet "zero" layer) learns at the optimiser's full rate, and through it the whole attention.
"""
from __future__ import annotations

import torch
from torch import nn

from motion_core.models.denoiser import AttentionMixer, TextCrossAttention


def text_gates(denoiser: nn.Module) -> list[tuple[str, nn.Parameter, nn.Linear]]:
    """(name, gate, the output projection it scales) of every gated text cross-attention of a Mamba U-Net."""
    found = []
    for name, module in denoiser.named_modules():
        if isinstance(module, AttentionMixer):          # the bottleneck
            found.append((f"{name}.cross_gate", module.cross_gate, module.cross_attn.out))
        elif isinstance(module, TextCrossAttention):    # a level grown with `text_levels`
            found.append((f"{name}.gate", module.gate, module.attn.out))
    return found


@torch.no_grad()
def open_text_gates(denoiser: nn.Module) -> list[str]:
    """Fold every text gate into its output projection and set it to one; returns the gates' names."""
    opened = []
    for name, gate, out in text_gates(denoiser):
        out.weight.mul_(gate[:, None])
        out.bias.mul_(gate)
        gate.fill_(1.0)
        opened.append(name)
    return opened

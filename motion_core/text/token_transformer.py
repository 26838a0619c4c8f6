"""What the trainable text encoders share: per-token features -> a summary token, positions, a small transformer.

Position 0 is a learned pooled ("summary") token that attends to the whole prompt, positions 1..n are the
prompt's tokens. An empty prompt yields only the summary token, which thereby learns to be the unconditional
input of classifier-free guidance. The attribute names are the checkpoints' tensor names (``text.pooled_token``,
``text.position``, ``text.transformer.*``, ``text.final_norm.*``), so they must not change.
"""
from __future__ import annotations

import torch
from torch import nn

from motion_core.text.base import TextEncoder


class TokenTransformerEncoder(TextEncoder):
    """A `TextEncoder` whose subclass makes (B, n, dim) token features; this turns them into the output."""

    def build_token_transformer(self, dim: int, heads: int, ff_dim: int, layers: int, dropout: float,
                                max_tokens: int) -> None:
        """Create the shared layers (called from the subclass's __init__, at the point its parameters' random
        initialisation order expects)."""
        self.pooled_token = nn.Parameter(torch.zeros(dim))
        self.position = nn.Parameter(torch.zeros(max_tokens + 1, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, ff_dim, dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        # Nested tensors would return padded positions in a different layout on the fast path; keep it simple.
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(dim)

    def contextualize(self, words: torch.Tensor, mask: torch.Tensor,
                      shift: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(tokens (B, n + 1, dim), mask (B, n + 1)) from token features `words` (B, n, dim) and their mask; a
        `shift` (B, dim) (a whole-prompt feature: the sentence gist) is added at every position."""
        b, n, dim = words.shape
        x = torch.cat([self.pooled_token.expand(b, 1, dim), words], dim=1) + self.position[: n + 1]
        if shift is not None:
            x = x + shift.unsqueeze(1)
        full_mask = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=mask.device), mask], dim=1)
        x = self.transformer(x, src_key_padding_mask=~full_mask)
        # Zero the padding so downstream code that forgets the mask at least sees no garbage.
        x = self.final_norm(x) * full_mask.unsqueeze(-1)
        return x, full_mask

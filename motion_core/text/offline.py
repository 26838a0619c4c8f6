"""The default text encoder: hashed word/n-gram embeddings + a small transformer, trained with the denoiser.

It needs no download (see `hash_tokenizer` for the vocabulary-free tokenisation), so a fresh install can run the
bundled default model. Output layout: position 0 is a learned pooled ("summary") token that attends to the whole
prompt, positions 1..n are the prompt's words. An empty prompt yields only the pooled token, which thereby learns
to be the unconditional embedding used by classifier-free guidance.
"""
from __future__ import annotations

import torch
from torch import nn

from motion_core.text.token_transformer import TokenTransformerEncoder
from motion_core.text.hash_tokenizer import HashTokenizer, TokenizedBatch


class OfflineTextEncoder(TokenTransformerEncoder):
    trainable = True

    def __init__(self, dim: int = 256, layers: int = 2, heads: int = 4, ff_dim: int = 1024,
                 num_buckets: int = 32768, max_tokens: int = 64, max_char_ngrams: int = 16,
                 dropout: float = 0.1):
        super().__init__()
        if dim % heads != 0:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.dim = dim
        self._hparams = dict(dim=dim, layers=layers, heads=heads, ff_dim=ff_dim, num_buckets=num_buckets,
                             max_tokens=max_tokens, max_char_ngrams=max_char_ngrams, dropout=dropout)
        self.tokenizer = HashTokenizer(num_buckets, max_tokens, max_char_ngrams)
        # mode="mean" with padding_idx averages only the features a word actually has (short words have
        # fewer trigrams), so the embedding scale does not depend on word length.
        self.embedding = nn.EmbeddingBag(num_buckets, dim, mode="mean", padding_idx=0)
        self.build_token_transformer(dim, heads, ff_dim, layers, dropout, max_tokens)
        self.last_truncated: list[bool] = []
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        nn.init.normal_(self.embedding.weight, std=0.02)
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        nn.init.normal_(self.pooled_token, std=0.02)
        nn.init.normal_(self.position, std=0.02)

    def config(self) -> dict:
        return {"type": "offline", **self._hparams}

    def tokenize(self, prompts: list[str]) -> TokenizedBatch:
        return self.tokenizer(prompts)

    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(tokens (B, 1 + n, dim), mask (B, 1 + n)); n = longest prompt in words, capped at max_tokens.

        Which prompts were truncated is recorded in `self.last_truncated` (one bool per prompt).
        """
        return self.forward_ids(*self.prepare(prompts))

    def prepare(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids (B, n, S) and their mask (B, n) on this encoder's device; records `last_truncated`."""
        batch = self.tokenize(prompts)
        self.last_truncated = batch.truncated
        # non_blocking: a blocking host-to-GPU copy synchronises the stream (PyTorch waits for the copy), which
        # would stall a training step's launch queue twice per batch. The source stays alive until the
        # copy is staged, so this is safe for pageable memory.
        return batch.ids.to(self.device, non_blocking=True), batch.mask.to(self.device, non_blocking=True)

    def forward_prepared(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_ids(ids, mask)

    def forward_ids(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode already tokenised (B, n, S) ids; lets data loaders tokenise in worker processes."""
        b, n, slots = ids.shape
        words = self.embedding(ids.reshape(b * n, slots)).reshape(b, n, self.dim)
        return self.contextualize(words, mask)

    forward = encode

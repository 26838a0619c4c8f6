"""Text encoder over pretrained word vectors: a frozen token table under a small trainable transformer.

Unlike the hashing encoder ("offline"), it knows how words relate before training: "hops" starts near "jumps",
"jogs" near "runs" (see `motion_core.text.word_vectors`). The table (WordLlama's, pruned, float16, MIT) and its
tokenizer are buffers of this module, so they travel inside the model checkpoint under ``text.``: the runtime needs
the `tokenizers` library and nothing else, no download.

Layout (as "offline"): position 0 is a learned summary token, positions 1..n the prompt's tokens. Each token is
its frozen vector, layer-normalised and projected to `dim`, plus a learned position embedding; the transformer
then mixes them, so word order matters ("walks, then jumps" != "jumps, then walks"). An empty prompt yields only
the summary token, which learns to be the unconditional input of classifier-free guidance.

Built for training: ``{"type": "wordvec", "vectors": "DIR/word_vectors.safetensors", ...}`` reads the table.
Built from a checkpoint config (no "vectors"): zero buffers of the recorded sizes, filled by load_state_dict.

With a sentence gist (``"gist_vectors": "DIR/word_vectors.safetensors"`` for training, ``"gist": {...}`` in a
checkpoint's config; see `motion_core.text.sentence_gist`), the prompt's mean sentence vector, projected, is added
to every position the transformer reads.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from motion_core.text.sentence_gist import SentenceGist
from motion_core.text.token_table import FrozenTokenTable
from motion_core.text.token_transformer import TokenTransformerEncoder
from motion_core.text.word_vectors import NOTICE, WordVectors


@dataclass
class WordVecBatch:
    ids: torch.Tensor        # (B, n) int64 token ids (rows of the table), 0 where padded
    mask: torch.Tensor       # (B, n) bool, True = real token
    truncated: list[bool]    # per prompt: longer than max_tokens, cut


class WordVecTextEncoder(FrozenTokenTable, TokenTransformerEncoder):
    trainable = True

    def __init__(self, dim: int = 256, layers: int = 2, heads: int = 4, ff_dim: int = 768, max_tokens: int = 64,
                 dropout: float = 0.1, vocab_size: int = 0, word_dim: int = 256, tokenizer_bytes: int = 0,
                 vectors: str | None = None, notice: str = NOTICE, gist: dict | None = None,
                 gist_vectors: str | None = None):
        super().__init__()
        if dim % heads != 0:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        source = None
        if vectors is not None:
            source = WordVectors.load(vectors)
            vocab_size, word_dim = len(source), source.dim
            tokenizer_bytes = len(source.tokenizer_json.encode("utf-8"))
        if vocab_size < 1 or tokenizer_bytes < 1:
            raise ValueError("a wordvec encoder needs its word vectors: give 'vectors' (a word_vectors.safetensors "
                             "from python -m train.word_vectors) or the vocab_size/tokenizer_bytes of a checkpoint")
        self.dim = dim
        self._hparams = dict(dim=dim, layers=layers, heads=heads, ff_dim=ff_dim, max_tokens=max_tokens,
                             dropout=dropout, vocab_size=vocab_size, word_dim=word_dim,
                             tokenizer_bytes=tokenizer_bytes, notice=notice)
        self.max_tokens = max_tokens
        self.register_token_table(vocab_size, word_dim, tokenizer_bytes, source)
        self.word_norm = nn.LayerNorm(word_dim)
        self.project = nn.Linear(word_dim, dim)
        self.build_token_transformer(dim, heads, ff_dim, layers, dropout, max_tokens)
        self.last_truncated: list[bool] = []
        nn.init.normal_(self.pooled_token, std=0.02)
        nn.init.normal_(self.position, std=0.02)
        # Optional second view (motion_core.text.sentence_gist); made last, so the random initialisation of the
        # layers above is the same with or without it.
        self.gist = None
        if gist_vectors is not None or gist is not None:
            self.gist = SentenceGist(dim, vectors=gist_vectors) if gist_vectors is not None \
                else SentenceGist(dim, **gist)

    def config(self) -> dict:
        config = {"type": "wordvec", **self._hparams}
        if self.gist is not None:
            config["gist"] = self.gist.config()
        return config

    # ---- tokenising (host) ---------------------------------------------------------------------------------

    def tokenize(self, prompts: list[str]) -> WordVecBatch:
        return WordVecBatch(*self.token_batch(prompts, self.max_tokens))

    def prepare(self, prompts: list[str]) -> tuple[torch.Tensor, ...]:
        """(ids, mask), and with a gist its (ids, mask) too, on the encoder's device."""
        batch = self.tokenize(prompts)
        self.last_truncated = batch.truncated
        inputs = (batch.ids.to(self.device, non_blocking=True), batch.mask.to(self.device, non_blocking=True))
        return inputs if self.gist is None else inputs + self.gist.prepare(prompts)

    # ---- encoding (device) ---------------------------------------------------------------------------------

    def forward_prepared(self, ids: torch.Tensor, mask: torch.Tensor, gist_ids: torch.Tensor | None = None,
                         gist_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        words = self.project(self.word_norm(self.table[ids].float()))
        shift = None if self.gist is None else self.gist(gist_ids, gist_mask)
        return self.contextualize(words, mask, shift)

    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_prepared(*self.prepare(prompts))

    forward = encode

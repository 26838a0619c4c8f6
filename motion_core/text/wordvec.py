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
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from motion_core.text.token_transformer import TokenTransformerEncoder
from motion_core.text.word_vectors import NOTICE, WordVectors, load_tokenizer, normalize_prompt, tokenizer_tensor


@dataclass
class WordVecBatch:
    ids: torch.Tensor        # (B, n) int64 token ids (rows of the table), 0 where padded
    mask: torch.Tensor       # (B, n) bool, True = real token
    truncated: list[bool]    # per prompt: longer than max_tokens, cut


class WordVecTextEncoder(TokenTransformerEncoder):
    trainable = True

    def __init__(self, dim: int = 256, layers: int = 2, heads: int = 4, ff_dim: int = 768, max_tokens: int = 64,
                 dropout: float = 0.1, vocab_size: int = 0, word_dim: int = 256, tokenizer_bytes: int = 0,
                 vectors: str | None = None, notice: str = NOTICE):
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
        self.register_buffer("table", torch.zeros(vocab_size, word_dim, dtype=torch.float16))
        self.register_buffer("tokenizer_json", torch.zeros(tokenizer_bytes, dtype=torch.uint8))
        if source is not None:
            self.table.copy_(source.table.to(torch.float16))
            self.tokenizer_json.copy_(tokenizer_tensor(source.tokenizer_json))
        self.word_norm = nn.LayerNorm(word_dim)
        self.project = nn.Linear(word_dim, dim)
        self.build_token_transformer(dim, heads, ff_dim, layers, dropout, max_tokens)
        self.last_truncated: list[bool] = []
        self._tokenizer = None
        self._vectors: WordVectors | None = None
        nn.init.normal_(self.pooled_token, std=0.02)
        nn.init.normal_(self.position, std=0.02)

    def config(self) -> dict:
        return {"type": "wordvec", **self._hparams}

    # ---- tokenising (host) ---------------------------------------------------------------------------------

    def _apply(self, fn, recurse=True):
        # `.to(torch.float32)` / `.float()` (the engine's, EMA's) must not widen the frozen table: it is stored and
        # kept as float16 (half the checkpoint bytes); rows are widened where they are read.
        super()._apply(fn, recurse)
        if self.table.is_floating_point() and self.table.dtype != torch.float16:
            self.table = self.table.to(torch.float16)
        return self

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._tokenizer, self._vectors = None, None   # new buffers: the cached tokenizer may be stale

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            blob = self.tokenizer_json.detach().cpu().numpy().tobytes()
            if not blob.strip(b"\x00"):
                raise RuntimeError("this wordvec encoder holds no tokenizer yet (load its checkpoint first)")
            self._tokenizer = load_tokenizer(blob)
            if self._tokenizer.get_vocab_size() != self.table.shape[0]:
                raise ValueError(f"tokenizer has {self._tokenizer.get_vocab_size()} tokens but the word table "
                                 f"{self.table.shape[0]} rows")
        return self._tokenizer

    def word_vectors(self) -> WordVectors:
        """The frozen table and tokenizer as a `WordVectors` (for vocabulary checks)."""
        if self._vectors is None:
            self._vectors = WordVectors(self.tokenizer_json.detach().cpu().numpy().tobytes().decode("utf-8"),
                                        self.table.detach().cpu())
        return self._vectors

    def tokenize(self, prompts: list[str]) -> WordVecBatch:
        if not isinstance(prompts, (list, tuple)) or not all(isinstance(p, str) for p in prompts):
            raise TypeError("prompts must be a list of strings")
        encodings = self.tokenizer.encode_batch([normalize_prompt(p) for p in prompts], add_special_tokens=False)
        rows = [e.ids for e in encodings]
        truncated = [len(r) > self.max_tokens for r in rows]
        rows = [r[: self.max_tokens] for r in rows]
        n = max((len(r) for r in rows), default=0)
        ids = torch.zeros(len(rows), n, dtype=torch.long)
        mask = torch.zeros(len(rows), n, dtype=torch.bool)
        for i, r in enumerate(rows):
            if r:
                ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
                mask[i, : len(r)] = True
        return WordVecBatch(ids, mask, truncated)

    def prepare(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.tokenize(prompts)
        self.last_truncated = batch.truncated
        return batch.ids.to(self.device, non_blocking=True), batch.mask.to(self.device, non_blocking=True)

    # ---- encoding (device) ---------------------------------------------------------------------------------

    def forward_prepared(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        words = self.project(self.word_norm(self.table[ids].float()))
        return self.contextualize(words, mask)

    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_prepared(*self.prepare(prompts))

    forward = encode

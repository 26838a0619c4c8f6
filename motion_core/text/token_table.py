"""A frozen token table and its tokenizer, held as module buffers so that they travel inside a checkpoint.

What the word-vector encoder (`motion_core.text.wordvec`) and the sentence gist (`motion_core.text.sentence_gist`)
share: ``table`` (K, D) float16, kept float16 whatever dtype the module is moved to (rows are widened where they
are read), and ``tokenizer_json`` (N,) uint8, the tokenizer's JSON in the `tokenizers` library's format, whose
vocabulary numbers exactly the K rows. Built for training from a `WordVectors` file; built from a checkpoint's
config as zero buffers of the recorded sizes, which `load_state_dict` fills.
"""
from __future__ import annotations

import torch

from motion_core.text.word_vectors import WordVectors, load_tokenizer, normalize_prompt, tokenizer_tensor


class FrozenTokenTable:
    """Mixin for an `nn.Module` with a frozen token table (see the module docstring); list it before the module
    class, so its `_apply` and `_load_from_state_dict` wrap the module's."""

    table: torch.Tensor
    tokenizer_json: torch.Tensor

    def register_token_table(self, vocab_size: int, dim: int, tokenizer_bytes: int,
                             source: WordVectors | None = None) -> None:
        self.register_buffer("table", torch.zeros(vocab_size, dim, dtype=torch.float16))
        self.register_buffer("tokenizer_json", torch.zeros(tokenizer_bytes, dtype=torch.uint8))
        if source is not None:
            self.table.copy_(source.table.to(torch.float16))
            self.tokenizer_json.copy_(tokenizer_tensor(source.tokenizer_json))
        self._tokenizer = None
        self._vectors: WordVectors | None = None

    def _apply(self, fn, recurse=True):
        # `.to(torch.float32)` / `.float()` (the engine's, EMA's) must not widen the frozen table: it is stored and
        # kept as float16 (half the checkpoint bytes).
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
                raise RuntimeError(f"this {type(self).__name__} holds no tokenizer yet (load its checkpoint first)")
            self._tokenizer = load_tokenizer(blob)
            if self._tokenizer.get_vocab_size() != self.table.shape[0]:
                raise ValueError(f"tokenizer has {self._tokenizer.get_vocab_size()} tokens but the table "
                                 f"{self.table.shape[0]} rows")
        return self._tokenizer

    def word_vectors(self) -> WordVectors:
        """The frozen table and tokenizer as a `WordVectors` (for vocabulary checks)."""
        if self._vectors is None:
            self._vectors = WordVectors(self.tokenizer_json.detach().cpu().numpy().tobytes().decode("utf-8"),
                                        self.table.detach().cpu())
        return self._vectors

    def token_batch(self, prompts: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor, list[bool]]:
        """(ids (B, n) int64, 0 where padded; mask (B, n) bool, True = real token; per prompt: cut at max_tokens)."""
        if not isinstance(prompts, (list, tuple)) or not all(isinstance(p, str) for p in prompts):
            raise TypeError("prompts must be a list of strings")
        encodings = self.tokenizer.encode_batch([normalize_prompt(p) for p in prompts], add_special_tokens=False)
        rows = [e.ids for e in encodings]
        truncated = [len(r) > max_tokens for r in rows]
        rows = [r[:max_tokens] for r in rows]
        n = max((len(r) for r in rows), default=0)
        ids = torch.zeros(len(rows), n, dtype=torch.long)
        mask = torch.zeros(len(rows), n, dtype=torch.bool)
        for i, r in enumerate(rows):
            if r:
                ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
                mask[i, : len(r)] = True
        return ids, mask, truncated

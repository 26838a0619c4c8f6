"""Pretrained word vectors that run offline: a BPE tokenizer and a frozen table of 256-dim token vectors.

The vectors are WordLlama's ``l2_supercat_256`` token embeddings (MIT, see `NOTICE`), taken out of its wheel and
pruned to the tokens English prompts use by ``python -m train.word_vectors`` (the `wordllama` package itself is
never imported: every version needs numpy >= 2, which bpy cannot share). At run time only the `tokenizers`
library is needed. A word's vector is the mean of its tokens' vectors; that is what `similarity` compares
(jump-leap 0.46, jump-walk 0.05: see benchmarks/word_vectors.py).

File format (``word_vectors.safetensors``): ``table`` (K, D) float16, token id i = row i; ``tokenizer`` (N,)
uint8, the tokenizer's JSON (the `tokenizers` library's format) whose vocabulary numbers exactly those K rows.
The same two tensors travel inside a model checkpoint as the ``wordvec`` encoder's buffers.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch

from motion_core.text.hash_tokenizer import normalize_text

NOTICE = ("Word vectors: WordLlama l2_supercat_256 token embeddings and tokenizer, Copyright (c) 2024 Lee Miller, "
          "MIT License (full text: motion_core/text/WORDLLAMA_LICENSE.txt), pruned to English tokens.")
FILE_NAME = "word_vectors.safetensors"


def normalize_prompt(text: str) -> str:
    """What the tokenizer reads: casefolded, accents stripped, runs of whitespace collapsed to one space."""
    return " ".join(normalize_text(text).split())


def load_tokenizer(blob: bytes | str):
    """A `tokenizers.Tokenizer` from its JSON; a clear error when the optional dependency is missing."""
    try:
        from tokenizers import Tokenizer
    except ImportError as error:  # pragma: no cover - tokenizers is a dependency; this is for broken installs
        raise ImportError("the word-vector text encoder needs the 'tokenizers' package (pip install tokenizers)") \
            from error
    text = blob.decode("utf-8") if isinstance(blob, (bytes, bytearray)) else blob
    return Tokenizer.from_str(text)


def tokenizer_vocab_size(tokenizer_json: str) -> int:
    return len(json.loads(tokenizer_json)["model"]["vocab"])


class WordVectors:
    """Tokenizer + frozen (K, D) table; `vectors(words)` gives unit-length mean-of-tokens vectors."""

    def __init__(self, tokenizer_json: str, table: torch.Tensor):
        if table.dim() != 2:
            raise ValueError(f"word-vector table must be 2-D, got shape {tuple(table.shape)}")
        self.tokenizer_json = tokenizer_json
        self.tokenizer = load_tokenizer(tokenizer_json)
        size = self.tokenizer.get_vocab_size()
        if size != table.shape[0]:
            raise ValueError(f"tokenizer has {size} tokens but the table has {table.shape[0]} rows")
        self.table = table
        self._cache: dict[str, torch.Tensor] = {}

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    def __len__(self) -> int:
        return int(self.table.shape[0])

    @classmethod
    def load(cls, path: str | Path) -> "WordVectors":
        """From a ``word_vectors.safetensors`` file, or a directory holding one."""
        from safetensors.torch import load_file
        path = Path(path)
        if path.is_dir():
            path = path / FILE_NAME
        tensors = load_file(str(path))
        if set(tensors) != {"table", "tokenizer"}:
            raise ValueError(f"{path}: expected tensors 'table' and 'tokenizer', got {sorted(tensors)}")
        return cls(bytes(tensors["tokenizer"].numpy().tobytes()).decode("utf-8"), tensors["table"])

    def save(self, path: str | Path, notice: str = NOTICE) -> Path:
        from safetensors.torch import save_file
        path = Path(path)
        if path.suffix != ".safetensors":
            path.mkdir(parents=True, exist_ok=True)
            path = path / FILE_NAME
        save_file({"table": self.table.to(torch.float16).contiguous(), "tokenizer": tokenizer_tensor(self.tokenizer_json)},
                  str(path), metadata={"notice": notice})
        return path

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text (normalised first; no special tokens)."""
        return [e.ids for e in self.tokenizer.encode_batch([normalize_prompt(t) for t in texts],
                                                           add_special_tokens=False)]

    def tokens(self, text: str) -> list[str]:
        return self.tokenizer.encode(normalize_prompt(text), add_special_tokens=False).tokens

    def vectors(self, words: list[str]) -> torch.Tensor:
        """(len(words), D) float32 unit vectors: each word's (or phrase's) mean token vector, normalised."""
        out = []
        missing = [w for w in dict.fromkeys(words) if w not in self._cache]
        if missing:
            for word, ids in zip(missing, self.token_ids(missing)):
                if ids:
                    v = self.table[torch.tensor(ids)].float().mean(0)
                else:
                    v = torch.zeros(self.dim)
                self._cache[word] = v / v.norm().clamp_min(1e-8)
        for word in words:
            out.append(self._cache[word])
        return torch.stack(out) if out else torch.zeros(0, self.dim)

    def similarity(self, a: str, b: str) -> float:
        va, vb = self.vectors([a, b])
        return float(va @ vb)


def tokenizer_tensor(tokenizer_json: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(tokenizer_json.encode("utf-8")), dtype=torch.uint8).clone()


@lru_cache(maxsize=4)
def _cached_tokenizer(blob: bytes):
    return load_tokenizer(blob)


__all__ = ["WordVectors", "NOTICE", "FILE_NAME", "normalize_prompt", "load_tokenizer", "tokenizer_tensor"]

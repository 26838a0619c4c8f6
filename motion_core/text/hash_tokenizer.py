"""A vocabulary-free, deterministic tokenizer for the offline text encoder.

Why hashing: the default model must work on a fresh machine with no download, so there is no vocabulary file to
ship or fetch. Every word is instead described by a few *features* hashed into a fixed number of buckets:

- the word itself (``w:walks``),
- the bigram with the previous word (``b:person walks``), which captures short phrases ("turn left"),
- the character trigrams of ``<word>`` (``c:<wa``, ``c:wal``, ...), so that typos and unseen inflections
  ("waving" / "waves" / "wavng") share most of their features with known words,
- a shape feature for numbers (``n:int`` / ``n:dec``) so that unseen numbers still read as "a number".

Hashes come from BLAKE2b, which is stable across processes and platforms (Python's ``hash()`` is salted per
process and would silently change every embedding row on each run). Bucket 0 is reserved for padding.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

# Numbers (with an optional decimal part), words (letters, with inner apostrophes: "person's"), or any single
# other visible character (punctuation, symbols). Underscores count as punctuation.
_ROW_CACHE_SIZE = 1 << 16
_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+(?:'[^\W\d_]+)*|[^\w\s]|_")


@lru_cache(maxsize=1 << 17)
def stable_hash(text: str) -> int:
    """64-bit hash of a string that never changes between runs, machines or Python versions."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def normalize_text(text: str) -> str:
    """Unicode-normalise, casefold and strip accents, so "Café", "CAFE" and "cafe" read the same."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", text)


def split_words(text: str) -> list[str]:
    """Words, numbers and punctuation marks of a normalised prompt, in order."""
    return _TOKEN_RE.findall(normalize_text(text))


@dataclass
class TokenizedBatch:
    ids: torch.Tensor          # (B, N, S) long bucket ids, 0 = unused feature slot / padding token
    mask: torch.Tensor         # (B, N) bool, True for real tokens
    truncated: list[bool]      # per prompt: were words dropped because of max_tokens?


class HashTokenizer:
    """Turns prompts into (B, N, S) hashed feature ids; S = 3 + max_char_ngrams feature slots per word."""

    def __init__(self, num_buckets: int = 32768, max_tokens: int = 64, max_char_ngrams: int = 16):
        if num_buckets < 2:
            raise ValueError(f"num_buckets must be >= 2 (bucket 0 is padding), got {num_buckets}")
        if max_tokens < 1 or max_char_ngrams < 0:
            raise ValueError(f"max_tokens must be >= 1 and max_char_ngrams >= 0, got {max_tokens}, {max_char_ngrams}")
        self.num_buckets = num_buckets
        self.max_tokens = max_tokens
        self.max_char_ngrams = max_char_ngrams
        # (word, previous) -> its padded row of ids. Prompts reuse a small vocabulary, and hashing ~20 features
        # per word dominated a training step's prompt encoding (benchmarks/bench_tokenizer.py).
        self._rows: dict[tuple[str, str], list[int]] = {}

    @property
    def slots(self) -> int:
        return 3 + self.max_char_ngrams

    def bucket(self, feature: str) -> int:
        return 1 + stable_hash(feature) % (self.num_buckets - 1)

    def word_features(self, word: str, previous: str) -> list[int]:
        """Bucket ids describing `word` (preceded by `previous`, "<s>" at the start)."""
        features = [f"w:{word}", f"b:{previous} {word}"]
        if word[0].isdigit():
            features.append("n:dec" if any(c in word for c in ".,") else "n:int")
        if word[0].isalpha():
            padded = f"<{word}>"
            trigrams = [padded[i:i + 3] for i in range(len(padded) - 2)]
            features.extend(f"c:{t}" for t in trigrams[: self.max_char_ngrams])
        return [self.bucket(f) for f in features]

    def padded_row(self, word: str, previous: str) -> list[int]:
        """`word_features` padded with zeros to `slots` ids, memoised (bounded: a flood of unique words resets it)."""
        key = (word, previous)
        row = self._rows.get(key)
        if row is None:
            if len(self._rows) >= _ROW_CACHE_SIZE:
                self._rows.clear()
            features = self.word_features(word, previous)
            row = self._rows[key] = features + [0] * (self.slots - len(features))
        return row

    def __call__(self, prompts: list[str]) -> TokenizedBatch:
        if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
            raise TypeError("prompts must be a list of strings")
        rows, truncated = [], []
        for prompt in prompts:
            words = split_words(prompt)
            truncated.append(len(words) > self.max_tokens)
            words = words[: self.max_tokens]
            rows.append([self.padded_row(w, p) for w, p in zip(words, ["<s>"] + words[:-1])])
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        length = int(lengths.max(initial=0))
        # Fill one preallocated array row by row and wrap it once: converting nested Python lists with
        # torch.tensor cost more than the tokenising itself in a training step.
        ids = np.zeros((len(prompts), length, self.slots), dtype=np.int64)
        for i, row in enumerate(rows):
            if row:
                ids[i, : len(row)] = row
        mask = np.arange(length)[None, :] < lengths[:, None]
        return TokenizedBatch(ids=torch.from_numpy(ids), mask=torch.from_numpy(mask),
                              truncated=truncated)

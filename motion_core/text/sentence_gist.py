"""A prompt's gist: the mean of its tokens' sentence vectors, a second frozen view of the prompt beside its words.

The word vectors (WordLlama) place each token by itself; the sentence vectors (`train.sentence_vectors`: static
token vectors distilled from all-MiniLM-L6-v2, a model trained to put paraphrases together) were shaped by whole
sentences meaning the same. Measured with a linear read-out (benchmarks/text_features_probe.py), the two together
tell the action of prompts in unfamiliar words better than either alone. The gist is their mean over the prompt's
tokens, normalised, projected to the text encoder's width and added to every position the encoder's transformer
reads, so each token and the summary see what the whole prompt is about. The projection starts at zero: grafted
onto a trained encoder (``python -m train.sentence_gist``), the model is unchanged until tuning teaches it to
use the gist. An empty prompt (classifier-free guidance's unconditional input) has no gist: zero.

Tensors (under the encoder's ``gist.``): ``table`` (K, D) float16 and ``tokenizer_json`` (a WordPiece tokenizer),
frozen (`FrozenTokenTable`); ``project.weight`` / ``project.bias``, trained.
Notice: motion_core/text/MINILM_LICENSE.txt.
"""
from __future__ import annotations

import torch
from torch import nn

from motion_core.text.token_table import FrozenTokenTable
from motion_core.text.word_vectors import WordVectors

NOTICE = ("Sentence vectors: distilled from sentence-transformers/all-MiniLM-L6-v2 (Apache License 2.0, full text: "
          "motion_core/text/MINILM_LICENSE.txt) by train.sentence_vectors: static token vectors, pruned, projected.")
MAX_TOKENS = 128   # a gist is a mean: a longer prompt's first 128 pieces say what it is about


class SentenceGist(FrozenTokenTable, nn.Module):
    def __init__(self, out_dim: int, vocab_size: int = 0, dim: int = 0, tokenizer_bytes: int = 0,
                 vectors: str | None = None, notice: str = NOTICE):
        super().__init__()
        source = WordVectors.load(vectors) if vectors is not None else None
        if source is not None:
            vocab_size, dim = len(source), source.dim
            tokenizer_bytes = len(source.tokenizer_json.encode("utf-8"))
        if vocab_size < 1 or dim < 1 or tokenizer_bytes < 1:
            raise ValueError("a sentence gist needs its vectors: give 'vectors' (a word_vectors.safetensors from "
                             "python -m train.sentence_vectors) or the vocab_size/dim/tokenizer_bytes of a checkpoint")
        self._hparams = dict(vocab_size=vocab_size, dim=dim, tokenizer_bytes=tokenizer_bytes, notice=notice)
        self.register_token_table(vocab_size, dim, tokenizer_bytes, source)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.project = nn.Linear(dim, out_dim)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def config(self) -> dict:
        return dict(self._hparams)

    def prepare(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids, mask) of the prompts' tokens (host work), on this module's device."""
        ids, mask, _ = self.token_batch(prompts, MAX_TOKENS)
        device = self.table.device
        return ids.to(device, non_blocking=True), mask.to(device, non_blocking=True)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, out_dim): each prompt's projected gist; zero for a prompt without tokens."""
        weights = mask.unsqueeze(-1).float()
        mean = (self.table[ids].float() * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        said = mask.any(1, keepdim=True).float()
        return self.project(self.norm(mean)) * said

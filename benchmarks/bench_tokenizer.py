"""Prompt tokenisation speed of the offline text encoder's `HashTokenizer`, as a training step sees it.

A training step tokenises its whole batch of captions in the main process, so this cost sits on the GPU's
critical path. Measures ms per batch of `--batch` captions, with a fresh tokenizer for every batch ("cold":
nothing memoised) and with one tokenizer reused ("warm": the steady state of training). Captions come from
`--texts DIR` (a HumanML3D-layout texts/ folder), else from a fixed grammar of corpus-like sentences.

    python benchmarks/bench_tokenizer.py [--texts CORPUS/texts] [--batch 256] [--repeats 20]

To compare two versions of the tokenizer, run this script with PYTHONPATH pointing at each checkout.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.text.hash_tokenizer import HashTokenizer  # noqa: E402

SUBJECTS = ["a person", "someone", "a man", "a woman", "the figure", "a character"]
ACTIONS = ["walks forward", "walks backwards", "jogs in a circle", "jumps in place", "waves with the left hand",
           "waves with the right hand", "sits down on a chair", "kicks with the right leg", "punches twice",
           "claps their hands", "spins around", "sidesteps to the left", "bows", "raises both arms"]
LINKS = [", then ", " and then ", " before it ", " while it "]


def grammar_captions(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    captions = []
    for _ in range(count):
        first, second = rng.sample(ACTIONS, 2)
        captions.append(f"{rng.choice(SUBJECTS)} {first}{rng.choice(LINKS)}{second}")
    return captions


def corpus_captions(texts: Path) -> list[str]:
    captions = [line.split("#")[0] for path in sorted(texts.glob("*.txt"))
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not captions:
        raise SystemExit(f"no captions found in {texts}")
    return captions


def time_batches(captions: list[str], batch: int, repeats: int, cold: bool) -> list[float]:
    rng = random.Random(1)
    tokenizer = HashTokenizer(8192, 64, 16)          # the default model's sizes
    tokenizer(rng.sample(captions, min(batch, len(captions))))   # warm-up (imports, first allocations)
    times = []
    for _ in range(repeats):
        prompts = [rng.choice(captions) for _ in range(batch)]
        if cold:
            tokenizer = HashTokenizer(8192, 64, 16)
        start = time.perf_counter()
        tokenizer(prompts)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=Path, help="a texts/ folder of captions (default: built-in grammar)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    captions = corpus_captions(args.texts) if args.texts else grammar_captions(5000)
    result = {}
    for mode in ("cold", "warm"):
        times = time_batches(captions, args.batch, args.repeats, cold=mode == "cold")
        result[mode] = {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2)}
        print(f"{mode}: {args.batch} captions in {result[mode]['median_ms']:.1f} ms median "
              f"(min {result[mode]['min_ms']:.1f} ms)")
    return result


if __name__ == "__main__":
    main()

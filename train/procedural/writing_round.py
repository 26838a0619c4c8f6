"""Planning a writing round: which actions the written phrasings should grow for next, and each writer's brief.

    python -m train.procedural.writing_round --report MODEL_REPORT.json --out DIR [--below 0.75] [--writers 4]

A round pays where the model follows worst, so the actions are picked from a `benchmarks/model_report.py` report:
every base action (sides pooled) whose held-out paraphrase or training-phrasing pass rate is under `--below`.
Each writer then gets only what the corpus already trains on: the picked actions' bank keys, their training
phrasings and the bank's phrasings so far. Nothing held out goes into a brief, so a writer cannot copy it, and
`vet_phrasings` still drops whatever meets held-out text by chance.

Writes DIR/targeted_bases.json (the picked base actions, sorted) and DIR/writer_in_N.json for N < --writers,
the keys dealt round-robin from the weakest down so every writer gets a share of the hardest ones.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from train.procedural.captions import phrases
from train.procedural.phrase_sets import phrased_parameters
from train.procedural.written_phrasings import (
    BANK_FILE,
    base_of,
    bases,
    keys_saying,
    load_bank,
    split_key,
)

RATES = ("paraphrase_pass_rate", "training_pass_rate")


def weak_bases(report: dict, below: float = 0.75) -> dict[str, float]:
    """Base action -> its lower pooled rate (`RATES`, sides averaged), for bases with one under `below`."""
    pooled: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for label, row in report["per_action"].items():
        for rate in RATES:
            if row.get(rate) is not None:
                pooled[base_of(label)][rate].append(row[rate])
    lowest = {base: min(sum(v) / len(v) for v in rates.values()) for base, rates in pooled.items() if rates}
    return {base: rate for base, rate in lowest.items() if rate < below}


def training_phrasings_by_key(bank: dict) -> dict[str, list[str]]:
    """Bank key -> the training phrasings of the clips its phrasings say (`keys_saying`), sides filled."""
    said: dict[str, set[str]] = defaultdict(set)
    for name, params in phrased_parameters():
        keys = keys_saying(name, params, bank)
        if keys:
            train, _ = phrases(name, params)
            for key in keys:
                said[key].update(train)
    return {key: sorted(found) for key, found in said.items()}


def keys_of(base: str, bank: dict) -> list[str]:
    """The bank keys of one base action ("hop" -> "hop@distance>0", ...), sorted."""
    return sorted(k for k in bank if split_key(k)[0] == base)


def writer_items(picked: dict[str, float], bank: dict) -> list[dict]:
    """One brief item per bank key of the picked bases, weakest base first."""
    sided = bases()
    training = training_phrasings_by_key(bank)
    items = []
    for base in sorted(picked, key=lambda b: (picked[b], b)):
        for key in keys_of(base, bank):
            items.append({"key": key, "sided": sided[base], "training_phrasings": training.get(key, []),
                          "bank_phrasings": list(bank[key])})
    return items


def deal(items: list, writers: int) -> list[list]:
    """Round-robin: writer n gets items n, n + writers, ..."""
    return [items[n::writers] for n in range(writers)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.procedural.writing_round",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--report", required=True, help="a model_report.py JSON of the model to improve")
    parser.add_argument("--out", required=True, help="folder for targeted_bases.json and writer_in_N.json")
    parser.add_argument("--below", type=float, default=0.75, help="pick bases with a rate under this (default 0.75)")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--bank", default=None, help=f"the bank so far (default {BANK_FILE.name})")
    args = parser.parse_args(argv)
    if args.writers < 1:
        parser.error("--writers must be >= 1")
    try:
        report = json.loads(Path(args.report).read_text(encoding="utf-8"))
        picked = weak_bases(report, args.below)
        bank = load_bank(args.bank)
    except (OSError, ValueError, KeyError, TypeError) as error:
        parser.error(f"cannot read the report or bank: {error}")
    unbanked = sorted(b for b in picked if not keys_of(b, bank))
    if unbanked:
        parser.error(f"picked bases with no bank key (add one first): {', '.join(unbanked)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "targeted_bases.json").write_text(json.dumps(sorted(picked)) + "\n")
    items = writer_items(picked, bank)
    for n, share in enumerate(deal(items, args.writers)):
        (out / f"writer_in_{n}.json").write_text(json.dumps(share, indent=1) + "\n")
    print(f"{len(picked)} base actions under {args.below} ({len(items)} bank keys) for {args.writers} writers: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

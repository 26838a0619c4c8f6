"""Which held-out paraphrases the written phrasing bank happens to share a new word with, and pass rates apart.

The bank (`train/procedural/written_phrasings.json`) was written without sight of the held-out paraphrases, and
no phrasing of it holds one; but its authors used natural words ("prone", "supine"), and so do the held-out
paraphrases. A model taught the bank may pass a held-out paraphrase because it now knows such a word. This splits
the actions of `benchmarks/model_report.py` by whether their held-out paraphrase has a word the training
phrasings never use that the bank does, and gives each model report's paraphrase pass rate over both groups:

    python benchmarks/written_overlap.py --reports BEFORE.json AFTER.json [--since OLD_BANK.json] [--out JSON]

`--since` counts only the words the bank brought after OLD_BANK (an earlier version of the file, e.g. from `git
show COMMIT:train/procedural/written_phrasings.json`): what a new writing round may have given away.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.text.vocabulary import STOP_WORDS  # noqa: E402
from train.evaluation.reference_clips import corpus_actions, heldout_prompts  # noqa: E402
from train.procedural.captions import HELDOUT_SUBJECTS, SUBJECTS, training_phrasings  # noqa: E402
from train.procedural.written_phrasings import load_bank  # noqa: E402

_WORD = re.compile(r"[a-z]+")


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS}


def training_words(samples: int = 30) -> set[str]:
    return set().union(*(words(t) for t in training_phrasings(samples)), *(words(s) for s in SUBJECTS))


def bank_words(bank: dict[str, list[str]]) -> set[str]:
    return set().union(*(words(p) for written in bank.values() for p in written))


def shared_new_words(paraphrases: int = 2, since: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Action -> the words of its held-out paraphrases that no training phrasing uses and the bank does (and, given
    an earlier bank `since`, that it did not)."""
    trained = training_words() | set().union(*(words(s) for s in HELDOUT_SUBJECTS))
    banked = bank_words(load_bank()) - (bank_words(since) if since is not None else set())
    return {label: sorted(set().union(*(words(p) for p in heldout_prompts(label, paraphrases))) - trained & banked)
            for label in corpus_actions()}


def split_rates(report: dict, shared: dict[str, list[str]]) -> dict:
    rows = report["per_action"]

    def rate(labels):
        values = [rows[k]["paraphrase_pass_rate"] for k in labels if rows[k].get("paraphrase_pass_rate") is not None]
        return {"actions": len(values), "paraphrase_pass_rate": float(np.mean(values)) if values else None}
    return {"sharing": rate([k for k in rows if shared.get(k)]),
            "not_sharing": rate([k for k in rows if not shared.get(k)])}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", nargs="+", type=Path, required=True, help="model_report JSON files")
    parser.add_argument("--since", type=Path, default=None, help="an earlier bank: count only words added after it")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    since = load_bank(args.since) if args.since else None
    shared = shared_new_words(since=since)
    result = {"since": str(args.since) if args.since else None,
              "shared_new_words": {k: v for k, v in shared.items() if v},
              "reports": {str(p): split_rates(json.loads(p.read_text()), shared) for p in args.reports}}
    print(f"{len(result['shared_new_words'])} of {len(shared)} actions' held-out paraphrases share a new word with "
          f"the bank: {result['shared_new_words']}")
    for path, rates in result["reports"].items():
        print(f"{path}: sharing {rates['sharing']}, not sharing {rates['not_sharing']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()

"""Two model reports of the same prompts and seeds, action by action: is the difference more than noise?

    python benchmarks/report_diff.py NEW.json OLD.json [--out DIFF.json] [--bases BASES.json]

Both files come from `benchmarks/model_report.py` run with the same arguments (same actions, prompts and seeds) on
two checkpoints. Pass rates are compared per action, since the same prompts were asked of both: the mean of the
per-action differences, a 95 % bootstrap interval over actions (resampling actions, not clips: clips of one action
share its prompts and are not independent), and how many actions went up or down. Rates absent from either report
(a prompt-set report has no paraphrase rate) are skipped. `--bases` (a JSON list of base actions, e.g. a writing
round's `targeted_bases.json`) also compares the actions of those bases and the rest apart.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run as a script from anywhere

from train.procedural.written_phrasings import base_of  # noqa: E402

RATES = ("pass_rate", "paraphrase_pass_rate", "synonym_pass_rate", "training_pass_rate", "prompt_set_pass_rate")


def per_action(report: dict, rate: str) -> dict[str, float]:
    return {action: row[rate] for action, row in report["per_action"].items() if row.get(rate) is not None}


def bootstrap_interval(diffs: list[float], draws: int = 4000, seed: int = 0) -> tuple[float, float]:
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(diffs, k=len(diffs))) / len(diffs) for _ in range(draws))
    return means[int(0.025 * draws)], means[int(0.975 * draws) - 1]


def compare(new: dict, old: dict, rate: str, keep=lambda action: True) -> dict | None:
    a, b = per_action(new, rate), per_action(old, rate)
    actions = sorted(x for x in set(a) & set(b) if keep(x))
    if not actions:
        return None
    diffs = [a[x] - b[x] for x in actions]
    low, high = bootstrap_interval(diffs)
    return {"actions": len(actions), "new": sum(a[x] for x in actions) / len(actions),
            "old": sum(b[x] for x in actions) / len(actions), "mean_difference": sum(diffs) / len(diffs),
            "interval_95": [low, high], "up": sum(d > 0 for d in diffs), "down": sum(d < 0 for d in diffs),
            "at_zero": [sum(a[x] == 0 for x in actions), sum(b[x] == 0 for x in actions)],
            "changed": {x: round(a[x] - b[x], 4) for x in actions if a[x] != b[x]}}


def by_bases(new: dict, old: dict, bases: set[str]) -> dict:
    """Each rate over the actions of `bases` and over the rest, apart (a writing round's actions and the others)."""
    groups = {"in_bases": lambda x: base_of(x) in bases, "others": lambda x: base_of(x) not in bases}
    found = {}
    for group, keep in groups.items():
        for rate in RATES:
            row = compare(new, old, rate, keep)
            if row is not None:
                found.setdefault(group, {})[rate] = row
                print(f"{group} {rate}: {row['new']:.3f} vs {row['old']:.3f} over {row['actions']} actions, "
                      f"at zero {row['at_zero'][0]} vs {row['at_zero'][1]}")
    return found


def check_same_prompts(new: dict, old: dict) -> None:
    """Refuse reports whose common actions were asked different prompts: their difference would not be paired."""
    for action in set(new["per_action"]) & set(old["per_action"]):
        if new["per_action"][action].get("prompts") != old["per_action"][action].get("prompts"):
            raise SystemExit(f"the reports asked '{action}' different prompts: run model_report with the same "
                             "arguments on both checkpoints")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path)
    parser.add_argument("old", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--bases", type=Path, help="a JSON list of base actions to compare apart from the rest")
    args = parser.parse_args(argv)
    new, old = (json.loads(p.read_text()) for p in (args.new, args.old))
    check_same_prompts(new, old)
    result = {"benchmark": "report_diff", "new": str(args.new), "old": str(args.old), "rates": {}}
    for rate in RATES:
        row = compare(new, old, rate)
        if row is None:
            continue
        result["rates"][rate] = row
        low, high = row["interval_95"]
        print(f"{rate}: {row['new']:.3f} vs {row['old']:.3f} over {row['actions']} actions, difference "
              f"{row['mean_difference']:+.4f} (95 % over actions {low:+.4f} .. {high:+.4f}), "
              f"{row['up']} up, {row['down']} down")
    if args.bases:
        result["by_bases"] = by_bases(new, old, set(json.loads(args.bases.read_text())))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()

"""Words or motion? For the actions a model follows worst, what its clips look like when asked three ways.

    python benchmarks/stubborn_prompts.py --checkpoint M --report MODEL_REPORT.json [--below 0.25] [--seeds 4]
        [--bank 3] [--labels catch,nod] [--out results.json]

For each action label whose held-out paraphrase pass rate in a `benchmarks/model_report.py` report is under
`--below` (or each of `--labels`), the model is asked in its held-out paraphrases (`heldout_prompts`, as the
report asks), one training phrasing and the first `--bank` phrasings of the written bank (`written_phrasings.json`:
its oldest, from the rounds every model since v8 trained on), `--seeds` seeds each at its predicted length. The
prompts are the same for every model, so two models' results compare label by label. Every clip is checked
against the asked action and against every other action's check, so a failing clip says what it shows instead
("takes a cut at a pitch" → a baseball pitch). Reading the result:
- training and bank phrasings pass, held-out ones show another action: the words (the encoder reads the
  paraphrase as that other action; `Engine.read` shows what the WordNet readings made of it first); more
  phrasings or text tuning aim there;
- training phrasings fail too: the motion (the denoiser or the VAE cannot make it: `benchmarks/vae_ceiling.py`);
- bank phrasings fail while training ones pass: the model has not learned the bank's words for it yet.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.engine import Engine  # noqa: E402
from motion_core.interfaces.bench_report import stamp_and_save  # noqa: E402
from train.evaluation.actions import ACTION_CHECKS, check_action, check_prompted_action  # noqa: E402
from train.evaluation.reference_clips import heldout_prompts, training_prompts  # noqa: E402
from train.procedural.captions import say_written  # noqa: E402
from train.procedural.writing_round import keys_of  # noqa: E402
from train.procedural.written_phrasings import base_of, bundled_bank  # noqa: E402

KINDS = ("heldout", "training", "bank")


def weak_labels(report: dict, below: float) -> list[str]:
    """Labels whose held-out paraphrase pass rate is under `below`, weakest first."""
    rates = {label: row["paraphrase_pass_rate"] for label, row in report["per_action"].items()
             if row.get("paraphrase_pass_rate") is not None}
    return sorted((label for label, rate in rates.items() if rate < below), key=lambda label: (rates[label], label))


def bank_prompts(label: str, count: int) -> list[str]:
    """The first `count` bank phrasings of the label's base action, its side filled in and no count said."""
    bank = bundled_bank()
    phrasings = [p for key in keys_of(base_of(label), bank) for p in bank[key]]
    return ["a person " + say_written(p, label, {"count": 0}) for p in phrasings[:count]]   # count 0: no count


def prompts_of(label: str, bank: int) -> list[tuple[str, str]]:
    return ([("heldout", p) for p in heldout_prompts(label, 2)] + [("training", p) for p in training_prompts(label, 1)]
            + [("bank", p) for p in bank_prompts(label, bank)])


def shown(joints, label: str) -> list[str]:
    """The other actions whose checks this clip passes (what it looks like instead)."""
    return [other for other in ACTION_CHECKS if other != label and check_action(other, joints)]


def probe(engine: Engine, label: str, seeds: int, bank: int) -> dict:
    rows = []
    for kind, prompt in prompts_of(label, bank):
        motions = engine.generate([prompt] * seeds, seed=0)
        passed = [bool(check_prompted_action(label, prompt, m.joints)) for m in motions]
        looks = Counter(other for m in motions for other in shown(m.joints, label))
        rows.append({"kind": kind, "prompt": prompt, "passed": sum(passed), "of": seeds,
                     "frames": int(motions[0].joints.shape[0]), "looks_like": dict(looks.most_common(4))})
    rates = {kind: _rate([r for r in rows if r["kind"] == kind]) for kind in KINDS}
    return {"rates": rates, "verdict": verdict(rates), "rows": rows}


def _rate(rows: list[dict]) -> float | None:
    return round(sum(r["passed"] for r in rows) / sum(r["of"] for r in rows), 3) if rows else None


def verdict(rates: dict) -> str:
    """Where the failure sits, from the three rates (the module's docstring says how to read them)."""
    trained = rates["training"] or 0.0
    if trained < 0.5:
        return "motion"
    if rates["bank"] is not None and rates["bank"] < 0.5:
        return "bank words not learned"
    return "words" if (rates["heldout"] or 0.0) < 0.5 else "follows"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--report", type=Path, help="a model_report.py JSON to pick the labels from")
    parser.add_argument("--labels", help="comma-separated action labels instead of --report's")
    parser.add_argument("--below", type=float, default=0.25, help="pick labels under this paraphrase rate")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--bank", type=int, default=3, help="bank phrasings per label")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.bank < 0:
        parser.error("--seeds must be at least 1 and --bank at least 0")
    if args.labels:
        labels = [label.strip() for label in args.labels.split(",") if label.strip()]
    elif args.report:
        labels = weak_labels(json.loads(args.report.read_text(encoding="utf-8")), args.below)
    else:
        parser.error("give --report or --labels")
    unknown = [label for label in labels if label not in ACTION_CHECKS]
    if unknown:
        parser.error(f"no check for {unknown}")
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    engine = Engine.load(args.checkpoint, device="cpu")
    result = {"labels": {}}
    for label in labels:
        found = result["labels"][label] = probe(engine, label, args.seeds, args.bank)
        print(f"{label}: {found['verdict']}  (held-out {found['rates']['heldout']}, training "
              f"{found['rates']['training']}, bank {found['rates']['bank']})", flush=True)
        for row in found["rows"]:
            print(f"    {row['kind']:8s} {row['passed']}/{row['of']}  {row['prompt']}  -> {row['looks_like']}")
    result["verdicts"] = dict(Counter(found["verdict"] for found in result["labels"].values()))
    print("verdicts:", result["verdicts"])
    return stamp_and_save(result, "stubborn_prompts", started, args.out, args, model=str(args.checkpoint))


if __name__ == "__main__":
    main()

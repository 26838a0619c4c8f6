"""Prompts that tell actions in order: does one take show them all, in that order?

    python benchmarks/sequence_prompts.py [--checkpoint M] [--sequences 60] [--actions 2] [--seeds 4]
        [--phrasing heldout] [--then] [--out results.json]

Draws `--sequences` sequences of `--actions` actions as the corpus draws them (different checked actions, each
starting in the posture the one before ends in: seated, lying, standing; the last ends standing), renders each
as ground truth and captions it as a whole: in held-out phrasings (held-out subjects, phrases and connectives:
"and afterwards", ", subsequently") or in training ones (`--phrasing training`). `--then` swaps the held-out
connectives for ", then", the word people type, so that only the phrasing is held out. Each caption is generated
`--seeds` times (seeds 0..) at predicted lengths by `Engine.generate` twice: with `sequences` on (the product:
the prompt played as a timeline of its clauses, `motion_core.generation.sequences`) and off (the whole prompt
sampled as one). A clip passes when some cuts (`CUTS`, each part at least a tenth of the clip) leave every
action's check passing on its part, in order (`train.evaluation.actions.check_action`); ground truth is cut and
checked the same way. Prints pass rates and the paired difference over sequences with its 95 % interval.

    python benchmarks/sequence_prompts.py --single-action-sets [--seeds 8] [--out results.json]

The other side: prompts that tell ONE corpus action in phases with a connective ("a fighter chambers the knee,
then thrusts the heel out"). Every prompt of `benchmarks/prompt_sets/` (written apart from the training text)
that `action_clauses` cuts is generated both ways and checked for its one action (`check_prompted_action`).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.engine import Engine  # noqa: E402
from motion_core.interfaces.bench_report import stamp_and_save  # noqa: E402
from motion_core.text.sequence import action_clauses  # noqa: E402
from train.evaluation.actions import ACTION_CHECKS, check_action, check_prompted_action  # noqa: E402
from train.procedural.actions import ACTIONS  # noqa: E402
from train.procedural.captions import HELDOUT_CONNECTORS  # noqa: E402
from train.procedural.generate import MAX_FRAMES, render_sequence  # noqa: E402

CUTS = np.arange(0.1, 0.91, 0.05)   # where an action may end, as a share of the clip
# the corpus's held-out connectives with what joins them to the clause before ("..., subsequently", "and afterwards")
_HELDOUT_CONNECTIVE = re.compile(r"\s*,?\s*(?:and\s+)?(?:" + "|".join(re.escape(c.strip(" ,"))
                                                                     for c in HELDOUT_CONNECTORS) + r")\s+")


def draw_sequence(rng: np.random.Generator, count: int) -> list[tuple[str, dict]]:
    """`count` checked actions in an order the corpus plays them (each starts in the posture the one before ends
    in, the last ends standing), with parameters, that fit one clip."""
    checked = sorted(a for a in ACTIONS if a in ACTION_CHECKS)
    while True:
        names, posture = [], None
        for k in range(count):
            last = k == count - 1
            options = [a for a in checked if a not in names and ACTIONS[a].starts_in == posture
                       and (not last or ACTIONS[a].ends_in is None)]
            if not options:
                break
            names.append(str(rng.choice(options)))
            posture = ACTIONS[names[-1]].ends_in
        if len(names) < count:
            continue
        segments = [(name, ACTIONS[name].sample(rng)) for name in names]
        if sum(p["frames"] for _, p in segments) + 8 <= MAX_FRAMES:
            return segments


def in_order(joints: np.ndarray, labels: list[str], start: float = 0.0) -> bool:
    """Some cuts (at `CUTS` shares of the clip, each part at least a tenth of it) leave each action's check
    passing on its part, in order."""
    frames = len(joints)
    begin = int(start * frames)
    if len(labels) == 1:
        return check_action(labels[0], joints[begin:])
    return any(check_action(labels[0], joints[begin:int(c * frames)]) and in_order(joints, labels[1:], c)
               for c in CUTS if c - start >= 0.1 and 1.0 - c >= 0.1 * (len(labels) - 1))


def caption(segments, index: int, phrasing: str, then: bool) -> tuple[str, np.ndarray]:
    """(the sequence's caption, its ground-truth joints)."""
    clip = render_sequence(segments, np.random.default_rng([17, index]))
    text = (clip.heldout_captions if phrasing == "heldout" else clip.captions)[0].caption
    if then:
        text = _HELDOUT_CONNECTIVE.sub(", then ", text)
    return text, clip.joints


def single_action_rows(engine: Engine, seeds: int) -> list[dict]:
    """Prompt-set prompts for one action that the splitter cuts: passes out of `seeds`, clauses and whole."""
    rows = []
    for path in sorted((Path(__file__).parent / "prompt_sets").glob("*.json")):
        for label, prompts in json.loads(path.read_text(encoding="utf-8")).items():
            if label not in ACTION_CHECKS or not isinstance(prompts, list):
                continue
            for prompt in (p.strip() for p in prompts if isinstance(p, str)):
                if len(action_clauses(prompt)) < 2:
                    continue
                row = {"set": path.name, "label": label, "prompt": prompt, "clauses_told": action_clauses(prompt)}
                for mode, sequences in (("clauses", True), ("whole", False)):
                    takes = engine.generate([prompt] * seeds, seed=0, sequences=sequences)
                    row[mode] = sum(bool(check_prompted_action(label, prompt, m.joints)) for m in takes) / seeds
                rows.append(row)
                print(f"{label}: clauses {row['clauses']:.2f}, whole {row['whole']:.2f}  | {prompt}", flush=True)
    return rows


def paired_interval(differences: list[float]) -> tuple[float, float, float]:
    d = np.asarray(differences, dtype=float)
    mean = float(d.mean())
    half = 1.96 * float(d.std(ddof=1)) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    return mean, mean - half, mean + half


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=None, help="model folder (default: the bundled model)")
    parser.add_argument("--sequences", type=int, default=60, help="sequences to draw")
    parser.add_argument("--actions", type=int, choices=(2, 3), default=2, help="actions per sequence")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--phrasing", choices=("heldout", "training"), default="heldout")
    parser.add_argument("--then", action="store_true", help="held-out connectives swapped for ', then'")
    parser.add_argument("--single-action-sets", action="store_true",
                        help="instead: the prompt sets' one-action prompts that the splitter cuts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    engine = Engine.load(args.checkpoint, device="cpu")
    started, rows = time.time(), []
    if args.single_action_sets:
        rows = single_action_rows(engine, args.seeds)
        return _finish(rows, args, started, engine, {"single_action_sets": True, "prompts": len(rows)})
    for index in range(args.sequences):
        segments = draw_sequence(np.random.default_rng([11, args.actions, index]), args.actions)
        labels = [name for name, _ in segments]
        prompt, truth = caption(segments, index, args.phrasing, args.then)
        row = {"actions": labels, "prompt": prompt, "ground_truth": in_order(truth, labels)}
        for mode, sequences in (("clauses", True), ("whole", False)):
            takes = engine.generate([prompt] * args.seeds, seed=0, sequences=sequences)
            row[mode] = sum(in_order(m.joints, labels) for m in takes) / args.seeds
            row[f"{mode}_seconds"] = round(float(np.mean([m.num_frames / m.fps for m in takes])), 2)
        row["clauses_told"] = action_clauses(prompt)
        rows.append(row)
        print(f"{index:3d} {' -> '.join(labels)}: clauses {row['clauses']:.2f}, whole {row['whole']:.2f}, "
              f"truth {row['ground_truth']}  | {prompt}", flush=True)
    return _finish(rows, args, started, engine, {"sequences": len(rows), "actions": args.actions,
                                                 "phrasing": args.phrasing, "then": args.then})


def _finish(rows: list[dict], args, started: float, engine: Engine, what: dict) -> dict:
    mean, low, high = paired_interval([r["clauses"] - r["whole"] for r in rows])
    summary = {**what, "seeds": args.seeds,
               "clauses_pass": round(float(np.mean([r["clauses"] for r in rows])), 4),
               "whole_pass": round(float(np.mean([r["whole"] for r in rows])), 4),
               "difference": round(mean, 4), "difference_95": [round(low, 4), round(high, 4)]}
    if "ground_truth" in rows[0]:
        summary["ground_truth_pass"] = round(float(np.mean([r["ground_truth"] for r in rows])), 4)
    print(f"clauses {summary['clauses_pass']:.3f}, whole prompt {summary['whole_pass']:.3f}"
          + (f", ground truth {summary['ground_truth_pass']:.3f}" if "ground_truth_pass" in summary else "")
          + f"; paired difference {mean:+.3f} (95 % {low:+.3f} .. {high:+.3f})")
    return stamp_and_save({"summary": summary, "rows": rows}, "sequence_prompts", started, args.out, args,
                          model=engine.model_version)

if __name__ == "__main__":
    main()

"""How a model does on every corpus action, asked in words its training captions never use (issue 21, item 4).

For each action of the procedural corpus (`--actions all`, read from its registry; `v1`: the first corpus's 27):
prompts in the corpus's held-out phrasings (`--paraphrases` held-out paraphrases, the texts_heldout/ kind, and
`--synonyms` training-style captions with a held-out synonym swapped in where one applies), each generated with
`--seeds` seeds at the length the engine predicts (`Engine.generate(seconds=None)`). Reported per action and
overall: the pass rate of the action's physical check (`train.evaluation.actions`; a sided action asked for without
a side passes on either side) next to the ground truth's
pass rate of the same check on clips the corpus generator renders (the calibration: a check ground truth fails is
a bad check), and physical quality against the ground truth's:

    skating      share of steps with a planted foot sliding faster than 0.5 m/s (pooled over steps)
    penetration  how far the lowest joint goes below the floor (y = 0), m, mean over clips
    jump peak    pelvis rise above its median height, m, mean over clips of jump actions; also over the clips
                 that passed their check (the rise of the jumps made, apart from prompts not followed), against
                 ground truth's of the same actions

`--training N` adds N prompts per action in its *training* phrasings, reported apart (`training_pass_rate`) and
left out of the pass rate: it tells a motion the model never learned (fails as trained too) from words it does not
read (passes as trained, fails held out).

`--prompt-set FILE` adds prompts someone wrote apart from the corpus (a JSON object: action label -> prompts, e.g.
benchmarks/prompt_sets/fresh_phrasings.json), also reported apart (`prompt_set_pass_rate`): a second opinion on
the held-out rate, from phrasings the corpus's authors did not write.

Prompts of many actions go through one `Engine.generate` call (`--batch`; prompts of equal predicted length
share sampling passes). Prompt k of the run uses seed k, so a run is reproducible whatever the batch size.

    python benchmarks/model_report.py --checkpoint DIR [--seeds 8] [--actions all|v1] [--out JSON]
    python benchmarks/model_report.py --seeds 4 --threads 2 --out report.json     (~25 min on 2 CPU cores)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.engine import Engine  # noqa: E402
from motion_core.interfaces.bench_report import stamp_and_save  # noqa: E402
from motion_core.kinematics.motion_metrics import foot_skating  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402
from train.evaluation.actions import check_action, check_prompted_action  # noqa: E402
from train.evaluation.reference_clips import (V1_ACTIONS, corpus_actions, family_of, heldout_prompts,  # noqa: E402
                                              reference_clips, synonym_prompts, training_prompts)

FPS = 20.0


def physical(joints: np.ndarray, fps: float = FPS) -> dict:
    """Per-clip physical measures: skating (share and the steps it is over), penetration, pelvis peak."""
    joints = np.asarray(joints, dtype=np.float64)
    skating = foot_skating(joints, HUMANML3D, fps)
    pelvis = joints[:, 0, 1]
    return {"skating_share": skating["skating_share"], "contact_steps": skating["contact_steps"],
            "penetration": float(max(0.0, -joints[..., 1].min())),
            "peak": float(pelvis.max() - np.median(pelvis))}


def summarise(label: str, passes: list[bool], measures: list[dict]) -> dict:
    """Pass rate and mean physical measures of one action's clips (generated or ground truth; None where the
    action has no clips of the kind, e.g. a run of a prompt set alone)."""
    steps = sum(m["contact_steps"] for m in measures)
    out = {"n": len(passes), "pass_rate": _mean(passes),
           "skating": sum(m["skating_share"] * m["contact_steps"] for m in measures) / max(steps, 1),
           "contact_steps": steps, "penetration": _mean(m["penetration"] for m in measures)}
    if family_of(label) == "jumps":
        out["jump_peak"] = _mean(m["peak"] for m in measures)
    return out


HELD_OUT = ("paraphrase", "synonym")   # the kinds the pass rate is over; "training" is the calibration
APART = ("training", "prompt_set")      # kinds reported on their own, after the held-out jobs


def plan(labels: list[str], seeds: int, paraphrases: int, synonyms: int, training: int = 0,
         prompt_set: dict[str, list[str]] | None = None) -> list[dict]:
    """One job per (action, prompt, seed), in a fixed order: job k is generated with seed k (the training-phrasing
    jobs, then the prompt set's, come last, so adding them leaves the held-out jobs' seeds as they were)."""
    jobs = []
    for label in labels:
        prompts = [("paraphrase", p) for p in heldout_prompts(label, paraphrases)]
        prompts += [("synonym", p) for p in synonym_prompts(label, synonyms)] if synonyms else []
        jobs += [{"label": label, "kind": kind, "prompt": prompt} for kind, prompt in prompts for _ in range(seeds)]
    for label in labels if training else ():
        jobs += [{"label": label, "kind": "training", "prompt": p} for p in training_prompts(label, training)
                 for _ in range(seeds)]
    for label in labels if prompt_set else ():
        jobs += [{"label": label, "kind": "prompt_set", "prompt": p} for p in prompt_set.get(label, ())
                 for _ in range(seeds)]
    for k, job in enumerate(jobs):
        job["seed"] = k
    return jobs


def read_prompt_set(path: Path) -> dict[str, list[str]]:
    """A prompt set file: a JSON object of corpus action label -> list of prompts (ValueError, saying what is
    wrong, for anything else)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read the prompt set {path}: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) and all(isinstance(p, str) and p.strip() for p in v)
                                             for v in data.values()):
        raise ValueError(f"{path}: a prompt set is a JSON object of action label -> list of non-empty prompts")
    unknown = sorted(set(data) - set(corpus_actions()))
    if unknown:
        raise ValueError(f"{path}: not corpus actions: {unknown}")
    return {label: [p.strip() for p in prompts] for label, prompts in data.items()}


def generate(engine: Engine, jobs: list[dict], batch: int, steps: int | None, guidance: float | None,
             sequences: bool = True) -> None:
    """Fill each job's "passed" and physical measures; `batch` prompts per `Engine.generate` call; `sequences`
    False samples prompts that tell actions in order as one prompt (as before 2026-12-07)."""
    started = time.time()
    for start in range(0, len(jobs), batch):
        chunk = jobs[start:start + batch]
        motions = engine.generate([j["prompt"] for j in chunk], seconds=None, seed=chunk[0]["seed"],
                                  steps=steps, guidance=guidance, sequences=sequences)
        for job, motion in zip(chunk, motions):
            job["passed"] = bool(check_prompted_action(job["label"], job["prompt"], motion.joints))
            job["frames"] = int(len(motion.joints))
            job.update(physical(motion.joints, engine.fps))
        done = start + len(chunk)
        print(f"  {done}/{len(jobs)} clips, {(time.time() - started) / done:.2f} s/clip", flush=True)


def report(labels: list[str], jobs: list[dict], gt_clips: int) -> dict:
    per_action = {}
    for label in labels:
        mine = [j for j in jobs if j["label"] == label and j["kind"] in HELD_OUT]
        row = summarise(label, [j["passed"] for j in mine], mine)
        for kind in APART:
            row[f"{kind}_pass_rate"] = _mean(j["passed"] for j in jobs if j["label"] == label and j["kind"] == kind)
        for kind in HELD_OUT:
            of_kind = [j["passed"] for j in mine if j["kind"] == kind]
            row[f"{kind}_pass_rate"] = float(np.mean(of_kind)) if of_kind else None
        if family_of(label) == "jumps":   # the rise of the clips that did jump: physics apart from wording
            row["jump_peak_passing"] = _mean(j["peak"] for j in mine if j["passed"])
        row["prompts"] = sorted({j["prompt"] for j in mine})
        row["mean_seconds"] = _mean(j["frames"] / FPS for j in mine)
        truth = reference_clips(label, gt_clips)
        row["ground_truth"] = summarise(label, [bool(check_action(label, t)) for t in truth],
                                        [physical(t) for t in truth])
        row["family"] = family_of(label)
        per_action[label] = row
    return {"per_action": per_action, "overall": overall(per_action, jobs), "by_family": by_family(per_action)}


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def overall(per_action: dict, jobs: list[dict]) -> dict:
    rows, truth = list(per_action.values()), [r["ground_truth"] for r in per_action.values()]
    jumps = [r for r in rows if "jump_peak" in r]
    passed = [r for r in jumps if r.get("jump_peak_passing") is not None]

    def pooled_skating(items):
        return sum(i["skating"] * i["contact_steps"] for i in items) / max(sum(i["contact_steps"] for i in items), 1)

    return {"actions": len(rows), "clips": len(jobs),
            "training_pass_rate": _mean(r.get("training_pass_rate") for r in rows),   # calibration, not in pass_rate
            "prompt_set_pass_rate": _mean(r.get("prompt_set_pass_rate") for r in rows),   # apart, as training's
            "pass_rate": _mean(r["pass_rate"] for r in rows),              # mean over actions
            "paraphrase_pass_rate": _mean(r["paraphrase_pass_rate"] for r in rows),
            "synonym_pass_rate": _mean(r["synonym_pass_rate"] for r in rows),
            "ground_truth_pass_rate": _mean(t["pass_rate"] for t in truth),
            "skating": pooled_skating(rows), "ground_truth_skating": pooled_skating(truth),
            "penetration": _mean(r["penetration"] for r in rows),
            "ground_truth_penetration": _mean(t["penetration"] for t in truth),
            "jump_peak": _mean(r["jump_peak"] for r in jumps),
            "ground_truth_jump_peak": _mean(r["ground_truth"]["jump_peak"] for r in jumps),
            # A clip whose prompt was not followed (a paraphrase read as "stands") lowers the mean rise above:
            # these two compare the rise of the jumps made with ground truth's of the same actions.
            "jump_peak_passing": _mean(r["jump_peak_passing"] for r in passed),
            "ground_truth_jump_peak_passing": _mean(r["ground_truth"]["jump_peak"] for r in passed)}


def by_family(per_action: dict) -> dict:
    families: dict[str, list[dict]] = {}
    for row in per_action.values():
        families.setdefault(row["family"], []).append(row)
    return {f: {"actions": len(rows), "pass_rate": _mean(r["pass_rate"] for r in rows),
                "ground_truth_pass_rate": _mean(r["ground_truth"]["pass_rate"] for r in rows)}
            for f, rows in sorted(families.items())}


def _fmt(value, spec=".2f") -> str:
    return "-" if value is None else format(value, spec)


def print_table(result: dict) -> None:
    print(f"{'action':>22} {'pass':>5} {'para':>5} {'syn':>5} {'train':>5} {'GT':>5} {'skate':>6} {'GTsk':>6} "
          f"{'pen':>6} {'GTpen':>6} {'jump':>5} {'GTjmp':>5}")
    for label, r in result["per_action"].items():
        t = r["ground_truth"]
        print(f"{label:>22} {_fmt(r['pass_rate']):>5} {_fmt(r['paraphrase_pass_rate']):>5} "
              f"{_fmt(r['synonym_pass_rate']):>5} {_fmt(r['training_pass_rate']):>5} {_fmt(t['pass_rate']):>5} "
              f"{_fmt(r['skating'], '.3f'):>6} "
              f"{_fmt(t['skating'], '.3f'):>6} {_fmt(r['penetration'], '.3f'):>6} {_fmt(t['penetration'], '.3f'):>6} "
              f"{_fmt(r.get('jump_peak')):>5} {_fmt(t.get('jump_peak')):>5}")
    print("by family:", {f: (_fmt(v["pass_rate"]), _fmt(v["ground_truth_pass_rate"]))
                         for f, v in result["by_family"].items()})
    o = result["overall"]
    print(f"overall over {o['actions']} actions, {o['clips']} clips: pass {_fmt(o['pass_rate'])} "
          f"(paraphrases {_fmt(o['paraphrase_pass_rate'])}, synonyms {_fmt(o['synonym_pass_rate'])}) vs ground "
          f"truth {_fmt(o['ground_truth_pass_rate'])}; skating {_fmt(o['skating'], '.3f')} vs "
          f"{_fmt(o['ground_truth_skating'], '.3f')}; penetration {_fmt(o['penetration'], '.3f')} vs "
          f"{_fmt(o['ground_truth_penetration'], '.3f')} m; jump peak {_fmt(o['jump_peak'])} vs "
          f"{_fmt(o['ground_truth_jump_peak'])} m (clips that passed: {_fmt(o['jump_peak_passing'])} vs "
          f"{_fmt(o['ground_truth_jump_peak_passing'])} m)", flush=True)
    if o["training_pass_rate"] is not None:
        print(f"asked in training phrasings: pass {_fmt(o['training_pass_rate'])}", flush=True)
    if o["prompt_set_pass_rate"] is not None:
        print(f"asked in the prompt set's phrasings: pass {_fmt(o['prompt_set_pass_rate'])}", flush=True)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=None, help="model folder (default: the bundled model)")
    parser.add_argument("--seeds", type=int, default=8, help="generations per prompt")
    parser.add_argument("--actions", choices=("all", "v1"), default="all",
                        help="every corpus action, or the first corpus's 27 (what the bundled model knows)")
    parser.add_argument("--only", nargs="*", default=None, help="just these action labels (quick looks)")
    parser.add_argument("--paraphrases", type=int, default=2, help="held-out paraphrases per action")
    parser.add_argument("--synonyms", type=int, default=1, help="held-out-synonym captions per action (where any)")
    parser.add_argument("--training", type=int, default=0,
                        help="prompts per action in training phrasings, reported apart (the calibration)")
    parser.add_argument("--prompt-set", type=Path, default=None,
                        help="JSON object: action label -> prompts written apart from the corpus, reported apart")
    parser.add_argument("--gt-clips", type=int, default=8, help="ground-truth clips per action")
    parser.add_argument("--batch", type=int, default=32, help="prompts per Engine.generate call")
    parser.add_argument("--steps", type=int, default=None, help="default: the checkpoint's")
    parser.add_argument("--guidance", type=float, default=None, help="default: the checkpoint's")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--literal", action="store_true",
                        help="prompts as typed: no reading of unseen words as trained ones (the A/B baseline)")
    parser.add_argument("--whole-prompts", action="store_true",
                        help="a prompt telling actions in order is sampled as one prompt, not as a timeline of "
                             "its clauses (the A/B baseline of Engine.generate's sequences)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    labels = args.only or (corpus_actions() if args.actions == "all" else list(V1_ACTIONS))
    unknown = sorted(set(labels) - set(corpus_actions()))
    if unknown:
        parser.error(f"not corpus actions: {unknown}")
    try:
        prompt_set = read_prompt_set(args.prompt_set) if args.prompt_set else None
    except ValueError as error:
        parser.error(str(error))
    engine = Engine.load(args.checkpoint, device=args.device, read_words=not args.literal)
    started = time.time()
    jobs = plan(labels, args.seeds, args.paraphrases, args.synonyms, args.training, prompt_set)
    print(f"{len(labels)} actions, {len(jobs)} clips to generate", flush=True)
    generate(engine, jobs, args.batch, args.steps, args.guidance, sequences=not args.whole_prompts)
    result = report(labels, jobs, args.gt_clips)
    print_table(result)
    return stamp_and_save(result, "model_report", started, args.out, args, model=engine.describe()["name"])


if __name__ == "__main__":
    main()

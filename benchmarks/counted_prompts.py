"""Do counted prompts get that many hops or jumps, however the count is spelled? Checkpoints side by side.

    python benchmarks/counted_prompts.py --checkpoints A B [--seeds 4] [--counts 1 2 3] [--actions ...] [--out F]

Each action below is prompted with counts 1-3 (`--counts` may add 4 to 6) in several spellings, some the training
captions use ("once", "twice", "three times") and some they never use ("one time", "2 times", "a couple of times",
"thrice"), each at the model's predicted length, `--seeds` seeds, same seeds for every checkpoint. A clip follows
its prompt when it has exactly that many airborne phases (`train.evaluation.flights`; squats, on request: pelvis
dips). The length matters: the denoiser fills a longer clip with more repeats, so a count the length predictor
misreads becomes extra hops.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.engine import Engine  # noqa: E402
from motion_core.interfaces.bench_report import stamp_and_save  # noqa: E402
from train.evaluation.body_frame import PELVIS, swings  # noqa: E402
from train.evaluation.flights import flights, travel  # noqa: E402


def squats(joints) -> int:
    """Squats: the pelvis dips 0.15 m or more and comes back up; each is two reversals but the last, which ends
    at rest (so n squats make 2n - 1)."""
    return (swings(joints[:, PELVIS, 1], 0.15) + 1) // 2


ACTIONS = {"hop forward": "someone hops forward {times}", "hop in place": "a person hops on the left foot {times}",
           "jump forward": "a person jumps forward {times}", "jump in place": "someone jumps up and down {times}",
           "squat": "a person squats {times}"}
COUNTERS = {"squat": squats}          # the rest: airborne phases (train.evaluation.flights)
DEFAULT_ACTIONS = ("hop forward", "hop in place", "jump forward", "jump in place")   # squats on request (--actions)
SPELLINGS = {1: ["once", "one time"], 2: ["twice", "two times", "2 times", "a couple of times"],
             3: ["three times", "3 times", "thrice"], 4: ["four times", "4 times"], 5: ["five times", "5 times"],
             6: ["six times", "6 times"]}
DEFAULT_COUNTS = (1, 2, 3)   # 4-6 on request (--counts): the corpus says 4 and 5 a seventh as often, 6 never
TRAINED = {"once", "twice", "three times", "four times", "five times"}   # the spellings the procedural captions use


def prompts(counts=DEFAULT_COUNTS, actions=DEFAULT_ACTIONS) -> list[tuple[str, int, str, str]]:
    """(action, count, spelling, prompt) for every action of `actions`, count of `counts` and spelling."""
    return [(action, count, spelling, ACTIONS[action].format(times=spelling))
            for action in actions for count in counts for spelling in SPELLINGS[count]]


def run(engine: Engine, seeds: int, counts=DEFAULT_COUNTS, actions=DEFAULT_ACTIONS) -> dict:
    rows = []
    for action, count, spelling, prompt in prompts(counts, actions):
        motions = engine.generate([prompt] * seeds, seed=0)
        got = [COUNTERS.get(action, flights)(m.joints) for m in motions]
        rows.append({"action": action, "count": count, "spelling": spelling, "prompt": prompt,
                     "frames": int(motions[0].joints.shape[0]), "repeats": got,
                     "travel_m": [round(travel(m.joints), 2) for m in motions],
                     "passed": sum(g == count for g in got)})
    total = len(rows) * seeds

    def rate(keep) -> float:
        chosen = [r for r in rows if keep(r)]
        return round(sum(r["passed"] for r in chosen) / max(1, len(chosen) * seeds), 3)
    return {"pass_rate": rate(lambda r: True), "pass_rate_trained_spellings": rate(lambda r: r["spelling"] in TRAINED),
            "pass_rate_new_spellings": rate(lambda r: r["spelling"] not in TRAINED),
            "pass_rate_by_count": {c: rate(lambda r, c=c: r["count"] == c) for c in counts},
            "clips": total, "rows": rows}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoints", nargs="+", required=True)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--counts", type=int, nargs="+", default=list(DEFAULT_COUNTS), choices=sorted(SPELLINGS),
                        help="counts to prompt (default 1 2 3)")
    parser.add_argument("--actions", nargs="+", default=list(DEFAULT_ACTIONS), choices=list(ACTIONS),
                        help="actions to prompt (default: the four hops and jumps; 'squat' counts pelvis dips)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    started = time.time()
    result = {"models": {}}
    for checkpoint in args.checkpoints:
        scores = run(Engine.load(checkpoint, device="cpu"), args.seeds, tuple(sorted(set(args.counts))),
                     tuple(dict.fromkeys(args.actions)))
        result["models"][checkpoint] = scores
        print(f"{checkpoint}: {scores['pass_rate']:.2f} of {scores['clips']} clips have the count's repeats "
              f"(spellings training used {scores['pass_rate_trained_spellings']:.2f}, new spellings "
              f"{scores['pass_rate_new_spellings']:.2f}; by count {scores['pass_rate_by_count']})", flush=True)
        for row in scores["rows"]:
            print(f"    {row['passed']}/{args.seeds}  {row['frames']:4d} frames  repeats {row['repeats']}  "
                  f"{row['prompt']}")
    return stamp_and_save(result, "counted_prompts", started, args.out, args)


if __name__ == "__main__":
    main()

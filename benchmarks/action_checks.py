"""Do generated motions pass the per-action checks of their prompts, alone and inside prompt timelines?

`--alone N`: each prompt below generated N times (seeds 0..N-1) on its own, pass counts per action; the quick
way to compare checkpoints (`--checkpoint`). Default mode, timelines:

Generates `--timelines` random timelines of `--segments` segments (`--seconds` each) with
`Engine.generate_timeline`, cuts the result at the recorded segment boundaries and runs the training issue's
per-action check (`train.evaluation.actions.check_action`) on each segment. The reference is the same
prompt generated on its own (`Engine.generate`, same length and seed): a timeline should pass about as often
as separate clips do, i.e. continuing from the previous segment must not wash out the new prompt.

    python benchmarks/action_checks.py [--checkpoint DIR] [--timelines 12] [--out results.json]
    python benchmarks/action_checks.py --alone 8 [--checkpoint DIR]
    python benchmarks/action_checks.py --alone 4 --phrasing unseen     (2 unseen phrasings per action)
    python benchmarks/action_checks.py --alone 4 --phrasing v2         (actions only the v2 corpus has)
    python benchmarks/action_checks.py --alone 4 --phrasing floor      (floor actions, counted hops and jumps)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.interfaces.bench_report import stamp_and_save  # noqa: E402
from motion_core.engine import Engine  # noqa: E402
from motion_core.kinematics.motion_metrics import CONTACT_HEIGHT, SKATING_SPEED, foot_skating  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402
from motion_core.generation.timeline import timeline_segments  # noqa: E402
from train.evaluation.actions import check_action, pass_rates  # noqa: E402

# One training-style phrasing per checked action.
PROMPTS = {
    "walk": "a person walks forward",
    "walk_backward": "a person walks backwards",
    "jump_in_place": "a person jumps in place",
    "wave_left": "a person waves with the left hand",
    "wave_right": "a person waves with the right hand",
    "raise_both": "a person raises both arms",
    "sit_down": "a person sits down",
    "kick_right": "a person kicks with the right leg",
    "punch_left": "a person punches with the left hand",
    "clap": "a person claps",
    "sidestep_left": "a person sidesteps to the left",
    "spin": "a person spins around",
}

# Two phrasings per checked action that neither the training captions nor the corpus's held-out paraphrases
# use (checked against the corpus's caption templates by tests/test_action_checks_prompts.py): how an animator
# might type it, not how the corpus says it.
UNSEEN_PROMPTS = {
    "walk": ["someone heads straight on at an easy walking pace", "the character goes for a short walk ahead"],
    "walk_backward": ["a woman retreats step by step without turning round", "the man goes backwards on foot"],
    "jump_in_place": ["someone pushes off the floor and lands on the same spot",
                      "the character does a vertical jump without travelling"],
    "wave_left": ["she says hi to a friend with her left hand", "a man greets someone, left hand waving"],
    "wave_right": ["someone says hello with a wave of his right hand", "the woman gives a friendly right-handed wave"],
    "raise_both": ["someone reaches both hands toward the sky", "the man puts his hands up high as if surrendering"],
    "sit_down": ["the man lowers himself onto a chair behind him", "someone settles onto a stool to rest"],
    "kick_right": ["a player kicks an imaginary ball with his right foot", "someone kicks out hard with the right leg"],
    "punch_left": ["a boxer hits forward with his left fist", "someone strikes the air with a left-handed punch"],
    "clap": ["the audience member claps enthusiastically", "a woman slaps her palms together again and again"],
    "sidestep_left": ["someone shifts sideways toward his left", "the dancer shuffles a few steps to her left side"],
    "spin": ["a dancer turns all the way round on the spot", "someone rotates a full 360 degrees where they stand"],
}
# One plain phrasing per checked action that only the v2 corpus (issue 20) has: how far a model's vocabulary
# reaches beyond the first corpus's 27 actions.
V2_PROMPTS = {
    "sprint": "a person sprints forward", "march": "a person marches forward", "limp": "a person limps forward",
    "stagger": "a person staggers forward", "tiptoe": "a person tiptoes forward",
    "jog_backward": "a person jogs backwards", "jump_backward": "a person jumps backward",
    "jump_left": "a person jumps to the left", "jump_right": "a person jumps to the right",
    "long_jump": "a person does a long jump", "jump_over": "a person jumps over an obstacle",
    "tuck_jump": "a person does a tuck jump", "jumping_jacks": "a person does jumping jacks",
    "crouch": "a person crouches down", "sit_ground": "a person sits down on the ground",
    "kneel_both": "a person kneels down on both knees", "lunge_right": "a person lunges with the right leg",
    "reach_up_both": "a person reaches up with both hands", "cheer": "a person cheers",
    "pick_up": "a person picks something up from the floor", "put_down": "a person puts a box down on the floor",
    "hook_left": "a person throws a left hook", "side_kick_right": "a person does a side kick with the right leg",
    "roundhouse_kick_left": "a person does a roundhouse kick with the left leg",
    "soccer_kick": "a person kicks a soccer ball", "toe_touches": "a person touches their toes",
}
# One plain phrasing per floor action (corpus v3): lying down, getting up from lying, crawling, push-ups, sit-ups,
# and issue 21's acceptance prompt for hops. Models before v3 had never seen a body on the floor.
FLOOR_AND_HOP_PROMPTS = {
    "lie_down": "a person lies down on the floor", "lie_down_stomach": "a person lies down on their stomach",
    "get_up": "a person gets up off the floor after lying on their back",
    "get_up_stomach": "a person gets up from lying on their stomach", "crawl": "a person crawls forward",
    "crawl_backward": "a person crawls backwards", "push_ups": "a person does push-ups",
    "sit_ups": "a person does sit-ups", "hop_left": "someone hops forward twice on the left foot",
    "jump_forward": "a person jumps forward twice",
}
PHRASINGS = {"training": {label: [prompt] for label, prompt in PROMPTS.items()}, "unseen": UNSEEN_PROMPTS,
             "v2": {label: [prompt] for label, prompt in V2_PROMPTS.items()},
             "floor": {label: [prompt] for label, prompt in FLOOR_AND_HOP_PROMPTS.items()}}


def random_timelines(count: int, segments: int, seed: int) -> list[list[str]]:
    """Label sequences without immediate repeats (a repeat would hide a washed-out second segment)."""
    rng = np.random.default_rng(seed)
    labels = sorted(PROMPTS)
    plans = []
    for _ in range(count):
        plan = []
        while len(plan) < segments:
            label = labels[rng.integers(len(labels))]
            if not plan or plan[-1] != label:
                plan.append(label)
        plans.append(plan)
    return plans


def run(engine: Engine, plans: list[list[str]], seconds: float, steps: int | None, guidance: float | None) -> dict:
    in_timeline, standalone, per_position = [], [], {}
    for index, plan in enumerate(plans):
        motion = engine.generate_timeline([(PROMPTS[label], seconds) for label in plan], seed=index,
                                          guidance=guidance, steps=steps)
        for position, (label, segment) in enumerate(zip(plan, timeline_segments(motion))):
            passed = check_action(label, motion.joints[segment.start_frame:segment.end_frame])
            in_timeline.append((label, passed))
            per_position.setdefault(position, []).append(passed)
        alone = engine.generate([PROMPTS[label] for label in plan], seconds=seconds, seed=index,
                                guidance=guidance, steps=steps)
        standalone += [(label, check_action(label, m.joints)) for label, m in zip(plan, alone)]
        print(f"timeline {index + 1}/{len(plans)}: {' -> '.join(plan)}", flush=True)
    return {"timeline": _summary(in_timeline), "standalone": _summary(standalone),
            "timeline_by_position": {str(k): float(np.mean(v)) for k, v in sorted(per_position.items())}}


def run_alone(engine: Engine, repeats: int, seconds: float, steps: int | None, guidance: float | None,
              phrasing: str = "training") -> dict:
    """Each prompt of the phrasing set `repeats` times (seeds 0..repeats-1); passes per action."""
    rows, skating, prompts = {}, [], PHRASINGS[phrasing]
    for label, texts in sorted(prompts.items()):
        rows[label] = 0
        for prompt in texts:
            motions = engine.generate([prompt] * repeats, seconds=seconds, seed=0, guidance=guidance, steps=steps)
            rows[label] += sum(bool(check_action(label, m.joints)) for m in motions)
            skating += [foot_skating(m.joints, HUMANML3D, engine.fps) for m in motions]
        print(f"{label:>15} {rows[label]}/{repeats * len(texts)}", flush=True)
    total = sum(rows.values())
    runs = repeats * sum(len(texts) for texts in prompts.values())
    # Pooled over every contact step of every clip, so long clips weigh as much as their steps.
    steps_on_floor = sum(s["contact_steps"] for s in skating)
    share = sum(s["skating_share"] * s["contact_steps"] for s in skating) / max(steps_on_floor, 1)
    print(f"{'total':>15} {total}/{runs}; foot skating: {share:.3f} of steps with a planted foot", flush=True)
    return {"alone": {"repeats": repeats, "phrasing": phrasing, "prompts": prompts, "passes": rows,
                      "total": total, "runs": runs, "foot_skating_share": share,
                      "foot_skating_definition": f"share of steps with a foot joint within {CONTACT_HEIGHT} m of "
                                                 f"the floor in which it slides faster than {SKATING_SPEED} m/s"}}


def _summary(results: list[tuple[str, bool]]) -> dict:
    return {"overall": float(np.mean([p for _, p in results])), "n": len(results), "per_action": pass_rates(results)}


def print_timeline_table(result: dict) -> None:
    print(f"{'action':>15} {'timeline':>9} {'alone':>7}   (n per action in timelines)")
    alone = result["standalone"]["per_action"]
    for label, row in result["timeline"]["per_action"].items():
        print(f"{label:>15} {row['pass_rate']:>9.2f} {alone[label]['pass_rate']:>7.2f}   ({row['n']})")
    print(f"{'overall':>15} {result['timeline']['overall']:>9.2f} {result['standalone']['overall']:>7.2f}")
    print("by position in the timeline:", result["timeline_by_position"])


def _seconds(text: str) -> float | None:
    return None if text == "auto" else float(text)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=None, help="model folder (default: the bundled model)")
    parser.add_argument("--timelines", type=int, default=12)
    parser.add_argument("--segments", type=int, default=3)
    parser.add_argument("--seconds", type=_seconds, default=4.0,
                        help="length of each segment; with --alone, 'auto' lets the model's length predictor "
                             "choose each prompt's length")
    parser.add_argument("--alone", type=int, metavar="N", help="generate each prompt N times on its own instead")
    parser.add_argument("--phrasing", choices=sorted(PHRASINGS), default="training",
                        help="with --alone: the training-style prompt per action, two unseen phrasings each, or one "
                             "prompt per action only the v2 corpus has (v2), or the floor actions, counted hops and "
                             "jumps (floor)")
    parser.add_argument("--steps", type=int, default=None, help="default: the checkpoint's")
    parser.add_argument("--guidance", type=float, default=None, help="default: the checkpoint's")
    parser.add_argument("--sampler", choices=("ddim", "dpm_solver_pp"), default=None, help="default: the checkpoint's")
    parser.add_argument("--seed", type=int, default=0, help="picks the timelines' actions")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--literal", action="store_true",
                        help="prompts as typed: no reading of unseen words as trained ones (the A/B baseline)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    engine = Engine.load(args.checkpoint, device=args.device, read_words=not args.literal)
    if args.sampler is not None:
        engine.sampler = args.sampler
    started = time.time()
    if args.seconds is None and not args.alone:
        parser.error("--seconds auto needs --alone (a timeline segment needs its length)")
    if args.alone:
        result = run_alone(engine, args.alone, args.seconds, args.steps, args.guidance, args.phrasing)
    else:
        result = run(engine, random_timelines(args.timelines, args.segments, args.seed), args.seconds, args.steps,
                     args.guidance)
        print_timeline_table(result)
    return stamp_and_save(result, "action_checks", started, args.out, args, model=engine.describe()["name"])


if __name__ == "__main__":
    main()

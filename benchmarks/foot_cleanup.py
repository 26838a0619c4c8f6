"""Foot cleanup (issue 23, item 4): foot skating, ground penetration, floating and the cost of cleaning.

Samples the bundled model on the CPU for many prompts, seeds and lengths through the engine's own steps
(`sampling.sample_latents`, `decoding.decode_latents`, `decoding.solve_motions`: what `generate` runs with
``foot_cleanup=False``), then cleans the same takes with `controls.foot_cleanup.clean_feet_batch` (what
``foot_cleanup=True`` adds), so before and after are the very same takes. Per take and pooled:

* ``skating_share``: the share of steps with a foot joint within 5 cm of the take's lowest foot position in
  which such a foot joint moves more than 2.5 cm per frame at 20 fps (`motion_metrics.foot_skating`, the
  literature's foot-skating ratio as this repo has always reported it: pooled over steps with a foot down);
* ``skating_frames``: the same count over all steps of the take (the other common normalisation);
* ``penetration_cm``: how far the lowest foot joint goes below the floor (y = 0), worst frame;
* ``float_cm``: the lowest foot joint's height above the floor, median over the take's frames (``float_cm_p90``:
  its 90th percentile; ground truth: 0, a planted foot is on the floor); pooled as the mean over takes, with
  ``hovering_takes`` counting those over 2 cm; ``unsettled``: the cleanup without setting the body down
  (`controls.floor_drift`, ``settle=False``), as it was before 2026-12-08;
* ``leg_change_cm``: how far the cleanup moved knees, ankles and toes (mean over leg joints and frames, max);
  ``other_change_cm``: the largest move of any other joint (the cleanup only edits legs: ~0);
* ``fk_cm``: max |FK(rotations) - joints| after cleanup (issue 22: still one motion);
* ``cleanup_ms``: CPU time of the cleanup per take (batched as in `generate`), beside the sampling time.

A HumanML3D sample (tests/data, motion 012314) is measured the same way as a mocap reference row.

    nice -n 5 python benchmarks/foot_cleanup.py [--seeds 0 1 2 3 4] [--frames 80 196] [--out DIR]
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from motion_core.formats.atomic_file import write_json  # noqa: E402
from motion_core.interfaces.bench import environment  # noqa: E402
from motion_core.controls.foot_cleanup import clean_feet_batch, contacts_from_features, foot_chains  # noqa: E402
from motion_core.engine import Engine  # noqa: E402
from motion_core.generation.decoding import decode_latents, solve_motions  # noqa: E402
from motion_core.generation.progress import Progress  # noqa: E402
from motion_core.generation.requests import sampling_settings  # noqa: E402
from motion_core.generation.sampling import sample_latents  # noqa: E402
from motion_core.kinematics.motion_metrics import CONTACT_HEIGHT, SKATING_SPEED, foot_skating, foot_skating_speed  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402

PROMPTS = ["a person walks forward", "a person walks backwards", "a person jumps in place",
           "a person waves with the left hand", "a person raises both arms", "a person sits down",
           "a person kicks with the right leg", "a person punches with the left hand", "a person claps",
           "a person sidesteps to the left", "a person spins around", "a person jogs forward",
           "a person runs in a circle", "a person walks in a circle", "a person sneaks forward slowly",
           "a person dances"]
FEET = list(HUMANML3D.left_foot) + list(HUMANML3D.right_foot)
LEGS = sorted({j for chain in foot_chains(HUMANML3D) for j in chain[1:]})
OTHERS = [j for j in range(HUMANML3D.num_joints) if j not in LEGS]
HOVERING_CM = 2.0   # a take whose lowest foot joint is higher than this at its median frame floats


def skating(joints: np.ndarray, fps: float) -> dict:
    s = foot_skating(joints, HUMANML3D, fps)
    speed = foot_skating_speed(joints, HUMANML3D, fps)
    lowest = joints[:, FEET, 1].min(axis=1) * 100
    return {"skating_share": s["skating_share"], "contact_steps": s["contact_steps"],
            "skating_steps": int((speed > SKATING_SPEED).sum()), "steps": len(speed), "mean_speed": s["mean"],
            "penetration_cm": max(0.0, -float(lowest.min())),
            "float_cm": float(np.median(lowest)), "float_cm_p90": float(np.percentile(lowest, 90))}


def pooled(rows: list[dict]) -> dict:
    contact = sum(r["contact_steps"] for r in rows)
    return {"skating_share": sum(r["skating_steps"] for r in rows) / max(contact, 1),
            "skating_frames": sum(r["skating_steps"] for r in rows) / max(sum(r["steps"] for r in rows), 1),
            "penetration_cm_max": max(r["penetration_cm"] for r in rows),
            "penetration_cm_mean": float(np.mean([r["penetration_cm"] for r in rows])),
            "float_cm": float(np.mean([r["float_cm"] for r in rows])),
            "float_cm_p90": float(np.mean([r["float_cm_p90"] for r in rows])),
            "hovering_takes": sum(r["float_cm"] > HOVERING_CM for r in rows), "takes": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--frames", type=int, nargs="+", default=[80, 196])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    out = args.out or ROOT / "benchmarks" / "results" / f"foot_cleanup_{date}"
    engine = Engine.load(None, device="cpu")
    guidance, steps = sampling_settings(engine, None, None)
    takes, before_rows, unsettled_rows, after_rows, sample_s, cleanup_s = [], [], [], [], 0.0, 0.0
    for frames in args.frames:
        for seed in args.seeds:
            seeds = [seed * 1000 + i for i in range(len(PROMPTS))]
            started = time.perf_counter()
            latents = sample_latents(engine, PROMPTS, seeds, frames, guidance, steps, Progress(None), None)
            features = decode_latents(engine, latents, frames)
            raw = solve_motions(engine, features, [{} for _ in PROMPTS])
            sample_s += time.perf_counter() - started
            started = time.perf_counter()
            cleaned = clean_feet_batch(raw, contacts_from_features(features, HUMANML3D))
            cleanup_s += time.perf_counter() - started
            # the cleanup without setting the body down on the floor (controls.floor_drift): as before 2026-12-08
            unsettled = clean_feet_batch(raw, contacts_from_features(features, HUMANML3D), settle=False)
            for prompt, s, before, plain, after in zip(PROMPTS, seeds, raw, unsettled, cleaned):
                b, a = skating(before.joints, engine.fps), skating(after.joints, engine.fps)
                u = skating(plain.joints, engine.fps)
                change = np.linalg.norm(after.joints - before.joints, axis=-1)
                takes.append({"prompt": prompt, "seed": s, "frames": frames, "before": b, "unsettled": u, "after": a,
                              "leg_change_cm_mean": float(change[:, LEGS].mean() * 100),
                              "leg_change_cm_max": float(change[:, LEGS].max() * 100),
                              "other_change_cm_max": float(change[:, OTHERS].max() * 100),
                              "fk_cm": float(np.abs(after.forward_kinematics() - after.joints).max() * 100)})
                before_rows.append(b)
                unsettled_rows.append(u)
                after_rows.append(a)
            print(f"frames {frames} seed {seed}: before {pooled(before_rows[-len(PROMPTS):])['skating_share']:.3f} "
                  f"after {pooled(after_rows[-len(PROMPTS):])['skating_share']:.3f}", flush=True)
    reference = np.load(ROOT / "tests" / "data" / "humanml3d_sample" / "new_joints_012314.npy").astype(np.float64)
    summary = {"before": pooled(before_rows), "unsettled": pooled(unsettled_rows), "after": pooled(after_rows),
               "leg_change_cm_mean": float(np.mean([t["leg_change_cm_mean"] for t in takes])),
               "leg_change_cm_max": float(max(t["leg_change_cm_max"] for t in takes)),
               "other_change_cm_max": float(max(t["other_change_cm_max"] for t in takes)),
               "fk_cm_max": float(max(t["fk_cm"] for t in takes)),
               "cleanup_ms_per_take": cleanup_s / len(takes) * 1000,
               "sampling_ms_per_take": sample_s / len(takes) * 1000,
               "humanml3d_sample_012314": pooled([skating(reference, 20.0)])}
    per_prompt = {}
    for prompt in PROMPTS:
        mine = [t for t in takes if t["prompt"] == prompt]
        per_prompt[prompt] = {"before": pooled([t["before"] for t in mine])["skating_share"],
                              "after": pooled([t["after"] for t in mine])["skating_share"],
                              "float_cm_before": pooled([t["before"] for t in mine])["float_cm"],
                              "float_cm_unsettled": pooled([t["unsettled"] for t in mine])["float_cm"],
                              "float_cm_after": pooled([t["after"] for t in mine])["float_cm"],
                              "leg_change_cm_mean": float(np.mean([t["leg_change_cm_mean"] for t in mine]))}
    for prompt, row in per_prompt.items():
        print(f"{prompt[:34]:34} skating {row['before']:.3f} -> {row['after']:.3f}  legs moved "
              f"{row['leg_change_cm_mean']:.1f} cm  float {row['float_cm_before']:.1f} -> "
              f"{row['float_cm_unsettled']:.1f} -> {row['float_cm_after']:.1f} cm")
    for key in ("before", "unsettled", "after"):
        print(f"{key:6}: {summary[key]}")
    print({k: v for k, v in summary.items() if k not in ("before", "after")})
    result = {"benchmark": "foot_cleanup", "command": " ".join(sys.argv), "environment": environment(engine.device),
              "threads": torch.get_num_threads(), "definition": f"foot joint within {CONTACT_HEIGHT} m of the take's "
              f"lowest foot position moving faster than {SKATING_SPEED} m/s", "model": engine.model_version,
              "guidance": guidance, "steps": steps, "summary": summary, "per_prompt": per_prompt, "takes": takes}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "foot_cleanup.json", result)
    print(f"wrote {out / 'foot_cleanup.json'}")


if __name__ == "__main__":
    main()

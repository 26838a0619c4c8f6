"""Per-action physical report of the procedural corpus: counts, lengths, foot skating, jump heights, speeds,
planted-foot motion, floor penetration, knee direction, and the ground-truth pass rate of the per-action
checks (train/evaluation/actions.py).

Generates clips exactly as `python -m train.procedural` does (same seed -> same clips), measures each
action segment on its own frames, and writes one JSON:

    python benchmarks/corpus_report.py --num 2000 --seed 0 --workers 2 --out benchmarks/results/corpus_report_<date>/report.json

Definitions (20 fps, metres):
  skating_share   motion_core.kinematics.motion_metrics.foot_skating on the segment: share of frames with a foot joint
                  within 5 cm of the floor that moves > 2.5 cm/frame (real CMU walk: 0.04)
  planted_mm_max  largest per-frame move of a foot joint the corpus's own contact labels call planted
  jump_rise_m     pelvis peak above its height at the segment start (jumps)
  cruise_speed    best 1-second average pelvis speed of a locomotion segment (m/s), style-free segments
  min_joint_y     lowest joint height (floor at 0; penetration if < 0)
  penetration_cm  how far the clip's lowest joint is below its planted toes (floor penetration; a toe on a stair
                  tread is measured from that tread)
  knee_back_cm    worst knee position behind the hip-ankle line (hyperextension if clearly > 0)
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.formats.atomic_file import write_json  # noqa: E402
from motion_core.kinematics.motion_metrics import foot_skating  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402

CONTACT_JOINTS = (7, 10, 8, 11)          # columns of Clip.contacts
LEGS = ((1, 4, 7), (2, 5, 8))            # hip, knee, ankle


def _planted_mm(joints: np.ndarray, contacts: np.ndarray) -> float:
    worst = 0.0
    for column, joint in enumerate(CONTACT_JOINTS):
        both = contacts[1:, column] & contacts[:-1, column]
        if both.any():
            step = np.linalg.norm(np.diff(joints[:, joint], axis=0), axis=-1)
            worst = max(worst, float(step[both].max()))
    return 1000 * worst


def _knee_back_cm(joints: np.ndarray) -> float:
    """How far a knee sits behind the straight hip-ankle line, along the body's facing (cm)."""
    r_hip, l_hip = HUMANML3D.face_joints[0], HUMANML3D.face_joints[1]
    across = joints[:, r_hip] - joints[:, l_hip]
    forward = np.cross(np.array([0.0, 1.0, 0.0]), across)
    forward /= np.maximum(np.linalg.norm(forward, axis=-1, keepdims=True), 1e-9)
    worst = -1.0
    for hip, knee, ankle in LEGS:
        h, k, a = joints[:, hip], joints[:, knee], joints[:, ankle]
        axis = (a - h) / np.maximum(np.linalg.norm(a - h, axis=-1, keepdims=True), 1e-9)
        off = (k - h) - ((k - h) * axis).sum(-1, keepdims=True) * axis
        worst = max(worst, float(-(off * forward).sum(-1).max()))
    return 100 * worst


def _penetration_cm(joints: np.ndarray, contacts: np.ndarray, segments: list[dict]) -> float:
    """How far the clip's lowest joint lies below where its planted toes stand (canonical clips put the lowest
    joint on y = 0, so a dip below the floor lifts the planted feet instead). A stairs clip's toes also stand
    on its treads: each planted toe is measured from the nearest level (floor or tread)."""
    from train.procedural.actions.locomotion import stair_levels
    toes = np.concatenate([joints[contacts[:, c], t, 1] for c, t in ((1, 10), (3, 11))])
    if not toes.size:
        return 0.0
    floor = joints[..., 1].min()
    levels = np.array([0.0] + [v for seg in segments if seg["action"] == "stairs"
                               for v in stair_levels(seg["params"]["steps"], seg["params"]["rise"])])
    above = toes - floor
    above -= levels[np.abs(above[:, None] - levels[None]).argmin(axis=1)]
    return 100 * float(np.median(above))


def _segment_stats(job):
    seed, index = job
    from train.procedural.actions import ACTIONS
    from train.procedural.generate import generate_clip
    from train.evaluation.actions import check_action
    clip = generate_clip(seed, index)
    j = clip.joints.astype(np.float64)
    rows = []
    for seg in clip.meta["segments"]:
        a, b = seg["start_frame"], seg["end_frame"]
        name = seg["action"]
        w = j[a:b]
        row = {"action": name, "family": ACTIONS[name].family, "frames": b - a,
               "skating_share": foot_skating(w, HUMANML3D, 20.0)["skating_share"],
               "planted_mm_max": _planted_mm(w, clip.contacts[a:b]), "min_joint_y": float(w[..., 1].min()),
               "knee_back_cm": _knee_back_cm(w), "style": seg["params"].get("style"),
               "penetration_cm": _penetration_cm(j, clip.contacts, clip.meta["segments"])}
        if ACTIONS[name].family == "jumps":
            row["jump_rise_m"] = float(w[:, 0, 1].max() - w[0, 0, 1])
        if ACTIONS[name].family == "locomotion" and b - a > 20:
            step = np.linalg.norm(np.diff(w[:, 0][:, [0, 2]], axis=0), axis=-1)
            row["cruise_speed"] = float(np.convolve(step, np.ones(20), mode="valid").max())
        if len(clip.meta["segments"]) == 1 and not seg["params"].get("style"):
            row["check"] = check_action(name, j)
        rows.append(row)
    whole = foot_skating(j, HUMANML3D, 20.0)["skating_share"]
    captions = [line.caption for line in clip.captions]
    return rows, whole, captions, len(clip.heldout_synonym_captions) > 0


def _summary(values: list[float]) -> dict:
    v = np.asarray(values, float)
    return {"mean": round(float(v.mean()), 4), "min": round(float(v.min()), 4), "max": round(float(v.max()), 4)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    jobs = [(args.seed, i) for i in range(args.num)]
    with mp.get_context("spawn").Pool(args.workers) as pool:
        results = pool.map(_segment_stats, jobs, chunksize=8)
    per_action: dict[str, list[dict]] = {}
    for rows, _, _, _ in results:
        for row in rows:
            per_action.setdefault(row["action"], []).append(row)
    actions = {}
    for name, rows in sorted(per_action.items()):
        entry = {"family": rows[0]["family"], "count": len(rows),
                 "length_s": _summary([r["frames"] / 20.0 for r in rows]),
                 "skating_share": _summary([r["skating_share"] for r in rows]),
                 "planted_mm_max": round(max(r["planted_mm_max"] for r in rows), 2),
                 "min_joint_y": round(min(r["min_joint_y"] for r in rows), 4),
                 "knee_back_cm_max": round(max(r["knee_back_cm"] for r in rows), 2),
                 "penetration_cm_max": round(max(r["penetration_cm"] for r in rows), 2)}
        for key in ("jump_rise_m", "cruise_speed"):
            values = [r[key] for r in rows if key in r and not r["style"]]
            if values:
                entry[key] = _summary(values)
        checks = [r["check"] for r in rows if r.get("check") is not None]
        if checks:
            entry["check_pass_rate"] = round(float(np.mean(checks)), 3)
        actions[name] = entry
    clip_skating = [w for _, w, _, _ in results]
    captions = {c for _, _, cs, _ in results for c in cs}
    report = {
        "command": " ".join(["python benchmarks/corpus_report.py"] + (argv if argv is not None else sys.argv[1:])),
        "clips": args.num, "seed": args.seed, "seconds": round(time.perf_counter() - start, 1),
        "num_actions_seen": len(actions),
        "corpus": {"skating_share_mean_over_clips": round(float(np.mean(clip_skating)), 4),
                   "skating_share_max_clip": round(float(np.max(clip_skating)), 4),
                   "planted_mm_max": round(max(a["planted_mm_max"] for a in actions.values()), 2),
                   "min_joint_y": round(min(a["min_joint_y"] for a in actions.values()), 4),
                   "knee_back_cm_max": round(max(a["knee_back_cm_max"] for a in actions.values()), 2),
                   "penetration_cm_max": round(max(a["penetration_cm_max"] for a in actions.values()), 2),
                   "distinct_training_captions": len(captions),
                   "clips_with_heldout_synonym_captions": int(sum(r[3] for r in results))},
        "actions": actions,
    }
    write_json(args.out, report)
    print({k: report[k] for k in ("clips", "seconds", "num_actions_seen", "corpus")})


if __name__ == "__main__":
    main()

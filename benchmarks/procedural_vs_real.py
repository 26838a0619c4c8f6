"""Procedural corpus against real motion capture, for the actions both have: is the generator realistic?

Reads two datasets in the HumanML3D layout: a procedural corpus (``python -m train.procedural --out P``; its
meta.json labels every segment) and converted CMU mocap (``python -m train.mocap --source RAW --out R``; its
mocap_meta.json holds each trial's CMU description). Procedural motions are measured per single-action
segment, mocap per clip whose description names one action. Both use the canonical joints (new_joints/),
20 fps, metres, y up. Per action and corpus it reports mean, min and max over clips of:

* ``speed``: net horizontal root displacement / duration (m/s);
* ``cadence`` (steps/min) and ``step_length`` (m): from the touch-downs of either foot (see `touchdowns`),
  between the first and the last one: steps / time, and the root's horizontal path / steps (0 and NaN
  with fewer than two touch-downs);
* ``pelvis_range``: max - min pelvis height (m); for jumps, how high the body goes;
* ``jerk_mean``, ``jerk_p95``: joint jerk magnitude (m/s^3, `motion_core.kinematics.motion_metrics.joint_jerk`);
* ``skating_ratio``: the literature's foot-skating ratio: share of frame steps in which a foot joint (ankle
  or toe) within 5 cm of the ground moves more than 2.5 cm (0.5 m/s at 20 fps), over all frame steps
  (`motion_metrics.foot_skating_speed`, ground = the clip's lowest foot point); ``skating_share_contact``:
  the same over the steps with a foot on the ground (`motion_metrics.foot_skating`);
* ``penetration_cm``: how far the lowest foot joint goes below the clip's standing level (the median height
  of the lowest foot joint over frames where a foot is planted), max over frames, in cm.

    python benchmarks/procedural_vs_real.py --procedural P --real R [--out FILE.json]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.kinematics.motion_metrics import foot_skating, foot_skating_speed, joint_jerk  # noqa: E402
from motion_core.kinematics.skeleton import HUMANML3D  # noqa: E402

FPS = 20.0
CONTACT_HEIGHT = 0.05
SKATING_SPEED = 0.5
MIN_FRAMES = 20

# Procedural action -> shared action name.
PROCEDURAL_ACTIONS = {"walk": "walk", "jog": "run/jog", "run": "run/jog", "jump_in_place": "jump",
                      "jump_forward": "jump", "turn_left": "turn", "turn_right": "turn", "sit_down": "sit",
                      "stand_up": "sit", "squat": "squat", "sneak": "sneak", "walk_backward": "walk backward"}
# CMU description (whole, lower case) -> shared action name; only single-action descriptions.
REAL_ACTIONS = [(re.compile(r"^(slow |brisk )?walk$"), "walk"), (re.compile(r"^(run/jog|run|jog)$"), "run/jog"),
                (re.compile(r"^(forward jump|jump|high jump|jump, balance|jump stop)$"), "jump"),
                (re.compile(r"^walk, (90-degree )?(left|right) turns?$"), "turn"),
                (re.compile(r"^sit on .*stand up$"), "sit"), (re.compile(r"^walk stealthily$"), "sneak"),
                (re.compile(r"^squats?$"), "squat")]


def real_action(description: str) -> str | None:
    text = description.strip().lower()
    return next((name for pattern, name in REAL_ACTIONS if pattern.match(text)), None)


def _feet(joints: np.ndarray) -> list[int]:
    return list(HUMANML3D.left_foot) + list(HUMANML3D.right_foot)


def touchdowns(joints: np.ndarray) -> list[int]:
    """Touch-downs of either foot: a foot is planted on a frame when its ankle or its toe is within 5 cm of
    that joint's lowest height in the clip and moves slower than 0.5 m/s; a touch-down is a planted frame
    after at least 2 frames not planted. Returns the sorted touch-down frames of both feet."""
    frames = []
    speed = np.zeros(joints.shape[:2])
    speed[1:] = np.linalg.norm(np.diff(joints[..., [0, 2]], axis=0), axis=-1) * FPS
    height = joints[..., 1] - joints[..., 1].min(axis=0)
    for ankle, toe in (HUMANML3D.left_foot, HUMANML3D.right_foot):
        planted = ((height[:, ankle] < CONTACT_HEIGHT) & (speed[:, ankle] < SKATING_SPEED)) | (
            (height[:, toe] < CONTACT_HEIGHT) & (speed[:, toe] < SKATING_SPEED))
        air = 0
        for t in range(len(planted)):
            if planted[t]:
                if air >= 2:
                    frames.append(t)
                air = 0
            else:
                air += 1
    return sorted(frames)


def measure(joints: np.ndarray) -> dict[str, float]:
    joints = np.asarray(joints, dtype=np.float64)
    duration = (len(joints) - 1) / FPS
    root = joints[:, 0]
    distance = float(np.linalg.norm(root[-1, [0, 2]] - root[0, [0, 2]]))
    path = float(np.linalg.norm(np.diff(root[:, [0, 2]], axis=0), axis=-1).sum())
    downs = touchdowns(joints)
    n_steps = len(downs)
    # Cadence and step length between the first and the last touch-down: whole steps only.
    if n_steps >= 2 and downs[-1] > downs[0]:
        span = (downs[-1] - downs[0]) / FPS
        cadence = 60.0 * (n_steps - 1) / span
        step_length = float(np.linalg.norm(np.diff(root[downs[0]:downs[-1] + 1, [0, 2]], axis=0), axis=-1).sum()) / (n_steps - 1)
    else:
        cadence, step_length = 0.0, float("nan")
    jerk = joint_jerk(joints, FPS)
    skate = foot_skating_speed(joints, HUMANML3D, FPS, CONTACT_HEIGHT)
    feet = joints[:, _feet(joints), 1]
    lowest = feet.min(axis=1)
    foot_speed = np.zeros(len(joints))
    foot_speed[1:] = np.linalg.norm(np.diff(joints[:, _feet(joints)][..., [0, 2]], axis=0), axis=-1).min(axis=1) * FPS
    planted = (lowest - lowest.min() < CONTACT_HEIGHT) & (foot_speed < SKATING_SPEED)
    standing = float(np.median(lowest[planted])) if planted.any() else float(lowest.min())
    return {
        "seconds": duration,
        "speed": distance / duration if duration > 0 else 0.0,
        "path_speed": path / duration if duration > 0 else 0.0,
        "steps": n_steps,
        "cadence": cadence,
        "step_length": step_length,
        "pelvis_range": float(root[:, 1].max() - root[:, 1].min()),
        "jerk_mean": float(jerk.mean()) if jerk.size else 0.0,
        "jerk_p95": float(np.percentile(jerk, 95)) if jerk.size else 0.0,
        "skating_ratio": float((skate > SKATING_SPEED).mean()) if len(skate) else 0.0,
        "skating_share_contact": foot_skating(joints, HUMANML3D, FPS, contact_height=CONTACT_HEIGHT)["skating_share"],
        "penetration_cm": 100.0 * max(0.0, standing - float(lowest.min())),
    }


def procedural_samples(root: Path) -> list[tuple[str, str, np.ndarray]]:
    meta = json.loads((root / "meta.json").read_text())
    out = []
    for cid, clip in sorted(meta["clips"].items()):
        joints = None
        for seg in clip.get("segments", []):
            action = PROCEDURAL_ACTIONS.get(seg["action"])
            if action is None or seg["end_frame"] - seg["start_frame"] < MIN_FRAMES:
                continue
            if joints is None:
                joints = np.load(root / "new_joints" / f"{cid}.npy")
            out.append((f"{cid}:{seg['action']}", action, joints[seg["start_frame"]:seg["end_frame"]]))
    return out


def real_samples(root: Path) -> list[tuple[str, str, np.ndarray]]:
    meta = json.loads((root / "mocap_meta.json").read_text())
    out = []
    for cid, clip in sorted(meta["clips"].items()):
        action = real_action(clip["description"])
        if action is None or clip["frames"] < MIN_FRAMES:
            continue
        out.append((f"{cid}:{clip['description']}", action, np.load(root / "new_joints" / f"{cid}.npy")))
    return out


def summarise(samples) -> dict:
    table: dict[str, dict] = {}
    for name, action, joints in samples:
        table.setdefault(action, {"clips": [], "metrics": []})
        table[action]["clips"].append(name)
        table[action]["metrics"].append(measure(joints))
    out = {}
    for action, entry in sorted(table.items()):
        stats = {"count": len(entry["metrics"]), "seconds": round(sum(m["seconds"] for m in entry["metrics"]), 1)}
        for key in entry["metrics"][0]:
            if key == "seconds":
                continue
            values = np.array([m[key] for m in entry["metrics"]], dtype=float)
            values = values[np.isfinite(values)]
            if values.size:
                stats[key] = {"mean": round(float(values.mean()), 4), "min": round(float(values.min()), 4),
                              "max": round(float(values.max()), 4)}
        stats["clips"] = entry["clips"]
        out[action] = stats
    return out


KEYS = ("speed", "cadence", "step_length", "pelvis_range", "jerk_mean", "skating_ratio", "skating_share_contact",
        "penetration_cm")


def table(result: dict) -> str:
    lines = ["| action | corpus | n | " + " | ".join(KEYS) + " |", "|" + "---|" * (3 + len(KEYS))]
    for action in sorted(set(result["procedural"]) & set(result["real"])):
        for corpus in ("procedural", "real"):
            s = result[corpus][action]
            cells = [f"{s[k]['mean']:.3g} ({s[k]['min']:.3g}-{s[k]['max']:.3g})" if k in s else "-" for k in KEYS]
            lines.append(f"| {action} | {corpus} | {s['count']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--procedural", required=True, type=Path, help="dataset from python -m train.procedural")
    parser.add_argument("--real", required=True, type=Path, help="dataset from python -m train.mocap")
    parser.add_argument("--out", type=Path, help="write the JSON here")
    args = parser.parse_args(argv)
    result = {"procedural": summarise(procedural_samples(args.procedural)), "real": summarise(real_samples(args.real)),
              "settings": {"fps": FPS, "contact_height_m": CONTACT_HEIGHT, "skating_speed_m_s": SKATING_SPEED,
                           "min_frames": MIN_FRAMES}}
    result["shared_actions"] = sorted(set(result["procedural"]) & set(result["real"]))
    text = table(result)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

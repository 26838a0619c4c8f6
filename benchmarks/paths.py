"""Follow a path and key poses (issue 23, items 1 and 3) on the bundled model, on the CPU.

Paths: `--paths` random smooth paths (turning up to +-60 degrees in all, so "forward" in the action checks still
means along the path's start) for each of three locomotion prompts, each path as long as that prompt travels
unconstrained in the clip (its pace measured on the no-path takes of the same seeds), given as 4 waypoints
(every second path) or as a dense curve (the others). Three ways, through the engine's own steps
(`sample_latents`, `decode_latents`, `solve_motions`, `constraints.finish`: what `generate` runs):

* ``none``: no path (the reference: action checks, foot skating);
* ``posthoc``: the path met only by the final correction (`controls.path`), no guidance while sampling;
* ``guided``: guidance while sampling (`generation.guidance`) and the final correction: what `generate` does.

Per take: root deviation from the path (mean over frames, worst waypoint; cm), the deviation *before* the final
correction (how far sampling alone got, in the guide's frame), the per-action check of the prompt
(`train.evaluation.actions.check_action`), the foot-skating share after foot cleanup
(`motion_metrics.foot_skating`), and time per take.

Pins: for the first `--pin-takes` seeds of each prompt, one whole-pose pin (frame 40: the pose of another seed's
take of the same prompt at that frame, on this take's skeleton, moved to where this take's root is) and one
effector pin (frame 20: the right wrist 30 cm higher and 20 cm further forward than in the take): joint error
at the pinned frames, skating, action check, with and without guidance. CPU latency of `Engine.generate` with
no control, a path, pins, and both.

    nice -n 5 python benchmarks/paths.py [--paths 20] [--pin-takes 4] [--seconds 4] [--out DIR]
    python benchmarks/paths.py --device cuda --paths 0 --pin-takes 0 --latency-repeats 10   # GPU latency only
"""
from __future__ import annotations

import argparse
import datetime
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from motion_core.interfaces.bench_report import environment  # noqa: E402
from motion_core.controls.path import RootPath, path_deviation  # noqa: E402
from motion_core.controls.pins import parse_pins, pin_errors  # noqa: E402
from motion_core.engine import Engine  # noqa: E402
from motion_core.formats.atomic_file import write_json  # noqa: E402
from motion_core.generation.constraints import Constraints, finish, guide_for  # noqa: E402
from motion_core.generation.decoding import decode_latents, solve_motions  # noqa: E402
from motion_core.generation.guidance import Guide  # noqa: E402
from motion_core.generation.progress import Progress  # noqa: E402
from motion_core.generation.sampling import sample_latents  # noqa: E402
from motion_core.kinematics.forward_kinematics import forward_kinematics  # noqa: E402
from motion_core.kinematics.motion_metrics import foot_skating  # noqa: E402
from train.evaluation.actions import check_action  # noqa: E402

PROMPTS = {"walk": "a person walks forward", "run": "a person runs forward", "sneak": "a person sneaks forward"}


def random_track(rng: np.random.Generator, length: float, points: int = 200) -> np.ndarray:
    """(points, 2) smooth path from the origin, initially along +z turned by up to 30 degrees, `length` m long,
    its heading bending by up to +-60 degrees in all."""
    s = np.linspace(0.0, 1.0, points)
    yaw = rng.uniform(-0.5, 0.5) + rng.uniform(-1.0, 1.0) * s + rng.uniform(-0.5, 0.5) * np.sin(np.pi * s)
    step = length / (points - 1)
    xz = np.cumsum(np.stack((np.sin(yaw), np.cos(yaw)), axis=1) * step, axis=0)
    return np.concatenate((np.zeros((1, 2)), xz[:-1]))


def make_path(track: np.ndarray, frames: int, fps: float, as_curve: bool) -> RootPath:
    if as_curve:
        return RootPath.from_json({"curve": track.tolist()})
    picks = [int(round(k * (frames - 1) / 4)) for k in (1, 2, 3, 4)]
    idx = [int(round(p / (frames - 1) * (len(track) - 1))) for p in picks]   # even pace along the track
    return RootPath.from_json({"waypoints": [{"frame": f, "x": float(track[i, 0]), "z": float(track[i, 1])}
                                             for f, i in zip(picks, idx)]})


def takes(engine, prompts, seeds, frames, constraints: Constraints, guided: bool, cleanup: bool = True):
    """(final motions, raw motions, guide or None, seconds): one sampling pass the way `generate` runs it, with
    `guided` steering towards the path and (unlike `generate`, see `constraints.GUIDE_PINS`) the pins too."""
    started = time.perf_counter()
    guide = Guide(engine, constraints.path, constraints.pins, frames, len(prompts)) if guided else None
    guidance, steps = engine.default_guidance, engine.default_steps
    latents = sample_latents(engine, prompts, seeds, frames, guidance, steps, Progress(None), None, guide=guide)
    features = decode_latents(engine, latents, frames)
    raw = solve_motions(engine, features, [{} for _ in prompts])
    final = finish(raw, features, constraints, engine.skeleton, cleanup, False)
    return final, raw, guide, time.perf_counter() - started


def raw_deviation(raw, guide, path: RootPath, fps: float) -> float | None:
    """Mean root deviation (cm) of a take before the final correction, in the guide's placement (guided), or
    placed as the guide would have placed it (post-hoc)."""
    if guide is None or guide.frames is None:
        return None
    start, angle = guide.frames[0]
    joints = raw.joints.astype(np.float64).copy()
    c, s = math.cos(angle), math.sin(angle)
    x, z = joints[..., 0].copy(), joints[..., 2].copy()
    joints[..., 0], joints[..., 2] = c * x + s * z + start[0], -s * x + c * z + start[1]
    return path_deviation(joints, path, fps)["mean_cm"]


def skating(joints, engine) -> float:
    return foot_skating(joints, engine.skeleton, engine.fps)["skating_share"]


def run_paths(engine, args, frames) -> dict:
    labels = list(PROMPTS)
    prompts = [PROMPTS[k] for k in labels]
    rows, reference = [], {}
    for p in range(args.paths):
        seeds = [1000 * p + i for i in range(len(prompts))]
        base, _, _, t_base = takes(engine, prompts, seeds, frames, Constraints(), False)
        for label, motion in zip(labels, base):
            steps_m = np.linalg.norm(np.diff(motion.joints[:, 0, [0, 2]], axis=0), axis=1)
            reference.setdefault(label, []).append({"check": check_action(label, motion.joints),
                                                    "skating": skating(motion.joints, engine),
                                                    "travel": float(steps_m.sum())})
        rng = np.random.default_rng(p)
        paths = []
        for label in labels:   # each prompt's path is as long as it travels (mean over the takes so far)
            length = max(0.5, float(np.mean([r["travel"] for r in reference[label]])))
            paths.append(make_path(random_track(rng, length), frames, engine.fps, as_curve=p % 2 == 1))
        for mode in ("posthoc", "guided"):
            for label, prompt, seed, path in zip(labels, prompts, seeds, paths):
                (motion,), (raw,), guide, took = takes(engine, [prompt], [seed], frames, Constraints(path),
                                                       mode == "guided")
                if guide is None:   # placed as guidance would place it, for the "before correction" figure
                    guide = guide_for(engine, Constraints(path), frames, 1)
                    guide.frames = [guide.placement(raw.joints.astype(np.float64))]
                dev = path_deviation(motion.joints, path, engine.fps)
                rows.append({"path": p, "form": "curve" if path.curve else "waypoints", "mode": mode, "action": label,
                             "seed": seed, "mean_cm": dev["mean_cm"], "max_cm": dev["max_cm"],
                             "waypoint_max_cm": dev.get("waypoint_max_cm"), "past_end_share": dev.get("past_end_share"),
                             "before_correction_mean_cm": raw_deviation(raw, guide, path, engine.fps),
                             "check": check_action(label, motion.joints), "skating": skating(motion.joints, engine),
                             "seconds": took, "decoder_calls": getattr(guide, "calls", 0) if mode == "guided" else 0})
                r = rows[-1]
                print(f"path {p:2} {r['form']:9} {mode:7} {label:5}: mean {r['mean_cm']:.2f} cm, waypoints "
                      f"{r['waypoint_max_cm'] if r['waypoint_max_cm'] is not None else float('nan'):.2f} cm, before "
                      f"{r['before_correction_mean_cm']:.1f} cm, check {r['check']}, skating {r['skating']:.3f}, "
                      f"{took:.1f} s", flush=True)
        print(f"path {p:2} no path: {t_base:.1f} s for {len(prompts)} takes", flush=True)
    return {"rows": rows, "reference": reference}


def summarise_paths(result: dict) -> dict:
    summary = {}
    for label, refs in result["reference"].items():
        summary[label] = {"none": {"check_pass": float(np.mean([r["check"] for r in refs])),
                                   "skating": float(np.mean([r["skating"] for r in refs])),
                                   "travel_m": float(np.mean([r["travel"] for r in refs]))}}
        for mode in ("posthoc", "guided"):
            mine = [r for r in result["rows"] if r["action"] == label and r["mode"] == mode]
            waypoints = [r["waypoint_max_cm"] for r in mine if r["waypoint_max_cm"] is not None]
            summary[label][mode] = {
                "mean_deviation_cm": float(np.mean([r["mean_cm"] for r in mine])),
                "max_deviation_cm": float(max(r["max_cm"] for r in mine)),
                "waypoint_max_cm": float(max(waypoints)) if waypoints else None,
                "before_correction_mean_cm": float(np.mean([r["before_correction_mean_cm"] for r in mine])),
                "check_pass": float(np.mean([r["check"] for r in mine])),
                "skating": float(np.mean([r["skating"] for r in mine])),
                "seconds_per_take": float(np.mean([r["seconds"] for r in mine]))}
    return summary


def donor_pose(own, donor, frame: int, engine) -> np.ndarray:
    """(J, 3): the donor take's pose at `frame` on `own`'s skeleton (the donor's joint rotations on own's bone
    lengths), its root moved to own's root on the ground plane. A key pose an animator sets on their own character
    has that character's proportions; a pose copied from a body of other proportions could only be met up to the
    difference in bone lengths (up to 4.6 cm between two walks of the bundled model, measured 2026-12-04)."""
    root = donor.root_translation[frame:frame + 1].astype(np.float64).copy()
    root[0, [0, 2]] = own.joints[frame, 0, [0, 2]]
    posed = forward_kinematics(donor.rotations[frame:frame + 1].astype(np.float64), root,
                               own.offsets.astype(np.float64), engine.skeleton.parents)
    return posed[0]


def run_pins(engine, args, frames) -> dict:
    rows = []
    for label, prompt in PROMPTS.items():
        for k in range(args.pin_takes):
            seed, other = 7000 + k, 7100 + k
            (own, donor), _, _, _ = takes(engine, [prompt, prompt], [seed, other], frames, Constraints(), False)
            pose = donor_pose(own, donor, 40, engine)
            wrist = (own.joints[20, 21].astype(np.float64) + [0.0, 0.3, 0.2]).tolist()
            pins = parse_pins([{"frame": 40, "joints": pose.tolist()},
                               {"frame": 20, "effectors": {"right_wrist": wrist}}], engine.skeleton, frames)
            for mode in ("posthoc", "guided"):
                (motion,), _, _, took = takes(engine, [prompt], [seed], frames, Constraints(None, pins),
                                              mode == "guided")
                errors = {p.whole: e for p, e in zip(pins, pin_errors(motion.joints, pins))}
                rows.append({"action": label, "seed": seed, "mode": mode, "pose_pin_cm": errors[True] * 100,
                             "effector_pin_cm": errors[False] * 100, "skating": skating(motion.joints, engine),
                             "skating_without_pins": skating(own.joints, engine),
                             "check": check_action(label, motion.joints),
                             "check_without_pins": check_action(label, own.joints), "seconds": took})
                r = rows[-1]
                print(f"pins {label:5} seed {seed} {mode:7}: pose {r['pose_pin_cm']:.2f} cm, wrist "
                      f"{r['effector_pin_cm']:.2f} cm, skating {r['skating_without_pins']:.3f} -> {r['skating']:.3f}, "
                      f"check {r['check_without_pins']} -> {r['check']}, {took:.1f} s", flush=True)
    summary = {}
    for mode in ("posthoc", "guided"):
        mine = [r for r in rows if r["mode"] == mode]
        summary[mode] = {"pose_pin_cm_max": float(max(r["pose_pin_cm"] for r in mine)),
                         "effector_pin_cm_max": float(max(r["effector_pin_cm"] for r in mine)),
                         "skating": float(np.mean([r["skating"] for r in mine])),
                         "skating_without_pins": float(np.mean([r["skating_without_pins"] for r in mine])),
                         "check_pass": float(np.mean([r["check"] for r in mine])),
                         "check_pass_without_pins": float(np.mean([r["check_without_pins"] for r in mine]))}
    return {"rows": rows, "summary": summary}


def latency(engine, frames, repeats: int) -> dict:
    """Seconds per `Engine.generate` call of one prompt, with each control and without ("none" includes foot
    cleanup, which is on by default; "no foot cleanup" says what it costs)."""
    path = RootPath.from_json({"waypoints": [{"frame": frames // 2, "x": 0.8, "z": 1.8},
                                             {"frame": frames - 1, "x": 2.0, "z": 3.2}]})
    pins = [{"frame": frames // 2, "effectors": {"right_wrist": [0.9, 1.6, 2.0]}}]
    options = {"none": {}, "path": {"path": path}, "pins": {"pins": pins}, "path+pins": {"path": path, "pins": pins},
               "no foot cleanup": {"foot_cleanup": False}, "loop": {"loop": True}}
    result = {}
    engine.generate([PROMPTS["walk"]], frames=frames, seed=0)   # warm-up
    for name, extra in options.items():
        times, cpu = [], []
        for r in range(repeats):
            started, started_cpu = time.perf_counter(), time.process_time()
            engine.generate([PROMPTS["walk"]], frames=frames, seed=r, **extra)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)   # CPU seconds: steadier than wall time on shared cores
        result[name] = {"median_s": float(np.median(times)), "times_s": times, "median_cpu_s": float(np.median(cpu)),
                        "cpu_s": cpu}
        print(f"latency {name:9}: {result[name]['median_s']:.2f} s wall, {result[name]['median_cpu_s']:.2f} s CPU",
              flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=20)
    parser.add_argument("--pin-takes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--latency-repeats", type=int, default=3)
    parser.add_argument("--name", default="paths", help="result file name (without .json)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--device", default="cpu", help="cpu (the figures above) or cuda (latency on a GPU)")
    args = parser.parse_args()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    out = args.out or ROOT / "benchmarks" / "results" / f"paths_{date}"
    engine = Engine.load(None, device=args.device)
    frames = int(round(args.seconds * engine.fps))
    started = time.perf_counter()
    paths = run_paths(engine, args, frames) if args.paths else {"rows": [], "reference": {}}
    path_summary = summarise_paths(paths) if args.paths else {}
    pins = run_pins(engine, args, frames) if args.pin_takes else {"rows": [], "summary": {}}
    timing = latency(engine, frames, args.latency_repeats) if args.latency_repeats else {}
    for label, row in path_summary.items():
        print(label, row)
    print("pins", pins["summary"])
    result = {"benchmark": "paths", "command": " ".join(sys.argv), "environment": environment(engine.device),
              "threads": torch.get_num_threads(), "model": engine.model_version, "frames": frames,
              "guidance": engine.default_guidance, "steps": engine.default_steps,
              "wall_s": time.perf_counter() - started, "paths": path_summary, "pins": pins["summary"],
              "latency": timing, "path_takes": paths["rows"], "reference_takes": paths["reference"],
              "pin_takes": pins["rows"]}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"{args.name}.json", result)
    print(f"wrote {out / f'{args.name}.json'}")


if __name__ == "__main__":
    main()

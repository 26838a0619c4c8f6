"""Do a take's feet stand on a rig's floor? The toe and ankle bones' heads against their rest heights, per rig.

Runs under the venv's bpy (headless). The rigs of tests/real_rigs.py (Blender's Rigify meta-rig and a generated
Rigify rig, a Mixamo-named rig through FBX, UE4 and UE5 mannequins) and the add-on's SMPL armature; the bundled
model samples each prompt once per seed on the CPU (2 s), each motion is keyed as a take and evaluated frame by
frame. Per take: ``toe_cm``, the lower toe bone head's height above its rest height, median over frames, in cm
of world space (the rig's own rest stance is on its floor, so 0 is a foot on the floor; the motion's feet are
cleaned, its toe joints within a few mm of its floor while standing); ``ankle_cm`` the same for the ankle bones.
A standing take whose toes sit 5 cm up floats; one at -3 cm sinks.

    nice -n 5 python benchmarks/rig_feet.py [--seeds 0 1] [--out FILE.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import bpy  # noqa: E402

import addon  # noqa: E402
import real_rigs  # noqa: E402
from addon import armature, operators, takes  # noqa: E402
from motion_core.engine import Engine  # noqa: E402

PROMPTS = ("a person stands still", "a person waves with the right hand", "a person walks forward")


def feet_above_rest(obj, motion, prompt: str, seed: int) -> dict:
    """Median over the take's frames of the lowest toe and ankle heads above their rest heights (cm, world)."""
    scene = bpy.context.scene
    mapping = takes.bone_map(obj)
    toes = [mapping[j] for j in ("left_foot", "right_foot") if j in mapping]
    ankles = [mapping[j] for j in ("left_ankle", "right_ankle") if j in mapping]
    lowest = real_rigs.lowest_world_height
    rest_toe, rest_ankle = lowest(obj, toes, rest=True), lowest(obj, ankles, rest=True)
    (action,) = takes.apply_takes(obj, [motion], prompt, seed, 1, scene)
    toe, ankle = [], []
    for frame in range(int(action.frame_range[0]), int(action.frame_range[1]) + 1):
        scene.frame_set(frame)
        toe.append(lowest(obj, toes) - rest_toe)
        ankle.append(lowest(obj, ankles) - rest_ankle)
    return {"prompt": prompt, "seed": seed, "toe_cm": 100 * float(np.median(toe)),
            "ankle_cm": 100 * float(np.median(ankle)), "toe_cm_min": 100 * float(np.min(toe))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    engine = Engine.load(device="cpu")
    clips = [(prompt, seed, motion) for seed in args.seeds
             for prompt, motion in zip(PROMPTS, engine.generate(list(PROMPTS), seconds=2.0, seed=seed))]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    bpy.context.scene.render.fps = 20
    rigs = {"smpl": armature.create_smpl_armature(bpy.context), "rigify": real_rigs.rigify_rig(),
            "rigify_metarig": real_rigs.rigify_metarig(), "mixamo_fbx": real_rigs.mixamo_fbx_rig(),
            "ue4": real_rigs.unreal_rig(), "ue5": real_rigs.unreal_rig(True)}
    report = {"command": "nice -n 5 python benchmarks/rig_feet.py " + " ".join(sys.argv[1:]),
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "blender": bpy.app.version_string,
              "model": engine.model_version, "prompts": PROMPTS, "seeds": args.seeds, "rigs": {}}
    for name, obj in rigs.items():
        operators.fill_bone_map(obj)
        rows = [feet_above_rest(obj, motion, prompt, seed) for prompt, seed, motion in clips]
        standing = [r for r in rows if "walks" not in r["prompt"]]
        summary = {"standing_toe_cm": float(np.mean([r["toe_cm"] for r in standing])),
                   "standing_ankle_cm": float(np.mean([r["ankle_cm"] for r in standing])),
                   "walking_toe_cm": float(np.mean([r["toe_cm"] for r in rows if "walks" in r["prompt"]]))}
        report["rigs"][name] = {"map": obj.motion_retarget.map_name, "summary": summary, "takes": rows}
        print(f"{name:16s} standing: toe {summary['standing_toe_cm']:+.1f} cm, ankle "
              f"{summary['standing_ankle_cm']:+.1f} cm above rest; walking toe {summary['walking_toe_cm']:+.1f} cm",
              flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Do a generated motion's rotations reproduce its own joints? FK(rotations) against `Motion.joints`, per take.

Issue 22 ("one motion, not two"): a rig keyed with `Motion.rotations` must show `Motion.joints`. This samples
the bundled model on the CPU (default sampler settings) for several actions, seeds and lengths (the length
predictor's, 1 s, 4 s, 9.8 s) and prints, per take:

* ``before``: |FK(rotations) - joints| in cm when the Motion keeps the decoded joints (``rigid=False``, what
  every Motion did before issue 22): max, mean, the worst frame and joint, and the last frame's max;
* ``after``: the same for the Motion `generate` returns now (its joints are the FK of its rotations);
* ``drift``: how far the decoded joints' bone lengths stray from their per-clip median (max over bones and
  frames, cm), over all frames, over the decoder's tail (the last `decoder_radius` latents' frames) and
  before it: a rigid skeleton with fixed bone lengths cannot reproduce joints whose bones stretch;
* ``moved``: how far `Motion.joints` now lie from the decoded joints (max, cm): the projection onto the
  take's rigid body;
* ``ik(rigid)``: the IK's own accuracy, max |FK(IK(joints)) - joints| on a rigid version of the same take (the
  decoded joints rebuilt on their median bone lengths): whether the IK or the joints are at fault.

Takes come from the engine's own steps (`_sample`, `_decode`, then `Motion.batch_from_features` with the
engine's `body_frames`, exactly what `generate` runs on a CPU), so the decoded joints are at hand; ``--time``
also times `Engine.generate`.

    nice -n 19 python benchmarks/fk_consistency.py [--seeds 0 1] [--time] [--threads 1] [--out FILE.json]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from motion_core.formats.atomic_file import write_json  # noqa: E402
from motion_core.interfaces.bench import environment  # noqa: E402
from motion_core.engine import Engine  # noqa: E402
from motion_core.generation.decoding import body_frames, decode_latents  # noqa: E402
from motion_core.generation.progress import Progress  # noqa: E402
from motion_core.generation.requests import sampling_settings  # noqa: E402
from motion_core.generation.sampling import sample_latents  # noqa: E402
from motion_core.formats.motion import Motion  # noqa: E402
from motion_core.kinematics.representation import features_to_joints  # noqa: E402
from motion_core.kinematics.rotations import forward_kinematics, joints_to_rotations  # noqa: E402
from motion_core.generation.timeline import decoder_radius  # noqa: E402

PROMPTS = ["a person raises both arms above the head", "a person walks forward", "a person jumps in place",
           "a person sits down on a chair", "a person spins around in a circle"]
LENGTHS = (None, 20, 80, 196)   # None: the length predictor's


def bone_lengths(joints: np.ndarray, parents) -> np.ndarray:
    """(T, J-1) bone lengths of joints (T, J, 3)."""
    return np.linalg.norm(joints[:, 1:] - joints[:, list(parents[1:])], axis=-1)


def rigid_version(joints: np.ndarray, skeleton) -> np.ndarray:
    """The take rebuilt on its median bone lengths: FK of its IK (a rigid body by construction)."""
    rotations, root, offsets = joints_to_rotations(joints, skeleton)
    return forward_kinematics(rotations, root, offsets, skeleton.parents)


def measure(engine: Engine, prompts, seeds, frames: int, tail: int):
    guidance, steps = sampling_settings(engine, None, None)
    latents = sample_latents(engine, prompts, seeds, frames, guidance, steps, Progress(None), None)
    features = decode_latents(engine, latents, frames)
    decoded = np.asarray(features_to_joints(features, engine.skeleton), dtype=np.float64)
    motions = Motion.batch_from_features(features, engine.skeleton, engine.fps,
                                         body_frames=body_frames(engine.vae, frames))
    kept = Motion.batch_from_features(features, engine.skeleton, engine.fps, rigid=False)   # before issue 22
    parents, names = engine.skeleton.parents, engine.skeleton.joint_names
    rows = []
    for prompt, seed, joints, motion, old in zip(prompts, seeds, decoded, motions, kept):
        err = np.linalg.norm(old.forward_kinematics() - old.joints, axis=-1) * 100   # (T, J) cm
        now = np.linalg.norm(motion.forward_kinematics() - motion.joints, axis=-1) * 100
        frame, joint = np.unravel_index(err.argmax(), err.shape)
        lengths = bone_lengths(joints, parents)
        drift = np.abs(lengths - np.median(lengths, axis=0)) * 100
        body = max(1, frames - tail)
        rigid = rigid_version(joints, engine.skeleton)
        ik_rigid = np.linalg.norm(Motion.from_joints(rigid, engine.skeleton, rigid=False).forward_kinematics()
                                  - rigid, axis=-1)
        rows.append(dict(
            prompt=prompt, seed=int(seed), frames=int(frames), before_max=float(err.max()),
            before_mean=float(err.mean()), before_worst_frame=int(frame), before_worst_joint=names[joint],
            before_last=float(err[-1].max()), after_max=float(now.max()), after_mean=float(now.mean()),
            drift=float(drift.max()), drift_tail=float(drift[body:].max()) if body < frames else 0.0,
            drift_body=float(drift[:body].max()), moved=float(np.linalg.norm(motion.joints - joints, axis=-1).max() * 100),
            ik_rigid=float(ik_rigid.max() * 100), before_per_joint=[float(e) for e in err.max(axis=0)]))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--time", action="store_true", help="also time Engine.generate (5 prompts, 4 s, 3 runs)")
    parser.add_argument("--per-joint", action="store_true", help="print each take's per-joint max error")
    parser.add_argument("--out", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    engine = Engine.load(device="cpu")
    tail = engine.vae.config.downsample_factor * (decoder_radius(engine.vae) or 0)
    predicted = engine.predict_frames(PROMPTS)
    print(f"model {engine.model_version}; decoder tail {tail} frames; predicted frames "
          f"{dict(zip(PROMPTS, predicted))}")
    start = time.perf_counter()
    rows = []
    for length in LENGTHS:
        for seed in args.seeds:
            if length is None:      # prompts of one predicted length share a pass
                for frames in sorted(set(predicted)):
                    group = [p for p, f in zip(PROMPTS, predicted) if f == frames]
                    rows += measure(engine, group, [seed] * len(group), frames, tail)
            else:
                rows += measure(engine, PROMPTS, [seed] * len(PROMPTS), length, tail)
    print(f"{'prompt':42s} seed frames | before: max  mean  (frame joint)          last | after: max"
          f" | drift  tail  body | moved | ik(rigid)")
    for r in rows:
        print(f"{r['prompt'][:42]:42s} {r['seed']:4d} {r['frames']:6d} | {r['before_max']:11.2f} {r['before_mean']:5.2f} "
              f"({r['before_worst_frame']:3d} {r['before_worst_joint']:14s}) {r['before_last']:5.2f} | "
              f"{r['after_max']:10.5f} | {r['drift']:5.2f} {r['drift_tail']:5.2f} {r['drift_body']:5.2f} | "
              f"{r['moved']:5.2f} | {r['ik_rigid']:.5f}")
        if args.per_joint:
            print("    before, per joint max cm:", " ".join(f"{e:.1f}" for e in r["before_per_joint"]))
    summary = {}
    for key in ("before", "after"):
        worst = np.array([r[f"{key}_max"] for r in rows])
        summary[key] = dict(max_cm=float(worst.max()), median_take_max_cm=float(np.median(worst)),
                            takes_over_1cm=int((worst >= 1).sum()))
        print(f"{key:6s}: FK error max {worst.max():.5f} cm, median of per-take max {np.median(worst):.5f} cm, "
              f"takes at or over 1 cm: {(worst >= 1).sum()} of {len(rows)}")
    summary["ik_on_rigid_input_max_cm"] = max(r["ik_rigid"] for r in rows)
    summary["drift_max_cm"] = max(r["drift"] for r in rows)
    print(f"IK on rigid input max {summary['ik_on_rigid_input_max_cm']:.5f} cm; bone-length drift max "
          f"{summary['drift_max_cm']:.2f} cm; measured in {time.perf_counter() - start:.0f} s")
    if args.time:
        engine.generate(PROMPTS[:1], seconds=1.0)   # warm-up
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            engine.generate(PROMPTS, seconds=4.0, seed=0)
            times.append(time.perf_counter() - t0)
        summary["generate_5x4s_median_s"] = float(np.median(times))
        print(f"generate 5 prompts x 4 s: median {np.median(times):.3f} s over 3 runs ({args.threads} thread(s))")
    if args.out:
        write_json(args.out, dict(model=engine.model_version, summary=summary, takes=rows, environment=environment(torch.device("cpu"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

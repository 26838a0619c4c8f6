"""Inverse kinematics speed: `joints_to_rotations` on 196-frame clips, one call per clip vs one batched call.

This is the "motion" stage of generation (features -> joints -> rotations). Implementations:
- `numpy`: on the host CPU (`motion_core.kinematics.rotations`; on the GPU machine its numbers measure the host CPU);
- `torch`: `motion_core.kinematics.rotations_torch` on ``--device cpu`` or ``cuda``;
- `torch-graph` (CUDA): replayed as a CUDA graph (`motion_core.kinematics.ik_graph`) as the engine runs it, from features,
  so its rows also rebuild the joints from them;
- `torch-compiled-graph` (CUDA): the same compiled by torch.compile under the graph.
All in float64, timed with the device synchronised before and after each call; `first_call_ms` includes any
capture and compilation. The file is labelled with the GPU name when there is one, to say which machine it
was; each row names its implementation and device. Clips are synthetic but realistic: smooth random joint
rotations within moderate ranges, a random body size per clip, and a few millimetres of positional noise,
since predicted joints are never an exact forward kinematics. Run:

    /work/venv/bin/python benchmarks/bench_ik.py [--threads 2] [--batch 64] [--repeats 7] [--out DIR]
        [--implementation numpy torch torch-graph torch-compiled-graph] [--device cpu|cuda]

A torch "loop" calls the batched API with one clip (1, T, J, 3) at a time.

Older code without batched input is measured with a per-clip loop in place of the batched call (the table
says "batched call: unsupported").
"""
from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.kinematics import quaternion as Q  # noqa: E402
from motion_core.interfaces.bench import device_label, environment, median_seconds, write_results  # noqa: E402
from motion_core.kinematics.ik_graph import ik_graphs  # noqa: E402
from motion_core.runtime.shape_graphs import CAPTURE_AFTER  # noqa: E402
from motion_core.kinematics.representation import joints_to_features  # noqa: E402
from motion_core.kinematics.rotations import forward_kinematics, joints_to_rotations  # noqa: E402
from motion_core.kinematics.rotations_torch import joints_to_rotations_torch  # noqa: E402
from motion_core.kinematics.skeleton import SKELETONS  # noqa: E402

NUM_FRAMES = 196
IMPLEMENTATIONS = ("numpy", "torch", "torch-graph", "torch-compiled-graph")
GRAPHED = IMPLEMENTATIONS[2:]   # CUDA only


def synthetic_clips(skeleton, batch: int, num_frames: int, seed: int = 0) -> np.ndarray:
    """(batch, T, J, 3) joint positions of smooth random motions, each clip its own body size."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / skeleton.fps
    clips = []
    for _ in range(batch):
        j = skeleton.num_joints
        axis = rng.normal(size=(j, 3))
        amplitude = np.radians(rng.uniform(10, 50, j))
        angle = amplitude * np.sin(2 * np.pi * rng.uniform(0.2, 1.2, j) * t[:, None] + rng.uniform(0, 6.3, j))
        local = Q.qfrom_axis_angle(np.broadcast_to(axis, (num_frames, j, 3)).copy(), angle)
        root = np.stack([0.8 * t, 0.9 + 0.03 * np.sin(4 * t), 0.2 * np.sin(t)], -1)
        offsets = skeleton.rest_offsets * rng.uniform(0.85, 1.15)
        joints = forward_kinematics(local, root, offsets, skeleton.parents)
        clips.append(joints + rng.normal(0, 0.003, joints.shape))
    return np.stack(clips)


def batched_supported(skeleton) -> bool:
    try:
        joints_to_rotations(synthetic_clips(skeleton, 2, 4), skeleton)
    except ValueError:
        return False
    return True


def median_ms(fn, device, repeats: int, warmup: int = 1) -> float:
    """Median wall time of fn() in ms, `device` synchronised before and after each call (bench.median_seconds)."""
    return 1e3 * median_seconds(fn, torch.device(device), repeats, warmup)


def bench(skeleton, batch: int, repeats: int, batched: bool, implementation: str = "numpy",
          device: str = "cpu") -> dict:
    clips = synthetic_clips(skeleton, batch, NUM_FRAMES)
    if implementation == "torch":
        tensors = torch.from_numpy(clips).to(device)
        singles = [tensors[i:i + 1] for i in range(batch)]
        solve_loop = lambda: [joints_to_rotations_torch(c, skeleton) for c in singles]  # noqa: E731
        solve_batch = lambda: joints_to_rotations_torch(tensors, skeleton)  # noqa: E731
    elif implementation in GRAPHED:
        # The graphs start from features (as the engine's do), so they also rebuild the joints from them.
        tensors = torch.from_numpy(joints_to_features(clips, skeleton)).to(device)
        singles = [tensors[i:i + 1] for i in range(batch)]
        graphs = ik_graphs(skeleton, torch.device(device), compile=implementation == "torch-compiled-graph")
        for shape in {singles[0].shape, tensors.shape}:
            for _ in range(CAPTURE_AFTER):
                graphs.due((shape, tensors.dtype))
        solve_loop = lambda: [graphs.run(c) for c in singles]  # noqa: E731
        solve_batch = lambda: graphs.run(tensors)  # noqa: E731
    else:
        device = "cpu"
        solve_loop = lambda: [joints_to_rotations(c, skeleton) for c in clips]  # noqa: E731
        solve_batch = lambda: joints_to_rotations(clips, skeleton)  # noqa: E731
    first = median_ms(solve_loop, device, 1, warmup=0)   # with any capture and compilation
    loop = median_ms(solve_loop, device, repeats)
    row = {"skeleton": skeleton.name, "implementation": implementation, "device": str(device), "batch": batch,
           "frames": NUM_FRAMES, "first_call_ms": first, "loop_ms_per_clip": loop / batch,
           "batched_ms_per_clip": None}
    if batched:
        row["batched_ms_per_clip"] = median_ms(solve_batch, device, repeats) / batch
    return row


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 64], help="clips per measurement")
    parser.add_argument("--skeleton", nargs="+", default=["humanml3d"], choices=sorted(SKELETONS))
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats; the median is reported")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--implementation", nargs="+", default=["numpy", "torch"], choices=IMPLEMENTATIONS)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="for the torch implementation")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and set(args.implementation) - {"numpy"} and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device here")
    if set(GRAPHED) & set(args.implementation) and args.device != "cuda":
        parser.error(f"{', '.join(GRAPHED)} need --device cuda (CUDA graphs)")

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows = []
    print(f"joints_to_rotations, {NUM_FRAMES} frames, median of {args.repeats}, torch threads "
          f"{torch.get_num_threads()}, host of {device_label(device)}")
    print(f"{'skeleton':<10} {'impl':<20} {'device':<6} {'batch':>5} {'first call ms':>13} {'loop ms/clip':>13} "
          f"{'batched ms/clip':>16}")
    for name in args.skeleton:
        skeleton = SKELETONS[name]
        for implementation in args.implementation:
            batched = implementation != "numpy" or batched_supported(skeleton)
            run_on = args.device if implementation != "numpy" else "cpu"
            for batch in args.batch:
                # A single clip is measured alone; a batched call of one clip adds nothing to learn.
                row = bench(skeleton, batch, args.repeats, batched and batch > 1, implementation, run_on)
                rows.append(row)
                cell = ("unsupported" if not batched else "-") if row["batched_ms_per_clip"] is None \
                    else f"{row['batched_ms_per_clip']:.2f}"
                print(f"{name:<10} {implementation:<20} {run_on:<6} {batch:>5} {row['first_call_ms']:>13.1f} "
                      f"{row['loop_ms_per_clip']:>13.2f} {cell:>16}")

    payload = {"benchmark": "ik", "created": _dt.datetime.now().isoformat(timespec="seconds"),
               "environment": environment(device),
               "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
               "results": rows}
    print("wrote", write_results("bench_ik", device, payload, args.out))


if __name__ == "__main__":
    main()

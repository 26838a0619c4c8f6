"""The VAE's ceiling: which corpus actions survive a round trip through a model's motion VAE (issue 21).

The denoiser only ever makes latents; whatever the VAE cannot carry from ground truth through its latent and back,
no prompt will get. For every corpus action, `--clips` ground-truth clips (the corpus generator's, as
`model_report` draws them) are encoded to their posterior mean and decoded, and the action's physical check
(`train.evaluation.actions`) is run on the result. Reported per model and per action: the pass rate after the
round trip next to ground truth's own, and the mean absolute feature error (de-normalised HumanML3D features).
Several checkpoints in one run share the clips (the first is the baseline of the others).

    python benchmarks/vae_ceiling.py [--checkpoints DIR ...] [--clips 4] [--out JSON]     (~15 s per model, 2 CPUs)
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
from motion_core.kinematics.representation import features_to_joints, joints_to_features  # noqa: E402
from train.evaluation.actions import check_action  # noqa: E402
from train.evaluation.reference_clips import corpus_actions, reference_clips  # noqa: E402
from train.stages import load_vae_checkpoint  # noqa: E402

BUNDLED = Path(__file__).resolve().parents[1] / "motion_core" / "default_model"


@torch.no_grad()
def round_trip(vae, normalizer, joints: np.ndarray) -> tuple[np.ndarray, float]:
    """(joints after encode -> posterior mean -> decode, mean |feature error|) of one clip."""
    features = torch.as_tensor(np.asarray(joints_to_features(joints)), dtype=torch.float32)[None]
    mu, _ = vae.encode(normalizer.normalize(features))
    decoded = normalizer.denormalize(vae.decode(mu, num_frames=features.shape[1]))
    error = float((decoded - features).abs().mean())
    return np.asarray(features_to_joints(decoded[0].double().numpy())), error


def ceiling(checkpoint: Path, clips: dict[str, list[np.ndarray]]) -> dict:
    vae, normalizer, config = load_vae_checkpoint(checkpoint)
    vae.float()   # a float16 checkpoint runs in float32, as the engine runs it
    per_action = {}
    for label, truth in clips.items():
        trips = [round_trip(vae, normalizer, joints) for joints in truth]
        per_action[label] = {"pass_rate": float(np.mean([bool(check_action(label, j)) for j, _ in trips])),
                             "feature_error": float(np.mean([e for _, e in trips]))}
    rates = [row["pass_rate"] for row in per_action.values()]
    return {"model": config.get("name"), "architecture": config["architecture"]["vae"],
            "pass_rate": float(np.mean(rates)),
            "feature_error": float(np.mean([row["feature_error"] for row in per_action.values()])),
            "below_ground_truth": sorted(label for label, row in per_action.items() if row["pass_rate"] < 1.0),
            "per_action": per_action}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoints", nargs="*", default=[str(BUNDLED)],
                        help="engine or VAE-stage checkpoints (default: the bundled model); the first is the "
                             "baseline")
    parser.add_argument("--clips", type=int, default=4, help="ground-truth clips per action")
    parser.add_argument("--only", nargs="*", default=None, help="just these action labels")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    labels = args.only or corpus_actions()
    unknown = sorted(set(labels) - set(corpus_actions()))
    if unknown:
        parser.error(f"not corpus actions: {unknown}")
    started = time.time()
    clips = {label: reference_clips(label, args.clips) for label in labels}
    truth = {label: float(np.mean([bool(check_action(label, j)) for j in c])) for label, c in clips.items()}
    truth_rate = float(np.mean(list(truth.values())))
    models = {}
    for checkpoint in args.checkpoints:
        name = str(checkpoint)
        models[name] = ceiling(Path(checkpoint), clips)
        print(f"{name}: round-trip pass {models[name]['pass_rate']:.3f} (ground truth "
              f"{truth_rate:.3f}), feature error {models[name]['feature_error']:.4f}; below "
              f"ground truth: {', '.join(models[name]['below_ground_truth']) or 'none'}", flush=True)
    result = {"ground_truth_pass_rate": truth_rate, "ground_truth": truth,
              "models": models}
    return stamp_and_save(result, "vae_ceiling", started, args.out, args)


if __name__ == "__main__":
    main()

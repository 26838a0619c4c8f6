"""Evaluate a text-to-motion checkpoint, T2M/MLD style, against ground truth and an untrained model.

    python -m train.evaluate --checkpoint DIR --data DATA --split test [--captions heldout]
                             --evaluator EVAL_DIR --out results.json
    (or --official-evaluator T2M_DIR for the official HumanML3D evaluator weights; see train.evaluation.official)

Rows: "ground_truth" (a second random crop/caption draw of the real motions, scored against the first draw:
the ceiling), "model", "untrained" (same checkpoint with re-initialised denoiser + text encoder: the floor).
Columns: FID, R-Precision top-1/2/3, MM-Dist, Diversity, MultiModality (model rows), and, when DATA has a
procedural meta.json, per-action check pass rates for captions that describe a single action.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from motion_core.generation.diffusion import SAMPLERS
from train.data import DatasetSpec, MotionTextDataset
from train.data_order import SeededItems
from train.evaluation import actions, metrics
from train.evaluation.generation import BatchGenerator

CAPTION_DIRS = {"texts": "texts", "heldout": "texts_heldout"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m train.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, type=Path, help="engine checkpoint directory")
    p.add_argument("--data", required=True, type=Path, help="dataset root (HumanML3D layout)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--captions", default="texts", choices=sorted(CAPTION_DIRS),
                   help="'heldout' scores the procedural corpus's held-out paraphrases (texts_heldout/)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--evaluator", type=Path, help="our evaluator (train.evaluation.fit_evaluator)")
    group.add_argument("--official-evaluator", type=Path, help="directory with the official T2M evaluator files")
    p.add_argument("--out", type=Path, default=Path("results.json"))
    p.add_argument("--limit", type=int, help="evaluate at most this many samples")
    p.add_argument("--steps", type=int, help="sampling steps (default: the checkpoint's)")
    p.add_argument("--guidance", type=float, help="guidance scale (default: the checkpoint's)")
    p.add_argument("--sampler", choices=sorted(SAMPLERS),
                   help="sampler (default: the checkpoint's): scores each speed setting's quality")
    p.add_argument("--mm-texts", type=int, default=50, help="captions for MultiModality")
    p.add_argument("--mm-repeats", type=int, default=10, help="generations per MultiModality caption")
    p.add_argument("--no-untrained", action="store_true", help="skip the untrained-model row")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return p.parse_args(argv)


def load_evaluator(args):
    if args.official_evaluator is not None:
        from train.evaluation.official import OfficialT2MEvaluator
        return OfficialT2MEvaluator.load(args.official_evaluator, device=args.device)
    from train.evaluation.evaluator import TextMotionEvaluator
    return TextMotionEvaluator.load(args.evaluator, device=args.device)


def draw(dataset: MotionTextDataset, seed: int, limit: int | None) -> dict:
    """One random (crop, caption) draw of every sample: raw features, captions, lengths, sample indices."""
    items = SeededItems(dataset, seed)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    raw, captions, lengths = [], [], []
    for i in range(count):
        motion, caption, length = items[(0, i)]
        raw.append(dataset.normalizer.denormalize(motion.numpy()))
        captions.append(caption)
        lengths.append(int(length))
    return {"raw": raw, "captions": captions, "lengths": lengths, "indices": list(range(count))}


@torch.no_grad()
def embed_motions(evaluator, raw: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
    out = []
    for start in range(0, len(raw), batch_size):
        chunk = raw[start:start + batch_size]
        lengths = torch.tensor([len(m) for m in chunk])
        padded = torch.zeros(len(chunk), int(lengths.max()), chunk[0].shape[-1])
        for i, m in enumerate(chunk):
            padded[i, :len(m)] = torch.as_tensor(m)
        out.append(evaluator.embed_motion(padded, lengths).double().cpu().numpy())
    return np.concatenate(out)


@torch.no_grad()
def embed_texts(evaluator, captions: list[str], batch_size: int = 256) -> np.ndarray:
    return np.concatenate([evaluator.embed_text(captions[s:s + batch_size]).double().cpu().numpy()
                           for s in range(0, len(captions), batch_size)])


def action_results(dataset, meta: dict, drawn: dict, motions: list[np.ndarray]) -> dict:
    from motion_core.kinematics.representation import features_to_joints
    results = []
    for index, features in zip(drawn["indices"], motions):
        sample = dataset.samples[index]
        clip = meta.get("clips", {}).get(sample.motion_id.lstrip("M"))
        if clip is None or sample.motion_id.startswith("M"):
            continue  # mirrored copies swap left/right labels; score the originals only
        labels = actions.window_labels(clip, sample.first, sample.stop)
        if not labels:
            continue
        joints = np.asarray(features_to_joints(np.asarray(features, dtype=np.float64)))
        for label in labels:
            passed = actions.check_action(label, joints)
            if passed is not None:
                results.append((label, passed))
    table = actions.pass_rates(results)
    overall = float(np.mean([p for _, p in results])) if results else float("nan")
    return {"overall": overall, "n": len(results), "per_action": table}


def evaluate(args) -> dict:
    generator = BatchGenerator.load(args.checkpoint, device=args.device)
    engine = generator.engine
    if args.sampler is not None:
        engine.sampler = args.sampler
    max_frames = engine.max_frames
    spec = DatasetSpec("humanml3d", engine.skeleton, min_frames=min(40, max_frames), max_frames=max_frames,
                       drop_frames=max(200, max_frames + 1))
    dataset = MotionTextDataset(args.data, args.split, spec, mean=engine.normalizer.mean, std=engine.normalizer.std,
                                texts_dir=CAPTION_DIRS[args.captions])
    evaluator = load_evaluator(args)
    reference = draw(dataset, args.seed + 1, args.limit)
    second = draw(dataset, args.seed + 2, args.limit)
    real_emb = embed_motions(evaluator, reference["raw"])
    text_emb = embed_texts(evaluator, reference["captions"])
    meta_path = Path(args.data) / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else None

    rows, action_rows = {}, {}
    gt_emb = embed_motions(evaluator, second["raw"])
    rows["ground_truth"] = metrics.all_metrics(gt_emb, embed_texts(evaluator, second["captions"]), real_emb,
                                               seed=args.seed)
    if meta is not None:
        action_rows["ground_truth"] = action_results(dataset, meta, second, second["raw"])
    models = {"model": generator}
    if not args.no_untrained:
        models["untrained"] = generator.untrained(seed=args.seed)
    for name, gen in models.items():
        motions = gen.generate(reference["captions"], reference["lengths"], seed=args.seed, steps=args.steps,
                               guidance=args.guidance)
        rows[name] = metrics.all_metrics(embed_motions(evaluator, motions), text_emb, real_emb, seed=args.seed)
        rows[name]["multimodality"] = multimodality(gen, evaluator, reference, args)
        if meta is not None:
            action_rows[name] = action_results(dataset, meta, reference, motions)
    return {"checkpoint": str(args.checkpoint), "data": str(args.data), "split": args.split,
            "captions": args.captions, "samples": len(reference["captions"]),
            "evaluator": str(args.evaluator or args.official_evaluator), "sampler": engine.sampler,
            "steps": args.steps or engine.default_steps, "guidance": args.guidance or engine.default_guidance,
            "metrics": rows, "actions": action_rows}


def multimodality(gen: BatchGenerator, evaluator, reference: dict, args) -> float:
    count = min(args.mm_texts, len(reference["captions"]))
    if count < 1 or args.mm_repeats < 2:
        return float("nan")
    captions = [c for c in reference["captions"][:count] for _ in range(args.mm_repeats)]
    lengths = [n for n in reference["lengths"][:count] for _ in range(args.mm_repeats)]
    motions = gen.generate(captions, lengths, seed=args.seed + 10_000, steps=args.steps, guidance=args.guidance)
    emb = embed_motions(evaluator, motions).reshape(count, args.mm_repeats, -1)
    return metrics.multimodality(emb, pairs=min(10, args.mm_repeats * (args.mm_repeats - 1)), seed=args.seed)


def format_table(results: dict) -> str:
    columns = ("fid", "r_precision_top1", "r_precision_top2", "r_precision_top3", "mm_dist", "diversity",
               "multimodality")
    header = ["row".ljust(13)] + [c.replace("r_precision_", "R@").rjust(10) for c in columns] + ["actions".rjust(9)]
    lines = [" ".join(header)]
    for name, row in results["metrics"].items():
        cells = [name.ljust(13)] + [f"{row.get(c, float('nan')):10.4f}" for c in columns]
        act = results["actions"].get(name)
        cells.append(f"{act['overall']:9.3f}" if act else " " * 9)
        lines.append(" ".join(cells))
    labels = sorted({label for row in results["actions"].values() for label in row["per_action"]})
    if labels:
        lines.append("")
        lines.append("per-action pass rate (n): " + "  ".join(results["actions"]))
        for label in labels:
            cells = []
            for row in results["actions"].values():
                entry = row["per_action"].get(label)
                cells.append(f"{entry['pass_rate']:.2f} ({entry['n']})" if entry else "-")
            lines.append(f"  {label:<15} " + "  ".join(f"{c:>10}" for c in cells))
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    results = evaluate(args)
    print(format_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

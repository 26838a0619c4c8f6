"""Evaluate a text-to-motion checkpoint, T2M/MLD style, against ground truth and an untrained model.

    python -m train.evaluate --checkpoint DIR --data DATA --split test [--captions {texts,heldout,synonyms}]
                             [--literal] --evaluator EVAL_DIR --out results.json
    (or --official-evaluator T2M_DIR for the official HumanML3D evaluator weights; see train.evaluation.official)

Rows: "ground_truth" (a second random crop/caption draw of the real motions, scored against the first draw:
the ceiling; its FID is no noise figure, since it is the same motions: clips no longer than the crop give the
same frames, FID ~0), "split_noise" (real motions of another split, --noise-split, as many as the reference,
scored against it: FID's split-to-split noise at this sample count), "model", "untrained" (same checkpoint with
re-initialised denoiser + text encoder: the floor). "fid_target" is 2 x split_noise's FID, met or not by the model.
Captions: "texts" (training phrasing), "heldout" (texts_heldout/: held-out paraphrases), "synonyms"
(texts_heldout_synonyms/: training-style captions with a held-out synonym; clips without such a caption are
skipped, never scored with training captions; "samples" and "clips_without_captions" say how many).
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
from train.procedural.heldout_words import TEXTS_DIR as SYNONYMS_DIR

CAPTION_DIRS = {"texts": "texts", "heldout": "texts_heldout", "synonyms": SYNONYMS_DIR}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m train.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, type=Path, help="engine checkpoint directory")
    p.add_argument("--data", required=True, type=Path, help="dataset root (HumanML3D layout)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--captions", default="texts", choices=sorted(CAPTION_DIRS),
                   help="'heldout' scores the procedural corpus's held-out paraphrases (texts_heldout/), "
                        f"'synonyms' its held-out synonyms ({SYNONYMS_DIR}/; clips without one are skipped)")
    p.add_argument("--literal", action="store_true",
                   help="feed captions to the model as written (no synonym reading): loads the checkpoint with "
                        "Engine.load(..., read_words=False)")
    p.add_argument("--noise-split", default="val", choices=("train", "val", "test", "none"),
                   help="split whose real motions give the split_noise row (FID's split-to-split noise); "
                        "'none' skips it")
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


def engine_options(args) -> dict:
    """Engine.load keywords: read_words=False only under --literal, so engines without the option still load."""
    return {"read_words": False} if args.literal else {}


def split_noise(args, spec, engine, evaluator, reference: dict, real_emb: np.ndarray) -> dict | None:
    """Real motions of `args.noise_split` (as many as the reference, same caption folder) against the reference."""
    if args.noise_split in ("none", args.split):
        return None
    dataset = MotionTextDataset(args.data, args.noise_split, spec, mean=engine.normalizer.mean,
                                std=engine.normalizer.std, texts_dir=CAPTION_DIRS[args.captions])
    other = draw(dataset, args.seed + 3, len(reference["raw"]))
    row = metrics.all_metrics(embed_motions(evaluator, other["raw"]), embed_texts(evaluator, other["captions"]),
                              real_emb, seed=args.seed)
    return {**row, "split": args.noise_split, "samples": len(other["raw"])}


def evaluate(args) -> dict:
    generator = BatchGenerator.load(args.checkpoint, device=args.device, **engine_options(args))
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
    noise = split_noise(args, spec, engine, evaluator, reference, real_emb)
    if noise is not None:
        rows["split_noise"] = noise
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
    fid_target = None
    if noise is not None:
        fid_target = {"fid_max": 2.0 * noise["fid"], "model_fid": rows["model"]["fid"],
                      "met": bool(rows["model"]["fid"] <= 2.0 * noise["fid"])}
    return {"checkpoint": str(args.checkpoint), "data": str(args.data), "split": args.split,
            "captions": args.captions, "captions_dir": CAPTION_DIRS[args.captions], "literal": args.literal,
            "samples": len(reference["captions"]), "samples_available": len(dataset),
            "clips_without_captions": int(dataset.report.dropped["missing_text"]),
            "fid_target": fid_target,
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
    head = (f"captions {results['captions']} ({results['captions_dir']}/), literal {results['literal']}: "
            f"{results['samples']} samples scored (of {results['samples_available']}), "
            f"{results['clips_without_captions']} clips of the split skipped for want of a caption there")
    target = results.get("fid_target")
    if target:
        head += (f"\nFID target (2 x split noise): model {target['model_fid']:.4f} <= {target['fid_max']:.4f}: "
                 f"{'met' if target['met'] else 'NOT met'}")
    columns = ("fid", "r_precision_top1", "r_precision_top2", "r_precision_top3", "mm_dist", "diversity",
               "multimodality")
    header = ["row".ljust(13)] + [c.replace("r_precision_", "R@").rjust(10) for c in columns] + ["actions".rjust(9)]
    lines = [head, " ".join(header)]
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

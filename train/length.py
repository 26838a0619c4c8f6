"""Fit a checkpoint's length predictor on a captioned corpus and store it in the checkpoint.

    python -m train.length --checkpoint motion_core/default_model --data CORPUS [--out DIR] [--steps N]

The checkpoint's text encoder is frozen, so every distinct caption is embedded once and the small predictor
(`motion_core.models.length_predictor`) is fitted on those fixed features on the CPU in seconds. Targets are the
frame counts of the corpus's train-split samples (a captioned sub-clip counts with its own length), read with
`train.data.humanml3d.load_samples` exactly as text-to-motion training reads them. The val split measures the
fit against the constant guess every caption would otherwise get (the train lengths' median). By default the
predictor also reads each caption's spoken count (`--count-classes`, see `motion_core.models.length_predictor`),
and its text features from the caption without that count (`--count-free-text`), so that every spelling of a
count predicts one length.
The result is written atomically as ``length.*`` tensors plus ``config["length_predictor"]``; the rest of the
checkpoint is copied unchanged, tensor for tensor.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from motion_core.engine import Engine
from motion_core.models.length_predictor import ESTIMATES, LengthPredictor, LengthPredictorConfig, texts_read
from train.data.humanml3d import HUMANML3D_SPEC, DatasetSpec, load_samples

EMBED_BATCH = 512


@dataclass
class CaptionSet:
    """Every (caption, length) pair of a split, captions stored once: `index[k]` is pair k's caption."""
    captions: list[str]
    index: np.ndarray     # (P,) int64 into `captions`
    frames: np.ndarray    # (P,) int64 sample lengths

    def __len__(self) -> int:
        return len(self.frames)


def caption_lengths(root: str | Path, split: str, spec: DatasetSpec = HUMANML3D_SPEC) -> CaptionSet:
    """The split's caption/length pairs, one per caption line of each usable sample."""
    samples, report = load_samples(root, split, spec)
    if not samples:
        raise ValueError(f"no usable samples in the {split} split: {report.summary()}")
    positions: dict[str, int] = {}
    index, frames = [], []
    for sample in samples:
        for line in sample.captions:
            index.append(positions.setdefault(line.caption, len(positions)))
            frames.append(sample.num_frames)
    return CaptionSet(list(positions), np.asarray(index, dtype=np.int64), np.asarray(frames, dtype=np.int64))


@torch.inference_mode()
def embed(engine: Engine, captions: list[str]) -> torch.Tensor:
    """Pooled text features (U, 2E) of each caption under the engine's (frozen) text encoder, on the CPU."""
    pooled = []
    for start in range(0, len(captions), EMBED_BATCH):
        tokens, mask = engine.text_encoder.encode(captions[start:start + EMBED_BATCH])
        pooled.append(LengthPredictor.pool(tokens, mask).float().cpu())
    return torch.cat(pooled)


def fit(features: torch.Tensor, data: CaptionSet, config: LengthPredictorConfig, steps: int = 3000,
        batch_size: int = 1024, lr: float = 2e-3, seed: int = 0, log=None) -> LengthPredictor:
    """Train a predictor with cross-entropy on (caption feature, length bin) pairs drawn at random.

    Runs on one thread: the MLP's matrices are too small for intra-op parallelism to pay, and on a busy
    machine the extra OpenMP threads spin-wait on each other (measured: 40x slower with 2 threads).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(features, data, config, steps, batch_size, lr, seed, log)
    finally:
        torch.set_num_threads(threads)


def _fit(features, data, config, steps, batch_size, lr, seed, log) -> LengthPredictor:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        predictor = LengthPredictor(config)
        targets = predictor.bin_of(torch.as_tensor(data.frames))
        index = torch.as_tensor(data.index)
        counts = predictor.count_inputs(data.captions)
        optimizer = torch.optim.AdamW(predictor.parameters(), lr=lr, weight_decay=1e-2)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.05)
        predictor.train()
        for step in range(steps):
            pick = torch.randint(len(index), (min(batch_size, len(index)),))
            logits = predictor.logits_from_pooled(features[index[pick]], counts[index[pick]])
            loss = torch.nn.functional.cross_entropy(logits, targets[pick])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if log is not None and (step + 1) % max(1, steps // 5) == 0:
                log(f"step {step + 1}/{steps}: cross-entropy {loss.item():.3f}")
    return predictor.eval().requires_grad_(False)


@torch.no_grad()
def evaluate(predictor: LengthPredictor, features: torch.Tensor, data: CaptionSet,
             estimate: str | None = None) -> dict:
    """MAE (frames), exact-bin accuracy and within-one-bin accuracy of the predictions on every pair."""
    logits = predictor.logits_from_pooled(features, predictor.count_inputs(data.captions))
    per_caption = predictor.frames_from_logits(logits, estimate).numpy()
    return _scores(per_caption[data.index], data.frames, predictor.config)


def constant_baseline(train: CaptionSet, val: CaptionSet, config: LengthPredictorConfig) -> dict:
    """Scores of predicting the train lengths' median (rounded to a bin) for every caption."""
    unit = config.unit_length
    median = int(np.clip(round(float(np.median(train.frames)) / unit) * unit, config.min_frames, config.max_frames))
    return {"frames": median, **_scores(np.full(len(val), median), val.frames, config)}


def _scores(predicted: np.ndarray, frames: np.ndarray, config: LengthPredictorConfig) -> dict:
    target = np.clip(frames, config.min_frames, config.max_frames)
    bins = np.rint(target / config.unit_length)
    predicted_bins = np.rint(predicted / config.unit_length)
    return {"mae_frames": float(np.abs(predicted - target).mean()),
            "accuracy": float((predicted_bins == bins).mean()),
            "within_one_bin": float((np.abs(predicted_bins - bins) <= 1).mean())}


def train_length_predictor(engine: Engine, data_root: str | Path, steps: int = 4000, hidden_dim: int = 256,
                           seed: int = 0, count_classes: int = 6, count_free_text: bool = True,
                           extrapolate_counts_above: int | None = None, log=print) -> tuple[LengthPredictor, dict]:
    """(fitted predictor, metrics) for `engine` on the corpus at `data_root` (train split fits, val scores).
    `extrapolate_counts_above` None: 3 where the text is read count-free and a class above 3 exists, else 0."""
    started = time.perf_counter()
    train, val = caption_lengths(data_root, "train"), caption_lengths(data_root, "val")
    log(f"{len(train)} train pairs ({len(train.captions)} distinct captions), {len(val)} val pairs "
        f"({time.perf_counter() - started:.0f} s)")
    config = LengthPredictorConfig(text_dim=engine.text_encoder.dim, hidden_dim=hidden_dim,
                                   min_frames=engine.min_frames, max_frames=engine.max_frames,
                                   count_classes=count_classes, count_free_text=count_free_text,
                                   extrapolate_counts_above=default_extrapolation(count_classes, count_free_text)
                                   if extrapolate_counts_above is None else extrapolate_counts_above)
    train_features = embed(engine, texts_read(config, train.captions))
    val_features = embed(engine, texts_read(config, val.captions))
    predictor = fit(train_features, train, config, steps=steps, seed=seed, log=log)
    # Pick the point estimate (median or mode of the predicted distribution) on the val split; only two
    # candidates, so the selection hardly flatters the reported val score.
    scores = {name: evaluate(predictor, val_features, val, name) for name in ESTIMATES}
    best = min(ESTIMATES, key=lambda name: scores[name]["mae_frames"])
    predictor.config = LengthPredictorConfig.from_dict({**config.to_dict(), "estimate": best})
    baseline = constant_baseline(train, val, config)
    metrics = {"val_mae_frames": scores[best]["mae_frames"], "val_accuracy": scores[best]["accuracy"],
               "val_within_one_bin": scores[best]["within_one_bin"],
               "val_mae_frames_other_estimate": scores[[n for n in ESTIMATES if n != best][0]]["mae_frames"],
               "baseline_frames": baseline["frames"], "baseline_val_mae_frames": baseline["mae_frames"],
               "baseline_val_accuracy": baseline["accuracy"], "train_pairs": len(train), "val_pairs": len(val),
               "steps": steps, "seed": seed, "count_free_text": count_free_text, "data": str(data_root)}
    return predictor, metrics


def default_extrapolation(count_classes: int, count_free_text: bool) -> int:
    """Counts above 3 extended per repeat: captions say "twice" or "three times" seven times as often as four or five,
    and the lengths fitted for those rare counts fell short (`LengthPredictorConfig.extrapolate_counts_above`)."""
    return 3 if count_free_text and count_classes > 3 else 0


def write_checkpoint(source: str | Path, out: str | Path, predictor: LengthPredictor, metrics: dict) -> Path:
    """Copy checkpoint `source` to `out` (may be the same directory) with `predictor` added or replaced."""
    from motion_core.formats.checkpoint import load_checkpoint, save_checkpoint
    config, tensors = load_checkpoint(source)
    tensors = {k: v for k, v in tensors.items() if not k.startswith("length.")}
    tensors.update({f"length.{k}": v for k, v in predictor.state_dict().items()})
    config = dict(config)
    config["length_predictor"] = {"architecture": predictor.config.to_dict(), "metrics": metrics}
    return save_checkpoint(out, tensors, config)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.length", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, type=Path, help="engine checkpoint directory to read")
    parser.add_argument("--data", required=True, type=Path, help="corpus in the HumanML3D layout")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: update --checkpoint)")
    parser.add_argument("--steps", type=int, default=4000, help="optimiser steps (default 4000)")
    parser.add_argument("--hidden", type=int, default=256, help="hidden width of the MLP (default 256)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count-classes", type=int, default=6,
                        help="one-hot width of the captions' spoken counts: none, 1, 2, ... (default 6: the last "
                             "class is 5 or more); 0 reads text features only")
    parser.add_argument("--count-free-text", action=argparse.BooleanOptionalAction, default=True,
                        help="read the text features from each caption without its spoken count, so the count "
                             "reaches the predictor as its class only (default; needs --count-classes >= 2)")
    parser.add_argument("--extrapolate-counts-above", type=int, default=None, metavar="K",
                        help="counts above K get lengths extended per repeat from the fitted lengths at counts 1..K "
                             "(default 3 with count-free text and more than 3 count classes, else 0: off)")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    if not 0 <= args.count_classes <= 64:
        parser.error("--count-classes must be between 0 and 64")
    if args.count_free_text and args.count_classes < 2:
        parser.error("--count-free-text needs --count-classes of 2 or more (or pass --no-count-free-text)")
    top = args.extrapolate_counts_above
    if top and not (2 <= top < args.count_classes and args.count_free_text):
        parser.error("--extrapolate-counts-above needs 2 <= K < --count-classes and --count-free-text (0: off)")
    engine = Engine.load(args.checkpoint, device="cpu")
    predictor, metrics = train_length_predictor(engine, args.data, steps=args.steps, hidden_dim=args.hidden,
                                                seed=args.seed, count_classes=args.count_classes,
                                                count_free_text=args.count_free_text,
                                                extrapolate_counts_above=args.extrapolate_counts_above)
    print(f"val MAE {metrics['val_mae_frames']:.1f} frames ({predictor.config.estimate}), accuracy "
          f"{metrics['val_accuracy']:.3f}, within one bin {metrics['val_within_one_bin']:.3f}; constant "
          f"{metrics['baseline_frames']} frames: MAE {metrics['baseline_val_mae_frames']:.1f}, accuracy "
          f"{metrics['baseline_val_accuracy']:.3f}")
    out = write_checkpoint(args.checkpoint, args.out or args.checkpoint, predictor, metrics)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train the text-motion contrastive evaluator (InfoNCE) on a dataset's train split.

    python -m train.evaluation.fit_evaluator --data DATA --out EVAL_DIR [--steps 3000] [--batch-size 128]
                                             [--time-limit SECONDS]

Symmetric InfoNCE over cosine similarities with a learned temperature (CLIP). Captions identical to another
caption of the batch are not treated as negatives of each other's motions (the procedural corpus repeats short
captions), which would otherwise teach the evaluator to separate motions their captions cannot tell apart.
`--time-limit` stops early (the learning-rate schedule then unfinished) and still saves, so a job with a wall
budget always gets an evaluator; the log and fit.json in EVAL_DIR say at which step it stopped.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from motion_core.generation.normalization import FeatureNormalizer
from train.data import MotionTextDataset, collate_motion_text
from train.evaluation.evaluator import EvaluatorConfig, TextMotionEvaluator


def info_nce(motion: torch.Tensor, text: torch.Tensor, scale: torch.Tensor, captions: list[str]) -> torch.Tensor:
    logits = scale.exp().clamp(max=100.0) * motion @ text.T
    same = torch.tensor([[a == b for b in captions] for a in captions], device=logits.device)
    eye = torch.eye(len(captions), dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill(same & ~eye, float("-inf"))
    target = torch.arange(len(captions), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def raw_features(batch: dict, normalizer: FeatureNormalizer) -> torch.Tensor:
    """The dataset hands out normalised features; the evaluator takes raw ones (and normalises itself)."""
    return normalizer.denormalize(batch["motion"]) * batch["mask"].unsqueeze(-1)


def train_evaluator(data: str | Path, out: str | Path, steps: int = 3000, batch_size: int = 128,
                    lr: float = 1e-3, device: str = "cpu", config: EvaluatorConfig | None = None,
                    seed: int = 0, texts_dir: str = "texts", log_every: int = 100, spec=None,
                    time_limit: float | None = None) -> Path:
    from train.data import HUMANML3D_SPEC
    torch.manual_seed(seed)
    dataset = MotionTextDataset(data, "train", spec or HUMANML3D_SPEC, texts_dir=texts_dir)
    normalizer = dataset.normalizer
    model = TextMotionEvaluator(config or EvaluatorConfig(), normalizer).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps, pct_start=0.05)
    loader = DataLoader(dataset, batch_size=min(batch_size, len(dataset)), shuffle=True, drop_last=True,
                        collate_fn=collate_motion_text)
    step, started = 0, time.time()
    model.train()
    while step < steps:
        for batch in loader:
            motion = model.embed_motion(raw_features(batch, normalizer), batch["lengths"])
            text = model.embed_text(batch["captions"])
            loss = info_nce(motion, text, model.logit_scale, batch["captions"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            if step % log_every == 0 or step == steps:
                print(f"[evaluator] step {step}/{steps} loss {loss.item():.4f} "
                      f"({time.time() - started:.0f}s)", file=sys.stderr)
            out_of_time = time_limit is not None and time.time() - started > time_limit
            if out_of_time and step < steps:
                print(f"[evaluator] time limit {time_limit:.0f}s: stopped at step {step}/{steps}", file=sys.stderr)
                steps = step
            if step >= steps:
                break
    saved = model.eval().save(out)
    (saved / "fit.json").write_text(json.dumps({"steps_done": step, "seconds": round(time.time() - started, 1),
                                                "batch_size": batch_size, "data": str(data)}) + "\n")
    return saved


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.evaluation.fit_evaluator", description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--time-limit", type=float, help="stop after this many seconds of training (and save)")
    parser.add_argument("--log-every", type=int, default=100)
    args = parser.parse_args(argv)
    out = train_evaluator(args.data, args.out, args.steps, args.batch_size, args.lr, args.device,
                          log_every=args.log_every, time_limit=args.time_limit)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

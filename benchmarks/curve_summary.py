"""Summarise a training curve's evaluations into one table: per-action checks and corpus metrics per checkpoint.

    python benchmarks/curve_summary.py DIR [--loss-log LOG.jsonl] [--base-steps N] [--base-loss-log LOG.jsonl]

DIR holds, per checkpoint NAME, `action_checks_train_NAME.json` / `action_checks_unseen_NAME.json`
(benchmarks/action_checks.py --alone ... [--phrasing unseen] --out ...) and `eval_texts_NAME.json` /
`eval_heldout_NAME.json` (python -m train.evaluate ... --out ...). NAME is a step count of the continued run,
or any other label (e.g. "shipped" for the starting model, step 0). Writes DIR/summary.json and prints Markdown.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.formats.atomic_file import write_json  # noqa: E402


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _steps(name: str) -> int:
    return int(name) if name.isdigit() else 0


def _names(folder: Path) -> list[str]:
    names = {p.stem.rsplit("_", 1)[1] for p in folder.glob("*_*.json") if p.stem != "summary"}
    return sorted(names, key=_steps)


def _losses(log: Path | None, base_log: Path | None = None) -> dict[int, float]:
    """Loss per step of the continued run; step 0 is the starting model's last logged loss (its own run)."""
    losses = {}
    if base_log is not None:
        losses[0] = json.loads(base_log.read_text().splitlines()[-1])["loss"]
    if log is not None:
        losses.update({r["step"]: r["loss"] for r in map(json.loads, log.read_text().splitlines())})
    return losses


def row(folder: Path, name: str, losses: dict[int, float], base_steps: int) -> dict:
    out = {"checkpoint": name, "total_steps": base_steps + _steps(name), "loss": losses.get(_steps(name))}
    for phrasing in ("train", "unseen"):
        checks = _load(folder / f"action_checks_{phrasing}_{name}.json")
        if checks:
            alone = checks["alone"]
            out[f"actions_{phrasing}"] = f"{alone['total']}/{alone['runs']}"
    for captions in ("texts", "heldout"):
        report = _load(folder / f"eval_{captions}_{name}.json")
        if report:
            model = report["metrics"]["model"]
            out[captions] = {k: round(model[k], 3) for k in ("fid", "r_precision_top1", "r_precision_top3",
                                                             "mm_dist", "diversity", "multimodality")}
    return out


def markdown(rows: list[dict]) -> str:
    head = ("| checkpoint | steps | loss | actions, training phrasing | actions, unseen phrasing | FID | R@1 | R@3 "
            "| paraphrase FID | paraphrase R@1 | paraphrase R@3 |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        t, h = r.get("texts", {}), r.get("heldout", {})
        loss = f"{r['loss']:.4f}" if r["loss"] is not None else "–"
        lines.append(f"| {r['checkpoint']} | {r['total_steps']} | {loss} | {r.get('actions_train', '–')} "
                     f"| {r.get('actions_unseen', '–')} | {t.get('fid', '–')} | {t.get('r_precision_top1', '–')} "
                     f"| {t.get('r_precision_top3', '–')} | {h.get('fid', '–')} | {h.get('r_precision_top1', '–')} "
                     f"| {h.get('r_precision_top3', '–')} |")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--loss-log", type=Path, help="the continued run's log.jsonl (loss per step)")
    parser.add_argument("--base-steps", type=int, default=0, help="steps the starting model had already")
    parser.add_argument("--base-loss-log", type=Path, help="the starting model's own log.jsonl (its last loss)")
    args = parser.parse_args(argv)
    losses = _losses(args.loss_log, args.base_loss_log)
    rows = [row(args.folder, name, losses, args.base_steps) for name in _names(args.folder)]
    write_json(args.folder / "summary.json", {"rows": rows, "base_steps": args.base_steps})
    print(markdown(rows))
    return rows


if __name__ == "__main__":
    main()

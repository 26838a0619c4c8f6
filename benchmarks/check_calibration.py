"""Calibration of the per-action checks on the corpus's own ground truth (no model involved).

For every corpus action: the share of its ground-truth clips (`train.evaluation.reference_clips`) that pass its
check (should be ~1: a check ground truth fails is a bad check), and the check's confusion: the share of clips
of actions from other families that pass it (should be ~0). tests/test_action_coverage.py asserts the bounds;
this prints and records the figures.

    python benchmarks/check_calibration.py [--clips 10] [--out JSON]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.interfaces.bench_report import stamp_and_save  # noqa: E402
from train.evaluation.actions import ACTION_CHECKS, check_action  # noqa: E402
from train.evaluation.reference_clips import corpus_actions, family_of, reference_clips  # noqa: E402


def calibrate(clips: int) -> dict:
    labels = corpus_actions()
    truth = {label: reference_clips(label, clips) for label in labels}
    checked = [label for label in labels if label in ACTION_CHECKS]
    table = {c: {label: float(np.mean([check_action(c, j) for j in group])) for label, group in truth.items()}
             for c in checked}
    per_check = {}
    for c in checked:
        others = [rate for label, rate in table[c].items() if family_of(label) != family_of(c)]
        confused = sorted(((rate, label) for label, rate in table[c].items() if label != c and rate > 0.5),
                          reverse=True)
        per_check[c] = {"family": family_of(c), "ground_truth_pass_rate": table[c][c],
                        "cross_family_pass_rate": float(np.mean(others)),
                        "also_passed_by": [label for _, label in confused]}
    families = {}
    for row in per_check.values():
        families.setdefault(row["family"], []).append(row)
    by_family = {f: {"checks": len(rows),
                     "ground_truth_pass_rate": float(np.mean([r["ground_truth_pass_rate"] for r in rows])),
                     "worst_ground_truth_pass_rate": float(min(r["ground_truth_pass_rate"] for r in rows)),
                     "cross_family_pass_rate": float(np.mean([r["cross_family_pass_rate"] for r in rows]))}
                 for f, rows in sorted(families.items())}
    cross = [r["cross_family_pass_rate"] for r in per_check.values()]
    return {"clips_per_action": clips, "actions": len(labels), "unchecked": sorted(set(labels) - set(checked)),
            "by_family": by_family, "per_check": per_check,
            "overall": {"ground_truth_pass_rate": float(np.mean([r["ground_truth_pass_rate"]
                                                                 for r in per_check.values()])),
                        "mean_cross_family_pass_rate": float(np.mean(cross)),
                        "median_cross_family_pass_rate": float(np.median(cross))}}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=10, help="ground-truth clips per action")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    started = time.time()
    result = calibrate(args.clips)
    print(f"{'family':>12} {'checks':>6} {'GT pass':>8} {'worst':>6} {'confusion':>9}")
    for family, row in result["by_family"].items():
        print(f"{family:>12} {row['checks']:>6} {row['ground_truth_pass_rate']:>8.3f} "
              f"{row['worst_ground_truth_pass_rate']:>6.2f} {row['cross_family_pass_rate']:>9.3f}")
    print("overall:", result["overall"], "unchecked:", result["unchecked"])
    return stamp_and_save(result, "check_calibration", started, args.out)


if __name__ == "__main__":
    main()

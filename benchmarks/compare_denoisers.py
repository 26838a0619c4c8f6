"""Mamba U-Net against the transformer baseline trained the same way (issue 21): side-by-side table and verdict.

    python benchmarks/compare_denoisers.py --mamba RUN_A --transformer RUN_B [--out summary.json]

Each RUN folder (benchmarks/device_jobs/compare_denoisers.sh writes them) holds
  report.json        benchmarks/model_report.py's output (required)
  model/config.json  the exported checkpoint's config: steps trained, denoiser architecture (for the parameters)
  eval.json          train.evaluate's output (optional: R@3, FID)
  log.jsonl          the training log (optional: steps, when there is no exported model)

Verdict: only valid when both trained the same number of steps. The primary metric is the overall action-check
pass rate (model_report's headline number); the Mamba U-Net is "at least as good" when its pass rate is >= the
transformer's. The table also says, per metric, which side is better, and the pass-rate gap's approximate
standard error (binomial over the generated clips), so a reader can tell a real gap from seed noise.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

NAMES = ("mamba_unet", "transformer")
# (row, where to read it, which direction is better: +1 higher, -1 lower, 0 not compared)
METRICS = [
    ("pass_rate", ("report", "overall", "pass_rate"), +1),
    ("paraphrase_pass_rate", ("report", "overall", "paraphrase_pass_rate"), +1),
    ("synonym_pass_rate", ("report", "overall", "synonym_pass_rate"), +1),
    ("skating", ("report", "overall", "skating"), -1),
    ("penetration", ("report", "overall", "penetration"), -1),
    ("jump_peak", ("report", "overall", "jump_peak"), 0),
    ("jump_peak_error", ("derived", "jump_peak_error"), -1),   # |jump peak - ground truth's|: closer is better
    ("R@3", ("eval", "metrics", "model", "r_precision_top3"), +1),
    ("FID", ("eval", "metrics", "model", "fid"), -1),
    ("steps", ("derived", "steps"), 0),
    ("params", ("derived", "params"), 0),
]


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _dig(data, keys):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def denoiser_params(architecture: dict) -> int:
    """Parameters of the denoiser an exported config describes (built, not read: buffers are not parameters)."""
    from motion_core.models import build_denoiser
    return sum(p.numel() for p in build_denoiser(architecture).parameters())


def load_run(folder: str | Path) -> dict:
    folder = Path(folder)
    report = _read_json(folder / "report.json")
    if report is None:
        raise FileNotFoundError(f"{folder / 'report.json'} not found")
    config = _read_json(folder / "model" / "config.json") or {}
    steps = _dig(config, ("training", "steps"))
    if steps is None and (folder / "log.jsonl").is_file():   # no export: the last logged step
        lines = [json.loads(x) for x in (folder / "log.jsonl").read_text().splitlines() if x.strip()]
        steps = max((x["step"] for x in lines if "step" in x), default=None)
    arch = _dig(config, ("architecture", "denoiser"))
    overall = report.get("overall", {})
    peak, gt_peak = overall.get("jump_peak"), overall.get("ground_truth_jump_peak")
    derived = {"steps": steps, "params": denoiser_params(arch) if arch else None,
               "jump_peak_error": abs(peak - gt_peak) if peak is not None and gt_peak is not None else None}
    return {"report": report, "eval": _read_json(folder / "eval.json"), "derived": derived,
            "type": (arch or {}).get("type"), "folder": str(folder)}


def compare(runs: dict[str, dict]) -> dict:
    """Rows of the table and the verdict, for runs keyed by NAMES."""
    a, b = NAMES
    rows = []
    for name, keys, direction in METRICS:
        values = {n: _dig(runs[n], keys) for n in NAMES}
        better = None
        if direction and all(isinstance(v, (int, float)) for v in values.values()):
            diff = (values[a] - values[b]) * direction
            if abs(diff) <= 1e-6 * max(abs(values[a]), abs(values[b])):
                diff = 0   # float noise (e.g. two untrained models) is a tie, not a win
            better = a if diff > 0 else b if diff < 0 else "tie"
        rows.append({"metric": name, **values, "better": better})
    steps = {n: runs[n]["derived"]["steps"] for n in NAMES}
    passes = {n: _dig(runs[n], ("report", "overall", "pass_rate")) for n in NAMES}
    clips = {n: _dig(runs[n], ("report", "overall", "clips")) or 0 for n in NAMES}
    out = {"rows": rows, "steps": steps, "valid": None not in steps.values() and steps[a] == steps[b]}
    if not out["valid"]:
        out["verdict"] = f"INVALID: the comparison needs equal steps, got {steps}"
        return out
    if None in passes.values():
        out["valid"], out["verdict"] = False, "INVALID: a report has no overall pass_rate"
        return out
    se = math.sqrt(sum(p * (1 - p) / c for p, c in zip(passes.values(), clips.values()) if c)) or None
    gap = passes[a] - passes[b]
    out.update(pass_rate_gap=gap, pass_rate_gap_se=se,
               within_noise=se is not None and abs(gap) < 2 * se,
               mamba_at_least_as_good=gap >= 0,
               wins={n: sum(r["better"] == n for r in rows) for n in (*NAMES, "tie")})
    out["verdict"] = (f"{a} is at least as good as {b}" if gap >= 0 else f"{b} is better than {a}") + \
        f" on pass rate ({passes[a]:.3f} vs {passes[b]:.3f}, gap {gap:+.3f}" + \
        (f" ~ {gap / se:+.1f} s.e.)" if se else ")")
    return out


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(result: dict) -> str:
    lines = [f"{'metric':<22}{NAMES[0]:>14}{NAMES[1]:>14}  better"]
    for row in result["rows"]:
        lines.append(f"{row['metric']:<22}{_fmt(row[NAMES[0]]):>14}{_fmt(row[NAMES[1]]):>14}  {row['better'] or ''}")
    lines.append(result["verdict"])
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mamba", required=True, type=Path, help="the Mamba U-Net run folder")
    parser.add_argument("--transformer", required=True, type=Path, help="the transformer run folder")
    parser.add_argument("--out", type=Path, help="write the summary JSON here")
    args = parser.parse_args(argv)
    runs = {NAMES[0]: load_run(args.mamba), NAMES[1]: load_run(args.transformer)}
    result = compare(runs)
    print(table(result))
    if args.out:
        summary = {"benchmark": "compare_denoisers", **result,
                   "runs": {n: {"folder": r["folder"], "type": r["type"], "model": r["report"].get("model"),
                                "report_arguments": r["report"].get("arguments"), "eval": r["eval"]}
                            for n, r in runs.items()}}
        args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0 if result["valid"] else 2


if __name__ == "__main__":
    sys.exit(main())

"""Cold start: what a fresh process pays before its first motion (the CLI's one-shot call, the add-on's worker).

Every run is a new Python process, as a user's is: it times `import motion_core.engine`, `Engine.load` of the
bundled model, the first `generate` and a second one (warm, for comparison), then, separately, the wall time of
the whole `motion-core generate` command. Several source trees can be compared in one run (e.g. this checkout
and a `git worktree` of an older commit): their runs alternate, so drifts of a shared machine hit each alike.

    python benchmarks/bench_cold_start.py [--trees . /tmp/base] [--repeats 5] [--device cpu] [--out FILE.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "a person walks forward, then waves"

# Runs inside the fresh process; prints one JSON line of seconds.
_PROBE = """
import json, sys, time
start = time.perf_counter()
from motion_core.engine import Engine
imported = time.perf_counter()
engine = Engine.load(None, device=sys.argv[1])
loaded = time.perf_counter()
engine.generate([sys.argv[2]], frames=120, seed=0)
first = time.perf_counter()
engine.generate([sys.argv[2]], frames=120, seed=1)
second = time.perf_counter()
print(json.dumps({"import": imported - start, "load": loaded - imported, "first_generate": first - loaded,
                  "second_generate": second - first, "dynamo_imported": "torch._dynamo" in sys.modules}))
"""


def _env(tree: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(tree)}


def probe(tree: Path, device: str) -> dict:
    """Stage seconds of one fresh process running `tree`'s engine."""
    out = subprocess.run([sys.executable, "-c", _PROBE, device, PROMPT], cwd=tree, env=_env(tree),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_seconds(tree: Path, device: str) -> float:
    """Wall seconds of `python -m motion_core generate` (one 6-s clip, both file formats) from `tree`."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "motion_core", "generate", "--prompt", PROMPT, "--seconds", "6",
                        "--format", "both", "--out", out, "--device", device],
                       cwd=tree, env=_env(tree), capture_output=True, check=True)
        return time.perf_counter() - start


def revision(tree: Path) -> str:
    """The tree's commit (with "+changes" if its tracked files differ from it), or "" outside git."""
    git = lambda *a: subprocess.run(["git", "-C", str(tree), *a], capture_output=True, text=True)  # noqa: E731
    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return ""
    changed = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + ("+changes" if changed else "")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trees", nargs="+", type=Path, default=[ROOT], help="source trees to compare")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON path (default benchmarks/results/cold_start_<device>_<date>.json)")
    args = parser.parse_args(argv)
    trees = [tree.resolve() for tree in args.trees]
    runs: dict[str, list[dict]] = {str(tree): [] for tree in trees}
    for _ in range(args.repeats):
        for tree in trees:                     # alternate, so machine drift falls on every tree alike
            run = probe(tree, args.device)
            run["cli"] = cli_seconds(tree, args.device)
            runs[str(tree)].append(run)
    stages = ("import", "load", "first_generate", "second_generate", "cli")
    summary = {tree: {stage: statistics.median(r[stage] for r in rs) for stage in stages}
               | {"dynamo_imported": any(r["dynamo_imported"] for r in rs), "revision": revision(Path(tree))}
               for tree, rs in runs.items()}
    print(f"{'tree':40s} " + " ".join(f"{s:>16s}" for s in stages) + "  (median seconds)")
    for tree, row in summary.items():
        print(f"{(tree[-28:] + ' ' + row['revision'])[-40:]:40s} " + " ".join(f"{row[s]:16.3f}" for s in stages)
              + ("  TorchDynamo imported" if row["dynamo_imported"] else ""))
    result = {"date": date.today().isoformat(), "device": args.device, "repeats": args.repeats,
              "python": sys.version.split()[0], "summary": summary, "runs": runs}
    out = args.out or ROOT / "benchmarks" / "results" / f"cold_start_{args.device}_{date.today():%Y%m%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()

"""python -m train.procedural --out DIR --num 20000 --seed 0 --workers N"""
from __future__ import annotations

import argparse
import json
import os

from train.procedural.export import generate_dataset


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.procedural",
                                     description="Generate captioned procedural motions in the HumanML3D layout.")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--num", type=int, default=20000, help="number of clips")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--per-block-std", action="store_true",
                        help="HumanML3D's block-averaged Std.npy (see train.data.stats) instead of per-dimension")
    args = parser.parse_args(argv)
    summary = generate_dataset(args.out, args.num, args.seed, max(1, args.workers), args.per_block_std)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

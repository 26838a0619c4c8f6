"""python -m train.procedural --out DIR --num 20000 --seed 0 --workers N [--split-of M] [--written-phrasings K]"""
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
    parser.add_argument("--split-of", type=int,
                        help="give each clip the split it has in a corpus of this many clips (same seed): the "
                             "first --num clips of that corpus, with its test split")
    parser.add_argument("--written-phrasings", type=int, default=0, metavar="K",
                        help="K more training captions per clip in the written phrasings "
                             "(train/procedural/written_phrasings.json); default 0: the corpus as before")
    args = parser.parse_args(argv)
    if args.written_phrasings < 0:
        parser.error("--written-phrasings must be >= 0")
    summary = generate_dataset(args.out, args.num, args.seed, max(1, args.workers), args.per_block_std,
                               split_of=args.split_of, written_per_clip=args.written_phrasings)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

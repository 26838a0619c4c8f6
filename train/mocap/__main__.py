"""python -m train.mocap --source DIR --out DIR [--index FILE ...] [--append]

Converts the CMU ASF/AMC files found under --source (any layout; each NN_MM.amc needs its subject's NN.asf
beside it) into a HumanML3D-layout dataset in --out. See train/mocap/README.md for getting the files.
"""
from __future__ import annotations

import argparse
import json

from train.mocap.export import DEFAULT_EXCLUDE, build_dataset


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.mocap",
                                     description="Convert CMU motion capture (ASF/AMC) into a HumanML3D-layout dataset.")
    parser.add_argument("--source", required=True, help="folder holding the raw .asf/.amc files (searched recursively)")
    parser.add_argument("--out", required=True, help="output dataset folder (created)")
    parser.add_argument("--index", action="append", default=[],
                        help="trial descriptions: cmu-mocap-index-text.txt, a CMU CSV listing or a TSV "
                             "(repeatable; the built-in table covers subjects 01-03)")
    parser.add_argument("--exclude", action="append", default=None,
                        help=f"leave out trials whose description contains this word (default: {', '.join(DEFAULT_EXCLUDE)})")
    parser.add_argument("--captions", type=int, default=4, help="captions per clip")
    parser.add_argument("--append", action="store_true",
                        help="add to an existing dataset in --out (e.g. a procedural corpus): merge splits, recompute Mean/Std")
    args = parser.parse_args(argv)
    summary = build_dataset(args.source, args.out, args.index,
                            tuple(args.exclude) if args.exclude is not None else DEFAULT_EXCLUDE,
                            captions_per_clip=args.captions, append=args.append)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

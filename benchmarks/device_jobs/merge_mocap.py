#!/usr/bin/env python3
"""Merge a converted CMU mocap dataset (tar.gz of a `python -m train.mocap --out` folder) into a corpus.

    python3 benchmarks/device_jobs/merge_mocap.py CORPUS_DIR MOCAP_TAR --repeat N   (continue_model.sh runs it)

* Every per-clip folder of the mocap dataset (new_joint_vecs/, new_joints/, texts/, ...) is copied into the
  same folder of CORPUS_DIR (created if missing), file names unchanged.
* Mocap ids (``cmu<subject>_<trial>_<piece>``) must not collide with the corpus's own ids; the script stops
  before writing anything if they do. Ids left by an earlier merge (same id already in CORPUS_DIR's split
  files and listed in CORPUS_DIR/mocap_meta.json) are replaced, so a re-run does not stack repeats.
* The train loader (train.data.humanml3d.load_samples) does not deduplicate split lines: every line becomes
  its own sample, so writing a train id N times makes it drawn N times as often. Train ids are appended N
  times; val/test ids once.
* CORPUS_DIR/Mean.npy and Std.npy are never written or changed (training uses the frozen VAE's statistics);
  the mocap dataset's own Mean/Std are not copied. Its mocap_meta.json (provenance and CMU's terms) is
  copied as CORPUS_DIR/mocap_meta.json.

Standard library + numpy only.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")
FPS = 20.0
MIN_FRAMES = 40            # train.data.humanml3d.HUMANML3D_SPEC.min_frames: shorter clips are dropped by the loader
FEATURE_DIM = 263
SKIP_FILES = {"Mean.npy", "Std.npy"}


def read_ids(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def extract(tar_path: Path, dest: Path) -> Path:
    with tarfile.open(tar_path, "r:*") as tar:
        members = tar.getmembers()
        for m in members:
            name = Path(m.name)
            if name.is_absolute() or ".." in name.parts or not (m.isfile() or m.isdir()):
                raise SystemExit(f"refusing unsafe tar member: {m.name}")
        try:
            tar.extractall(dest, members=members, filter="data")
        except TypeError:        # Python without extraction filters (checked above instead)
            tar.extractall(dest, members=members)
    # the dataset root: the folder holding train.txt (tar made with -C DIR . or of the folder itself)
    roots = sorted(p.parent for p in dest.rglob("train.txt") if (p.parent / "new_joint_vecs").is_dir())
    if not roots:
        raise SystemExit(f"{tar_path}: no dataset (train.txt + new_joint_vecs/) inside")
    return min(roots, key=lambda p: len(p.parts))


def append_lines(path: Path, ids: list[str], drop: set[str]) -> None:
    """Rewrite `path` without the ids in `drop` (an earlier merge), then append `ids`."""
    kept = [i for i in read_ids(path) if i not in drop]
    path.write_text("".join(f"{i}\n" for i in kept + ids), encoding="utf-8")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, help="corpus folder (HumanML3D layout), modified in place")
    ap.add_argument("mocap_tar", type=Path, help="tar.gz of the converted mocap dataset folder")
    ap.add_argument("--repeat", type=int, default=1, help="times each mocap train id is listed in train.txt")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("--repeat must be >= 1")
    corpus = args.corpus
    if not (corpus / "new_joint_vecs").is_dir() or not (corpus / "train.txt").is_file():
        raise SystemExit(f"{corpus}: not a dataset folder (needs new_joint_vecs/ and train.txt)")

    stats_before = {n: (corpus / n).read_bytes() for n in SKIP_FILES if (corpus / n).is_file()}
    with tempfile.TemporaryDirectory(prefix="mocap_merge_") as tmp:
        src = extract(args.mocap_tar, Path(tmp))
        split_ids = {s: read_ids(src / f"{s}.txt") for s in SPLITS}
        mocap_ids = [i for s in SPLITS for i in split_ids[s]]
        if len(set(mocap_ids)) != len(mocap_ids):
            raise SystemExit("mocap split files list an id twice or in two splits")
        mocap_set = set(mocap_ids)

        # --- checks before writing anything -------------------------------------------------------------
        frames = {}
        for i in mocap_ids:
            f = src / "new_joint_vecs" / f"{i}.npy"
            t = src / "texts" / f"{i}.txt"
            if not f.is_file() or not t.is_file():
                raise SystemExit(f"mocap clip {i}: missing {f.name if not f.is_file() else t.name}")
            arr = np.load(f, mmap_mode="r", allow_pickle=False)
            if arr.ndim != 2 or arr.shape[1] != FEATURE_DIM:
                raise SystemExit(f"mocap clip {i}: features {arr.shape}, expected (T, {FEATURE_DIM})")
            frames[i] = arr.shape[0]
        prev_meta = corpus / "mocap_meta.json"
        previously_merged = set()
        if prev_meta.is_file():
            previously_merged = set(json.loads(prev_meta.read_text(encoding="utf-8")).get("clips", {}))
        corpus_ids = {i for s in SPLITS for i in read_ids(corpus / f"{s}.txt")}
        clash = sorted((corpus_ids & mocap_set) - previously_merged)
        # also files of the same name that are not ours (unlisted corpus files)
        folders = sorted(d for d in src.iterdir() if d.is_dir())
        for d in folders:
            for f in d.iterdir():
                if f.stem in mocap_set and (corpus / d.name / f.name).exists() and f.stem not in previously_merged:
                    clash.append(f"{d.name}/{f.name}")
        if clash:
            raise SystemExit(f"mocap ids collide with the corpus's: {clash[:10]} ({len(clash)}); nothing written")
        replaced = sorted(corpus_ids & mocap_set)

        # --- copy per-clip folders --------------------------------------------------------------------------
        copied = {}
        for d in folders:
            files = [f for f in d.iterdir() if f.is_file() and f.stem in mocap_set]
            if not files:
                continue
            (corpus / d.name).mkdir(exist_ok=True)
            for f in files:
                shutil.copy2(f, corpus / d.name / f.name)
            copied[d.name] = len(files)
        if (src / "mocap_meta.json").is_file():
            shutil.copy2(src / "mocap_meta.json", prev_meta)

        # --- split files ------------------------------------------------------------------------------------
        drop = set(replaced)
        append_lines(corpus / "train.txt", split_ids["train"] * args.repeat, drop)
        for s in ("val", "test"):
            append_lines(corpus / f"{s}.txt", split_ids[s], drop)

    for n, data in stats_before.items():
        assert (corpus / n).read_bytes() == data, f"{n} changed"   # never happens: nothing writes them
    missing_stats = [n for n in sorted(SKIP_FILES) if n not in stats_before]
    minutes = sum(frames.values()) / FPS / 60
    train_minutes = sum(frames[i] for i in split_ids["train"]) / FPS / 60
    short = [i for i in split_ids["train"] if frames[i] < MIN_FRAMES]
    print(f"copied {copied}; split ids train/val/test {[len(split_ids[s]) for s in SPLITS]}"
          + (f"; replaced {len(replaced)} ids of an earlier merge" if replaced else "")
          + (f"; {len(short)} train clip(s) under {MIN_FRAMES} frames (the loader drops them): {short}"
             if short else "")
          + (f"; NOTE corpus has no {missing_stats} (not created)" if missing_stats else ""), file=sys.stderr)
    print(f"mocap merged: {len(mocap_ids)} clips, {minutes:.2f} minutes ({train_minutes:.2f} in train), "
          f"train ids added: {len(split_ids['train'])} x {args.repeat} = {len(split_ids['train']) * args.repeat} lines")


if __name__ == "__main__":
    main()

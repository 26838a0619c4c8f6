"""Write a procedural dataset in the HumanML3D layout (see `train.data.humanml3d`), plus:

    new_joints/<id>.npy         (T, 22, 3) joint positions in the canonical frame
    texts_heldout/<id>.txt      held-out paraphrases (never used by texts/); evaluate with texts_dir="texts_heldout"
    texts_heldout_synonyms/<id>.txt  training-style captions with held-out synonyms swapped in (only clips whose
                                captions contain a word that has one; see `heldout_words`)
    meta.json                   per-clip action labels, frame spans and parameters, and the generation settings

`split_of=N` (N >= num) gives clip i the split it has in a corpus of N clips of the same seed, so the first `num`
clips of a large corpus can be regenerated quickly with that corpus's test split (e.g. to evaluate a model trained
on the large one: its test clips were never trained on).

Clips are generated and written inside worker processes (only small metadata travels back); clip i depends only
on (seed, i), so the output does not depend on the number of workers.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

from train.data.stats import compute_mean_std
from train.data.writer import prepare_layout, write_captions, write_mean_std, write_motion, write_split
from train.procedural.generate import generate_clip
from train.procedural.heldout_words import TEXTS_DIR as SYNONYMS_DIR

SPLIT_FRACTIONS = (("train", 0.8), ("val", 0.1), ("test", 0.1))


def clip_id(index: int) -> str:
    return f"p{index:06d}"


def _write_one(job: tuple[str, int, int, int]) -> tuple[str, dict]:
    root, seed, index, written_per_clip = job
    clip = generate_clip(seed, index, written_per_clip=written_per_clip)
    motion_id = clip_id(index)
    write_motion(root, motion_id, clip.features, clip.joints)
    write_captions(root, motion_id, clip.captions)
    write_captions(root, motion_id, clip.heldout_captions, texts_dir="texts_heldout")
    if clip.heldout_synonym_captions:
        write_captions(root, motion_id, clip.heldout_synonym_captions, texts_dir=SYNONYMS_DIR)
    return motion_id, clip.meta


def _init_worker() -> None:
    import torch
    torch.set_num_threads(1)      # one process per core; torch's own threads would oversubscribe


def assign_splits(ids: list[str], seed: int) -> dict[str, list[str]]:
    order = np.random.default_rng([seed, 2**31 - 1]).permutation(len(ids))
    out, start = {}, 0
    for k, (name, fraction) in enumerate(SPLIT_FRACTIONS):
        stop = len(ids) if k == len(SPLIT_FRACTIONS) - 1 else start + int(round(fraction * len(ids)))
        out[name] = sorted(ids[i] for i in order[start:stop])
        start = stop
    return out


def splits_of_first(num: int, seed: int, split_of: int | None = None) -> dict[str, list[str]]:
    """Splits of clips 0..num-1: their own (split_of None), or those they have in a corpus of `split_of` clips."""
    total = num if split_of is None else int(split_of)
    if total < num:
        raise ValueError(f"split_of ({total}) must be at least num ({num})")
    kept = {clip_id(i) for i in range(num)}
    return {name: [i for i in ids if i in kept]
            for name, ids in assign_splits([clip_id(i) for i in range(total)], seed).items()}


def generate_dataset(out: str | Path, num: int, seed: int = 0, workers: int = 1, per_block_std: bool = False,
                     log=print, split_of: int | None = None, written_per_clip: int = 0) -> dict:
    """Generate `num` clips into `out`; returns a summary {"clips", "seconds", "clips_per_second", "splits"}.

    `written_per_clip`: training captions per clip in the written phrasings (`written_phrasings`), besides the
    phrasebook's; 0 (the default) writes the corpus as before, caption for caption."""
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    if written_per_clip < 0:
        raise ValueError(f"written_per_clip must be >= 0, got {written_per_clip}")
    splits = splits_of_first(num, seed, split_of)
    root = prepare_layout(out, extra_text_dirs=("texts_heldout", SYNONYMS_DIR))
    jobs = [(str(root), seed, i, written_per_clip) for i in range(num)]
    start = time.perf_counter()
    metas: dict[str, dict] = {}
    if workers > 1:
        with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
            for k, (motion_id, meta) in enumerate(pool.imap_unordered(_write_one, jobs, chunksize=16), 1):
                metas[motion_id] = meta
                if k % 1000 == 0:
                    log(f"  {k}/{num} clips, {k / (time.perf_counter() - start):.1f} clips/s")
    else:
        _init_worker()
        for motion_id, meta in map(_write_one, jobs):
            metas[motion_id] = meta
    seconds = time.perf_counter() - start
    for name, ids in splits.items():
        write_split(root, name, ids)
    train_files = (np.load(root / "new_joint_vecs" / f"{i}.npy", allow_pickle=False) for i in splits["train"] or splits["val"] or splits["test"])
    mean, std = compute_mean_std(train_files, per_block=per_block_std)
    write_mean_std(root, mean, std)
    summary = {"clips": num, "seconds": round(seconds, 2), "clips_per_second": round(num / seconds, 2),
               "splits": {k: len(v) for k, v in splits.items()}, "split_of": split_of or num}
    meta = {"generator": "train.procedural", "seed": seed, "fps": 20.0, "skeleton": "humanml3d",
            "per_block_std": per_block_std, "split_of": split_of or num, "heldout_texts_dir": "texts_heldout",
            "written_per_clip": written_per_clip,
            "heldout_synonyms_dir": SYNONYMS_DIR,
            "clips": {k: metas[k] for k in sorted(metas)}}
    (root / "meta.json").write_text(json.dumps(meta, separators=(",", ":")), encoding="utf-8")
    return summary

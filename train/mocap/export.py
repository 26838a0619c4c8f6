"""Write converted CMU trials as a dataset in the HumanML3D layout (see `train.data.humanml3d`):

    new_joint_vecs/<id>.npy   (T, 263) features        new_joints/<id>.npy   (T, 22, 3) canonical joints
    texts/<id>.txt            captions (``caption#tokens#0.0#0.0``)
    train.txt val.txt test.txt, Mean.npy, Std.npy, mocap_meta.json (provenance of every clip)

Clip ids are ``cmu<subject>_<trial>_<piece>`` (``cmu02_01_00``). All pieces of one trial go to the same split,
chosen from the trial id alone, so a rebuild with more trials keeps earlier assignments.

With ``append=True`` the clips are added to an existing dataset folder (for example a procedural corpus from
``python -m train.procedural``): its split files gain the new ids and Mean/Std are recomputed over the merged
training split, so one folder trains on both.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from train.data.stats import compute_mean_std
from train.data.writer import prepare_layout, write_captions, write_mean_std, write_motion, write_split
from train.mocap.captions import caption_lines, describe
from train.mocap.convert import MAX_FRAMES, convert_trial
from train.mocap.descriptions import TrialInfo, load_index, trial_id

SOURCE = "CMU Graphics Lab Motion Capture Database, http://mocap.cs.cmu.edu"
LICENCE = ("mocap.cs.cmu.edu: 'This data is free for use in research projects. You may include this data in "
           "commercially-sold products, but you may not resell this data directly, even in converted form.' "
           "Acknowledgement requested: 'The data used in this project was obtained from mocap.cs.cmu.edu. "
           "The database was created with funding from NSF EIA-0196217.'")
DEFAULT_EXCLUDE = ("playground",)   # climbing on equipment: the feet are off the floor, which has no height here
SPLITS = ("train", "val", "test")


def split_of(trial: str) -> str:
    bucket = zlib.crc32(trial.encode()) % 10
    return "test" if bucket == 0 else "val" if bucket == 1 else "train"


def find_trials(source: str | Path) -> list[tuple[str, Path | None, Path]]:
    """(trial id, asf, amc) for every .amc under `source` whose subject's .asf sits beside it, then
    (trial id, None, bvh) for every .bvh of a trial not found as AMC (the original format wins)."""
    found: list[tuple[str, Path | None, Path]] = []
    for amc in sorted(Path(source).rglob("*.amc")):
        tid = trial_id(amc.stem)
        if tid is None:
            continue
        subject = amc.stem.split("_")[0]
        candidates = [amc.with_name(f"{subject}.asf")] + sorted(amc.parent.glob("*.asf"))
        asf = next((c for c in candidates if c.is_file()), None)
        if asf is not None:
            found.append((tid, asf, amc))
    have = {t for t, _, _ in found}
    for bvh in sorted(Path(source).rglob("*.bvh")):
        tid = trial_id(bvh.stem)
        if tid is not None and tid not in have:
            found.append((tid, None, bvh))
            have.add(tid)
    return found


def _clip_id(trial: str, piece: int) -> str:
    return f"cmu{trial}_{piece:02d}"


def build_dataset(source: str | Path, out: str | Path, index_files=(), exclude=DEFAULT_EXCLUDE,
                  captions_per_clip: int = 4, max_frames: int = MAX_FRAMES, min_frames: int = 20,
                  append: bool = False, log=print) -> dict:
    """Convert every described trial under `source` into `out`; returns a summary."""
    index = load_index(list(index_files))
    root = prepare_layout(out)
    meta_clips: dict[str, dict] = {}
    splits: dict[str, list[str]] = {name: [] for name in SPLITS}
    skipped: dict[str, str] = {}
    seconds = 0.0
    for tid, asf, amc in find_trials(source):
        info: TrialInfo | None = index.get(tid)
        if info is None:
            skipped[tid] = "no description in the index"
            continue
        if any(word in info.description.lower() for word in exclude):
            skipped[tid] = f"excluded: {info.description}"
            continue
        try:
            clips = convert_trial(asf, amc, info.fps, max_frames=max_frames, min_frames=min_frames)
        except (ValueError, KeyError, OSError) as exc:
            skipped[tid] = f"unreadable: {exc}"
            log(f"  skip {tid}: {exc}")
            continue
        for piece, clip in enumerate(clips):
            cid = _clip_id(tid, piece)
            if len(clip.joints) >= 20 and float(clip.joints[:, 0, 1].std()) < 1e-4:
                skipped[cid] = "pelvis height locked (an edited conversion, not raw capture)"
                continue
            captions = describe(info.description, cid, captions_per_clip)
            write_motion(root, cid, clip.features, clip.joints)
            write_captions(root, cid, caption_lines(captions))
            splits[split_of(tid)].append(cid)
            seconds += len(clip.joints) / 20.0
            meta_clips[cid] = {"trial": tid, "description": info.description, "source_fps": info.fps if asf else "bvh Frame Time",
                               "frames": len(clip.joints), "source_frames": list(clip.source_frames),
                               "asf": asf.name if asf else None, "motion_file": amc.name,
                               "split": split_of(tid)}
    if not meta_clips:
        raise SystemExit(f"no usable trials under {source} (skipped: {len(skipped)})")
    for name in SPLITS:
        ids = sorted(splits[name])
        if append and (root / f"{name}.txt").is_file():
            existing = [line.strip() for line in (root / f"{name}.txt").read_text().splitlines() if line.strip()]
            ids = sorted(set(existing) - set(meta_clips) | set(ids))
        write_split(root, name, ids)
    train_ids = [line.strip() for line in (root / "train.txt").read_text().splitlines() if line.strip()]
    mean, std = compute_mean_std(np.load(root / "new_joint_vecs" / f"{i}.npy") for i in train_ids)
    write_mean_std(root, mean, std)
    meta = {"source": SOURCE, "licence": LICENCE, "fps": 20.0, "skeleton": "humanml3d", "clips": meta_clips,
            "skipped": skipped}
    (root / "mocap_meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return {"trials": len({m["trial"] for m in meta_clips.values()}), "clips": len(meta_clips),
            "minutes": round(seconds / 60, 2), "splits": {k: len(v) for k, v in splits.items()},
            "skipped": len(skipped)}

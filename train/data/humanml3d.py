"""HumanML3D-format motion/text datasets, laid out on disk exactly as the public releases are:

    <root>/new_joint_vecs/<id>.npy    (T, 263) features (KIT-ML: 251), not normalised
    <root>/texts/<id>.txt             caption#tokens#start#end lines (see `train.data.texts`)
    <root>/{train,val,test}.txt       one id per line
    <root>/Mean.npy, <root>/Std.npy   feature statistics used for normalisation

HumanML3D ships mirrored copies as ``M<id>``; `load_samples` adds the mirror of every listed id whose files
exist (the public split lists already contain them, in which case nothing is added twice). Our procedural
data (`train.procedural`) is written in the same format, so one loader serves both.

Length handling follows the T2M/MLD loaders: a motion (or captioned sub-clip) shorter than `min_frames` or
at least `drop_frames` long is dropped; at training time a window of at most `max_frames` frames, rounded down
to a multiple of `unit_length`, is cropped at a random offset.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from motion_core.generation.normalization import FeatureNormalizer
from motion_core.kinematics.skeleton import HUMANML3D, Skeleton
from train.data.texts import CaptionLine, mirror_caption_line, read_caption_file

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset's files must look like and which lengths are usable."""
    name: str
    skeleton: Skeleton
    min_frames: int = 40      # shorter motions / sub-clips are dropped
    max_frames: int = 196     # longest window handed to the model
    drop_frames: int = 200    # motions this long or longer are dropped (T2M keeps 196..199 and crops them)
    unit_length: int = 4      # window lengths are multiples of this (the VAE/U-Net downsample by 4)

    @property
    def fps(self) -> float:
        return self.skeleton.fps

    @property
    def feature_dim(self) -> int:
        return self.skeleton.feature_dim

    def __post_init__(self):
        if not (0 < self.unit_length <= self.min_frames <= self.max_frames < self.drop_frames):
            raise ValueError(f"need 0 < unit_length <= min_frames <= max_frames < drop_frames, got {self}")


HUMANML3D_SPEC = DatasetSpec("humanml3d", HUMANML3D, min_frames=40, max_frames=196, drop_frames=200)


@dataclass(frozen=True)
class Sample:
    """One trainable entry: a window of a motion and the captions that describe exactly that window."""
    key: str                  # motion id, or "<id>@<first>-<stop>" for a captioned sub-clip
    motion_id: str
    motion: np.ndarray = field(repr=False)   # the whole motion file (shared between its sub-clips)
    first: int
    stop: int
    captions: tuple[CaptionLine, ...]

    @property
    def features(self) -> np.ndarray:
        return self.motion[self.first:self.stop]

    @property
    def num_frames(self) -> int:
        return self.stop - self.first


@dataclass
class LoadReport:
    """Counts of what `load_samples` kept and why it dropped the rest."""
    root: str
    split: str
    ids_listed: int = 0
    mirrors_added: int = 0
    motions_loaded: int = 0
    samples: int = 0
    dropped: Counter = field(default_factory=Counter)   # reason -> count

    def summary(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.dropped.items())) or "none"
        return (f"{self.root} [{self.split}]: {self.ids_listed} ids listed (+{self.mirrors_added} mirrors), "
                f"{self.motions_loaded} motions, {self.samples} samples; dropped/skipped: {reasons}")


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} folder not found: {path} (expected the HumanML3D layout: "
                                f"new_joint_vecs/, texts/, train.txt/val.txt/test.txt, Mean.npy, Std.npy)")
    return path


def read_split_ids(root: str | Path, split: str) -> list[str]:
    """Ids listed in <root>/<split>.txt, in file order, blank lines skipped."""
    path = Path(root) / f"{split}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"split list not found: {path} (one motion id per line)")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _with_mirrors(ids: list[str], motion_dir: Path) -> tuple[list[str], int]:
    listed = set(ids)
    extra = [f"M{i}" for i in ids if not i.startswith("M") and f"M{i}" not in listed
             and (motion_dir / f"M{i}.npy").is_file()]
    return ids + extra, len(extra)


def _load_motion(path: Path, spec: DatasetSpec) -> np.ndarray:
    motion = np.load(path, allow_pickle=False)
    if motion.ndim != 2 or motion.shape[1] != spec.feature_dim:
        raise ValueError(f"{path}: expected (T, {spec.feature_dim}) features for {spec.name}, got {motion.shape}")
    if not np.all(np.isfinite(motion)):
        raise ValueError(f"{path}: contains NaN or infinite values")
    return motion.astype(np.float32, copy=False)


def _samples_of(motion_id: str, motion: np.ndarray, captions: list[CaptionLine], spec: DatasetSpec,
                report: LoadReport) -> list[Sample]:
    """Group captions by the frame window they describe; keep the windows whose length is usable."""
    windows: dict[tuple[int, int], list[CaptionLine]] = {}
    for line in captions:
        windows.setdefault(line.frame_range(spec.fps, len(motion)), []).append(line)
    samples = []
    for (first, stop), lines in windows.items():
        length = stop - first
        if length < spec.min_frames:
            report.dropped["too_short"] += 1
        elif length >= spec.drop_frames:
            report.dropped["too_long"] += 1
        else:
            key = motion_id if (first, stop) == (0, len(motion)) else f"{motion_id}@{first}-{stop}"
            samples.append(Sample(key, motion_id, motion, first, stop, tuple(lines)))
    return samples


def load_samples(root: str | Path, split: str = "train", spec: DatasetSpec = HUMANML3D_SPEC, *,
                 include_mirrored: bool = True, texts_dir: str = "texts", motion_dir: str = "new_joint_vecs",
                 limit: int | None = None) -> tuple[list[Sample], LoadReport]:
    """Read every listed motion with its captions. Missing or broken files are skipped and counted.

    `texts_dir` selects another caption folder with the same layout (our procedural data keeps held-out
    paraphrases in ``texts_heldout``). `limit` stops after that many listed ids (quick experiments).
    """
    root = Path(root)
    motions = _require_dir(root / motion_dir, "motion features")
    texts = _require_dir(root / texts_dir, "caption")
    ids = read_split_ids(root, split)[:limit]
    report = LoadReport(str(root), split, ids_listed=len(ids))
    if include_mirrored:
        ids, report.mirrors_added = _with_mirrors(ids, motions)
    samples: list[Sample] = []
    for motion_id in ids:
        motion_path, text_path = motions / f"{motion_id}.npy", texts / f"{motion_id}.txt"
        if not motion_path.is_file():
            report.dropped["missing_motion"] += 1
            continue
        if not text_path.is_file():
            report.dropped["missing_text"] += 1
            continue
        try:
            motion = _load_motion(motion_path, spec)
        except ValueError:
            report.dropped["bad_motion_file"] += 1
            continue
        captions, malformed = read_caption_file(text_path)
        report.dropped["malformed_caption_lines"] += malformed
        if not captions:
            report.dropped["no_valid_caption"] += 1
            continue
        report.motions_loaded += 1
        samples.extend(_samples_of(motion_id, motion, captions, spec, report))
    report.samples = len(samples)
    return samples, report


def load_mean_std(root: str | Path, spec: DatasetSpec = HUMANML3D_SPEC) -> tuple[np.ndarray, np.ndarray]:
    """<root>/Mean.npy and Std.npy, checked against the spec's feature size."""
    out = []
    for name in ("Mean.npy", "Std.npy"):
        path = Path(root) / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; compute it with train.data.compute_mean_std on the train split")
        array = np.load(path, allow_pickle=False)
        if array.shape != (spec.feature_dim,):
            raise ValueError(f"{path}: expected shape ({spec.feature_dim},), got {array.shape}")
        out.append(array.astype(np.float32))
    return out[0], out[1]


def crop_length(num_frames: int, spec: DatasetSpec) -> int:
    """Training window length: at most max_frames, rounded down to a multiple of unit_length."""
    return (min(num_frames, spec.max_frames) // spec.unit_length) * spec.unit_length


class Crop(NamedTuple):
    """One drawn training item by reference: frames [first, first + length) of sample `index`."""
    index: int
    first: int
    length: int
    caption: str
    mirrored: bool


class MotionTextDataset(torch.utils.data.Dataset):
    """(normalised features (L, D) float32 tensor, caption str, L) triples for text-to-motion training.

    Each item draws one of the sample's captions at random and, with `crop=True`, a random window of
    `crop_length` frames (T2M/MLD style). `mirror_prob` > 0 additionally mirrors non-mirror samples on the
    fly (features via `motion_core.kinematics.representation.mirror_features`, captions with left/right swapped);
    leave it 0 when the dataset already ships ``M<id>`` files. Randomness comes from torch's RNG, which
    DataLoader seeds per worker, so workers do not repeat each other.
    """

    def __init__(self, root: str | Path, split: str = "train", spec: DatasetSpec = HUMANML3D_SPEC, *,
                 mean: np.ndarray | None = None, std: np.ndarray | None = None, include_mirrored: bool = True,
                 mirror_prob: float = 0.0, crop: bool = True, texts_dir: str = "texts", limit: int | None = None):
        if not 0.0 <= mirror_prob <= 1.0:
            raise ValueError(f"mirror_prob must be in [0, 1], got {mirror_prob}")
        self.spec = spec
        self.samples, self.report = load_samples(root, split, spec, include_mirrored=include_mirrored,
                                                 texts_dir=texts_dir, limit=limit)
        if not self.samples:
            raise ValueError(f"no usable samples: {self.report.summary()}")
        if mean is None or std is None:
            mean, std = load_mean_std(root, spec)
        self.normalizer = FeatureNormalizer(mean, std)
        self.mirror_prob = mirror_prob
        self.crop = crop

    def __len__(self) -> int:
        return len(self.samples)

    def _rand(self, high: int) -> int:
        return int(torch.randint(high, ())) if high > 1 else 0

    def draw(self, index: int) -> Crop:
        """The random choices of item `index` (caption, window, mirroring), without touching its features."""
        sample = self.samples[index]
        line = sample.captions[self._rand(len(sample.captions))]
        first, length = 0, sample.num_frames
        if self.crop:
            length = crop_length(sample.num_frames, self.spec)
            first = self._rand(sample.num_frames - length + 1)
        mirrored = (self.mirror_prob > 0 and not sample.motion_id.startswith("M")
                    and float(torch.rand(())) < self.mirror_prob)
        caption = mirror_caption_line(line).caption if mirrored else line.caption
        return Crop(index, first, length, caption, mirrored)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, int]:
        crop = self.draw(index)
        features = self.samples[index].features[crop.first:crop.first + crop.length]
        if crop.mirrored:
            from motion_core.kinematics.representation import mirror_features
            features = mirror_features(features, self.spec.skeleton)
        normalised = self.normalizer.normalize(np.ascontiguousarray(features, dtype=np.float32))
        return torch.from_numpy(np.asarray(normalised, dtype=np.float32)), crop.caption, crop.length

    def raw_motions(self) -> list[np.ndarray]:
        """Each distinct motion file once (sub-clips share their file), for statistics."""
        seen: dict[str, np.ndarray] = {}
        for s in self.samples:
            seen.setdefault(s.motion_id, s.motion)
        return list(seen.values())

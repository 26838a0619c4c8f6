"""KIT-ML in the HumanML3D layout (251-dim features, 21 joints, 12.5 fps).

The T2M loaders keep KIT motions of 24..199 frames; everything else is shared with `train.data.humanml3d`.
"""
from __future__ import annotations

from pathlib import Path

from motion_core.kinematics.skeleton import KIT
from train.data.humanml3d import DatasetSpec, MotionTextDataset

KIT_SPEC = DatasetSpec("kit", KIT, min_frames=24, max_frames=196, drop_frames=200)


def kit_dataset(root: str | Path, split: str = "train", **kwargs) -> MotionTextDataset:
    """`MotionTextDataset` over a KIT-ML folder; keyword arguments as for `MotionTextDataset`."""
    return MotionTextDataset(root, split, KIT_SPEC, **kwargs)

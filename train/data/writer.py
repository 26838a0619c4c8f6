"""Writing a dataset in the HumanML3D layout (see `train.data.humanml3d`), so generated data and the public
datasets are read by the same loader. Every writer validates shapes so a bad clip fails where it is made."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from train.data.texts import CaptionLine, write_caption_file

_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _check_id(motion_id: str) -> str:
    if not motion_id or not set(motion_id) <= _ID_CHARS:
        raise ValueError(f"motion id {motion_id!r} must be non-empty letters, digits, '_' or '-'")
    return motion_id


def prepare_layout(root: str | Path, extra_text_dirs: tuple[str, ...] = ()) -> Path:
    root = Path(root)
    for sub in ("new_joint_vecs", "new_joints", "texts", *extra_text_dirs):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def write_motion(root: str | Path, motion_id: str, features: np.ndarray, joints: np.ndarray | None = None) -> None:
    """new_joint_vecs/<id>.npy (T, D) float32 and, if given, new_joints/<id>.npy (T, J, 3) float32."""
    root = Path(root)
    _check_id(motion_id)
    if features.ndim != 2 or not np.all(np.isfinite(features)):
        raise ValueError(f"{motion_id}: features must be finite (T, D), got shape {features.shape}")
    np.save(root / "new_joint_vecs" / f"{motion_id}.npy", features.astype(np.float32))
    if joints is not None:
        if joints.ndim != 3 or joints.shape[2] != 3 or len(joints) != len(features):
            raise ValueError(f"{motion_id}: joints must be (T, J, 3) with T={len(features)}, got {joints.shape}")
        np.save(root / "new_joints" / f"{motion_id}.npy", joints.astype(np.float32))


def write_captions(root: str | Path, motion_id: str, lines: list[CaptionLine], texts_dir: str = "texts") -> None:
    write_caption_file(Path(root) / texts_dir / f"{_check_id(motion_id)}.txt", lines)


def write_split(root: str | Path, split: str, ids: list[str]) -> None:
    for i in ids:
        _check_id(i)
    (Path(root) / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")


def write_mean_std(root: str | Path, mean: np.ndarray, std: np.ndarray) -> None:
    if mean.shape != std.shape or mean.ndim != 1:
        raise ValueError(f"mean and std must be equal 1-D vectors, got {mean.shape} and {std.shape}")
    np.save(Path(root) / "Mean.npy", mean.astype(np.float32))
    np.save(Path(root) / "Std.npy", std.astype(np.float32))

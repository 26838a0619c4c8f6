"""Training windows kept on the training device: batches are gathered there instead of shipped from the CPU.

The default loader path copies every batch of padded float32 features four times on the host (worker ->
shared memory -> pinned memory -> GPU): ~100 MB per 512 clips. Measured on 2 x H100 (2026-11-25, global batch
2048, 12 loader workers per GPU) the main process waited for batches 26% of the time, and data-parallel
scaling stalled at 1.41x. A `MotionBank` uploads every sample's normalised features once (the 20,000-clip
procedural corpus: ~3 GB; HumanML3D with mirrors: ~6 GB), so the loader only hands over `Crop` references
(index, first frame, length, caption) and the batch is one gather on the device.

Batches are identical to the host path's: the same `Crop`s are drawn under the same seeds (`SeededItems`),
and `MotionBank.gather` pads and masks exactly like `collate_motion_text`. On-the-fly mirroring (a feature
transform) is not available here: datasets ship mirrored files (``M<id>``) instead.
"""
from __future__ import annotations

import numpy as np
import torch

from motion_core.runtime.device import is_out_of_memory
from train.data.humanml3d import Crop, MotionTextDataset


class CropItems(torch.utils.data.Dataset):
    """A dataset's items as `Crop` references (its `draw`), for a DataLoader feeding a `MotionBank`."""

    def __init__(self, dataset: MotionTextDataset):
        if dataset.mirror_prob > 0:
            raise ValueError("a MotionBank cannot mirror on the fly (mirror_prob > 0); ship M<id> files instead "
                             "or load batches on the host")
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Crop:
        return self.dataset.draw(index)


def collate_crops(crops: list[Crop]) -> dict:
    """Stack `Crop`s into index tensors (still on the host: a few bytes per clip)."""
    if not crops:
        raise ValueError("cannot collate an empty batch")
    return {"index": torch.tensor([c.index for c in crops], dtype=torch.long),
            "first": torch.tensor([c.first for c in crops], dtype=torch.long),
            "lengths": torch.tensor([c.length for c in crops], dtype=torch.long),
            "captions": [c.caption for c in crops]}


class MotionBank:
    """Every sample's normalised features, concatenated in one (total_frames, D) tensor on `device`."""

    def __init__(self, dataset: MotionTextDataset, device: torch.device | str):
        windows = [np.ascontiguousarray(s.features, dtype=np.float32) for s in dataset.samples]
        lengths = np.array([len(w) for w in windows], dtype=np.int64)
        self.device = torch.device(device)
        self.sample_lengths = lengths      # host copy: crops are checked before anything is queued on the GPU
        self.starts = torch.from_numpy(np.concatenate(([0], np.cumsum(lengths)[:-1]))).to(self.device)
        # Normalised on the host in float32 exactly as `MotionTextDataset.__getitem__` does, then uploaded.
        flat = torch.from_numpy(np.asarray(dataset.normalizer.normalize(np.concatenate(windows)), dtype=np.float32))
        try:
            self.features = flat.to(self.device)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            raise MemoryError(f"the training windows ({flat.numel() * 4 / 2**30:.1f} GiB) do not fit on "
                              f"{self.device}; set \"device_bank\": false in the config's data section to build "
                              "batches on the host instead") from exc

    @property
    def nbytes(self) -> int:
        return self.features.numel() * self.features.element_size()

    def gather(self, batch: dict) -> dict:
        """`collate_crops` output -> {"motion" (B, T_max, D) zero-padded, "mask", "lengths", "captions"}."""
        self._check(batch)
        t_max = int(batch["lengths"].max())
        index, first, lengths = (batch[k].to(self.device, non_blocking=True) for k in ("index", "first", "lengths"))
        steps = torch.arange(t_max, device=self.device)
        mask = steps[None, :] < lengths[:, None]
        rows = (self.starts[index] + first)[:, None] + torch.where(mask, steps[None, :], 0)
        motion = torch.where(mask[..., None], self.features[rows], 0.0)
        return {"motion": motion, "mask": mask, "lengths": lengths, "captions": list(batch["captions"])}

    def _check(self, batch: dict) -> None:
        index, first, lengths = (batch[k].numpy() for k in ("index", "first", "lengths"))
        if (index < 0).any() or (index >= len(self.sample_lengths)).any():
            raise ValueError("a crop names a sample the bank does not hold: the bank was built from another dataset")
        if (first < 0).any() or (lengths < 1).any() or (first + lengths > self.sample_lengths[index]).any():
            raise ValueError("a crop reaches past its sample's frames: the bank was built from another dataset")

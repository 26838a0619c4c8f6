"""Data order that survives a kill: a resumable DistributedSampler and items that are pure functions of
(seed, epoch, index).

Exact resumption needs the batch at step s to be identical whether or not the run was interrupted. Two
things break that with a plain DataLoader: the sampler restarts at the beginning of its epoch, and the dataset's
random crop/caption choice reads the global RNG, whose position depends on how many items were made before.
`ResumableSampler` therefore starts mid-epoch and yields (epoch, index) pairs, and `SeededItems` draws each item
under its own seed derived from them, so worker count, prefetching and restarts cannot change a batch.
"""
from __future__ import annotations

import torch
from torch.utils.data import Dataset, DistributedSampler

_MIX = 1_000_003  # odd multiplier that spreads (epoch, index) over seeds


class ResumableSampler(DistributedSampler):
    """DistributedSampler (shuffled per epoch under `seed`) that can skip the first `start` items of an epoch."""

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, seed: int, drop_last: bool = True):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed,
                         drop_last=drop_last)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        """Next iteration covers `epoch` from this rank's `start`-th item on."""
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self):
        indices = list(super().__iter__())[self.start:]
        epoch = self.epoch
        self.start = 0  # only the first iteration after a resume is partial
        return iter([(epoch, i) for i in indices])


class SeededItems(Dataset):
    """Wraps a dataset whose __getitem__ uses the global torch RNG; item (epoch, i) is drawn under a fixed seed."""

    def __init__(self, dataset: Dataset, seed: int):
        self.dataset = dataset
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.dataset)

    def item_seed(self, epoch: int, index: int) -> int:
        return (self.seed * _MIX * _MIX + epoch * _MIX + index) % (2 ** 63 - 1)

    def __getitem__(self, key):
        epoch, index = key if isinstance(key, tuple) else (0, key)
        # fork_rng restores the caller's RNG afterwards, so making an item never moves the training RNG.
        with torch.random.fork_rng(devices=[]):
            # The CPU generator only: torch.manual_seed would also queue lazy CUDA seeding, which records a
            # stack trace per call (measured: half the cost of an item).
            torch.default_generator.manual_seed(self.item_seed(epoch, index))
            return self.dataset[index]

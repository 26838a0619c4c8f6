"""Process-group setup for `torchrun` (or a single plain process), and the few collectives training needs.

torchrun exports RANK / WORLD_SIZE / LOCAL_RANK; without them we are one process of a world of one and never
create a process group, so a plain `python -m train.fit` needs no rendezvous.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist

from motion_core.formats.atomic_file import write_json


@dataclass(frozen=True)
class DistEnv:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def hardware(self) -> str:
        """The GPU's name, or the device type: runs record it, since the same run's rate differs by up to 10%
        between machines of one kind."""
        return torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else self.device.type


def init_distributed(device: str = "auto") -> DistEnv:
    """Join the torchrun group (nccl on GPU, gloo on CPU) and pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available")
    if use_cuda:
        torch.cuda.set_device(local)
        chosen = torch.device("cuda", local)
    else:
        chosen = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    return DistEnv(rank, world, local, chosen)


def run_on_ranks(run: Callable[[], dict], out: Path | None) -> dict:
    """`run()` in every process of a torchrun launch (or the only one), its result written as JSON to `out` by
    rank 0 alone; the process group is shut down however `run` ends. The frame of a benchmark's main()."""
    try:
        result = run()
        if out and int(os.environ.get("RANK", "0")) == 0:
            write_json(out, result)
    finally:
        shutdown_distributed()
    return result


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier(env: DistEnv) -> None:
    if env.distributed:
        dist.barrier()


def gather_objects(env: DistEnv, obj):
    """Every rank's `obj` as a list indexed by rank (just [obj] without a process group)."""
    if not env.distributed:
        return [obj]
    out = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(env: DistEnv, obj):
    """Rank 0's `obj` on every rank."""
    if not env.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def data_parallel(model: torch.nn.Module, env: DistEnv, bucket_mb: float = 25.0, grad_dtype: str = "float32",
                  static_graph: bool = False) -> torch.nn.parallel.DistributedDataParallel:
    """`model` in DistributedDataParallel as training runs it: gradients as views into the all-reduce buckets
    (no copy in or out of them each step), buckets of `bucket_mb` MiB, gradients sent as `grad_dtype`."""
    from torch.nn.parallel import DistributedDataParallel
    cuda = env.device.type == "cuda"
    ddp = DistributedDataParallel(model, device_ids=[env.local_rank] if cuda else None, gradient_as_bucket_view=True,
                                  bucket_cap_mb=float(bucket_mb), static_graph=static_graph)
    if grad_dtype == "bfloat16":
        if not cuda:
            raise ValueError("ddp_grad_dtype 'bfloat16' needs GPUs (NCCL); use 'float32' with gloo")
        from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import bf16_compress_hook
        ddp.register_comm_hook(None, bf16_compress_hook)
    return ddp

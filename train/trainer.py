"""The training loop shared by both stages: DDP, bf16 autocast, AdamW + warm-up/cosine, gradient clipping, EMA,
atomic checkpoints and exact resumption.

Run directory of a stage (``<run>/<stage>/``):

    state.pt          everything needed to continue exactly: weights, EMA, optimizer, LR scheduler, step, data
                      position, the stage's derived state (latent scale) and every rank's python/numpy/torch/cuda
                      RNG states. Written to a temporary file and renamed, so a kill never leaves half a file.
    model/            motion_core checkpoint of the EMA weights (what export/evaluation read)
    models/step_N/    with optim.keep_models: the same, kept for every checkpoint (to evaluate a training curve)
    log.jsonl, loss_curve.png

`state.pt` uses torch.save (pickle): it is our own file in our own run directory, never a downloaded artefact;
shared models go through `motion_core.formats.checkpoint` (safetensors) only.
"""
from __future__ import annotations

import copy
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from train.config import OPTIM_DEFAULTS
from train.data.collate import collate_motion_text
from train.data.motion_bank import CropItems, MotionBank, collate_crops
from train.data_order import ResumableSampler, SeededItems
from train.distributed import DistEnv, barrier, broadcast_object, data_parallel, gather_objects
from train.ema import EMA
from train.lr_schedule import build_scheduler, steps_that_fit
from train.run_log import RunLog

STATE_NAME = "state.pt"
MODEL_DIR = "model"
PLOT_INTERVAL_S = 60.0


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def atomic_torch_save(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Trainer:
    """Trains `stage.objective` on `dataset` for `optim["max_steps"]` optimizer steps."""

    def __init__(self, stage, dataset: Dataset, optim: dict, run_dir: str | Path, env: DistEnv, seed: int,
                 num_workers: int = 0, info: dict | None = None, bf16: bool = True, device_bank: bool = False):
        self.stage, self.optim, self.env, self.seed = stage, optim, env, int(seed)
        self.dir = Path(run_dir) / stage.name
        self.info = dict(info or {})
        self.items = SeededItems(dataset, self.seed)
        per_rank = len(dataset) // env.world_size
        self.batch_size = min(int(optim["batch_size"]), per_rank)
        if self.batch_size < 1:
            raise ValueError(f"{len(dataset)} samples cannot feed {env.world_size} processes")
        if self.batch_size < optim["batch_size"] and env.is_main:
            print(f"[{stage.name}] only {per_rank} samples per process: batch size lowered to {self.batch_size}")
        self.sampler = ResumableSampler(self.items, env.world_size, env.rank, self.seed)
        self.steps_per_epoch = len(self.sampler) // self.batch_size
        # With a bank the loader only draws crop references; the features are gathered on the device.
        self.bank = MotionBank(dataset, env.device) if device_bank else None
        self.loader = DataLoader(SeededItems(CropItems(dataset), self.seed) if self.bank else self.items,
                                 batch_size=self.batch_size, sampler=self.sampler, drop_last=True,
                                 collate_fn=collate_crops if self.bank else collate_motion_text,
                                 num_workers=num_workers, persistent_workers=num_workers > 0,
                                 pin_memory=env.device.type == "cuda" and not self.bank,
                                 # its own generator: creating an iterator must not draw from the global RNG
                                 generator=torch.Generator().manual_seed(self.seed))
        self.model = stage.objective.to(env.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        # fused on a GPU: one launch for the whole update, work every process repeats in data-parallel runs
        self.optimizer = torch.optim.AdamW(params, lr=float(optim["lr"]), betas=tuple(optim["betas"]),
                                           weight_decay=float(optim["weight_decay"]),
                                           fused=env.device.type == "cuda")
        self.scheduler, self.schedule = build_scheduler(self.optimizer, int(optim["warmup_steps"]),
                                                        int(optim["max_steps"]), float(optim["min_lr_ratio"]))
        self.fitted_total: int | None = None   # the schedule's length once fitted to a time limit
        self.ema = EMA(self.model, float(optim["ema_decay"]))
        self.step = 0
        ddp = {**OPTIM_DEFAULTS, **optim}   # an optim block built without the DDP keys gets their defaults
        self.ddp = (data_parallel(self.model, env, ddp["ddp_bucket_mb"], ddp["ddp_grad_dtype"])
                    if env.distributed else self.model)
        self.autocast = env.device.type == "cuda" and bf16
        if env.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

    # ---- state -----------------------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.dir / STATE_NAME

    def _state(self, rngs: list) -> dict:
        return {"step": self.step, "epoch": self.step // self.steps_per_epoch, "world_size": self.env.world_size,
                "batch_size": self.batch_size, "model": self.model.state_dict(), "ema": self.ema.state_dict(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "stage": self.stage.extra_state(), "rng": rngs, "fitted_total": self.fitted_total}

    def save(self) -> None:
        """Checkpoint (every rank takes part: RNG states are gathered), then refresh model/ and the curve."""
        rngs = gather_objects(self.env, rng_state())
        if self.env.is_main:
            self.dir.mkdir(parents=True, exist_ok=True)
            atomic_torch_save(self._state(rngs), self.state_path)
            model_dir = self.export_model()
            if self.optim.get("keep_models"):
                snapshot = self.dir / "models" / f"step_{self.step:06d}"
                shutil.rmtree(snapshot, ignore_errors=True)
                shutil.copytree(model_dir, snapshot)
        barrier(self.env)

    def export_model(self) -> Path:
        weights = self.ema.copy_to(copy.deepcopy(self.model).cpu())
        info = {**self.info, "stage": self.stage.name, "steps": self.step, "ema_decay": self.ema.decay}
        return self.stage.export(weights, self.dir / MODEL_DIR, info)

    def load(self) -> bool:
        """Restore from state.pt if it exists; returns whether it did."""
        if not self.state_path.is_file():
            return False
        # Loaded on the CPU: RNG states must stay CPU ByteTensors, and load_state_dict moves weights and
        # optimizer state onto the parameters' device itself. (Our own run file, never a user download.)
        state = torch.load(self.state_path, map_location="cpu", weights_only=False)
        if state["batch_size"] != self.batch_size:
            raise ValueError(f"{self.state_path} was trained with batch size {state['batch_size']}, now "
                             f"{self.batch_size}: resuming would not continue the same run")
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        # a length fitted to an earlier call's time limit holds (within this run's max_steps)
        self.fitted_total = state.get("fitted_total")
        self.schedule.total_steps = min(self.fitted_total or self.schedule.total_steps, self.schedule.total_steps)
        self.stage.load_extra_state(state["stage"])
        self.step = int(state["step"])
        rngs = state["rng"]
        if len(rngs) == self.env.world_size:
            set_rng_state(rngs[self.env.rank])
        elif self.env.is_main:
            print(f"[{self.stage.name}] world size changed ({len(rngs)} -> {self.env.world_size}): "
                  "resuming with fresh RNG streams, not bit-exact")
        return True

    # ---- training --------------------------------------------------------------------------------------

    def _prepare_stage(self) -> None:
        """Let the stage derive data statistics (latent scale) identically on every rank."""
        order = torch.randperm(len(self.items), generator=torch.Generator().manual_seed(self.seed)).tolist()
        probe = DataLoader(self.items, batch_size=self.batch_size, sampler=[(-1, i) for i in order],
                           collate_fn=collate_motion_text, generator=torch.Generator().manual_seed(self.seed))
        if self.env.is_main:
            self.stage.prepare(probe, self.env.device)
        self.stage.load_extra_state(broadcast_object(self.env, self.stage.extra_state()))
        self.stage.prepare([], self.env.device)  # moves frozen parts to the device on every rank

    def fit(self, resume: bool = False, stop_after: int | None = None, time_limit: float | None = None,
            fit_schedule: bool = False) -> dict:
        """Train up to max_steps (or stop early after `stop_after` total steps, as a kill would).

        `time_limit` (seconds of this call): at the first log step past it, checkpoint and stop, so a machine
        lent for a fixed time loses nothing and `--resume` continues the same LR schedule. With `fit_schedule`,
        the schedule's length is set at every log step to the steps that fit the time limit at the mean rate since
        this call's first log (the first interval holds compilation and warm-up; one interval alone misjudged
        round 5's H200 rate by 10 %), never beyond max_steps, so the run ends annealed inside the limit."""
        resumed = self.load() if resume else False
        max_steps = self.schedule.total_steps
        fitting = fit_schedule and time_limit is not None
        if not resumed:
            seed_everything(self.seed + 7919 * self.env.rank)  # ranks draw different noise
            self.step = 0
            self._prepare_stage()
        else:
            self.stage.prepare([], self.env.device)
        end = max_steps if stop_after is None else min(max_steps, stop_after)
        log = RunLog(self.dir, self.env.is_main, max_steps, self.step, self.stage.name)
        started, sums, count, last_plot = time.time(), {}, 0, time.time()
        # Host time blocked on the loader: the host runs ahead of the GPU (it syncs only when logging), so
        # it waits here only when the loader, not the GPU, limits the step rate.
        waited, interval_start = 0.0, time.perf_counter()
        rate_from = None   # (step, clock) at this call's first log: the rate is measured from there, not before
        try:
            while self.step < end:
                epoch, offset = divmod(self.step, self.steps_per_epoch)
                self.sampler.set_position(epoch, offset * self.batch_size)
                ready = time.perf_counter()
                for batch in self.loader:
                    waited += time.perf_counter() - ready
                    losses = self.train_step(batch)
                    for key, value in losses.items():
                        sums[key] = sums.get(key, 0.0) + value
                    count += 1
                    log.step()
                    if self.step % self.optim["log_every"] == 0 or self.step == end:
                        # Reading the values is the only host sync of the loop, so it happens once per log.
                        record = {k: float(v) / count for k, v in sums.items()}
                        if not np.isfinite(record["loss"]):
                            raise FloatingPointError(f"[{self.stage.name}] non-finite loss before step {self.step}")
                        now = time.perf_counter()
                        if fitting and rate_from is None:
                            rate_from = (self.step, now)   # the first interval holds compilation and warm-up
                        elif fitting and self.step < end:
                            record.update(self._fit_schedule(self.step - rate_from[0], now - rate_from[1],
                                                             time_limit - (time.time() - started)))
                            max_steps = self.schedule.total_steps
                            end = max_steps if stop_after is None else min(max_steps, stop_after)
                            log.retotal(max_steps)
                        log.write({"step": self.step, "epoch": epoch, "lr": self.scheduler.get_last_lr()[0],
                                   "time": round(time.time() - started, 2),
                                   "data_wait": round(waited / max(now - interval_start, 1e-9), 3), **record})
                        sums, count, waited, interval_start = {}, 0, 0.0, now
                    out_of_time = self._out_of_time(started, time_limit)
                    if out_of_time:
                        end = self.step
                    if self.step % self.optim["checkpoint_every"] == 0 or self.step == max_steps or out_of_time:
                        self.save()
                        if time.time() - last_plot > PLOT_INTERVAL_S:  # drawing costs seconds: throttle it
                            log.plot()
                            last_plot = time.time()
                    if self.step >= end:
                        break
                    ready = time.perf_counter()
        finally:
            log.close()
        log.plot()
        return {"step": self.step, "seconds": time.time() - started, "done": self.step >= max_steps}

    def _fit_schedule(self, steps: int, seconds: float, seconds_left: float) -> dict:
        """Set the schedule's length to the steps that fit `seconds_left` at `steps` per `seconds` (rank 0
        decides: every rank must end at the same step); returns what the log records of it."""
        per_step = seconds / max(steps, 1)
        total = broadcast_object(self.env, steps_that_fit(self.step, int(self.optim["max_steps"]), per_step,
                                                          seconds_left))
        self.schedule.total_steps = self.fitted_total = int(total)
        return {"schedule_total": self.fitted_total, "seconds_per_step": round(per_step, 4)}

    def _out_of_time(self, started: float, time_limit: float | None) -> bool:
        """Past the time limit, decided at log steps only (the decision is a collective: every rank must stop
        at the same step, and a per-step broadcast would cost a host sync each step)."""
        if time_limit is None or self.step % self.optim["log_every"]:
            return False
        return bool(broadcast_object(self.env, time.time() - started >= time_limit))

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        self.model.train()
        if self.bank is not None:
            batch = self.bank.gather(batch)
        inputs = self.stage.inputs(batch, self.env.device)
        with torch.autocast(device_type=self.env.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            losses = self.ddp(*inputs)
        loss = losses["loss"]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), float(self.optim["grad_clip"]))
        self.optimizer.step()
        self.scheduler.step()
        self.ema.update(self.model)
        self.step += 1
        out = {k: v.detach().float() for k, v in losses.items()}
        out["grad_norm"] = grad_norm.detach().float()
        return out

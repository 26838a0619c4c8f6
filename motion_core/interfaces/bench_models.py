"""What the benchmarks run: the engines (a checkpoint's, or untrained default-size ones) and the settings they time.

`default_config` mirrors train/configs/default.json for either denoiser (speed does not depend on the weights'
values); `make_engine`/`models_for` build the engines; `sampling_settings` lists the configurations `latency`
compares, `IK_PLACEMENTS` where `throughput` solves the IK, and `engine_settings` applies either for a while.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from motion_core.engine import Engine

__all__ = ["DENOISER_TYPES", "PROMPT", "default_config", "make_engine", "model_label", "models_for", "engine_settings",
           "IK_PLACEMENTS", "sampling_settings"]

DENOISER_TYPES = ("mamba_unet", "transformer")
PROMPT = "a person walks forward, turns around and waves with the right hand"


def default_config(denoiser_type: str = "mamba_unet", max_frames: int = 196) -> dict:
    """A checkpoint config at the default training sizes (train/configs/default.json) for either denoiser."""
    denoisers = {"mamba_unet": {"type": "mamba_unet", "width": 256},
                 "transformer": {"type": "transformer", "width": 256, "num_layers": 6, "num_heads": 4,
                                 "ffn_mult": 4}}
    if denoiser_type not in denoisers:
        raise ValueError(f"denoiser_type must be one of {DENOISER_TYPES}, got {denoiser_type!r}")
    return {
        "format_version": 1,
        "name": f"default-size-random-{denoiser_type}",
        "architecture": {
            "vae": {"feature_dim": 263, "latent_dim": 32, "width": 192, "num_down": 2, "res_blocks": 2},
            "denoiser": {**denoisers[denoiser_type], "latent_dim": 32, "text_dim": 256},
            "text": {"type": "offline", "dim": 256, "layers": 2, "heads": 4, "ff_dim": 768, "num_buckets": 8192,
                     "dropout": 0.1},
        },
        "text_encoder_type": "offline",
        "diffusion": {"num_train_steps": 1000, "beta_schedule": "scaled_linear", "prediction": "epsilon",
                      "sampler": "ddim"},
        "fps": 20.0, "skeleton": "humanml3d", "feature_dim": 263,
        "training": {"max_frames": max_frames, "latent_scale": 1.0},
    }


def make_engine(denoiser_type: str, device: str, checkpoint: str | None = None, max_frames: int = 196) -> Engine:
    """The checkpoint's engine, or an untrained default-size one; long enough for `max_frames`."""
    if checkpoint:
        engine = Engine.load(checkpoint, device=device)
    else:
        engine = Engine.random(default_config(denoiser_type, max_frames), seed=0, device=device)
    # Benchmarks may time clips a little past a checkpoint's training window (the 10-s CPU clip is 200 frames,
    # HumanML3D models stop at 196); only the limit check is lifted, the computation is the same.
    engine.max_frames = max(engine.max_frames, max_frames)
    return engine


def model_label(engine: Engine) -> str:
    """"<denoiser type> (<model version>)": how results and tables name a model."""
    return f"{engine.config['architecture']['denoiser'].get('type')} ({engine.model_version})"


def models_for(args) -> list[Engine]:
    """The engines a benchmark run times: the --checkpoint's, or an untrained default-size one per --denoisers."""
    if args.checkpoint:
        return [make_engine("", args.device, args.checkpoint, args.frames)]
    return [make_engine(kind, args.device, None, args.frames) for kind in args.denoisers]


@contextlib.contextmanager
def engine_settings(engine: Engine, **settings) -> Iterator[Engine]:
    """Temporarily set engine attributes (sampler, cuda_graphs, precision, max_batch, ...)."""
    saved = {name: getattr(engine, name) for name in settings}
    for name, value in settings.items():
        setattr(engine, name, value)
    try:
        yield engine
    finally:
        for name, value in saved.items():
            setattr(engine, name, value)


# Where `throughput` solves the IK on CUDA: a CUDA-graph replay (the engine's default), eager GPU kernels, the host.
IK_PLACEMENTS = {"graph": {"gpu_ik": True, "ik_graphs": True}, "gpu": {"gpu_ik": True, "ik_graphs": False},
                 "cpu": {"gpu_ik": False, "ik_graphs": False}}


def sampling_settings(device: torch.device, steps: int, dpm_steps: int,
                      compile: bool = False) -> list[tuple[str, int, dict]]:
    """(label, steps, engine attributes) of the configurations `latency` compares on this device.

    On CUDA the rows add one lever at a time: CUDA graphs (sampling loop, text encoder, decoder; IK on the
    host), then the IK as a CUDA graph too, then (with `compile`) torch.compile under every graph."""
    eager32 = {"cuda_graphs": False, "precision": "fp32", "sampler": "ddim"}
    if device.type != "cuda":
        return [(f"eager fp32 DDIM-{steps}", steps, eager32),
                (f"eager fp32 DPM-Solver++-{dpm_steps}", dpm_steps, {**eager32, "sampler": "dpm_solver_pp"})]
    eager32 = {**eager32, "gpu_ik": False, "ik_graphs": False, "compile": False}
    graphs = {**eager32, "cuda_graphs": True, "precision": "bf16"}
    ik_graph = {**graphs, "gpu_ik": True, "ik_graphs": True}
    dpm = {"sampler": "dpm_solver_pp"}
    rows = [(f"eager fp32 DDIM-{steps}", steps, eager32),
            (f"CUDA graph bf16 DDIM-{steps}, IK on the host", steps, graphs),
            (f"CUDA graph bf16 DDIM-{steps}, IK graph", steps, ik_graph),
            (f"CUDA graph bf16 DPM-Solver++-{dpm_steps}, IK graph", dpm_steps, {**ik_graph, **dpm})]
    if compile:
        compiled = {**ik_graph, "compile": True}
        rows += [(f"compiled, CUDA graph bf16 DDIM-{steps}, IK graph", steps, compiled),
                 (f"compiled, CUDA graph bf16 DPM-Solver++-{dpm_steps}, IK graph", dpm_steps, {**compiled, **dpm})]
    return rows

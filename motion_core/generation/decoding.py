"""The tail of the data path: latents -> de-normalised features -> joints and rotations (`Motion`).

The VAE decoder (replayed as a CUDA graph from a shape's second use), chunked decoding for long sequences,
and the batched IK that solves each clip's rotations on one rigid body, on the GPU where that is faster.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from motion_core.formats.motion import Motion
from motion_core.kinematics.ik_graph import ik_graphs
from motion_core.runtime.graph_sampler import graphs_supported
from motion_core.runtime.shape_graphs import ShapeGraphs

DECODE_CHUNK_LATENTS = 256       # latents kept per decoder chunk (1024 frames): bounded decoder memory

# The torch IK issues ~2,700 small kernels per call whatever the batch: ~31 ms on an H100 for 1 to 256 clips of
# 196 frames, while the host's numpy IK takes ~8 ms for one clip, 16 ms for 4 and 47 ms for 16 (benchmarks/
# bench_ik.py, 2026-11-26). The GPU wins from about 8 such clips on: this many frames in one pass.
GPU_IK_MIN_FRAMES = 8 * 196


def decoded_features(engine, latents: torch.Tensor, num_frames: int) -> torch.Tensor:
    """VAE decode and de-normalise: features (B, num_frames, F) float64 on the engine's device."""
    return engine.normalizer.denormalize(engine.vae.decode(latents, num_frames)).double()


@torch.inference_mode()
def decode_latents(engine, latents: torch.Tensor, num_frames: int, on_device: bool = False):
    """De-normalised features (B, num_frames, F) in float64: numpy, or a tensor left on the engine's
    device when `on_device` (so the IK runs there as well, see `Motion.batch_from_joints`)."""
    graphs = decoder_graphs(engine)
    features = None
    if graphs is not None and graphs.due(latents, num_frames=num_frames):
        features = graphs.run(latents, num_frames=num_frames)
    if features is None:
        features = decoded_features(engine, latents, num_frames)
    return features if on_device else features.cpu().numpy()


def decoder_graphs(engine):
    if not (engine.cuda_graphs and graphs_supported(engine.device)):
        return None

    def make():
        # The normaliser keeps its statistics as numpy arrays and caches device copies on first use; made
        # now, so what a capture (or torch.compile) sees is a plain tensor, not a host-to-device copy.
        engine.normalizer.denormalize(torch.zeros(1, engine.skeleton.feature_dim, device=engine.device))
        return ShapeGraphs(lambda latents, num_frames: decoded_features(engine, latents, num_frames),
                           engine.device, "decoder", compile=engine.compile)
    return engine.graphs.stage("decode", engine.device, engine.compile, make)


def decoder_radius(vae) -> int | None:
    """How many latents on each side can influence a decoded frame (None: unknown, decode in one piece).

    The decoder runs one conv stack per rate (latent rate, then each upsampled rate); a stack of residual
    units with dilations 1, 3, 9, ... and kernel k reaches ``(k // 2) * sum(dilations)`` steps at its own
    rate, i.e. that many / 2**i latents at the i-th upsampled rate. Upsampling and the linear maps are per-frame.
    """
    config = getattr(vae, "config", None)
    try:
        reach = (config.kernel_size // 2) * sum(3 ** i for i in range(config.res_blocks))
        rates = config.num_down + 1
    except AttributeError:
        return None
    return math.ceil(sum(reach / 2 ** i for i in range(rates))) + 1


@torch.inference_mode()
def decode_latents_chunked(engine, latents: torch.Tensor, num_frames: int,
                           chunk: int = DECODE_CHUNK_LATENTS) -> np.ndarray:
    """De-normalised features (num_frames, F) float64 from latents (L, C), decoded chunk by chunk.

    Each chunk is decoded with `decoder_radius` extra latents on both sides and only its own frames are kept,
    so the result equals a single decode of the whole sequence (up to float rounding) at bounded memory.
    """
    factor = engine.vae.config.downsample_factor
    radius = decoder_radius(engine.vae)
    total = latents.shape[0]
    if radius is None or total <= chunk + 2 * radius:
        spans = [(0, total)]
        radius = 0
    else:
        spans = [(start, min(start + chunk, total)) for start in range(0, total, chunk)]
    pieces = []
    for start, stop in spans:
        low, high = max(0, start - radius), min(total, stop + radius)
        z = latents[low:high].to(engine.device)[None]
        frames = engine.vae.decode(z)[0]
        keep = frames[(start - low) * factor:(stop - low) * factor]
        pieces.append(engine.normalizer.denormalize(keep).double().cpu().numpy())
    return np.concatenate(pieces, axis=0)[:num_frames]


def body_frames(vae, num_frames: int) -> int:
    """How many leading frames of a `num_frames`-frame take its body (bone lengths) is measured on.

    All but the decoder's tail, the last frames a continuation rewrites (a timeline's next window reaches
    `decoder_radius` latents back), so appending to a timeline never changes the body, hence never the
    earlier frames; at least half of the frames in any case.
    """
    tail = (decoder_radius(vae) or 0) * vae.config.downsample_factor
    return max(num_frames - tail, -(-num_frames // 2), 1)


def ik_stage_graphs(engine):
    """The IK's ShapeGraphs, or None where `engine.ik_graphs` is off or graphs are unsupported."""
    if not (engine.ik_graphs and graphs_supported(engine.device)):
        return None
    return engine.graphs.stage("ik", engine.device, engine.compile, lambda: ik_graphs(
        engine.skeleton, engine.device, compile=engine.compile,
        body_frames=lambda frames: body_frames(engine.vae, frames)))


def ik_on_device(engine, batch: int, frames: int) -> bool:
    """Whether a pass of `batch` clips of `frames` frames solves its IK on the GPU: eagerly when it is large,
    by a CUDA-graph replay when its shape has come before (see motion_core.kinematics.ik_graph)."""
    if not (engine.gpu_ik and engine.device.type == "cuda"):
        return False
    graphs = ik_stage_graphs(engine)
    due = graphs is not None and graphs.due(((batch, frames, engine.skeleton.feature_dim), torch.float64))
    return due or batch * frames >= GPU_IK_MIN_FRAMES


def solve_motions(engine, features, metas: list[dict]) -> list[Motion]:
    """Motions from one pass's features (its clips share a length): one batched IK pass, ~3x cheaper per clip.

    The joints become the forward kinematics of the solved rotations (one rigid body per clip, measured on its
    `body_frames`): a rig keyed with the rotations shows the joints (issue 22).
    """
    graphs = ik_stage_graphs(engine)
    return Motion.batch_from_features(features, engine.skeleton, engine.fps, metas,
                                      solver=None if graphs is None else graphs.run,
                                      body_frames=body_frames(engine.vae, features.shape[1]))

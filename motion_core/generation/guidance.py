"""Steering sampling towards a root path and key poses (issue 23, items 1 and 3), OmniControl-style.

At each denoising step the sampler's predicted clean latent x0 is decoded (VAE decoder, de-normalised,
`features_to_joints`, all differentiable), the squared distance of its root track from the path and of its
pinned joints from their targets is taken, and x0 is moved against the gradient of that error before the step
uses it. The step size is Polyak's (error / |gradient|^2, halved): the linearised error is halved at each step,
whatever the scale of the latents, so no learning rate has to be tuned per model.

The decoded motion lives in the canonical frame (starts at the origin facing +z); the path may start elsewhere
and head anywhere. So at each guided step the path is turned (about its start) so that its initial
direction is the direction the current prediction travels in, and moved to the origin: the model is steered to bend
its motion like the path, not to turn on the spot first. `controls.path` later puts the result exactly on the
path (turning it as a whole back), and `controls.pins` meets the pins exactly. Guidance makes the path's final
correction 2-3x smaller (`benchmarks/paths.py`). Pins can be guided too, but `generate` does not: measured worse
(`generation.constraints.GUIDE_PINS`).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from motion_core.controls.path import RootPath, path_targets
from motion_core.controls.pins import PosePin, pin_targets
from motion_core.kinematics.representation import features_to_joints

__all__ = ["Guide", "GUIDED_SHARE", "FINAL_ITERATIONS", "ALIGN_SECONDS"]

GUIDED_SHARE = 1.0        # the last share of the denoising steps that are guided (the early ones only set the gist)
FINAL_ITERATIONS = 3      # guidance iterations at the last step, where x0 becomes the result
ALIGN_SECONDS = 1.0       # the path's and the prediction's initial directions are read over this long
STEP_FRACTION = 0.5       # share of the (linearised) error removed per guidance iteration


class Guide:
    """The callable a sampler calls as ``x0 = guide(x0, step, steps)`` for one pass of `batch` clips."""

    def __init__(self, engine, path: RootPath | None, pins: list[PosePin], num_frames: int, batch: int,
                 share: float = GUIDED_SHARE, final_iterations: int = FINAL_ITERATIONS):
        self.engine, self.path, self.pins = engine, path, list(pins)
        self.num_frames, self.batch = num_frames, batch
        self.share, self.final_iterations = share, final_iterations
        self.mean = torch.as_tensor(engine.normalizer.mean, dtype=torch.float32, device=engine.device).clone()
        self.std = torch.as_tensor(engine.normalizer.std, dtype=torch.float32, device=engine.device).clone()
        self.frames: list[tuple] | None = None   # per clip: (start (2,), angle) of the path's canonical placement
        self.calls = 0                            # decoder evaluations (cost accounting for benchmarks)

    def __call__(self, x0: torch.Tensor, step: int, steps: int) -> torch.Tensor:
        if step < steps - max(1, math.ceil(self.share * steps)):
            return x0
        iterations = self.final_iterations if step == steps - 1 else 1
        with torch.inference_mode(False), torch.enable_grad():
            z = x0.detach().clone()
            for _ in range(iterations):
                z = self._iterate(z)
        return z.detach()

    def _iterate(self, z: torch.Tensor) -> torch.Tensor:
        z = z.detach().requires_grad_(True)
        features = self.engine.vae.decode(z / self.engine.latent_scale, self.num_frames).float() * self.std + self.mean
        joints = features_to_joints(features, self.engine.skeleton, validate=False)   # (B, T, J, 3)
        self.calls += 1
        loss = self._loss(joints)                                                      # (B,)
        (grad,) = torch.autograd.grad(loss.sum(), z)
        norm2 = grad.pow(2).flatten(1).sum(1).clamp_min(1e-12)
        scale = (STEP_FRACTION * loss.detach() / norm2).view(-1, 1, 1)
        return z - scale * grad

    def _loss(self, joints: torch.Tensor) -> torch.Tensor:
        # Re-placed on every call: the first predictions are blurry, and the final correction turns the whole
        # take onto the path anyway; what guidance must shape is the path's form, relative to the motion's start.
        self.frames = [self.placement(j) for j in joints.detach().cpu().double().numpy()]
        loss = joints.new_zeros(joints.shape[0])
        for b, clip in enumerate(joints):
            start, angle = self.frames[b]
            if self.path is not None:
                target, on = self._path_target(clip.detach().cpu().double().numpy(), start, angle)
                on_t = torch.as_tensor(on, device=joints.device)
                diff = clip[:, 0, [0, 2]] - torch.as_tensor(target, dtype=joints.dtype, device=joints.device)
                loss[b] = loss[b] + (diff.pow(2).sum(-1) * on_t).sum()
            if self.pins:
                targets, pinned = pin_targets(self.pins, self.num_frames, clip.shape[1])
                targets = _to_canonical(targets.reshape(-1, 3), start, angle).reshape(targets.shape)
                mask = torch.as_tensor(pinned, dtype=joints.dtype, device=joints.device)
                diff = clip - torch.as_tensor(targets, dtype=joints.dtype, device=joints.device)
                loss[b] = loss[b] + (diff.pow(2).sum(-1) * mask).sum()
        return loss

    def placement(self, clip: np.ndarray) -> tuple[np.ndarray, float]:
        """(start, angle): the path's frame is the canonical one turned by `angle` about +y and moved to `start`."""
        if self.path is None:
            return np.zeros(2), 0.0
        track = clip[:, 0, [0, 2]]
        target, _ = path_targets(self.path, track, self.engine.fps)
        ahead = min(len(track) - 1, max(1, int(round(ALIGN_SECONDS * self.engine.fps))))
        path_dir, own_dir = target[ahead] - target[0], track[ahead] - track[0]
        path_yaw = math.atan2(path_dir[0], path_dir[1])
        own_yaw = math.atan2(own_dir[0], own_dir[1]) if np.linalg.norm(own_dir) > 0.1 else 0.0
        return target[0].copy(), path_yaw - own_yaw

    def _path_target(self, clip: np.ndarray, start: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
        """The path's target for this prediction, in the canonical frame."""
        track = clip[:, 0, [0, 2]]
        world_track = _turn(track, angle) + start          # curves take their pace from the prediction
        target, on = path_targets(self.path, world_track, self.engine.fps)
        return _turn(target - start, -angle), on


def _turn(xz: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.stack((c * xz[:, 0] + s * xz[:, 1], -s * xz[:, 0] + c * xz[:, 1]), axis=1)


def _to_canonical(points: np.ndarray, start: np.ndarray, angle: float) -> np.ndarray:
    """World points (N, 3) into the canonical frame of a clip placed at (start, angle)."""
    ground = _turn(points[:, [0, 2]] - start, -angle)
    return np.stack((ground[:, 0], points[:, 1], ground[:, 1]), axis=1)

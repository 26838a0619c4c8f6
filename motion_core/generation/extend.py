"""`extend`: continue a motion with a new prompt.

The last frames of the motion (the context) are encoded to latents and held fixed while the new latents are
sampled (inpainting), so the new part starts from the old pose. The new part is then re-anchored onto the old
last frame (root position and facing) and its remaining pose mismatch is faded out over `BLEND_SECONDS`.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from motion_core.controls.foot_cleanup import clean_feet_joints, contacts_from_features
from motion_core.controls.joins import smooth_joins_joints
from motion_core.controls.path import path_json
from motion_core.formats.motion import Motion
from motion_core.generation.constraints import check_constraints, meet_pins
from motion_core.generation.continued_controls import follow_from, shifted_pins
from motion_core.generation.decoding import decode_latents
from motion_core.generation.lengths import resolve_frames
from motion_core.generation.meta import extend_meta, vocabulary_warning, with_warnings
from motion_core.generation.progress import Progress, ProgressFn
from motion_core.generation.requests import (InputError, check_motion, check_prompts, sampling_settings,
                                             seed_list)
from motion_core.generation.sampling import sample_latents
from motion_core.kinematics.representation import FACING_SMOOTH_SIGMA, features_to_joints, joints_to_features
from motion_core.kinematics.skeleton import Skeleton

BLEND_SECONDS = 0.5               # extend fades the seam's pose mismatch out over this long


def extend_motion(engine, motion: Motion, prompt: str, seconds, frames, seed, guidance, steps,
                  progress: ProgressFn | None, should_cancel: Callable[[], bool] | None,
                  foot_cleanup: bool = True, smooth_joins: bool = True, path=None, pins=None) -> Motion:
    """`Engine.extend`: old + new frames (see its docstring; `path` and `pins`: `generation.continued_controls`)."""
    check_motion(motion, engine.skeleton, engine.fps)
    (prompt,) = check_prompts([prompt])
    context = context_length(engine, motion.num_frames)
    limit = engine.max_frames - context
    new_frames = resolve_frames(seconds, frames, engine.fps, limit=limit, what="extend")
    requested = seconds is not None or frames is not None
    constraints, (new_frames,) = check_constraints(engine, path, pins, [new_frames], requested, limit=limit)
    guidance, steps = sampling_settings(engine, guidance, steps)
    (seed,) = seed_list(seed, 1)
    report = Progress(progress)
    known = encode_motion_tail(engine, motion, context)
    latents = sample_latents(engine, [prompt], [seed], context + new_frames, guidance, steps,
                             report.sub(0.0, 1.0), should_cancel, known=known)
    window = decode_latents(engine, latents, context + new_frames)[0]
    blend = max(1, round(BLEND_SECONDS * engine.fps))
    new_joints = continue_joints(motion.joints.astype(np.float64), window, context, engine.skeleton, blend=blend)
    source = "requested" if requested else "default"
    meta = with_warnings(extend_meta(engine, motion, prompt, seed, guidance, steps, new_frames, source),
                         vocabulary_warning(engine, prompt))
    if constraints.path is not None:   # the new part onto the path, from where the motion ends
        new_joints = follow_from(motion.joints[-1].astype(np.float64), new_joints, constraints.path, engine.fps,
                                 engine.skeleton.face_joints, blend)
        meta["path"] = path_json(constraints.path)
    joints = np.concatenate([motion.joints.astype(np.float64), new_joints], axis=0)
    if smooth_joins:   # no velocity pop at the seam (controls.joins); the old frames stay as they are
        joints = smooth_joins_joints(joints, [motion.num_frames], keep_before=motion.num_frames)
    contacts = np.zeros((len(joints), 4), dtype=bool)
    contacts[motion.num_frames:] = contacts_from_features(window, engine.skeleton)[context:]
    if foot_cleanup:   # the new frames' planted feet locked (controls.foot_cleanup)
        joints = clean_feet_joints(joints, contacts, engine.skeleton, motion.offsets, keep_before=motion.num_frames)
    # Solved on the old motion's body: the continuation keeps its bone lengths, and the old frames (the FK of
    # its rotations) come back as they were.
    result = Motion.from_joints(joints, engine.skeleton, fps=engine.fps, meta=meta, offsets=motion.offsets)
    if constraints.pins:   # met on the new frames, the old ones kept (generation.continued_controls)
        (result,) = meet_pins([result], shifted_pins(constraints.pins, motion.num_frames),
                              contacts[None] if foot_cleanup else None, keep_before=motion.num_frames)
    report(1.0, "done")
    return result


def context_length(engine, available: int) -> int:
    """Frames of the old motion shown to the model: the checkpoint's context, whole latents only."""
    factor = engine.vae.config.downsample_factor
    context = min(available, engine.context_frames) // factor * factor
    if context < factor:
        raise InputError(f"the motion has {available} frame(s); extend needs at least {factor}")
    return context


@torch.inference_mode()
def encode_motion_tail(engine, motion: Motion, context: int) -> torch.Tensor:
    """Latents (1, context / factor, C) of the motion's last `context` frames, scaled as the sampler sees them."""
    # Encoding only a window keeps extend's cost flat on long takes; the window reaches one smoothing
    # radius past the context so the facing filter sees the same frames it would on the whole clip.
    window = context + int(4 * FACING_SMOOTH_SIGMA + 0.5) + 1
    features = joints_to_features(motion.joints[-window:].astype(np.float64), engine.skeleton)[-context:]
    x = engine.normalizer.normalize(torch.as_tensor(features, dtype=torch.float32, device=engine.device))
    mu, _ = engine.vae.encode(x[None])
    return mu * engine.latent_scale


def facing_yaw(frame_joints: np.ndarray, skeleton: Skeleton) -> float:
    """Facing angle about +y of one pose (J, 3): 0 faces +z, positive turns towards +x."""
    r_hip, l_hip, r_shoulder, l_shoulder = skeleton.face_joints
    across = (frame_joints[r_hip] - frame_joints[l_hip]) + (frame_joints[r_shoulder] - frame_joints[l_shoulder])
    forward_x, forward_z = across[2], -across[0]  # up x across
    return math.atan2(forward_x, forward_z)


def turn_about_y(points: np.ndarray, angle: float) -> np.ndarray:
    """Rotate points (..., 3) about +y by `angle` (the sense in which `facing_yaw` grows)."""
    c, s = math.cos(angle), math.sin(angle)
    x, z = points[..., 0], points[..., 2]
    return np.stack((c * x + s * z, points[..., 1], -s * x + c * z), axis=-1)


def continue_joints(old: np.ndarray, window_features: np.ndarray, context: int, skeleton: Skeleton,
                    blend: int) -> np.ndarray:
    """World joints of the new frames that follow `old` (T, J, 3).

    The decoded window is context + new frames; its frame ``context - 1`` re-creates the old last frame. The
    new part is turned and moved so that frame lands on the old last frame's root and facing, then the
    residual pose difference at the seam (all joints, including height) fades to zero over `blend` frames.
    """
    window = np.asarray(features_to_joints(window_features, skeleton), dtype=np.float64)
    segment = window[context - 1:]
    target = old[-1]
    angle = facing_yaw(target, skeleton) - facing_yaw(segment[0], skeleton)
    segment = turn_about_y(segment - segment[0, 0] * np.array([1.0, 0.0, 1.0]), angle)
    segment = segment + target[0] * np.array([1.0, 0.0, 1.0])
    residual = target - segment[0]
    weights = np.clip(1.0 - np.arange(len(segment)) / blend, 0.0, 1.0)
    segment = segment + weights[:, None, None] * residual[None]
    return segment[1:]

"""One CMU trial (ASF + AMC) -> HumanML3D clips: FK, joint mapping, 20 fps, retargeting, cutting, canonical frame.

The steps, in order:

1. forward kinematics of the trial's own calibrated skeleton (`kinematics`), metres, y up;
2. the 22 HumanML3D joints (`mapping.cmu_to_humanml3d`);
3. resampling to 20 fps (`resample`);
4. retargeting onto HumanML3D's bone lengths (`mapping.retarget`);
5. cutting into clips of at most `max_frames` frames (equal pieces, so no short tail);
6. per clip, HumanML3D's canonical frame (`motion_core.kinematics.representation.canonicalize`: lowest joint on y = 0,
   the first frame's root above the origin, facing +z) and its 263-dim features.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_core.kinematics.representation import canonicalize, joints_to_features
from motion_core.kinematics.skeleton import HUMANML3D
from train.mocap.asf_amc import AsfSkeleton, read_amc, read_asf
from train.mocap.kinematics import forward_kinematics
from motion_core.formats.bvh import read_bvh
from train.mocap.mapping import bvh_to_humanml3d, cmu_to_humanml3d, retarget
from train.mocap.resample import resample

TARGET_FPS = HUMANML3D.fps
MAX_FRAMES = 196      # HumanML3D's longest training window (9.8 s at 20 fps)


@dataclass
class Clip:
    joints: np.ndarray        # (T, 22, 3) canonical frame, metres
    features: np.ndarray      # (T, 263)
    start_frame: int          # first frame in the trial at 20 fps
    source_frames: tuple[int, int]   # [first, last] frame number in the source file


def trial_joints(skeleton: AsfSkeleton, amc_path: str | Path, source_fps: float = 120.0) -> np.ndarray:
    """(T, 22, 3) joints of a whole trial at 20 fps on HumanML3D's skeleton (not yet canonical)."""
    motion = read_amc(amc_path, skeleton)
    names, positions = forward_kinematics(skeleton, motion)
    joints = cmu_to_humanml3d(names, positions)
    return retarget(resample(joints, source_fps, TARGET_FPS))


def bvh_trial_joints(path: str | Path) -> tuple[np.ndarray, float]:
    """(joints (T, 22, 3) at 20 fps on HumanML3D's skeleton, source fps) of a BVH conversion of a CMU trial,
    at the frame rate its ``Frame Time`` states. Y up is assumed (as in every CMU conversion)."""
    bvh = read_bvh(path)
    fps = 1.0 / bvh.frame_time
    joints = drop_leading_pose(bvh_to_humanml3d(bvh.names, bvh.positions))
    return retarget(resample(joints, fps, TARGET_FPS)), fps


def drop_leading_pose(joints: np.ndarray, jump: float = 0.25) -> np.ndarray:
    """Joints without a leading calibration pose: some BVH conversions prepend a T-pose at the origin as
    frame 0 (DragonForgedTheArtist/IClone-CMU-Mocap does), and the motion proper starts elsewhere. A first
    frame whose root lies more than `jump` body heights from the next frame's (no one moves that far in one
    capture frame) is dropped."""
    height = np.ptp(joints[0, :, 1]) or 1.0
    while len(joints) > 1 and np.linalg.norm(joints[1, 0] - joints[0, 0]) > jump * height:
        joints = joints[1:]
    return joints


def cut(num_frames: int, max_frames: int = MAX_FRAMES) -> list[tuple[int, int]]:
    """Equal [start, stop) pieces of at most `max_frames` covering `num_frames`."""
    if num_frames <= 0:
        return []
    pieces = -(-num_frames // max_frames)
    bounds = np.linspace(0, num_frames, pieces + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def make_clip(joints: np.ndarray, start: int = 0, source_fps: float = 120.0) -> Clip:
    canonical = canonicalize(joints)
    features = joints_to_features(canonical)
    ratio = source_fps / TARGET_FPS
    last = start + len(joints) - 1
    return Clip(joints=canonical, features=features, start_frame=start,
                source_frames=(int(round(start * ratio)) + 1, int(round(last * ratio)) + 1))


def convert_trial(asf_path: str | Path | None, motion_path: str | Path, source_fps: float = 120.0,
                  max_frames: int = MAX_FRAMES, min_frames: int = 1) -> list[Clip]:
    """Clips of one trial (ASF + AMC, or a .bvh with `asf_path` None, whose own frame time then sets
    the frame rate); pieces shorter than `min_frames` are left out."""
    if Path(motion_path).suffix.lower() == ".bvh":
        joints, source_fps = bvh_trial_joints(motion_path)
    else:
        joints = trial_joints(read_asf(asf_path), motion_path, source_fps)
    return [make_clip(joints[a:b], a, source_fps) for a, b in cut(len(joints), max_frames) if b - a >= min_frames]

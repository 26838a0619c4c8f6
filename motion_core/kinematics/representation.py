"""HumanML3D's motion feature vector: encoder, decoder, canonical frame and left/right mirroring.

Layout of one frame for a skeleton of J joints (263 numbers for HumanML3D's 22 joints, 251 for KIT's 21):

    [root_rot_vel_y (1), root_lin_vel_xz (2), root_y (1), ric (J-1)*3, rot6d (J-1)*6, local_vel J*3, contacts 4]

* root_rot_vel_y: change of the root's heading from frame t to t+1, as the *half* angle (radians) of the yaw
  quaternion, which is how HumanML3D stores it (arcsin of the quaternion's y component).
  The heading is the facing direction (up x across hips and shoulders), gaussian-smoothed over time, and
  the identity at frame 0. By default it reproduces a HumanML3D quirk (hip vector reversed, see `_facing`),
  which makes it sensitive to torso twist; the decoded joints do not depend on how the heading is chosen.
* root_lin_vel_xz: root displacement t -> t+1, expressed in the heading frame of frame t+1.
* root_y: root height above the floor.
* ric ("rotation-invariant coordinates"): joints 1..J-1 relative to the root's ground projection, in the
  heading frame of frame t.
* rot6d: per-joint rotations (first two matrix columns), HumanML3D's way: walking each kinematic chain, joint
  c gets R_c = A^-1 * swing_c, where swing_c turns the rest bone direction (``skeleton.raw_offsets[c]``) onto
  the actual world bone parent->c and A is the previous bone's swing, or the root's heading quaternion at
  the chain's start (so heading * R_c1 * R_c2 ... rebuilds each world swing). Every chain starts from the
  heading, also the arm chains that start at spine3. Note the heading quaternion turns the world *into* the
  heading frame, yet HumanML3D composes it as if it were the body's orientation; we keep that so the
  features match the released data (measured 7.7e-6). The decoder ignores this block; models are trained on it.
* local_vel: every joint's displacement t -> t+1 in the heading frame of frame t.
* contacts: (left ankle, left toe, right ankle, right toe) squared speed below a threshold (m^2/frame^2).

Frame count: HumanML3D's encoder returns T-1 frames for T input frames. `joints_to_features` returns T: the
last frame's velocities and contacts repeat the previous frame's (the decoder never reads them), so that
``features_to_joints(joints_to_features(j))`` equals ``canonicalize(j)`` frame for frame.

numpy in, numpy out; torch in, torch out (differentiable). numpy inputs are computed in float64 and returned
in their own dtype; torch inputs are computed in their own dtype, except that the encoder works in float64.
"""
from __future__ import annotations

import numpy as np
import torch

from motion_core.kinematics import quaternion as Q
from motion_core.kinematics.skeleton import HUMANML3D, Skeleton

__all__ = ["features_to_joints", "joints_to_features", "canonicalize", "mirror_joints", "mirror_features",
           "FeatureSlices", "feature_slices"]

# HumanML3D smooths the facing direction over time (gaussian, sigma 20 frames, truncated at 4 sigma) before it
# becomes the root heading; we do the same so our features match the dataset's.
FACING_SMOOTH_SIGMA = 20.0


class FeatureSlices:
    """Where each block of the feature vector lives, for a skeleton of `num_joints` joints."""

    def __init__(self, num_joints: int):
        j = num_joints
        self.root_rot_vel = slice(0, 1)
        self.root_lin_vel = slice(1, 3)
        self.root_y = slice(3, 4)
        self.ric = slice(4, 4 + (j - 1) * 3)
        self.rot6d = slice(self.ric.stop, self.ric.stop + (j - 1) * 6)
        self.local_vel = slice(self.rot6d.stop, self.rot6d.stop + j * 3)
        self.contacts = slice(self.local_vel.stop, self.local_vel.stop + 4)
        self.dim = self.contacts.stop


def feature_slices(skeleton: Skeleton = HUMANML3D) -> FeatureSlices:
    return FeatureSlices(skeleton.num_joints)


# ----------------------------------------------------------------------------------------------------------
# Array plumbing: one torch implementation, numpy or torch at the surface.

def _to_torch(x, name: str, compute_dtype=None) -> tuple[torch.Tensor, callable]:
    """Tensor to compute with, and a function that converts a result back to the caller's array type."""
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            x = x.to(torch.get_default_dtype())
        dtype = x.dtype
        t = x.to(compute_dtype) if compute_dtype is not None else x
        return t, lambda out: out.to(dtype)
    if isinstance(x, np.ndarray):
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
        return t, lambda out: out.detach().numpy().astype(dtype, copy=False)
    raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}")


def _check_finite(x: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).nonzero()[0].tolist()
        raise ValueError(f"{name} contains NaN or inf (first at index {tuple(bad)})")


def _check_joints(joints: torch.Tensor, skeleton: Skeleton) -> None:
    j = skeleton.num_joints
    if joints.ndim not in (3, 4) or joints.shape[-2:] != (j, 3):
        raise ValueError(f"joints must have shape (T, {j}, 3) or (B, T, {j}, 3) for skeleton {skeleton.name!r}, "
                         f"got {tuple(joints.shape)}")
    if joints.shape[-3] < 1:
        raise ValueError("joints must have at least one frame")
    _check_finite(joints, "joints")


def _check_features(features: torch.Tensor, skeleton: Skeleton, finite: bool = True) -> None:
    dim = skeleton.feature_dim
    if features.ndim not in (2, 3):
        raise ValueError(f"features must have shape (T, {dim}) or (B, T, {dim}), got {tuple(features.shape)}")
    if features.shape[-1] != dim:
        hint = ""
        if (features.shape[-1] + 1) % 12 == 0:  # feature_dim is 12 J - 1
            hint = f" ({features.shape[-1]} fits {(features.shape[-1] + 1) // 12} joints; pass the matching skeleton)"
        raise ValueError(f"features have {features.shape[-1]} values per frame but skeleton {skeleton.name!r} "
                         f"({skeleton.num_joints} joints) needs {dim}{hint}")
    if features.shape[-2] < 1:
        raise ValueError("features must have at least one frame")
    if finite:
        _check_finite(features, "features")


def _yaw_quat(half_angle: torch.Tensor) -> torch.Tensor:
    """Quaternions (cos a, 0, sin a, 0): turns by 2a about +y."""
    zero = torch.zeros_like(half_angle)
    return torch.stack((torch.cos(half_angle), zero, torch.sin(half_angle), zero), dim=-1)


# ----------------------------------------------------------------------------------------------------------
# Decoder

def features_to_joints(features, skeleton: Skeleton = HUMANML3D, validate: bool = True):
    """Joint positions (..., T, J, 3) from features (T, F) or (B, T, F): HumanML3D's ``recover_from_ric``.
    `validate=False` skips the finiteness check, the one read-back (for CUDA-graph capture).

    The heading is the running sum of root_rot_vel (starting at 0), the root's ground position the running
    sum of root_lin_vel turned back into the world, and the other joints are the ric positions turned back
    into the world and moved to the root's ground position.
    """
    x, back = _to_torch(features, "features")
    _check_features(x, skeleton, validate)
    s = feature_slices(skeleton)
    heading, root = _recover_root(x, s)
    ric = x[..., s.ric].reshape(x.shape[:-1] + (skeleton.num_joints - 1, 3))
    world = Q.qrot(Q.qinv(heading)[..., None, :], ric)
    offset = torch.stack((root[..., 0], torch.zeros_like(root[..., 0]), root[..., 2]), dim=-1)
    joints = torch.cat((root[..., None, :], world + offset[..., None, :]), dim=-2)
    return back(joints)


def _recover_root(x: torch.Tensor, s: FeatureSlices) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame heading quaternions (..., T, 4) and root positions (..., T, 3)."""
    rot_vel = x[..., s.root_rot_vel.start]
    # Frame t's heading is the sum of the velocities of frames 0..t-1.
    half_angle = torch.cumsum(torch.cat((torch.zeros_like(rot_vel[..., :1]), rot_vel[..., :-1]), dim=-1), dim=-1)
    heading = _yaw_quat(half_angle)
    vel = x[..., :-1, s.root_lin_vel]
    step = torch.stack((vel[..., 0], torch.zeros_like(vel[..., 0]), vel[..., 1]), dim=-1)
    step = torch.cat((torch.zeros_like(x[..., :1, :3]), step), dim=-2)
    step = Q.qrot(Q.qinv(heading), step)
    ground = torch.cumsum(step, dim=-2)
    root = torch.stack((ground[..., 0], x[..., s.root_y.start], ground[..., 2]), dim=-1)
    return heading, root


# ----------------------------------------------------------------------------------------------------------
# Canonical frame

def _facing(joints: torch.Tensor, skeleton: Skeleton, dataset_quirk: bool = False) -> torch.Tensor:
    """Unnormalised horizontal facing direction per frame: up x across, with across the right-to-left vector
    of the hips plus that of the shoulders.

    With `dataset_quirk`, the hip vector is taken left-to-right instead. HumanML3D's inverse kinematics
    unpacks its face-joint list in a different order from its canonicalisation, so the dataset's root
    heading uses this (hips reversed) vector; we measured that only this version reproduces the released
    features. It is used for the per-frame heading only, never for the frame-0 canonical facing.
    """
    r_hip, l_hip, r_shoulder, l_shoulder = skeleton.face_joints
    hips = joints[..., r_hip, :] - joints[..., l_hip, :]
    if dataset_quirk:
        hips = -hips
    across = hips + (joints[..., r_shoulder, :] - joints[..., l_shoulder, :])
    across = across / torch.linalg.norm(across, dim=-1, keepdim=True).clamp_min(1e-12)
    # (0, 1, 0) x (ax, ay, az) = (az, 0, -ax)
    return torch.stack((across[..., 2], torch.zeros_like(across[..., 0]), -across[..., 0]), dim=-1)


def _heading_to_z(forward: torch.Tensor) -> torch.Tensor:
    """Yaw quaternions (w >= 0) turning horizontal `forward` directions onto +z.

    Built from the yaw angle rather than `qbetween`, which would pick an arbitrary (possibly tilted)
    half-turn axis when the clip faces exactly -z.
    """
    yaw = torch.atan2(forward[..., 0], forward[..., 2])
    return _yaw_quat(-0.5 * yaw)


def _canonicalize(joints: torch.Tensor, skeleton: Skeleton) -> torch.Tensor:
    floor = joints[..., 1].amin(dim=(-1, -2), keepdim=True)
    start = joints[..., :1, :1, :] * joints.new_tensor([1.0, 0.0, 1.0])
    shifted = joints - start - torch.stack((torch.zeros_like(floor), floor, torch.zeros_like(floor)), dim=-1)
    turn = _heading_to_z(_facing(shifted[..., :1, :, :], skeleton))  # (..., 1, 4)
    return Q.qrot(turn[..., None, :], shifted)


def canonicalize(joints, skeleton: Skeleton = HUMANML3D):
    """The encoder's canonical frame: lowest joint of the clip on y=0, root of frame 0 above the origin,
    frame 0 facing +z (facing = up x across vector of hips plus shoulders). Shape (..., T, J, 3) kept."""
    x, back = _to_torch(joints, "joints", torch.float64)
    _check_joints(x, skeleton)
    return back(_canonicalize(x, skeleton))


# ----------------------------------------------------------------------------------------------------------
# Encoder

def _gaussian_smooth_time(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian filter along axis -2 (time) with edge-value padding, like scipy's mode='nearest'."""
    radius = int(4.0 * sigma + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    lead, t, c = x.shape[:-2], x.shape[-2], x.shape[-1]
    flat = x.reshape(-1, t, c).transpose(1, 2).reshape(-1, 1, t)
    # Edge padding by index clamping works for any length, even when the clip is shorter than the kernel.
    idx = torch.arange(-radius, t + radius, device=x.device).clamp(0, t - 1)
    out = torch.nn.functional.conv1d(flat[..., idx], kernel.view(1, 1, -1))
    return out.reshape(-1, c, t).transpose(1, 2).reshape(lead + (t, c))


def _root_heading(joints: torch.Tensor, skeleton: Skeleton, dataset_heading: bool) -> torch.Tensor:
    """Per-frame heading quaternions (..., T, 4) turning the smoothed facing onto +z; frame 0 is identity
    (the canonical frame already faces +z there), as in HumanML3D."""
    forward = _gaussian_smooth_time(_facing(joints, skeleton, dataset_heading), FACING_SMOOTH_SIGMA)
    heading = _heading_to_z(forward)
    return torch.cat((Q.qidentity(heading.shape[:-2] + (1,), like=heading), heading[..., 1:, :]), dim=-2)


def _local_rotations(joints: torch.Tensor, heading: torch.Tensor, skeleton: Skeleton) -> torch.Tensor:
    """Swing rotations (..., T, J, 4) from rest bone directions to actual bones, chain-relative (see module doc)."""
    rest = torch.as_tensor(skeleton.raw_offsets, dtype=joints.dtype, device=joints.device)
    rots = [Q.qidentity(heading.shape[:-1], like=heading)] * skeleton.num_joints
    rots[0] = heading
    for chain in skeleton.kinematic_chains:
        accumulated = heading
        for parent, child in zip(chain[:-1], chain[1:]):
            bone = joints[..., child, :] - joints[..., parent, :]
            swing = Q.qbetween(rest[child].expand_as(bone), bone)
            rots[child] = Q.qmul(Q.qinv(accumulated), swing)
            accumulated = swing
    return torch.stack(rots, dim=-2)


def _foot_contacts(joints: torch.Tensor, skeleton: Skeleton, threshold: float) -> torch.Tensor:
    """(..., T-1, 4) 1.0 where the squared per-frame displacement of a foot joint is below `threshold`."""
    feet = list(skeleton.left_foot) + list(skeleton.right_foot)
    step = joints[..., 1:, feet, :] - joints[..., :-1, feet, :]
    return ((step * step).sum(-1) < threshold).to(joints.dtype)


def _pad_last(x: torch.Tensor) -> torch.Tensor:
    """Append a copy of the last frame (axis -2); a clip of one frame has no velocity, so pad with zeros."""
    if x.shape[-2] == 0:
        return torch.zeros(x.shape[:-2] + (1, x.shape[-1]), dtype=x.dtype, device=x.device)
    return torch.cat((x, x[..., -1:, :]), dim=-2)


def joints_to_features(joints, skeleton: Skeleton = HUMANML3D, foot_threshold: float = 0.002,
                       dataset_heading: bool = True):
    """HumanML3D features (..., T, F) of joint positions (T, J, 3) or (B, T, J, 3), metres, y up.

    Positions are first put in the canonical frame (`canonicalize`). Returns as many frames as given; the
    last frame's velocities and contacts repeat the previous frame's (see module doc).
    `dataset_heading=True` reproduces the released dataset's root heading (see `_facing`); False uses the
    geometric facing (hips and shoulders both right-to-left). Either decodes to the same joints.
    """
    x, back = _to_torch(joints, "joints", torch.float64)
    _check_joints(x, skeleton)
    pos = _canonicalize(x, skeleton)
    j = skeleton.num_joints
    heading = _root_heading(pos, skeleton, dataset_heading)         # (..., T, 4)

    ground = pos[..., :, :1, :] * pos.new_tensor([1.0, 0.0, 1.0])
    ric = Q.qrot(heading[..., None, :], pos - ground)               # (..., T, J, 3)
    rot6d = Q.qto_cont6d(_local_rotations(pos, heading, skeleton))  # (..., T, J, 6)

    turn = Q.qmul(heading[..., 1:, :], Q.qinv(heading[..., :-1, :]))
    # HumanML3D takes asin of the turn's y component as is; when the heading crosses facing -z the turn has
    # w < 0 and that gives the wrong angle (the decoder then drifts). Taking the w >= 0 representative of the
    # same rotation makes the half angle exact (mod pi); elsewhere it equals HumanML3D's value.
    sign = torch.where(turn[..., :1] < 0, -1.0, 1.0).to(turn.dtype)
    rot_vel = torch.asin((sign * turn[..., 2:3]).clamp(-1.0, 1.0))
    lin_vel = Q.qrot(heading[..., 1:, :], pos[..., 1:, 0, :] - pos[..., :-1, 0, :])[..., [0, 2]]
    local_vel = Q.qrot(heading[..., :-1, None, :], pos[..., 1:, :, :] - pos[..., :-1, :, :])
    contacts = _foot_contacts(pos, skeleton, foot_threshold)

    lead = pos.shape[:-2]
    features = torch.cat((
        _pad_last(rot_vel), _pad_last(lin_vel), ric[..., 0, 1:2],
        ric[..., 1:, :].reshape(lead + ((j - 1) * 3,)),
        rot6d[..., 1:, :].reshape(lead + ((j - 1) * 6,)),
        _pad_last(local_vel.reshape(local_vel.shape[:-2] + (j * 3,))),
        _pad_last(contacts),
    ), dim=-1)
    return back(features)


# ----------------------------------------------------------------------------------------------------------
# Mirroring

def _mirror_permutation(skeleton: Skeleton) -> np.ndarray:
    perm = skeleton.mirror_permutation
    if not np.array_equal(perm[perm], np.arange(skeleton.num_joints)) or perm[0] != 0:
        raise ValueError(f"skeleton {skeleton.name!r} has an invalid mirror permutation {perm.tolist()}")
    return perm


def mirror_joints(joints, skeleton: Skeleton = HUMANML3D):
    """Left/right mirror image of joint positions (..., J, 3): negate x and swap left and right joints."""
    x, back = _to_torch(joints, "joints")
    if x.shape[-2:] != (skeleton.num_joints, 3):
        raise ValueError(f"joints must end in ({skeleton.num_joints}, 3) for skeleton {skeleton.name!r}, "
                         f"got {tuple(x.shape)}")
    perm = torch.as_tensor(_mirror_permutation(skeleton), device=x.device)
    return back(x[..., perm, :] * x.new_tensor([-1.0, 1.0, 1.0]))


def mirror_features(features, skeleton: Skeleton = HUMANML3D):
    """Features of the mirrored motion, computed directly on the feature vector.

    Reflecting x turns yaw the other way (negate root_rot_vel and the x velocity), negates x of every
    position and velocity, maps each rotation R to S R S with S = diag(-1, 1, 1) (on the two stored columns:
    signs (+,-,-) and (-,+,+)), swaps left and right joints, and swaps the left and right foot contacts.
    """
    x, back = _to_torch(features, "features")
    _check_features(x, skeleton)
    s = feature_slices(skeleton)
    perm = torch.as_tensor(_mirror_permutation(skeleton), device=x.device)
    body = perm[1:] - 1                      # joints 1..J-1 as stored in ric and rot6d
    lead = x.shape[:-1]
    j = skeleton.num_joints

    def blocks(sl, count, width, signs, order):
        part = x[..., sl].reshape(lead + (count, width))[..., order, :]
        return (part * x.new_tensor(signs)).reshape(lead + (count * width,))

    contacts = x[..., s.contacts]
    out = torch.cat((
        -x[..., s.root_rot_vel],
        x[..., s.root_lin_vel] * x.new_tensor([-1.0, 1.0]),
        x[..., s.root_y],
        blocks(s.ric, j - 1, 3, [-1.0, 1.0, 1.0], body),
        blocks(s.rot6d, j - 1, 6, [1.0, -1.0, -1.0, -1.0, 1.0, 1.0], body),
        blocks(s.local_vel, j, 3, [-1.0, 1.0, 1.0], perm),
        contacts[..., 2:4], contacts[..., 0:2],
    ), dim=-1)
    return back(out)


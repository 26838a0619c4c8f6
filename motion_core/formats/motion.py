"""`Motion`: the value the engine hands to animators — joint positions plus the rotations that reproduce them.

A Motion carries both views of the same clip: world joint positions (what the model predicts, what metrics
use) and local joint rotations with a root path and rest offsets (what a rig and a BVH file need). The
rotations come from `rotations.joints_to_rotations`, and the constructors (`from_joints`, `from_features` and
their batched forms) keep as `joints` the forward kinematics of those rotations: ``forward_kinematics()``
equals `joints` to float32 rounding, so a rig keyed with the rotations shows the joints.

Why not keep the given joints: a rigid skeleton has one length per bone, while predicted joints stretch their
bones from frame to frame (the bundled model's by up to ~15 cm at the wrists of a spin, a few cm typically;
`benchmarks/fk_consistency.py`). Rotations cannot reproduce such joints, so the joints are projected onto the
motion's own rigid body (median bone lengths) instead: one motion, not two. HumanML3D data is already rigid
and comes back unchanged (to ~1e-6 m). ``rigid=False`` keeps the given joints as they are.

Files are ``.npz`` archives readable with ``allow_pickle=False``: arrays plus the skeleton's *name* and the
metadata as a JSON string, so loading a file can never execute code.
"""
from __future__ import annotations

import io
import json
import sys
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motion_core.formats.atomic_file import atomic_write

from motion_core.kinematics.skeleton import HUMANML3D, Skeleton, get_skeleton

__all__ = ["Motion"]

_FORMAT_VERSION = 1
_ARRAYS = ("joints", "rotations", "root_translation", "offsets")
MAX_ARRAY_BYTES = 256 << 20   # an hour at 20 fps is ~25 MB per array; anything far larger is not a Motion


@dataclass
class Motion:
    fps: float
    joints: np.ndarray            # (T, J, 3) float32 world positions, metres, y up
    rotations: np.ndarray         # (T, J, 4) float32 local (w, x, y, z) quaternions, relative to the rest pose
    root_translation: np.ndarray  # (T, 3) float32 world position of the root joint
    offsets: np.ndarray           # (J, 3) float32 rest offset of each joint from its parent
    skeleton: Skeleton = HUMANML3D
    meta: dict[str, str | float | int] = field(default_factory=dict)   # prompt, seed, model, ...

    def __post_init__(self):
        self.fps = float(self.fps)
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps}")
        for name in _ARRAYS:
            setattr(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float32))
        self.validate()
        self.meta = _check_meta(self.meta)

    def validate(self) -> None:
        """Raise ValueError (TypeError for bad meta) when the arrays or meta no longer make a valid Motion.

        Run on construction, and again by `save` and `to_bvh`: the arrays are plain, editable numpy arrays, and
        an edit that put NaN in them must be refused at write time, with the message `load` would give."""
        t = self.joints.shape[0] if np.ndim(self.joints) == 3 else None
        expected = {"joints": (t, self.skeleton.num_joints, 3), "rotations": (t, self.skeleton.num_joints, 4),
                    "root_translation": (t, 3), "offsets": (self.skeleton.num_joints, 3)}
        for name, shape in expected.items():
            array = np.asarray(getattr(self, name))
            if t is None or array.shape != shape:
                raise ValueError(f"Motion.{name} must have shape {_shape_text(shape)} for skeleton "
                                 f"{self.skeleton.name!r}, got {array.shape}")
            if array.dtype.kind not in "fiu":
                raise ValueError(f"Motion.{name} must hold numbers, got dtype {array.dtype}")
            if not np.isfinite(array).all():
                raise ValueError(f"Motion.{name} contains NaN or infinite values")
        if t == 0:
            raise ValueError("a Motion needs at least one frame")
        _check_meta(self.meta)

    # ---- constructors ----------------------------------------------------------------------------------

    @classmethod
    def from_joints(cls, joints, skeleton: Skeleton = HUMANML3D, fps: float = 20.0, meta=None, *,
                    rigid: bool = True, offsets=None, body_frames: int | None = None) -> "Motion":
        """Build a Motion from world joint positions (T, J, 3), solving the rotations by IK.

        rigid: the Motion's joints are the forward kinematics of the solved rotations (the given joints
        projected onto one rigid body, see the module doc); False keeps the given joints.
        offsets: (J, 3) rest offsets to solve on (e.g. those of a motion this one continues), instead of the
        body measured from the joints: median bone lengths over all frames, or over the first `body_frames`.
        """
        from motion_core.kinematics.rotations import checked_joints
        joints = checked_joints(joints, skeleton)
        if joints.ndim != 3:
            raise ValueError(f"joints must be (T, {skeleton.num_joints}, 3) for one clip (batch_from_joints takes "
                             f"(B, T, {skeleton.num_joints}, 3)), got {joints.shape}")
        (motion,) = cls.batch_from_joints(joints[None], skeleton, fps, [meta],
                                          rigid=rigid, offsets=None if offsets is None else np.asarray(offsets)[None],
                                          body_frames=body_frames)
        return motion

    @classmethod
    def batch_from_joints(cls, joints, skeleton: Skeleton = HUMANML3D, fps: float = 20.0,
                          metas=None, *, rigid: bool = True, offsets=None,
                          body_frames: int | None = None) -> list["Motion"]:
        """Motions from equally long clips (B, T, J, 3), their rotations solved by one batched IK pass
        (several times faster per clip than `from_joints` in a loop); `metas`: one dict per clip, or None.
        `rigid`, `offsets` ((B, J, 3), one per clip) and `body_frames`: as in `from_joints`.

        A torch tensor on a GPU is solved there (`rotations_torch`, in float64): one pass of kernels, no copy
        of the features to the host first. Anything on the host is solved by the numpy IK.
        """
        if not _is_tensor(joints):
            joints = np.asarray(joints, dtype=np.float64)
        metas = [None] * len(joints) if metas is None else list(metas)
        if joints.ndim != 4 or len(metas) != len(joints):
            raise ValueError(f"joints must be (B, T, J, 3) with one meta per clip, got {tuple(joints.shape)} "
                             f"and {len(metas)} metas")
        body_frames = _check_body_frames(body_frames)
        return cls._batch_from_solved(_solve_batch(joints, skeleton, offsets, body_frames), skeleton, fps, metas,
                                      rigid)

    @classmethod
    def batch_from_features(cls, features, skeleton: Skeleton = HUMANML3D, fps: float | None = None,
                            metas=None, solver=None, *, rigid: bool = True, offsets=None,
                            body_frames: int | None = None) -> list["Motion"]:
        """`from_features` for equally long clips (B, T, skeleton.feature_dim), with one batched IK pass
        (on the GPU when the features are a tensor there, see `batch_from_joints`). `rigid`, `offsets` and
        `body_frames`: as in `batch_from_joints`.

        `solver`, for features on a GPU: a replacement for features -> joints -> rotations there (the engine's
        CUDA-graph IK, `motion_core.kinematics.ik_graph`) returning (joints, local rotations, root
        translation, offsets) tensors, or None to have the usual path run instead. The caller's solver
        measures the body itself (`body_frames` is not passed to it); with `offsets` it is not used.
        """
        fps = skeleton.fps if fps is None else fps
        solved = None
        if solver is not None and offsets is None and _is_tensor(features) and features.device.type != "cpu":
            if metas is not None and len(metas) != len(features):   # refused before any GPU work, as the IK path is
                raise ValueError(f"one meta per clip: {len(features)} clips, {len(metas)} metas")
            solved = solver(features)
        if solved is not None:
            return cls._batch_from_solved(_host_solution(solved), skeleton, fps, metas, rigid)
        joints = _feature_joints(features, skeleton, "(B, T, {})")
        return cls.batch_from_joints(joints, skeleton, fps=fps, metas=metas, rigid=rigid, offsets=offsets,
                                     body_frames=body_frames)

    @classmethod
    def _batch_from_solved(cls, solution, skeleton: Skeleton, fps: float, metas, rigid: bool = True
                           ) -> list["Motion"]:
        joints, rotations, root, offsets = solution
        metas = [None] * len(joints) if metas is None else metas
        if rigid:   # the joints a rig keyed with these rotations shows (from the stored float32 rotations)
            from motion_core.kinematics.forward_kinematics import batch_forward_kinematics
            joints = batch_forward_kinematics(np.asarray(rotations, dtype=np.float32), root, offsets,
                                              skeleton.parents)
        return [cls(fps=fps, joints=joints[b], rotations=rotations[b], root_translation=root[b], offsets=offsets[b],
                    skeleton=skeleton, meta=dict(metas[b] or {})) for b in range(len(joints))]

    @classmethod
    def from_features(cls, features, skeleton: Skeleton = HUMANML3D, fps: float | None = None,
                      meta=None, *, rigid: bool = True, offsets=None, body_frames: int | None = None) -> "Motion":
        """Build a Motion from un-normalised HumanML3D-style features (T, skeleton.feature_dim); `rigid`,
        `offsets` and `body_frames` as in `from_joints`."""
        joints = _feature_joints(features, skeleton, "(T, {})")
        return cls.from_joints(joints, skeleton, fps=skeleton.fps if fps is None else fps, meta=meta, rigid=rigid,
                               offsets=offsets, body_frames=body_frames)

    # ---- views -----------------------------------------------------------------------------------------

    @property
    def num_frames(self) -> int:
        return self.joints.shape[0]

    @property
    def duration(self) -> float:
        """Seconds covered: frames / fps (each frame lasts 1/fps)."""
        return self.num_frames / self.fps

    def __getitem__(self, frames: slice) -> "Motion":
        """A time slice, e.g. ``motion[10:50]`` (steps allowed; the fps stays the same)."""
        if not isinstance(frames, slice):
            raise TypeError(f"Motion supports slicing frames only (motion[a:b]), got {type(frames).__name__}")
        return Motion(fps=self.fps, joints=self.joints[frames], rotations=self.rotations[frames],
                      root_translation=self.root_translation[frames], offsets=self.offsets,
                      skeleton=self.skeleton, meta=dict(self.meta))

    def forward_kinematics(self) -> np.ndarray:
        """(T, J, 3) positions rebuilt from rotations, root and offsets: what a rig will show."""
        from motion_core.kinematics.forward_kinematics import forward_kinematics
        return forward_kinematics(self.rotations.astype(np.float64), self.root_translation.astype(np.float64),
                                  self.offsets.astype(np.float64), self.skeleton.parents)

    # ---- files -----------------------------------------------------------------------------------------

    def save(self, path) -> Path:
        """Write a ``.npz`` (atomically: a crash never leaves a half-written file). Returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")   # np.savez would append it anyway; be explicit
        self.validate()   # a file that `load` would refuse must not be written
        arrays = {name: np.asarray(getattr(self, name), dtype=np.float32) for name in _ARRAYS}
        arrays.update(fps=np.float64(self.fps), skeleton=np.str_(self.skeleton.name),
                      meta=np.str_(json.dumps(self.meta)), format_version=np.int64(_FORMAT_VERSION))
        # Built in memory first (tens of MB at most, for an hour): np.savez writing straight to the file leaves its
        # ZipFile unclosed when the disk fills, and its destructor then prints a traceback to stderr.
        archive = io.BytesIO()
        np.savez(archive, **arrays)
        with atomic_write(path, "wb") as handle:
            handle.write(archive.getbuffer())
        return path

    @classmethod
    def load(cls, path) -> "Motion":
        """Read a file written by `save`, validating everything (never unpickles)."""
        path = Path(path)
        if not path.is_file():   # named precisely: "does not exist" for a folder or a device misleads
            if not path.exists():
                raise FileNotFoundError(f"no Motion file at {path}")
            kind = "a folder" if path.is_dir() else "not a regular file (a device, pipe or socket)"
            raise ValueError(f"{path} is {kind}, not a .npz Motion file")
        if not zipfile.is_zipfile(path):     # also False for a missing file; np.load would try unpickling
            raise ValueError(f"{path} is not a readable .npz Motion file")
        _check_members(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in (*_ARRAYS, "fps", "skeleton", "meta", "format_version") if k not in data]
                if missing:
                    raise ValueError(f"{path} is not a Motion file: missing {', '.join(missing)}")
                fields = {k: data[k] for k in data.files}
        except ValueError as err:
            if "allow_pickle" in str(err) or "Object arrays" in str(err):
                raise ValueError(f"{path} holds pickled objects; refusing to load it (Motion files are "
                                 f"plain arrays)") from None
            raise
        except UNREADABLE as err:
            raise ValueError(f"{path} is not a readable .npz Motion file: {err}") from None
        try:
            return cls._from_fields(path, fields)
        except (TypeError, KeyError, OverflowError) as err:     # wrong shapes/kinds of scalars, unknown skeleton
            raise ValueError(f"{path} is not a valid Motion file: {err}") from None

    @classmethod
    def _from_fields(cls, path: Path, fields: dict) -> "Motion":
        version = int(fields["format_version"])
        if version != _FORMAT_VERSION:
            raise ValueError(f"{path} has Motion format version {version}; this code reads {_FORMAT_VERSION}")
        for key in ("skeleton", "meta"):
            if fields[key].dtype.kind != "U" or fields[key].ndim != 0:
                raise ValueError(f"{path}: '{key}' must be a text scalar, got {fields[key].dtype} {fields[key].shape}")
        for key in _ARRAYS:
            if fields[key].dtype.kind != "f":
                raise ValueError(f"{path}: '{key}' must be floating point, got {fields[key].dtype}")
        try:
            meta = json.loads(str(fields["meta"]))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: 'meta' is not valid JSON: {err}") from None
        except RecursionError:   # e.g. 100,000 nested brackets: crafted, and meta is a flat dict anyway
            raise ValueError(f"{path}: 'meta' is nested too deeply to be Motion metadata") from None
        return cls(fps=float(fields["fps"]), joints=fields["joints"], rotations=fields["rotations"],
                   root_translation=fields["root_translation"], offsets=fields["offsets"],
                   skeleton=get_skeleton(str(fields["skeleton"])), meta=meta)

    def to_bvh(self, path, scale: float = 1.0, rotation_order: str = "ZXY") -> Path:
        """Write a Biovision .bvh file (see `bvh.write_bvh`)."""
        from motion_core.formats.bvh import write_bvh
        return write_bvh(self, path, scale=scale, rotation_order=rotation_order)


def _feature_joints(features, skeleton: Skeleton, layout: str):
    """World joints (float64) of features laid out as `layout` ("(T, {})" or "(B, T, {})", {} the feature size);
    a torch tensor stays a tensor on its device."""
    from motion_core.kinematics.representation import features_to_joints
    on_device = _is_tensor(features)
    features = features.double() if on_device else np.asarray(features)
    if features.ndim != layout.count(",") + 1 or features.shape[-1] != skeleton.feature_dim:
        raise ValueError(f"features must be {layout.format(skeleton.feature_dim)} for skeleton {skeleton.name!r}, "
                         f"got {tuple(features.shape)}")
    joints = features_to_joints(features, skeleton)
    return joints if on_device else np.asarray(joints, dtype=np.float64)


def _is_tensor(x) -> bool:
    """Whether x is a torch tensor, without importing torch: reading motion files (the add-on does, inside
    Blender) must not pay for it."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _solve_batch(joints, skeleton: Skeleton, offsets=None, body_frames: int | None = None) -> tuple[np.ndarray, ...]:
    """(joints, local rotations, root translation, offsets) as host arrays. Joints on a GPU are solved there
    (`rotations_torch`); host joints, tensors included, by the numpy IK, which is the faster one on a CPU.
    `offsets` (B, J, 3): the rest skeleton to solve on; else the body is measured on the first `body_frames`
    frames (all when None)."""
    if _is_tensor(joints) and joints.device.type != "cpu" and offsets is None:
        import torch
        from motion_core.kinematics.rotations_torch import joints_to_rotations_torch
        with torch.inference_mode():
            joints = joints.double()
            solved = joints_to_rotations_torch(joints, skeleton, body_frames=body_frames)
            return tuple(t.cpu().numpy() for t in (joints, *solved))
    from motion_core.kinematics.rotations import joints_to_rotations, measured_offsets
    joints = np.asarray(joints.detach().cpu() if _is_tensor(joints) else joints, dtype=np.float64)
    if offsets is None and body_frames is not None and body_frames < joints.shape[1]:
        offsets = measured_offsets(joints[:, :body_frames], skeleton)
    return (joints, *joints_to_rotations(joints, skeleton, offsets=offsets))


def _check_body_frames(body_frames):
    if body_frames is None:
        return None
    if isinstance(body_frames, bool) or not isinstance(body_frames, (int, np.integer)) or body_frames < 1:
        raise ValueError(f"body_frames must be a positive whole number of frames or None, got {body_frames!r}")
    return int(body_frames)


def _host_solution(solved) -> tuple[np.ndarray, ...]:
    """A GPU solver's (joints, rotations, root, offsets) as host arrays. Such a solver does not validate on the
    device (a read-back mid-graph); the joints are on the host now, so they are checked here as the eager path
    checks them."""
    host = tuple(t.cpu().numpy() for t in solved)
    finite = np.isfinite(host[0]).reshape(len(host[0]), -1).all(axis=1)
    if not finite.all():
        raise ValueError(f"joints contain NaN or infinite values (clips {np.flatnonzero(~finite).tolist()})")
    return host


# What reading a damaged .npz raises besides ValueError. BadZipFile: e.g. a CRC mismatch; NotImplementedError: a zip
# version or compression zipfile lacks; SyntaxError / TokenError: an array header numpy cannot parse (a flipped byte
# in "'shape': (12, 22, 4)", found by tests/test_fuzz.py).
UNREADABLE = (OSError, EOFError, zipfile.BadZipFile, NotImplementedError, SyntaxError, tokenize.TokenError)


def _check_members(path: Path) -> None:
    """Read every array's header before loading anything: numpy allocates what a header declares, so a
    crafted file claiming a terabyte-sized array (or holding objects, i.e. pickles) is refused up front."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.file_size > MAX_ARRAY_BYTES:
                    raise ValueError(f"{path}: member {info.filename!r:.80} is larger than {MAX_ARRAY_BYTES} bytes")
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    if version not in ((1, 0), (2, 0)):
                        raise ValueError(f"{path}: member {info.filename!r:.80} has unsupported .npy version {version}")
                    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                        np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(member)
                if dtype.hasobject:
                    raise ValueError(f"{path} holds pickled objects; refusing to load it (Motion files are "
                                     "plain arrays)")
                if int(np.prod(shape, dtype=object)) * dtype.itemsize > info.file_size:
                    raise ValueError(f"{path}: member {info.filename!r:.80} declares shape {shape} but holds only "
                                     f"{info.file_size} bytes")
    except UNREADABLE as err:
        raise ValueError(f"{path} is not a readable .npz Motion file: {err}") from None


def _shape_text(shape) -> str:
    return "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"


def _check_meta(meta) -> dict:
    """Metadata is a flat dict of str keys to str/int/float values, so it round-trips through JSON."""
    if not isinstance(meta, dict):
        raise TypeError(f"Motion.meta must be a dict, got {type(meta).__name__}")
    clean = {}
    for key, value in meta.items():
        if not isinstance(key, str):
            raise TypeError(f"Motion.meta keys must be strings, got {key!r}")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (str, int, float, np.integer, np.floating)):
            raise TypeError(f"Motion.meta[{key!r}] must be a str, int or float, got {type(value).__name__}")
        clean[key] = value.item() if isinstance(value, np.generic) else value
    return clean

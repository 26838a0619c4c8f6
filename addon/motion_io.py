"""Reading motion files (.npz written by motion_core's `Motion.save`) inside Blender.

When Blender can import motion_core (in-process mode, or a dev checkout on sys.path) its `Motion.load` is
used. Otherwise (subprocess mode: motion_core lives in another Python) a small reader of the same documented
format is used: plain arrays, the skeleton's name and JSON metadata, never pickles.
"""
from __future__ import annotations

import json
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .skeleton_data import humanml3d

_ARRAYS = ("joints", "rotations", "root_translation", "offsets")
_FORMAT_VERSION = 1


@dataclass
class MotionData:
    """The fields of motion_core's Motion the add-on uses."""
    fps: float
    joints: np.ndarray
    rotations: np.ndarray
    root_translation: np.ndarray
    offsets: np.ndarray
    skeleton: object
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return self.rotations.shape[0]


def load_motion(path):
    """A Motion (or MotionData) from a .npz path; clear ValueError for anything that is not a motion file."""
    try:
        from motion_core.formats.motion import Motion
    except ImportError:
        return _read_npz(Path(path))
    return Motion.load(path)


def _read_npz(path: Path) -> MotionData:
    if not path.is_file():
        raise ValueError(f"motion file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in (*_ARRAYS, "fps", "skeleton", "meta", "format_version") if k not in data]
            if missing:
                raise ValueError(f"{path} is not a motion file: missing {', '.join(missing)}")
            fields = {k: data[k] for k in data.files}
    except (OSError, EOFError, zipfile.BadZipFile, NotImplementedError, SyntaxError, tokenize.TokenError) as err:
        # as motion_core's Motion.load (motion_core.formats.motion.UNREADABLE)
        raise ValueError(f"{path} is not a readable .npz motion file: {err}") from None
    if int(fields["format_version"]) != _FORMAT_VERSION:
        raise ValueError(f"{path} has motion format version {int(fields['format_version'])}; "
                         f"this add-on reads {_FORMAT_VERSION}")
    skeleton = humanml3d()
    if str(fields["skeleton"]) != skeleton.name:
        raise ValueError(f"{path} uses skeleton {str(fields['skeleton'])!r}; the add-on supports {skeleton.name!r}")
    arrays = {k: np.asarray(fields[k], dtype=np.float32) for k in _ARRAYS}
    j = skeleton.num_joints
    if arrays["rotations"].ndim != 3 or arrays["rotations"].shape[1:] != (j, 4) or arrays["offsets"].shape != (j, 3):
        raise ValueError(f"{path}: arrays do not match the {j}-joint skeleton")
    return MotionData(fps=float(fields["fps"]), skeleton=skeleton, meta=json.loads(str(fields["meta"])), **arrays)

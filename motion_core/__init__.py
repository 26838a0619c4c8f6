"""motion_core: text-to-motion engine (Motion Mamba latent diffusion), importable without Blender.

Data flows one way: prompt -> text embedding -> latent diffusion -> VAE decode -> features
-> joints/rotations -> Motion. Heavy modules load lazily so `import motion_core` stays cheap.
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "Engine": ("motion_core.engine", "Engine"),
    "Motion": ("motion_core.formats.motion", "Motion"),
    "HUMANML3D": ("motion_core.kinematics.skeleton", "HUMANML3D"),
    "KIT": ("motion_core.kinematics.skeleton", "KIT"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'motion_core' has no attribute {name!r}")

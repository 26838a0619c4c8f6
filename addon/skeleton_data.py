"""The HumanML3D (SMPL body) skeleton, from motion_core when Blender can import it, else a bundled copy.

Blender's Python usually cannot import motion_core (subprocess mode runs it in another Python), so
build_addon.py copies motion_core/kinematics/skeleton.py (numpy only) into the package as `_vendor/skeleton.py`. One
source of truth, no hand-kept duplicate.
"""
from __future__ import annotations


def humanml3d():
    try:
        from motion_core.kinematics.skeleton import HUMANML3D
    except ImportError:
        from ._vendor.skeleton import HUMANML3D
    return HUMANML3D

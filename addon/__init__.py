"""Text to Motion: generate character animation from a text prompt (Blender 4.2+ extension).

The engine (motion_core) runs in its own Python process by default; results become actions on any
armature through rest-pose aware retargeting. Also importable in scripts as `motion_addon`.
"""
from __future__ import annotations

import sys

import bpy

from . import operators, preferences, props, session, ui

_CLASSES = (*props.CLASSES, preferences.MotionPreferences, *operators.CLASSES, *ui.CLASSES)
ALIAS = "motion_addon"


def register():
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    props.register_properties()
    # `import motion_addon.api` in the console, whatever folder Blender installed the extension in.
    sys.modules[ALIAS] = sys.modules[__name__]
    from . import api
    sys.modules[ALIAS + ".api"] = api


def unregister():
    from . import modal
    modal.abandon_active_task()
    session.shutdown_engine()
    if sys.modules.get(ALIAS) is sys.modules[__name__]:
        del sys.modules[ALIAS]
        sys.modules.pop(ALIAS + ".api", None)
    props.unregister_properties()
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)

"""Add-on preferences: how to run the engine."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, StringProperty

from .session import PACKAGE


class MotionPreferences(bpy.types.AddonPreferences):
    bl_idname = PACKAGE

    engine_mode: EnumProperty(
        name="Engine", default="SUBPROCESS",
        items=(("SUBPROCESS", "Subprocess", "Run motion_core in its own Python (recommended: torch never "
                                             "loads into Blender, a crash cannot take Blender down)"),
               ("IN_PROCESS", "In Blender", "Import motion_core into Blender's Python (needs torch there)")))
    python_path: StringProperty(name="Python", subtype="FILE_PATH",
                                description="Interpreter with motion_core installed (empty: python3 on PATH)")
    checkpoint: StringProperty(name="Checkpoint", subtype="FILE_PATH",
                               description="Model checkpoint (empty: the model shipped with motion_core)")
    device: EnumProperty(name="Device", default="auto",
                         items=(("auto", "Auto", "Best available"), ("cpu", "CPU", ""),
                                ("cuda", "CUDA", "NVIDIA GPU"), ("mps", "MPS", "Apple GPU")))
    motion_core_path: StringProperty(name="motion_core folder", subtype="DIR_PATH",
                                     description="Optional source checkout containing motion_core/")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "engine_mode", expand=True)
        if self.engine_mode == "SUBPROCESS":
            layout.prop(self, "python_path")
        layout.prop(self, "checkpoint")
        layout.prop(self, "device")
        layout.prop(self, "motion_core_path")

"""The 'Motion' tab of the 3D viewport sidebar."""
from __future__ import annotations

import bpy

from . import generation, modal, takes
from .props import target_armature


class MOTION_UL_bone_map(bpy.types.UIList):
    """One row per joint: the joint name and a search field over the target armature's bones."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0):
        row = layout.row(align=True)
        row.label(text=item.joint, icon="BONE_DATA" if item.bone else "ERROR")
        obj = target_armature(context)
        if obj is not None:
            row.prop_search(item, "bone", obj.data, "bones", text="")
        else:
            row.prop(item, "bone", text="")


class MOTION_UL_timeline(bpy.types.UIList):
    """One row per timeline segment: its prompt and its duration, both editable in place."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0):
        row = layout.row(align=True)
        row.label(text=f"{index + 1}.")
        row.prop(item, "prompt", text="", emboss=False)
        sub = row.row(align=True)
        sub.ui_units_x = 3.5
        sub.prop(item, "seconds", text="")


def _wrapped(layout, text: str, icon: str, width: int = 48) -> None:
    """A long message as several labels (panels do not wrap text), the icon on the first line."""
    col = layout.column(align=True)
    words, line, first = text.split(), "", True
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            col.label(text=line, icon=icon if first else "BLANK1")
            line, first = word, False
        else:
            line = f"{line} {word}".strip()
    if line:
        col.label(text=line, icon=icon if first else "BLANK1")


class _MotionPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Motion"


class VIEW3D_PT_motion(_MotionPanel, bpy.types.Panel):
    bl_label = "Text to Motion"

    def draw(self, context):
        s = context.scene.motion_settings
        layout = self.layout
        layout.prop(s, "prompt", text="")
        col = layout.column(align=True)
        row = col.row(align=True)
        duration = row.row(align=True)
        duration.enabled = not s.auto_length   # shown greyed so the row keeps its place when toggled
        duration.prop(s, "seconds")
        row.prop(s, "auto_length", text="Auto", toggle=True)
        row = col.row(align=True)
        row.prop(s, "seed")
        row.operator("motion.new_seed", text="", icon="FILE_REFRESH")
        col.prop(s, "guidance")
        col.prop(s, "steps")
        col.prop(s, "takes")
        row = col.row(align=True)
        row.prop(s, "foot_cleanup")
        row.prop(s, "smooth_joins")
        row = col.row(align=True)
        row.prop(s, "loop")
        row.prop(s, "in_order")
        layout.prop(s, "target")
        if s.target is None:
            layout.operator("motion.create_smpl_armature", icon="ARMATURE_DATA")
        layout.prop(s, "start_frame")
        task = modal.active_task()
        if task is not None:
            layout.label(text=f"{task.percent}% {task.job.message}", icon="TIME")
        row = layout.row(align=True)
        row.scale_y = 1.4
        row.operator("motion.generate", icon="PLAY")
        row = layout.row(align=True)
        row.operator("motion.extend", icon="FORWARD")
        row.prop(s, "extend_seconds", text="")
        enabled = generation.active_take(s.target) is not None if s.target is not None else False
        row.enabled = enabled


class VIEW3D_PT_motion_takes(_MotionPanel, bpy.types.Panel):
    bl_label = "Takes"
    bl_parent_id = "VIEW3D_PT_motion"

    @classmethod
    def poll(cls, context):
        return context.scene.motion_settings.target is not None

    def draw(self, context):
        obj = context.scene.motion_settings.target
        active = generation.active_take(obj)
        found = takes.takes_of(obj)
        if not found:
            self.layout.label(text="No takes yet")
        for action in found:
            row = self.layout.row()
            op = row.operator("motion.use_take", text=action.name,
                              icon="RADIOBUT_ON" if action == active else "RADIOBUT_OFF", depress=action == active)
            op.action = action.name
        warning = active.get(takes.WARNINGS_PROP) if active is not None else None
        read_as = active.get(takes.READ_AS_PROP) if active is not None else None
        played_as = active.get(takes.PLAYED_AS_PROP) if active is not None else None
        if warning or read_as or played_as:   # the active take's report: "the bundled model has not learned ..."
            box = self.layout.box()
            for part in str(warning or "").split("; "):
                if part:
                    box.label(text=part, icon="ERROR")
            for note in (played_as, read_as):   # how the prompt was understood: its clauses, its unseen words
                if note:
                    box.label(text=str(note), icon="INFO")


class VIEW3D_PT_motion_timeline(_MotionPanel, bpy.types.Panel):
    """Several prompts played in order as one continuous take (any length up to an hour)."""
    bl_label = "Timeline"
    bl_parent_id = "VIEW3D_PT_motion"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        s = context.scene.motion_settings
        layout = self.layout
        row = layout.row()
        row.template_list("MOTION_UL_timeline", "", s, "timeline", s, "timeline_index", rows=4)
        col = row.column(align=True)
        col.operator("motion.timeline_add", text="", icon="ADD")
        col.operator("motion.timeline_remove", text="", icon="REMOVE")
        col.separator()
        col.operator("motion.timeline_move", text="", icon="TRIA_UP").direction = "UP"
        col.operator("motion.timeline_move", text="", icon="TRIA_DOWN").direction = "DOWN"
        total = sum(item.seconds for item in s.timeline)
        layout.label(text=f"{len(s.timeline)} segment(s), {total:.1f} s")
        row = layout.row()
        row.operator("motion.generate_timeline", icon="SEQUENCE")
        row.enabled = len(s.timeline) > 0


class VIEW3D_PT_motion_guides(_MotionPanel, bpy.types.Panel):
    """Issue 23: start from the character's pose, follow a path, reach pinned poses."""
    bl_label = "Pose, Path and Pins"
    bl_parent_id = "VIEW3D_PT_motion"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        s = context.scene.motion_settings
        layout = self.layout
        layout.prop(s, "from_pose")
        layout.prop(s, "path_object")
        obj = target_armature(context)
        row = layout.row(align=True)
        row.operator("motion.pin_pose", icon="PINNED")
        row.prop(s, "use_pins", text="Use")
        if obj is None:
            return
        pins = obj.motion_retarget.pins
        if not pins:
            layout.label(text="No pinned poses")
        for i, pin in enumerate(pins):
            row = layout.row(align=True)
            row.label(text=f"Frame {pin.frame}", icon="PINNED")
            row.operator("motion.pin_remove", text="", icon="X").index = i


class VIEW3D_PT_motion_retarget(_MotionPanel, bpy.types.Panel):
    bl_label = "Bone Map"
    bl_parent_id = "VIEW3D_PT_motion"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return target_armature(context) is not None

    def draw(self, context):
        obj = context.scene.motion_settings.target
        r = obj.motion_retarget
        layout = self.layout
        row = layout.row()
        row.operator("motion.auto_map", icon="AUTOMERGE_ON")
        name, why, warnings = takes.map_explanation(obj)
        if r.map_name:      # the stored map (Auto Map Bones, maybe edited since)
            row.label(text=r.map_name)
            _wrapped(layout, r.map_reason or why, "INFO")
        else:               # nothing stored yet: takes use the automatic map, say which
            row.label(text=f"{name} (automatic)")
            _wrapped(layout, why, "INFO")
        for warning in warnings:
            _wrapped(layout, warning, "ERROR")
        layout.template_list("MOTION_UL_bone_map", "", r, "bone_map", r, "bone_map_index", rows=6)
        layout.prop_search(r, "root_bone", obj.data, "bones")
        layout.prop(r, "in_place")


CLASSES = (MOTION_UL_bone_map, MOTION_UL_timeline, VIEW3D_PT_motion, VIEW3D_PT_motion_takes,
           VIEW3D_PT_motion_timeline, VIEW3D_PT_motion_guides, VIEW3D_PT_motion_retarget)

"""Operators behind the panel buttons.

Generate, Extend and Generate Timeline are modal when invoked from the UI: the job runs on another thread (or
process) and a window-manager timer calls `GenerationTask.step` until it is done, so Blender never freezes; Esc
cancels.
Run with `execute` (scripts, background mode) they block until the takes exist.
"""
from __future__ import annotations

import time

import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty

from . import armature, generation, modal, session, takes
from .props import target_armature

_TIMER_S = 0.1


class _JobOperator:
    """Shared modal/blocking driver; subclasses implement `submit(context) -> GenerationTask`."""
    bl_options = {"REGISTER", "UNDO"}
    _timer = None
    _task = None

    @classmethod
    def poll(cls, context):
        if modal.active_task() is not None:
            cls.poll_message_set("a generation is already running; wait for it or press Esc to cancel it")
            return False
        return context.scene is not None

    def submit(self, context):
        raise NotImplementedError

    def _start(self, context):
        try:
            return self.submit(context)
        except Exception as exc:   # bad input or an engine that cannot start: tell the user, change nothing
            self.report({"ERROR"}, str(exc))
            return None

    def execute(self, context):
        task = self._start(context)
        if task is None:
            return {"CANCELLED"}
        while task.step() == modal.RUNNING:
            time.sleep(0.05)
        return self._finish(context, task)

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        task = self._start(context)
        if task is None:
            return {"CANCELLED"}
        self._task = task
        self._timer = context.window_manager.event_timer_add(_TIMER_S, window=context.window)
        context.window_manager.modal_handler_add(self)
        modal.begin_progress(context)
        modal.show_progress(context, task)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            self._task.cancel()
            modal.show_progress(context, self._task)
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        if self._task.step() == modal.RUNNING:
            modal.show_progress(context, self._task)
            return {"RUNNING_MODAL"}
        context.window_manager.event_timer_remove(self._timer)
        modal.clear_progress(context)
        return self._finish(context, self._task)

    def _finish(self, context, task):
        if task.status == modal.FINISHED:
            names = ", ".join(a.name for a in task.actions)
            self.report({"INFO"}, f"created {len(task.actions)} take(s): {names}")
            for warning in task.warnings:
                self.report({"WARNING"}, warning)
            for area in getattr(context.screen, "areas", ()):
                area.tag_redraw()
            return {"FINISHED"}
        if task.status == modal.CANCELLED:
            self.report({"WARNING"}, "generation cancelled")
        else:
            self.report({"ERROR"}, task.error or "generation failed")
        return {"CANCELLED"}


def _engine(context):
    settings = session.settings_from_preferences(context)
    return session.get_engine(settings), settings


class MOTION_OT_generate(_JobOperator, bpy.types.Operator):
    bl_idname = "motion.generate"
    bl_label = "Generate"
    bl_description = "Generate takes of the prompt onto the target armature (Esc cancels)"

    def submit(self, context):
        s = context.scene.motion_settings
        engine, settings = _engine(context)
        seconds = None if s.auto_length else s.seconds   # None: the model predicts each prompt's length
        return generation.submit_generate(engine, settings, s.target, context.scene, s.prompt, seconds, s.seed,
                                          s.guidance, s.steps, s.takes, s.start_frame, foot_cleanup=s.foot_cleanup,
                                          loop=s.loop, path=s.path_object, pins=s.use_pins,
                                          from_pose=s.from_pose, in_order=s.in_order)


class MOTION_OT_extend(_JobOperator, bpy.types.Operator):
    bl_idname = "motion.extend"
    bl_label = "Extend"
    bl_description = "Continue the active take with the prompt for the 'Extend by' seconds"

    def submit(self, context):
        s = context.scene.motion_settings
        engine, settings = _engine(context)
        return generation.submit_extend(engine, settings, s.target, context.scene, s.prompt, s.extend_seconds,
                                        s.seed, s.guidance, s.steps, foot_cleanup=s.foot_cleanup,
                                        smooth_joins=s.smooth_joins)


class MOTION_OT_generate_timeline(_JobOperator, bpy.types.Operator):
    bl_idname = "motion.generate_timeline"
    bl_label = "Generate Timeline"
    bl_description = "Generate one continuous take playing the timeline's segments in order (Esc cancels)"

    def submit(self, context):
        s = context.scene.motion_settings
        engine, settings = _engine(context)
        segments = [(item.prompt, item.seconds) for item in s.timeline]
        return generation.submit_timeline(engine, settings, s.target, context.scene, segments, s.seed,
                                          s.guidance, s.steps, s.start_frame, foot_cleanup=s.foot_cleanup,
                                          smooth_joins=s.smooth_joins, path=s.path_object, pins=s.use_pins)


class MOTION_OT_timeline_add(bpy.types.Operator):
    bl_idname = "motion.timeline_add"
    bl_label = "Add Segment"
    bl_description = "Add a timeline segment after the active one (starting from the panel's prompt)"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        s = context.scene.motion_settings
        item = s.timeline.add()
        item.prompt = s.prompt
        index = min(s.timeline_index + 1, len(s.timeline) - 1) if len(s.timeline) > 1 else 0
        s.timeline.move(len(s.timeline) - 1, index)
        s.timeline_index = index
        return {"FINISHED"}


class MOTION_OT_timeline_remove(bpy.types.Operator):
    bl_idname = "motion.timeline_remove"
    bl_label = "Remove Segment"
    bl_description = "Remove the active timeline segment"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and len(context.scene.motion_settings.timeline) > 0

    def execute(self, context):
        s = context.scene.motion_settings
        s.timeline.remove(min(s.timeline_index, len(s.timeline) - 1))
        s.timeline_index = max(0, min(s.timeline_index, len(s.timeline) - 1))
        return {"FINISHED"}


class MOTION_OT_timeline_move(bpy.types.Operator):
    bl_idname = "motion.timeline_move"
    bl_label = "Move Segment"
    bl_description = "Move the active timeline segment earlier or later"
    bl_options = {"REGISTER", "UNDO"}

    direction: EnumProperty(items=(("UP", "Up", "Earlier"), ("DOWN", "Down", "Later")))

    def execute(self, context):
        s = context.scene.motion_settings
        target = s.timeline_index + (-1 if self.direction == "UP" else 1)
        if not 0 <= target < len(s.timeline):
            return {"CANCELLED"}
        s.timeline.move(s.timeline_index, target)
        s.timeline_index = target
        return {"FINISHED"}


class MOTION_OT_new_seed(bpy.types.Operator):
    bl_idname = "motion.new_seed"
    bl_label = "New Seed"
    bl_description = "Pick a random seed for a different variation"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        context.scene.motion_settings.seed = generation.new_seed()
        return {"FINISHED"}


class MOTION_OT_create_smpl_armature(bpy.types.Operator):
    bl_idname = "motion.create_smpl_armature"
    bl_label = "Create SMPL Armature"
    bl_description = "Add a 22-bone armature matching the generated skeleton and make it the target"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        if context.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        obj = armature.create_smpl_armature(context, location=tuple(context.scene.cursor.location))
        context.scene.motion_settings.target = obj
        fill_bone_map(obj)
        return {"FINISHED"}


def fill_bone_map(obj) -> str:
    """Store the automatic joint -> bone map on the armature (the panel list edits it)."""
    name, mapping = armature.auto_bone_map(obj)
    settings = obj.motion_retarget
    settings.bone_map.clear()
    from .retarget import SMPL_JOINTS, find_root_bone
    for joint in SMPL_JOINTS:
        item = settings.bone_map.add()
        item.joint, item.bone = joint, mapping.get(joint, "")
    rig = armature.rig_rest(obj)
    settings.root_bone = find_root_bone(rig.bone_names, rig.parents, mapping.get("pelvis")) or ""
    from .rigify import is_generated_rigify
    if is_generated_rigify(obj):
        settings.root_bone = ""    # root motion rides on the torso control
    name, why, _warnings = takes.map_explanation(obj, mapping)
    settings.map_name, settings.map_reason = name, why
    return name


class MOTION_OT_auto_map(bpy.types.Operator):
    bl_idname = "motion.auto_map"
    bl_label = "Auto Map Bones"
    bl_description = "Guess which bone each joint drives (Mixamo, Rigify, Unreal, SMPL names or by heuristics)"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return target_armature(context) is not None

    def execute(self, context):
        obj = context.scene.motion_settings.target
        name = fill_bone_map(obj)
        mapped = sum(1 for item in obj.motion_retarget.bone_map if item.bone)
        self.report({"INFO"}, f"{mapped}/22 joints mapped ({name})")
        return {"FINISHED"}


class MOTION_OT_use_take(bpy.types.Operator):
    bl_idname = "motion.use_take"
    bl_label = "Use Take"
    bl_description = "Make this take the armature's active action (the current one goes back to the NLA)"
    bl_options = {"REGISTER", "UNDO"}

    action: StringProperty()

    def execute(self, context):
        obj = context.scene.motion_settings.target
        action = bpy.data.actions.get(self.action)
        if obj is None or action is None:
            self.report({"ERROR"}, "no such take or no target armature")
            return {"CANCELLED"}
        takes.use_take(obj, action)
        return {"FINISHED"}


class MOTION_OT_pin_pose(bpy.types.Operator):
    bl_idname = "motion.pin_pose"
    bl_label = "Pin Current Pose"
    bl_description = ("Store the target armature's pose at the current frame as a pin: Generate asks the engine "
                      "to reach it at this frame")
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return target_armature(context) is not None

    def execute(self, context):
        from . import rig_pose
        obj = target_armature(context)
        try:
            pin = rig_pose.pin_pose(obj, context.scene)
        except ValueError as exc:       # e.g. the hips are not mapped
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"pinned the pose of {obj.name!r} at frame {pin.frame}")
        return {"FINISHED"}


class MOTION_OT_pin_remove(bpy.types.Operator):
    bl_idname = "motion.pin_remove"
    bl_label = "Remove Pin"
    bl_description = "Remove this pinned pose"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(default=-1)

    def execute(self, context):
        obj = target_armature(context)
        pins = obj.motion_retarget.pins if obj is not None else None
        if pins is None or not 0 <= self.index < len(pins):
            return {"CANCELLED"}
        pins.remove(self.index)
        return {"FINISHED"}


CLASSES = (MOTION_OT_generate, MOTION_OT_extend, MOTION_OT_generate_timeline, MOTION_OT_timeline_add,
           MOTION_OT_timeline_remove, MOTION_OT_timeline_move, MOTION_OT_new_seed, MOTION_OT_create_smpl_armature,
           MOTION_OT_auto_map, MOTION_OT_use_take, MOTION_OT_pin_pose, MOTION_OT_pin_remove)

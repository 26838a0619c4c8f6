"""Properties the panel edits: generation settings on the scene, retarget settings on each armature."""
from __future__ import annotations

import bpy
from bpy.props import (BoolProperty, CollectionProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)


def _is_armature(_self, obj) -> bool:
    return obj.type == "ARMATURE"


def target_armature(context):
    """The panel's target object when it is (still) an armature, else None."""
    obj = context.scene.motion_settings.target
    return obj if obj is not None and obj.type == "ARMATURE" else None


class MotionBoneMapItem(bpy.types.PropertyGroup):
    joint: StringProperty(name="Joint", description="Joint of the generated (SMPL) skeleton")
    bone: StringProperty(name="Bone", description="Bone of this armature driven by the joint (empty: unused)")


def _is_path_source(_self, obj) -> bool:
    return obj.type in ("CURVE", "EMPTY")


class MotionPin(bpy.types.PropertyGroup):
    """A pose the character must reach at a frame (issue 23): the armature's pose there, as engine joints."""
    frame: IntProperty(name="Frame", description="Scene frame the pose is pinned at")
    joints: StringProperty(name="Joints", description="22 engine joints [[x, y, z], ...] (metres, y up), JSON")


class MotionRetargetSettings(bpy.types.PropertyGroup):
    bone_map: CollectionProperty(type=MotionBoneMapItem)
    bone_map_index: IntProperty(default=0)
    map_name: StringProperty(name="Map", description="Which naming convention the automatic map recognised")
    map_reason: StringProperty(name="Why", description="Why the automatic map chose this convention")
    in_place: BoolProperty(name="In place", description="Drop horizontal root motion (keep the hips height)",
                           default=False)
    root_bone: StringProperty(name="Root bone",
                              description="Bone carrying the horizontal root motion (empty: on the hips)")
    pins: CollectionProperty(type=MotionPin, description="Poses pinned at frames, sent with Generate")
    pins_index: IntProperty(default=0)


class MotionTimelineSegment(bpy.types.PropertyGroup):
    """One row of the timeline: what happens next and for how long."""
    prompt: StringProperty(name="Prompt", description="What the character does in this segment",
                           default="a person walks forward")
    seconds: FloatProperty(name="Duration", description="Length of this segment", default=3.0, min=0.5,
                           soft_max=30.0, max=3600.0, unit="TIME_ABSOLUTE", subtype="TIME_ABSOLUTE")


class MotionSceneSettings(bpy.types.PropertyGroup):
    prompt: StringProperty(name="Prompt", description="What the character should do",
                           default="a person walks forward and waves")
    auto_length: BoolProperty(name="Auto length",
                              description="The model chooses each prompt's length (off: use Duration)",
                              default=True)
    seconds: FloatProperty(name="Duration", description="Length of each take when Auto length is off",
                           default=4.0, min=0.5, soft_max=10.0, max=30.0, unit="TIME_ABSOLUTE",
                           subtype="TIME_ABSOLUTE")
    seed: IntProperty(name="Seed", description="Same prompt and seed give the same motion", default=0, min=0)
    guidance: FloatProperty(name="Guidance", description="How strictly to follow the prompt", default=7.5,
                            min=0.0, soft_max=15.0)
    # 10: the bundled model scores the same at 10 steps as at 20 (FID, R-precision, action checks; see the
    # README's "Speed settings") in half the time.
    steps: IntProperty(name="Steps", description="Denoising steps (more: slower; the bundled model needs 10)",
                       default=10, min=1, max=1000)
    takes: IntProperty(name="Takes", description="Variations to generate", default=1, min=1, max=16)
    foot_cleanup: BoolProperty(name="Clean feet", default=True,
                               description="Lock planted feet with leg IK and keep them above the ground "
                                           "(off: the feet exactly as the model made them)")
    smooth_joins: BoolProperty(name="Smooth joins", default=True,
                               description="Take the pop out of timeline joins and extend seams (off: the steps "
                                           "there exactly as sampled)")
    loop: BoolProperty(name="Loop", default=False,
                       description="Make takes seamless on repeat and add Cycles modifiers to their F-curves "
                                   "(walk cycles, idles, dances)")
    in_order: BoolProperty(name="In order", default=True,
                           description="Play a prompt that tells actions in order (\"jumps, then waves\") as one "
                                       "take of its clauses, each at its own length (off: the whole prompt at once)")
    target: PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature,
                            description="Armature receiving the motion")
    start_frame: IntProperty(name="Start frame", default=1)
    from_pose: BoolProperty(name="From current pose", default=False,
                            description="When the armature is already animated before the start frame, continue "
                                        "from its pose there (keys only the new frames, no pop)")
    path_object: PointerProperty(name="Path", type=bpy.types.Object, poll=_is_path_source,
                                 description="Curve (or animated empty) the character follows (empty: no path)")
    use_pins: BoolProperty(name="Use pins", default=True,
                           description="Send the armature's pinned poses with Generate")
    extend_seconds: FloatProperty(name="Extend by", description="Seconds added by Extend", default=2.0,
                                  min=0.5, max=30.0, unit="TIME_ABSOLUTE", subtype="TIME_ABSOLUTE")
    timeline: CollectionProperty(type=MotionTimelineSegment,
                                 description="Segments played in order as one continuous take")
    timeline_index: IntProperty(name="Active segment", default=0, min=0)


CLASSES = (MotionBoneMapItem, MotionPin, MotionRetargetSettings, MotionTimelineSegment, MotionSceneSettings)


def register_properties() -> None:
    bpy.types.Scene.motion_settings = PointerProperty(type=MotionSceneSettings)
    bpy.types.Object.motion_retarget = PointerProperty(type=MotionRetargetSettings)


def unregister_properties() -> None:
    del bpy.types.Object.motion_retarget
    del bpy.types.Scene.motion_settings

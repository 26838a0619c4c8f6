"""Armatures on the Blender side: read a rig's rest state for retargeting, build the SMPL armature."""
from __future__ import annotations

import bpy
import numpy as np

from . import retarget
from .skeleton_data import humanml3d

SMPL_TAG = "motion_skeleton"   # custom property marking armatures built by `create_smpl_armature`


def rig_rest(obj) -> retarget.RigRest:
    """The armature's bones (parents first), their rest matrices and the object's world rotation."""
    if obj is None or obj.type != "ARMATURE":
        raise ValueError(f"{getattr(obj, 'name', obj)!r} is not an armature object")
    ordered = []
    seen = set()

    def visit(bone):
        ordered.append(bone)
        seen.add(bone.name)
        for child in bone.children:
            visit(child)

    for bone in obj.data.bones:
        if bone.parent is None:
            visit(bone)
    index = {b.name: i for i, b in enumerate(ordered)}
    rest = np.array([np.array(b.matrix_local) for b in ordered]).reshape(-1, 4, 4)
    world = np.array(obj.matrix_world.to_3x3().normalized())
    return retarget.RigRest([b.name for b in ordered],
                            [index[b.parent.name] if b.parent else -1 for b in ordered], rest, world)


def standing_rest_positions(skeleton) -> np.ndarray:
    """(J, 3) rest joints in Blender axes with the feet on the floor (z = 0)."""
    pos = skeleton.rest_positions() @ retarget.MOTION_TO_BLENDER.T
    pos[:, 2] -= pos[:, 2].min()
    return pos


def create_smpl_armature(context, name: str = "SMPL", location=(0.0, 0.0, 0.0)):
    """A 22-bone armature in the HumanML3D rest pose (arms down, feet forward, facing -y), bones named by
    joint. Each bone runs from its joint towards the central-most child (see retarget), leaves continue
    their parent bone's direction, so the rig mirrors the motion's own bone directions exactly."""
    skel = humanml3d()
    pos = standing_rest_positions(skel)
    offsets = skel.rest_offsets @ retarget.MOTION_TO_BLENDER.T
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    obj.location = location
    (context.collection or context.scene.collection).objects.link(obj)
    obj[SMPL_TAG] = skel.name
    context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        bones = []
        for j, joint in enumerate(skel.joint_names):
            bone = data.edit_bones.new(joint)
            children = skel.children(j)
            if children:
                tip = offsets[min(children, key=lambda c: abs(offsets[c, 0]))]
            else:
                tip = offsets[j] / max(np.linalg.norm(offsets[j]), 1e-9) * 0.08
            bone.head = pos[j]
            bone.tail = pos[j] + tip
            bone.roll = 0.0
            if skel.parents[j] >= 0:
                bone.parent = bones[skel.parents[j]]
            bones.append(bone)
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
    for pb in obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    obj.select_set(True)
    return obj


def auto_bone_map(obj) -> tuple[str, dict[str, str]]:
    """(map name, joint -> bone) for an armature object."""
    rig = rig_rest(obj)
    return retarget.auto_map(rig.bone_names, rig.parents)

"""Rigs the project did not build, made under real bpy, and the evaluated-pose comparison with the engine's joints.

Shared by tests/test_addon_real_rigs.py and benchmarks/rig_accuracy.py (import after bpy is available):

* `rigify_rig`: Blender's bundled Rigify, Human metarig -> Generate Rig (706 bones, constraint-driven DEF bones);
* `mixamo_fbx_rig`: an armature with Mixamo names exported with `export_scene.fbx` and re-imported with
  `import_scene.fbx` (the importer's 0.01 scale / axis rotation, `_end` leaf bones);
* `unreal_rig`: UE4/UE5 mannequin names and layout in centimetres, A-pose arms, facing +y, root bone, twist
  bones, and bone tails that do not point at the child (Unreal's X-along-bone axes imported as Blender's Y).

`evaluate` keys a take with the add-on, steps through the scene's frames (constraints and drivers evaluated)
and compares the rig's hands, ankles and head with the engine's joints relative to the hips, in body heights,
and the hips' path with the pelvis path scaled by leg length.
"""
from __future__ import annotations

import os
import tempfile

import bpy
import numpy as np

from addon import armature, retarget, takes

C = retarget.MOTION_TO_BLENDER
POINTS = ("left_wrist", "right_wrist", "left_ankle", "right_ankle", "head")


def enable_rigify() -> None:
    """The bundled Rigify add-on (a legacy add-on module in bpy 5.0.1: `rigify`)."""
    import addon_utils
    if not addon_utils.check("rigify")[1]:
        bpy.ops.preferences.addon_enable(module="rigify")


def rigify_rig(scene=None):
    """A freshly generated Rigify human (about 15 s on one core). Returns the generated rig object."""
    enable_rigify()
    scene = scene or bpy.context.scene
    bpy.ops.object.armature_human_metarig_add()
    metarig = bpy.context.active_object
    bpy.ops.pose.rigify_generate()
    rig = bpy.context.active_object
    assert rig is not metarig and rig.type == "ARMATURE"
    metarig.hide_set(True)
    bpy.ops.object.mode_set(mode="OBJECT")
    return rig


def rigify_metarig(scene=None):
    """Rigify's human meta-rig as Add > Armature > Human makes it (bones "spine" .. "spine.006", "thigh.L", and
    side bones such as "pelvis.L"), used as a simple rig without generating."""
    enable_rigify()
    bpy.ops.object.armature_human_metarig_add()
    bpy.ops.object.mode_set(mode="OBJECT")
    return bpy.context.active_object


def _build(name, spec, rolls=None):
    """Armature from [(bone, parent, head, tail)] in metres/armature units."""
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for i, (bone, parent, head, tail) in enumerate(spec):
        eb = data.edit_bones.new(bone)
        eb.head, eb.tail = head, tail
        eb.roll = float(rolls[i]) if rolls is not None else 0.0
        if parent:
            eb.parent = data.edit_bones[parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    bpy.context.view_layer.update()
    return obj


def mixamo_spec(prefix="mixamorig:"):
    """A Mixamo-proportioned T-pose body facing -y (Blender), metres."""
    spec = [("Hips", None, (0, 0, 1.0), (0, 0, 1.1)), ("Spine", "Hips", (0, 0, 1.1), (0, 0, 1.22)),
            ("Spine1", "Spine", (0, 0, 1.22), (0, 0, 1.34)), ("Spine2", "Spine1", (0, 0, 1.34), (0, 0, 1.5)),
            ("Neck", "Spine2", (0, 0, 1.5), (0, 0.01, 1.6)), ("Head", "Neck", (0, 0.01, 1.6), (0, 0.01, 1.8))]
    for side, s in (("Left", 1.0), ("Right", -1.0)):
        sh, el, wr = (s * 0.18, 0, 1.47), (s * 0.46, 0, 1.47), (s * 0.72, 0, 1.47)
        spec += [(f"{side}Shoulder", "Spine2", (s * 0.05, 0, 1.45), sh), (f"{side}Arm", f"{side}Shoulder", sh, el),
                 (f"{side}ForeArm", f"{side}Arm", el, wr), (f"{side}Hand", f"{side}ForeArm", wr, (s * 0.8, 0, 1.47)),
                 (f"{side}UpLeg", "Hips", (s * 0.1, 0, 0.98), (s * 0.1, 0, 0.55)),
                 (f"{side}Leg", f"{side}UpLeg", (s * 0.1, 0, 0.55), (s * 0.1, 0.01, 0.1)),
                 (f"{side}Foot", f"{side}Leg", (s * 0.1, 0.01, 0.1), (s * 0.1, -0.12, 0.02)),
                 (f"{side}ToeBase", f"{side}Foot", (s * 0.1, -0.12, 0.02), (s * 0.1, -0.2, 0.02))]
    return [(prefix + b, prefix + p if p else None, h, t) for b, p, h, t in spec]


def mixamo_fbx_rig(workdir=None):
    """A Mixamo-named armature round-tripped through Blender's FBX exporter and importer, laid out as Mixamo's
    files are (centimetre bones, y up inside the armature, object turned 90 degrees about x and scaled 0.01),
    with random bone rolls. The re-import has the same object transform and adds `_end` leaf bones."""
    def y_up_cm(p):
        return (100 * p[0], 100 * p[2], -100 * p[1])

    spec = [(b, p, y_up_cm(h), y_up_cm(t)) for b, p, h, t in mixamo_spec()]
    src = _build("MixamoSource", spec, rolls=np.random.default_rng(5).uniform(-np.pi, np.pi, len(spec)))
    src.rotation_euler = (np.pi / 2, 0.0, 0.0)
    src.scale = (0.01,) * 3
    workdir = workdir or tempfile.mkdtemp()
    path = os.path.join(workdir, "mixamo.fbx")
    bpy.ops.object.select_all(action="DESELECT")
    src.select_set(True)
    bpy.context.view_layer.objects.active = src
    bpy.ops.export_scene.fbx(filepath=path, use_selection=True, object_types={"ARMATURE"}, add_leaf_bones=True)
    bpy.data.objects.remove(src)
    before = set(bpy.data.objects)
    bpy.ops.import_scene.fbx(filepath=path)
    (obj,) = [o for o in bpy.data.objects if o not in before and o.type == "ARMATURE"]
    bpy.context.view_layer.update()
    return obj


def unreal_spec(ue5=False):
    """UE mannequin names and layout (cm), A-pose arms, facing +y, tails sideways (X-along-bone axes)."""
    spines = [f"spine_0{i}" for i in range(1, 6 if ue5 else 4)]
    z = np.linspace(105, 145, len(spines) + 1)
    spec = [("root", None, (0, 0, 0), (0, 0, 10)), ("pelvis", "root", (0, 0, 97), (0, 8, 97))]
    parent = "pelvis"
    for name, z0 in zip(spines, z):
        spec.append((name, parent, (0, 1, z0), (0, 9, z0)))
        parent = name
    necks = ["neck_01", "neck_02"] if ue5 else ["neck_01"]
    nz = np.linspace(152, 160, len(necks) + 1)
    p = parent
    for name, z0 in zip(necks, nz):
        spec.append((name, p, (0, 2, z0), (0, 10, z0)))
        p = name
    spec.append(("head", p, (0, 2, 162), (0, 10, 162)))
    a = np.array([np.cos(0.7), 0.0, -np.sin(0.7)])
    for side, s in (("l", 1.0), ("r", -1.0)):
        sh = np.array([s * 17, 3, 147.0])
        el = sh + 29 * a * [s, 1, 1]
        wr = el + 26 * a * [s, 1, 1]
        spec += [(f"clavicle_{side}", parent, (s * 3, 3, 146), (s * 3, 3, 154)),
                 (f"upperarm_{side}", f"clavicle_{side}", tuple(sh), tuple(sh + [0, 0, 8])),
                 (f"upperarm_twist_01_{side}", f"upperarm_{side}", tuple((sh + el) / 2),
                  tuple((sh + el) / 2 + [0, 0, 5])),
                 (f"lowerarm_{side}", f"upperarm_{side}", tuple(el), tuple(el + [0, 8, 0])),
                 (f"hand_{side}", f"lowerarm_{side}", tuple(wr), tuple(wr + [0, 0, 6])),
                 (f"thigh_{side}", "pelvis", (s * 10, 0, 94), (s * 10, 8, 94)),
                 (f"calf_{side}", f"thigh_{side}", (s * 10, 0, 52), (s * 10, 8, 52)),
                 (f"foot_{side}", f"calf_{side}", (s * 10, -2, 9), (s * 10, -2, 17)),
                 (f"ball_{side}", f"foot_{side}", (s * 10, 13, 2), (s * 10, 13, 10))]
    return spec


def unreal_rig(ue5=False):
    obj = _build("UE5" if ue5 else "UE4", unreal_spec(ue5))
    obj.scale = (0.01,) * 3   # centimetre bones shown in metres, as Unreal exports arrive
    bpy.context.view_layer.update()
    return obj


# ---------------------------------------------------------------------------------------------------------
# Evaluated pose against the engine's joints
# ---------------------------------------------------------------------------------------------------------

def _world_heads(obj, bones, rest=False):
    mw = np.array(obj.matrix_world)
    if rest:
        local = np.array([tuple(obj.data.bones[b].head_local) for b in bones])
    else:
        local = np.array([tuple(obj.pose.bones[b].head) for b in bones])
    return local @ mw[:3, :3].T + mw[:3, 3]


def lowest_world_height(obj, bones, rest=False) -> float:
    """The lowest world height (z) of the heads of `bones`, posed or at rest (a foot on the floor: its toes)."""
    return float(_world_heads(obj, list(bones), rest)[:, 2].min())


def _height(points_by_joint) -> float:
    """Head joint above the lowest ankle/toe joint: the same 'body height' for rig and engine."""
    feet = [points_by_joint[j][2] for j in ("left_ankle", "right_ankle", "left_foot", "right_foot")
            if j in points_by_joint]
    return float(points_by_joint["head"][2] - min(feet))


def _leg(points_by_joint) -> float:
    return float(sum(np.linalg.norm(points_by_joint[b] - points_by_joint[a])
                     for a, b in (("left_hip", "left_knee"), ("left_knee", "left_ankle"))))


_BRANCHES = {"pelvis": ("spine1", "left_hip", "right_hip"), "spine3": ("neck", "left_collar", "right_collar")}


def _frame(up, across) -> np.ndarray:
    """Orthonormal frame(s) (..., 3, 3) with columns (across, up, across x up) from two body vectors."""
    u = up / np.linalg.norm(up, axis=-1, keepdims=True)
    a = across - np.sum(across * u, -1, keepdims=True) * u
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    return np.stack([a, u, np.cross(a, u)], axis=-1)


def engine_on_rig(motion, rest_rig: dict, h_rig: float) -> np.ndarray:
    """(T, 22, 3) the engine's joints relative to the pelvis, rebuilt with the rig's proportions (rig body
    heights), from the engine's joints only. A segment to a joint's central child (spine, neck, limbs) keeps
    the engine's direction on each frame and takes the rig's rest length; the branches off the pelvis (hips)
    and the chest (clavicles) keep the rig's rest offset, expressed in the body frame (up to the central
    child, across the left/right branches) and carried by the engine's body frame of that frame. Rigs are not
    SMPL-shaped; this compares motion, not body shape."""
    names, parents, J = retarget.SMPL_JOINTS, motion.skeleton.parents, motion.joints
    ix = {n: i for i, n in enumerate(names)}
    frames = {}
    for p, (up, left, right) in _BRANCHES.items():
        eng = _frame(J[:, ix[up]] - J[:, ix[p]], J[:, ix[left]] - J[:, ix[right]])
        rig = _frame(rest_rig[up] - rest_rig[p], rest_rig[left] - rest_rig[right])
        frames[p] = eng @ rig.T
    out = np.zeros(J.shape)
    for j, p in enumerate(parents):
        if p < 0:
            continue
        rest = (rest_rig[names[j]] - rest_rig[names[p]]) / h_rig
        if names[p] in _BRANCHES and names[j] != _BRANCHES[names[p]][0]:
            out[:, j] = out[:, p] + frames[names[p]] @ rest
        else:
            seg = J[:, j] - J[:, p]
            out[:, j] = out[:, p] + np.linalg.norm(rest) * seg / np.maximum(
                np.linalg.norm(seg, axis=-1, keepdims=True), 1e-9)
    return out


def evaluate(obj, motion, scene=None, mapping=None, start_frame=1) -> dict:
    """Key `motion` on `obj` as a take, evaluate every frame and compare with the engine's joints.

    Requires scene fps == motion fps (one key per motion frame). `error` (T, 5): hands, ankles and head
    relative to the hips against `engine_on_rig`, in rig body heights; `raw_error`: against the engine's own
    joints (each normalised by its own body height), so it includes the difference in body proportions.
    Root path: the hips' horizontal travel over leg length, rig against engine."""
    scene = scene or bpy.context.scene
    assert abs(takes.scene_fps(scene) - motion.fps) < 1e-6, "set the scene's fps to the motion's"
    mapping = mapping or takes.bone_map(obj)
    takes.apply_takes(obj, [motion], "rig check", 0, start_frame, scene)
    names = [j for j in retarget.SMPL_JOINTS if j in mapping]
    rest_rig = dict(zip(names, _world_heads(obj, [mapping[j] for j in names], rest=True)))
    rest_rig = {j: v @ C for j, v in rest_rig.items()}     # Blender -> motion axes (rest lengths only)
    # The take's own rest body (a Motion carries its offsets: the rigid skeleton its joints are the FK of).
    eng_rest = dict(zip(retarget.SMPL_JOINTS, retarget.SourceMotion.from_motion(motion).rest_positions()))
    h_rig = _height({j: v @ C.T for j, v in rest_rig.items()})
    h_eng = _height({j: v @ C.T for j, v in eng_rest.items()})
    leg_rig, leg_eng = _leg(rest_rig), _leg(eng_rest)
    heading = retarget._heading(armature.rig_rest(obj), mapping)
    back = C.T @ heading.T                      # world (Blender) -> motion axes
    pidx = [retarget.SMPL_JOINTS.index(j) for j in POINTS]
    reference = engine_on_rig(motion, rest_rig, h_rig)[:, pidx]
    rig_pts, raw_eng, rig_hips = [], [], []
    for t in range(motion.num_frames):
        scene.frame_set(start_frame + t)
        w = _world_heads(obj, [mapping[j] for j in POINTS + ("pelvis",)])
        rig_pts.append((w[:-1] - w[-1]) @ back.T / h_rig)
        rig_hips.append(w[-1] @ back.T)
        raw_eng.append((motion.joints[t, pidx] - motion.joints[t, 0]) / h_eng)
    rig_pts, raw_eng, rig_hips = np.array(rig_pts), np.array(raw_eng), np.array(rig_hips)
    rig_path = (rig_hips[-1] - rig_hips[0])[[0, 2]] / leg_rig
    eng_path = (motion.joints[-1, 0] - motion.joints[0, 0])[[0, 2]] / leg_eng
    cos = float(rig_path @ eng_path / max(np.linalg.norm(rig_path) * np.linalg.norm(eng_path), 1e-12))
    return {"error": np.linalg.norm(rig_pts - reference, axis=-1),
            "raw_error": np.linalg.norm(rig_pts - raw_eng, axis=-1),
            "rig": rig_pts, "engine": reference, "points": POINTS,
            "rig_path": rig_path, "engine_path": eng_path,
            "distance_ratio": float(np.linalg.norm(rig_path) / max(np.linalg.norm(eng_path), 1e-12)),
            "direction_deg": float(np.degrees(np.arccos(np.clip(cos, -1, 1)))),
            "rig_world_hips": rig_hips, "heights": (h_rig, h_eng)}


def sides_swapped(result) -> bool:
    """Does the rig's left/right hand and foot axis point against the engine's on average?"""
    r, e = result["rig"], result["engine"]
    dots = [np.sum((r[:, a] - r[:, b]) * (e[:, a] - e[:, b])) for a, b in ((0, 1), (2, 3))]
    return any(d <= 0 for d in dots)


def summary(result) -> dict:
    err = result["error"]
    groups = {"hands": [0, 1], "feet": [2, 3], "head": [4]}
    out = {k: {"mean": float(err[:, v].mean()), "max": float(err[:, v].max())} for k, v in groups.items()}
    out["all"] = {"mean": float(err.mean()), "max": float(err.max())}
    raw = result["raw_error"]
    out["raw_all"] = {"mean": float(raw.mean()), "max": float(raw.max())}
    out["root_distance_ratio"] = result["distance_ratio"]
    out["root_direction_deg"] = result["direction_deg"]
    out["sides_swapped"] = sides_swapped(result)
    return out

"""Retargeting a 22-joint SMPL-body motion onto any armature: bone name maps and rest-pose aware pose math.

Pure numpy, no bpy, so the math is testable anywhere. The Blender side (`armature.py`) reads the rig's rest
matrices into a `RigRest`, calls `retarget`, and writes the returned pose channels as keyframes.

How a pose transfers: the source gives each joint a *global* rotation relative to its rest pose (arms
hanging down, feet forward). Local quaternions cannot be copied between rigs because every rig has its own
rest pose, bone rolls and axis conventions. Instead each mapped target bone gets an alignment rotation
taking its rest direction (head -> tail) onto the source bone's rest direction, and is then driven by the
source's global rotation: ``world(t) = G_source(t) @ align @ world_rest``. A bone's world direction is
therefore the source bone's world direction whatever the target's rest pose (T-pose, A-pose) or roll.
The pose-bone (basis) rotation follows from the parent's actual pose:
``basis_b = rest_b^T @ D_parent^T @ D_b @ rest_b`` with ``D`` the armature-space delta rotation of a bone.

Axes: the motion is y-up, facing +z, +x = character's left; Blender is z-up, facing -y, so
(x, y, z)_motion -> (x, -z, y)_blender.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from . import qmath

# Motion (y up, faces +z) -> Blender (z up, faces -y): a proper rotation of +90 degrees about x.
MOTION_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

SMPL_JOINTS = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
)


def _sided(template: dict[str, str], left: str, right: str) -> dict[str, str]:
    """Expand a map whose bone names contain '{s}' into left and right joints."""
    out = {}
    for joint, bone in template.items():
        if joint.startswith("*_"):
            out["left_" + joint[2:]] = bone.format(s=left)
            out["right_" + joint[2:]] = bone.format(s=right)
        else:
            out[joint] = bone
    return out


def _rigify(prefix: str) -> dict[str, str]:
    """Rigify's human bone names under `prefix` ("DEF-", "ORG-", or "" for the meta-rig)."""
    template = {
        "pelvis": "spine", "*_hip": "thigh.{s}", "spine1": "spine.001", "*_knee": "shin.{s}", "spine2": "spine.002",
        "*_ankle": "foot.{s}", "spine3": "spine.003", "*_foot": "toe.{s}", "neck": "spine.004",
        "*_collar": "shoulder.{s}", "head": "spine.006", "*_shoulder": "upper_arm.{s}", "*_elbow": "forearm.{s}",
        "*_wrist": "hand.{s}"}
    return {joint: prefix + bone for joint, bone in _sided(template, "L", "R").items()}


# Each map: SMPL joint name -> bone name. Joint `*_foot` is the SMPL toe joint, `*_collar` the clavicle,
# `*_shoulder` the upper arm.
NAME_MAPS: dict[str, dict[str, str]] = {
    "SMPL": {j: j for j in SMPL_JOINTS},
    "SMPL (L_Hip style)": _sided({
        "pelvis": "Pelvis", "*_hip": "{s}_Hip", "spine1": "Spine1", "*_knee": "{s}_Knee", "spine2": "Spine2",
        "*_ankle": "{s}_Ankle", "spine3": "Spine3", "*_foot": "{s}_Foot", "neck": "Neck",
        "*_collar": "{s}_Collar", "head": "Head", "*_shoulder": "{s}_Shoulder", "*_elbow": "{s}_Elbow",
        "*_wrist": "{s}_Wrist"}, "L", "R"),
    "Mixamo": _sided({
        "pelvis": "mixamorig:Hips", "*_hip": "mixamorig:{s}UpLeg", "spine1": "mixamorig:Spine",
        "*_knee": "mixamorig:{s}Leg", "spine2": "mixamorig:Spine1", "*_ankle": "mixamorig:{s}Foot",
        "spine3": "mixamorig:Spine2", "*_foot": "mixamorig:{s}ToeBase", "neck": "mixamorig:Neck",
        "*_collar": "mixamorig:{s}Shoulder", "head": "mixamorig:Head", "*_shoulder": "mixamorig:{s}Arm",
        "*_elbow": "mixamorig:{s}ForeArm", "*_wrist": "mixamorig:{s}Hand"}, "Left", "Right"),
    "Rigify (DEF)": _rigify("DEF-"),
    "Rigify (ORG)": _rigify("ORG-"),
    "Rigify (meta-rig)": _rigify(""),   # the meta-rig itself (Add > Armature > Human), its bones the ORG- ones copy
    # UE5 (Manny/Quinn): five spine bones and two neck bones; the clavicles hang from spine_05. Listed before
    # UE4 so a UE5 rig (which also has spine_01..03) takes it; a UE4 rig lacks spine_05 and takes the next.
    "Unreal mannequin (UE5)": _sided({
        "pelvis": "pelvis", "*_hip": "thigh_{s}", "spine1": "spine_01", "*_knee": "calf_{s}",
        "spine2": "spine_03", "*_ankle": "foot_{s}", "spine3": "spine_05", "*_foot": "ball_{s}",
        "neck": "neck_01", "*_collar": "clavicle_{s}", "head": "head", "*_shoulder": "upperarm_{s}",
        "*_elbow": "lowerarm_{s}", "*_wrist": "hand_{s}"}, "l", "r"),
    "Unreal mannequin": _sided({
        "pelvis": "pelvis", "*_hip": "thigh_{s}", "spine1": "spine_01", "*_knee": "calf_{s}",
        "spine2": "spine_02", "*_ankle": "foot_{s}", "spine3": "spine_03", "*_foot": "ball_{s}",
        "neck": "neck_01", "*_collar": "clavicle_{s}", "head": "head", "*_shoulder": "upperarm_{s}",
        "*_elbow": "lowerarm_{s}", "*_wrist": "hand_{s}"}, "l", "r"),
}

ROOT_BONE_NAMES = ("root", "Root", "mixamorig:Root", "root_motion")


def _strip_namespace(name: str) -> str:
    """'mixamorig1:LeftArm' -> 'LeftArm' (FBX namespaces vary between downloads)."""
    return name.rsplit(":", 1)[-1]


def match_known_map(bone_names) -> tuple[str | None, dict[str, str]]:
    """The predefined map covering most joints of this rig, matched ignoring FBX namespaces and case.

    Returns (map name, joint -> actual bone name); (None, {}) when no map covers at least half the joints.
    """
    by_key = {}
    for b in bone_names:
        by_key.setdefault(b.lower(), b)
        by_key.setdefault(_strip_namespace(b).lower(), b)
    best_name, best = None, {}
    for map_name, table in NAME_MAPS.items():
        found = {}
        for joint, bone in table.items():
            hit = by_key.get(bone.lower()) or by_key.get(_strip_namespace(bone).lower())
            if hit is not None:
                found[joint] = hit
        if len(found) > len(best):
            best_name, best = map_name, found
    if len(best) < len(SMPL_JOINTS) // 2:
        return None, {}
    return best_name, best


# ---------------------------------------------------------------------------------------------------------
# Heuristic matching by normalised name tokens
# ---------------------------------------------------------------------------------------------------------

_NOISE = {"def", "org", "mixamorig", "bip", "bip01", "bip001", "jnt", "joint", "bone", "b", "bn", "c", "cc",
          "base"}
_EXCLUDE = {"twist", "roll", "ik", "pole", "target", "ctrl", "control", "mch", "end", "nub", "tip", "thumb",
            "index", "middle", "ring", "pinky", "little", "finger", "tweak", "fk", "helper", "corrective",
            "eye", "jaw", "breast", "tail", "prop", "weapon"}
_LEFT = {"left", "l", "lft", "lf"}
_RIGHT = {"right", "r", "rt", "rgt"}
# Body words (tokens joined, side and digits removed) -> part. 'shoulder' and unsided 'hip' are resolved later.
_PARTS = {
    "pelvis": "pelvis", "hips": "pelvis",
    "thigh": "hip", "upleg": "hip", "upperleg": "hip",
    "calf": "knee", "shin": "knee", "knee": "knee", "lowerleg": "knee", "leg": "knee",
    "foot": "ankle", "ankle": "ankle",
    "toe": "foot", "toes": "foot", "toebase": "foot", "ball": "foot",
    "spine": "spine", "chest": "spine", "upperchest": "spine", "abdomen": "spine", "torso": "spine",
    "waist": "spine", "back": "spine", "spinelower": "spine", "spineupper": "spine",
    "neck": "neck", "head": "head",
    "clavicle": "collar", "collar": "collar", "collarbone": "collar",
    "upperarm": "shoulder", "arm": "shoulder",
    "forearm": "elbow", "lowerarm": "elbow", "elbow": "elbow",
    "hand": "wrist", "wrist": "wrist",
}


def name_tokens(name: str) -> tuple[str | None, str, list[str]]:
    """Normalise a bone name to (side 'left'/'right'/None, body word, all tokens).

    'mixamorig:LeftUpLeg' -> ('left', 'upleg', ...); 'DEF-upper_arm.L' -> ('left', 'upperarm', ...);
    'thigh_l' -> ('left', 'thigh', ...); 'spine_03' -> (None, 'spine', ...)."""
    base = _strip_namespace(name)
    base = re.sub(r"([a-z])([A-Z])", r"\1 \2", base)          # camelCase -> camel Case
    base = re.sub(r"([A-Za-z])(\d)", r"\1 \2", base)           # Spine1 -> Spine 1
    tokens = [t for t in re.split(r"[^A-Za-z0-9]+", base.lower()) if t]
    side = None
    body = []
    for t in tokens:
        if t in _LEFT:
            side = "left"
        elif t in _RIGHT:
            side = "right"
        elif not t.isdigit() and t not in _NOISE:
            body.append(t)
    return side, "".join(body), tokens


def heuristic_map(bone_names, parents) -> dict[str, str]:
    """Guess joint -> bone from names and hierarchy, for rigs no predefined map covers.

    `parents[i]` is the index of bone i's parent (-1 for none). Among several candidates for a joint the
    shallowest bone wins (e.g. 'forearm.L' over its twist segment 'forearm.L.001'); spine joints are spread
    over the spine-like bones in hierarchy order so the last one (the chest, the parent of neck and
    clavicles) takes spine3.
    """
    depth = _depths(parents)
    cands: dict[str, list[int]] = {}
    sides = {}
    for i, name in enumerate(bone_names):
        side, body, tokens = name_tokens(name)
        if _EXCLUDE & set(tokens):
            continue
        part = _PARTS.get(body)
        if body == "hip":
            part = "hip" if side else "pelvis"
        elif body == "shoulder":
            part = "shoulder?"
        if part is None:
            continue
        sides[i] = side
        key = part if part in ("pelvis", "spine", "neck", "head") else (f"{side}_{part}" if side else None)
        if key is not None:
            cands.setdefault(key, []).append(i)
    for side in ("left", "right"):  # 'shoulder' is the clavicle when the rig also has an upper-arm bone
        amb = cands.pop(f"{side}_shoulder?", [])
        if amb:
            cands.setdefault(f"{side}_collar" if f"{side}_shoulder" in cands else f"{side}_shoulder", []).extend(amb)

    def pick(key):
        items = cands.get(key)
        return min(items, key=lambda i: (depth[i], len(bone_names[i]))) if items else None

    mapping = {}
    for joint in SMPL_JOINTS:
        if joint.startswith("spine"):
            continue
        i = pick(joint)
        if i is not None:
            mapping[joint] = bone_names[i]
    pelvis = mapping.get("pelvis")
    spine = sorted((i for i in cands.get("spine", []) if bone_names[i] != pelvis),
                   key=lambda i: (depth[i], bone_names[i]))
    if len(spine) == 1:
        picks = {"spine3": spine[0]}
    elif len(spine) == 2:
        picks = {"spine1": spine[0], "spine3": spine[1]}
    elif spine:
        picks = {"spine1": spine[0], "spine2": spine[len(spine) // 2], "spine3": spine[-1]}
    else:
        picks = {}
    mapping.update({slot: bone_names[i] for slot, i in picks.items()})
    return mapping


def auto_map(bone_names, parents) -> tuple[str, dict[str, str]]:
    """Best joint -> bone map: a predefined one if it fits, completed by the heuristic for missing joints."""
    name, known = match_known_map(bone_names)
    guess = heuristic_map(bone_names, parents)
    if name is None:
        return "heuristic", guess
    used = set(known.values())
    for joint, bone in guess.items():
        if joint not in known and bone not in used:
            known[joint] = bone
            used.add(bone)
    return name, known


def find_root_bone(bone_names, parents, pelvis_bone: str | None) -> str | None:
    """A dedicated root bone (an ancestor of the pelvis named like 'root'), for root motion on the floor."""
    if pelvis_bone is None or pelvis_bone not in bone_names:
        return None
    i = parents[list(bone_names).index(pelvis_bone)]
    while i >= 0:
        if bone_names[i] in ROOT_BONE_NAMES or name_tokens(bone_names[i])[1] == "root":
            return bone_names[i]
        i = parents[i]
    return None


def _depths(parents) -> list[int]:
    depth = []
    for i, p in enumerate(parents):
        d, k = 0, p
        while k >= 0:
            d, k = d + 1, parents[k]
            if d > len(parents):
                raise ValueError(f"bone hierarchy has a cycle at bone {i}")
        depth.append(d)
    return depth


# ---------------------------------------------------------------------------------------------------------
# Pose math
# ---------------------------------------------------------------------------------------------------------

@dataclass
class SourceMotion:
    """What retargeting needs from a motion_core Motion (any object with the same fields adapts)."""
    fps: float
    rotations: np.ndarray          # (T, J, 4) local quaternions relative to the rest pose
    root_translation: np.ndarray   # (T, 3) world position of the root joint, metres, y up, floor at y = 0
    offsets: np.ndarray            # (J, 3) rest offsets from the parent
    parents: tuple[int, ...]
    joint_names: tuple[str, ...]

    @classmethod
    def from_motion(cls, motion) -> "SourceMotion":
        skel = motion.skeleton
        src = cls(float(motion.fps), np.asarray(motion.rotations, np.float64),
                  np.asarray(motion.root_translation, np.float64), np.asarray(motion.offsets, np.float64),
                  tuple(int(p) for p in skel.parents), tuple(skel.joint_names))
        src.validate()
        return src

    @property
    def num_frames(self) -> int:
        return self.rotations.shape[0]

    def validate(self) -> None:
        t, j = self.rotations.shape[:2] if self.rotations.ndim == 3 else (None, None)
        if self.rotations.ndim != 3 or self.rotations.shape[2] != 4:
            raise ValueError(f"rotations must be (T, J, 4), got {self.rotations.shape}")
        if self.root_translation.shape != (t, 3):
            raise ValueError(f"root_translation must be ({t}, 3), got {self.root_translation.shape}")
        if self.offsets.shape != (j, 3) or len(self.parents) != j or len(self.joint_names) != j:
            raise ValueError(f"offsets/parents/joint_names must describe {j} joints")
        if t == 0:
            raise ValueError("motion has no frames")
        if not (np.isfinite(self.rotations).all() and np.isfinite(self.root_translation).all()):
            raise ValueError("motion contains NaN or infinite values")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")

    def rest_positions(self) -> np.ndarray:
        pos = np.zeros_like(self.offsets)
        for j, p in enumerate(self.parents):
            if p >= 0:
                pos[j] = pos[p] + self.offsets[j]
        return pos


def resample(src: SourceMotion, fps: float) -> SourceMotion:
    """The motion sampled at `fps` over the same duration (slerp for rotations, linear for translation)."""
    if fps <= 0:
        raise ValueError(f"target fps must be positive, got {fps}")
    if abs(fps - src.fps) < 1e-9 or src.num_frames == 1:
        return src
    duration = (src.num_frames - 1) / src.fps
    n = int(np.floor(duration * fps + 1e-6)) + 1
    x = np.arange(n) / fps * src.fps
    i0 = np.clip(np.floor(x).astype(int), 0, src.num_frames - 1)
    i1 = np.minimum(i0 + 1, src.num_frames - 1)
    w = x - i0
    rot = qmath.quat_slerp(src.rotations[i0], src.rotations[i1], np.repeat(w[:, None], src.rotations.shape[1], 1))
    trans = src.root_translation[i0] * (1 - w[:, None]) + src.root_translation[i1] * w[:, None]
    return SourceMotion(fps, rot, trans, src.offsets, src.parents, src.joint_names)


@dataclass
class RigRest:
    """An armature's rest state, read from Blender: bones in parent-before-child order."""
    bone_names: list[str]
    parents: list[int]
    rest: np.ndarray                               # (B, 4, 4) bone.matrix_local (armature space)
    object_rotation: np.ndarray = field(default_factory=lambda: np.eye(3))  # rotation of matrix_world

    def __post_init__(self):
        self.rest = np.asarray(self.rest, np.float64)
        if self.rest.shape != (len(self.bone_names), 4, 4) or len(self.parents) != len(self.bone_names):
            raise ValueError("RigRest needs one 4x4 rest matrix and one parent per bone")
        if any(not (-1 <= p < i) for i, p in enumerate(self.parents)):
            raise ValueError("RigRest bones must be ordered parents first")
        self.index = {n: i for i, n in enumerate(self.bone_names)}

    def head(self, bone: str) -> np.ndarray:
        return self.rest[self.index[bone], :3, 3]

    def rotation(self, i: int) -> np.ndarray:
        """Pure rotation of a rest matrix (scale removed column-wise)."""
        r = self.rest[i, :3, :3]
        return r / np.linalg.norm(r, axis=0, keepdims=True)


@dataclass
class RetargetOptions:
    in_place: bool = False           # drop horizontal root motion (keep the height)
    root_bone: str | None = None     # put horizontal motion on this bone instead of the hips
    scale: float | None = None       # root motion scale; None = ratio of the rig's leg length to the motion's
    match_facing: bool = True        # turn the motion to the rig's facing (read from its hips/shoulders)
    origin: tuple[float, float] | None = None  # motion-space (x, z) placed at the rig's rest spot;
    #                                            None = the first frame's (a continuation passes its parent's)


@dataclass
class PoseChannels:
    """Per-frame pose-bone channels to key: basis quaternions for mapped bones, locations for root bones."""
    fps: float
    rotations: dict[str, np.ndarray]   # bone -> (T, 4) w, x, y, z, sign-continuous
    locations: dict[str, np.ndarray]   # bone -> (T, 3) in the bone's rest frame
    scale: float
    properties: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (bone, custom prop) -> (T,)

    @property
    def num_frames(self) -> int:
        return next(iter(self.rotations.values())).shape[0] if self.rotations else 0


def _global_matrices(src: SourceMotion) -> np.ndarray:
    local = qmath.quat_to_matrix(src.rotations)
    glob = np.empty_like(local)
    for j, p in enumerate(src.parents):
        glob[:, j] = local[:, j] if p < 0 else glob[:, p] @ local[:, j]
    return glob


def _source_direction(src: SourceMotion, j: int) -> np.ndarray:
    """Rest direction of the source 'bone' at joint j: towards its central-most child (the spine rather than
    the hips, the neck rather than the collars), or its own offset for a leaf."""
    children = [c for c, p in enumerate(src.parents) if p == j]
    if children:
        c = min(children, key=lambda c: abs(src.offsets[c, 0]))
        return src.offsets[c]
    return src.offsets[j]


def _leg_length(points) -> float:
    return float(sum(np.linalg.norm(b - a) for a, b in zip(points[:-1], points[1:])))


def _rig_facing(rig: RigRest, mapping: dict[str, str]) -> np.ndarray | None:
    """World forward (horizontal unit vector) of the rig's rest pose, from its left/right hips or shoulders."""
    for left, right in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")):
        if left in mapping and right in mapping:
            across = rig.object_rotation @ (rig.head(mapping[left]) - rig.head(mapping[right]))
            across[2] = 0.0
            if np.linalg.norm(across) > 1e-6:
                fwd = np.cross(across, [0.0, 0.0, 1.0])
                return fwd / np.linalg.norm(fwd)
    return None


def _heading(rig: RigRest, mapping: dict[str, str]) -> np.ndarray:
    """World rotation about z turning the motion's forward (-y in Blender) to the rig's forward."""
    fwd = _rig_facing(rig, mapping)
    if fwd is None:
        return np.eye(3)
    angle = np.arctan2(fwd[1], fwd[0]) - np.arctan2(-1.0, 0.0)
    return qmath.axis_angle_to_matrix([0.0, 0.0, 1.0], angle)


@dataclass
class PoseTargets:
    """Where each mapped bone should be, before any rig-specific way of getting it there: armature-space rest
    -> pose rotations (``world(t) = deltas[b] @ rest_b``) and the hips' armature-space offset from rest."""
    deltas: dict[str, np.ndarray]      # bone -> (T, 3, 3)
    hips_bone: str
    hips_offset: np.ndarray            # (T, 3) armature space: hips head = rest head + offset
    scale: float
    to_arm: np.ndarray                 # (3, 3) motion coordinates -> armature space


def _check_map(src: SourceMotion, rig: RigRest, mapping: dict[str, str]) -> dict[str, int]:
    jidx = {n: i for i, n in enumerate(src.joint_names)}
    unknown_joints = [j for j in mapping if j not in jidx]
    missing_bones = [b for b in mapping.values() if b not in rig.index]
    if unknown_joints:
        raise ValueError(f"map names joints the motion lacks: {unknown_joints}")
    if missing_bones:
        raise ValueError(f"map names bones the armature lacks: {missing_bones}")
    if len(set(mapping.values())) != len(mapping):
        raise ValueError("map assigns one bone to several joints")
    pelvis = src.joint_names[0]
    if pelvis not in mapping:
        raise ValueError(f"the root joint {pelvis!r} must be mapped to a bone (the hips)")
    return jidx


def _rest_direction(src: SourceMotion, rig: RigRest, mapping: dict[str, str], j: int, b: int) -> np.ndarray:
    """The rig bone's rest direction matching `_source_direction`: towards the head of the bone mapped to the
    same child joint when there is one, else head -> tail. Rigs imported from FBX (Unreal's X-along-bone
    convention, importers that do not re-orient bones) may have tails pointing anywhere; the child's head is
    where the limb really goes."""
    children = [c for c, p in enumerate(src.parents) if p == j]
    if children:
        c = min(children, key=lambda c: abs(src.offsets[c, 0]))
        child_bone = mapping.get(src.joint_names[c])
        if child_bone is not None:
            d = rig.head(child_bone) - rig.rest[b, :3, 3]
            if np.linalg.norm(d) > 1e-6 * max(1.0, float(np.abs(rig.rest[:, :3, 3]).max())):
                return d / np.linalg.norm(d)
    return rig.rotation(b)[:, 1]


def pose_targets(src: SourceMotion, rig: RigRest, mapping: dict[str, str],
                 options: RetargetOptions | None = None) -> PoseTargets:
    """Armature-space rotations of every mapped bone and the hips' offset, frame by frame."""
    options = options or RetargetOptions()
    src.validate()
    jidx = _check_map(src, rig, mapping)
    pelvis = src.joint_names[0]
    to_arm = motion_axes(rig, mapping, options.match_facing)
    glob = _global_matrices(src)
    glob_arm = to_arm @ glob @ to_arm.T                                # (T, J, 3, 3)
    deltas = {}
    for joint, bone in mapping.items():
        j, b = jidx[joint], rig.index[bone]
        align = qmath.rotation_between(_rest_direction(src, rig, mapping, j, b), to_arm @ _source_direction(src, j))
        deltas[bone] = glob_arm[:, j] @ align
    scale = options.scale if options.scale is not None else root_scale(src, rig, mapping, to_arm)
    standing = standing_height(src, rig, mapping, to_arm, scale)
    return PoseTargets(deltas, mapping[pelvis], _root_offset(src, options, to_arm, scale, standing), scale, to_arm)


def retarget(src: SourceMotion, rig: RigRest, mapping: dict[str, str],
             options: RetargetOptions | None = None) -> PoseChannels:
    """Pose channels that make `rig` perform `src` (already at the frame rate to key)."""
    options = options or RetargetOptions()
    targets = pose_targets(src, rig, mapping, options)
    deltas: list[np.ndarray | None] = [None] * len(rig.bone_names)     # armature-space delta per bone
    rotations = {}
    eye = np.broadcast_to(np.eye(3), (src.num_frames, 3, 3))
    for b, name in enumerate(rig.bone_names):
        p = rig.parents[b]
        parent_delta = eye if p < 0 else deltas[p]
        if name not in targets.deltas:
            deltas[b] = parent_delta
            continue
        rest_b = rig.rotation(b)
        deltas[b] = targets.deltas[name]
        basis = rest_b.T @ np.swapaxes(parent_delta, -1, -2) @ deltas[b] @ rest_b
        rotations[name] = qmath.quat_make_continuous(qmath.matrix_to_quat(basis))
    locations = _root_locations(rig, targets.hips_bone, targets.hips_offset, options, targets.to_arm)
    return PoseChannels(src.fps, rotations, locations, targets.scale)


def motion_axes(rig: RigRest, mapping: dict[str, str], match_facing: bool = True) -> np.ndarray:
    """(3, 3) motion coordinates -> the rig's armature space (axis change, the rig's facing, the object's
    rotation). Its transpose takes a posed rig back to motion axes (addon/inverse_retarget.py)."""
    heading = _heading(rig, mapping) if match_facing else np.eye(3)
    return rig.object_rotation.T @ heading @ MOTION_TO_BLENDER


def root_scale(src: SourceMotion, rig: RigRest, mapping, to_arm) -> float:
    """Leg length of the rig (hip -> knee -> ankle heads) over the motion's; hips height ratio as fallback."""
    rest = src.rest_positions()
    for side in ("left", "right"):
        chain = [f"{side}_hip", f"{side}_knee", f"{side}_ankle"]
        if all(c in mapping for c in chain) and all(c in src.joint_names for c in chain):
            src_len = _leg_length([rest[src.joint_names.index(c)] for c in chain])
            rig_len = _leg_length([rig.head(mapping[c]) for c in chain])
            if src_len > 1e-6 and rig_len > 1e-6:
                return rig_len / src_len
    src_height = -rest[:, 1].min()
    up = to_arm @ np.array([0.0, 1.0, 0.0])
    rig_heads = rig.rest[:, :3, 3] @ up
    rig_height = float(rig.head(mapping[src.joint_names[0]]) @ up - rig_heads.min())
    return rig_height / src_height if src_height > 1e-6 and rig_height > 1e-6 else 1.0


# How far the motion's ankle stands above its toe when it stands (m): the engine body's rest feet are flat, ankle as
# low as toe, but its standing feet are not (model v17 on the SMPL armature: ankle 5.3 cm above its rest height
# with the toes on the floor; benchmarks/rig_feet.py).
STANDING_FOOT_DROP = 0.053


def standing_height(src: SourceMotion, rig: RigRest, mapping, to_arm, scale: float) -> float:
    """The motion's pelvis height (above its floor, y = 0) that the rig's rest hips stand for.

    The motion's rest pelvis height above its lowest joint, raised by what the rig's feet need to stand: a rig's
    rest foot drops from ankle to toe (~8 cm on Mixamo, Rigify and UE rigs), the motion's rest foot is flat and
    its standing foot drops `STANDING_FOOT_DROP`, and the rig's foot, turned as the motion's, drops its own
    length's share of that. Measured from the pelvis alone, every rig but the SMPL armature stood with its toes
    6-8.5 cm up. Without mapped ankles and toes: the rest pelvis height alone."""
    rest = src.rest_positions()
    standing = float(-rest[:, 1].min())
    names = src.joint_names
    sides = [(a, t) for a, t in (("left_ankle", "left_foot"), ("right_ankle", "right_foot"))
             if a in mapping and t in mapping and a in names and t in names]
    if not sides:
        return standing
    up = to_arm @ np.array([0.0, 1.0, 0.0])
    drops = []
    for ankle, toe in sides:
        rig_foot = rig.head(mapping[toe]) - rig.head(mapping[ankle])
        motion_foot = float(np.linalg.norm(rest[names.index(toe)] - rest[names.index(ankle)]))
        rig_length = float(np.linalg.norm(rig_foot))
        if motion_foot < 1e-6 or rig_length < 1e-9:
            return standing
        turned = rig_length * min(STANDING_FOOT_DROP / motion_foot, 1.0)   # the rig's foot at the motion's pitch
        drops.append(-float(rig_foot @ up) + scale * STANDING_FOOT_DROP - turned)
    return standing + float(np.mean(drops)) / scale


def _root_offset(src, options, to_arm, scale, standing: float) -> np.ndarray:
    """(T, 3) armature-space offset of the hips from their rest position, following the motion's root.

    `standing` (`standing_height`) is the pelvis height the rig's rest hips stand for, and the first frame's
    horizontal position maps to the rig's rest position, so a take starts where the character stands."""
    p = src.root_translation.copy()
    ref = np.empty_like(p)
    ref[:, 1] = standing
    if options.in_place:
        ref[:, [0, 2]] = p[:, [0, 2]]
    else:
        ref[:, [0, 2]] = p[:1, [0, 2]] if options.origin is None else np.asarray(options.origin, np.float64)
    return scale * (p - ref) @ to_arm.T


def _root_locations(rig, hips_bone, delta, options, to_arm) -> dict[str, np.ndarray]:
    """Hips (and root bone) locations, in their rest frames, for the hips offset `delta`."""
    locations = {}
    if options.root_bone:
        if options.root_bone not in rig.index:
            raise ValueError(f"root bone {options.root_bone!r} is not in the armature")
        up = to_arm @ np.array([0.0, 1.0, 0.0])
        ground = delta - np.outer(delta @ up, up)
        r = rig.rotation(rig.index[options.root_bone])
        locations[options.root_bone] = ground @ r
        delta = delta - ground
    r = rig.rotation(rig.index[hips_bone])
    locations[hips_bone] = delta @ r                    # row-vector form of r.T @ delta
    return locations

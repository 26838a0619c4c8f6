"""Turning generated motions into takes on an armature: one Action per take, nothing of the user's lost.

Order of operations matters for "whole or not at all": every take's action is fully built first (retarget +
keys); only then is the armature's animation data touched (stash its current action into a muted NLA
track, assign take 1, put the other takes on muted NLA tracks). A failure while building removes the
actions made so far and leaves the armature as it was.
"""
from __future__ import annotations

import dataclasses

import bpy

from . import keyframes, retarget, rigify
from .armature import rig_rest

TAKE_PROP = "motion_take"          # custom properties stored on each take's action
PROMPT_PROP = "motion_prompt"
SEED_PROP = "motion_seed"
FILE_PROP = "motion_file"
START_PROP = "motion_start_frame"
SECONDS_PROP = "motion_seconds"          # the generated length (the model's choice when none was requested)
LENGTH_SOURCE_PROP = "motion_length_source"   # engine's meta: "predicted", "requested" or "default"
READ_AS_PROP = "motion_read_as"     # engine's meta["read_as"]: "read 'leaps' as 'jumps'"
PLAYED_AS_PROP = "motion_played_as"  # engine's meta["played_as"]: a prompt telling actions in order, its clauses
WARNINGS_PROP = "motion_warnings"   # engine's meta["warnings"], e.g. "the bundled model has not learned 'cartwheel'; ..."
ORIGIN_PROP = "motion_origin"       # motion (x, z) keyed at the rig's rest spot, where not the first frame's
SCALE_PROP = "motion_root_scale"    # root motion scale, where not the rig's leg length over the motion's
STASH_PREFIX = "[Stash] "
ROOT_JOINT = retarget.SMPL_JOINTS[0]


def take_name(prompt: str, seed, take: int) -> str:
    """'waves hand · s42 · take1' (Blender caps ID names at 63 bytes, so the prompt part is shortened)."""
    suffix = f" · s{seed} · take{take}"
    room = 63 - len(suffix.encode())
    text = " ".join(prompt.split()) or "motion"
    while len(text.encode()) > room:
        text = text[:-2] + "…"
    return text + suffix


def scene_fps(scene) -> float:
    return scene.render.fps / scene.render.fps_base


def bone_map(obj) -> dict[str, str]:
    """The joint -> bone map stored on the armature (panel list), or an automatic one if none is stored.

    Entries naming a bone the armature no longer has (deleted or renamed since mapping) are dropped: those
    joints count as unmapped (see `unmapped_joints`) instead of failing the whole take."""
    settings = getattr(obj, "motion_retarget", None)
    stored = {item.joint: item.bone for item in settings.bone_map if item.bone} if settings else {}
    if stored:
        bones = obj.data.bones
        return {joint: bone for joint, bone in stored.items() if bone in bones}
    from .armature import auto_bone_map
    return auto_bone_map(obj)[1]


def unmapped_joints(obj, mapping=None) -> list[str]:
    """Joints of the motion that no bone of `obj` receives (they are left out of the take)."""
    mapping = bone_map(obj) if mapping is None else mapping
    return [joint for joint in retarget.SMPL_JOINTS if joint not in mapping]


def keyed_bones(obj, mapping=None) -> list[str]:
    """The bones a take on `obj` keys: Rigify's controls on a generated Rigify rig, else the mapped bones."""
    mapping = bone_map(obj) if mapping is None else mapping
    if rigify.is_generated_rigify(obj):
        return [c for _, _, c in rigify.driven(obj, mapping)]
    settings = getattr(obj, "motion_retarget", None)
    root = [settings.root_bone] if settings is not None and settings.root_bone in obj.data.bones else []
    return list(mapping.values()) + root


def map_explanation(obj, mapping=None) -> tuple[str, str, list[str]]:
    """(map name, why it was chosen, warnings) for the panel and the take's report.

    Warns when a keyed bone is constraint-driven (copy transforms, IK, ...): its keys would not show."""
    mapping = bone_map(obj) if mapping is None else mapping
    if rigify.is_generated_rigify(obj):
        name = rigify.MAP_NAME
        why = ("generated Rigify rig: its DEF bones follow constraints, so keys go on the torso, chest, neck, "
               "head, shoulder and FK limb controls, with the limbs' IK/FK switch keyed to FK")
    else:
        name, known = retarget.match_known_map(obj.data.bones.keys())
        if name is None:
            name, why = "heuristic", "no naming convention matched half the joints: guessed from names and hierarchy"
        else:
            why = f"{len(known)}/22 joints found under {name} bone names"
    warnings = []
    driven = rigify.constraint_driven(obj, keyed_bones(obj, mapping))
    if driven:
        warnings.append(f"{len(driven)} keyed bone(s) are driven by constraints, so their keys will not show: "
                        f"{', '.join(driven[:6])}{' ...' if len(driven) > 6 else ''}")
    return name, why, warnings


def options_for(obj) -> retarget.RetargetOptions:
    settings = getattr(obj, "motion_retarget", None)
    if settings is None:
        return retarget.RetargetOptions()
    return retarget.RetargetOptions(in_place=settings.in_place, root_bone=settings.root_bone or None)


def build_take(obj, motion, name: str, start_frame: float, fps: float, mapping=None, options=None):
    """A complete, unassigned action that makes armature `obj` perform `motion` from `start_frame`."""
    src = retarget.resample(retarget.SourceMotion.from_motion(motion), fps)
    mapping = mapping if mapping is not None else bone_map(obj)
    options = options if options is not None else options_for(obj)
    if rigify.is_generated_rigify(obj):
        # Keys on a generated Rigify rig's DEF bones would be overridden by its constraints: solve its controls
        # so the evaluated deform bones reach the same targets (root motion rides on the torso control).
        options = dataclasses.replace(options, root_bone=None)
        targets = retarget.pose_targets(src, rig_rest(obj), mapping, options)
        pose = rigify.solve(obj, targets, mapping, src.fps)
    else:
        pose = retarget.retarget(src, rig_rest(obj), mapping, options)
    return keyframes.build_action(obj, name, pose, start_frame)


def stash_current_action(obj) -> None:
    """Move the armature's current action onto a muted NLA track so a new take never overwrites it."""
    ad = obj.animation_data
    if ad is None or ad.action is None:
        return
    action, slot = ad.action, getattr(ad, "action_slot", None)
    track = ad.nla_tracks.new()
    track.name = STASH_PREFIX + action.name
    strip = track.strips.new(action.name, int(action.frame_range[0]), action)
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot
    track.mute = True
    action.use_fake_user = True   # keep it even if the strip is deleted later
    ad.action = None


def stash_tracks(obj, action_name: str) -> list:
    """The NLA tracks that stash the action named `action_name`, found by their strips' action: a track's name
    ("[Stash] " + the action's name) is cut at Blender's 63 bytes, so a long take's track name no longer holds it."""
    ad = obj.animation_data
    if ad is None:
        return []
    return [track for track in ad.nla_tracks if track.name.startswith(STASH_PREFIX)
            and any(strip.action is not None and strip.action.name == action_name for strip in track.strips)]


def assign_action(obj, action) -> None:
    """Make `action` the armature's active action (on its own slot in layered actions)."""
    ad = obj.animation_data or obj.animation_data_create()
    ad.action = action
    slot = keyframes.ensure_slot(action, obj)
    if slot is not None and ad.action_slot != slot:
        ad.action_slot = slot


def add_take_track(obj, action, start_frame: float, mute: bool):
    ad = obj.animation_data or obj.animation_data_create()
    track = ad.nla_tracks.new()
    track.name = action.name
    strip = track.strips.new(action.name, int(round(start_frame)), action)
    slot = keyframes.ensure_slot(action, obj)
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot
    track.mute = mute
    return track


def apply_takes(obj, motions, prompt: str, seed, start_frame: float, scene, files=None, mapping=None,
                options=None) -> list:
    """Build one action per motion, then stash the current action and assign take 1 (others on muted NLA
    tracks, ready to swap in with `use_take`). Returns the actions."""
    if obj is None or obj.type != "ARMATURE":
        raise ValueError("choose a target armature first")
    if not motions:
        raise ValueError("the engine returned no motions")
    fps = scene_fps(scene)
    actions = []
    try:
        for k, motion in enumerate(motions, start=1):
            # The engine gives take k its own seed (base + k - 1) and records it: name the take by the seed
            # that reproduces it, not by the request's base seed.
            take_seed = getattr(motion, "meta", {}).get("seed", seed)
            action = build_take(obj, motion, take_name(prompt, take_seed, k), start_frame, fps, mapping, options)
            actions.append(action)
            action.use_fake_user = True
            action[TAKE_PROP], action[PROMPT_PROP], action[SEED_PROP] = k, prompt, str(take_seed)
            action[START_PROP] = float(start_frame)
            _record_length(action, motion)
            _record_placement(action, options)
            if files and files[k - 1]:
                action[FILE_PROP] = str(files[k - 1])
    except BaseException:
        for action in actions:
            bpy.data.actions.remove(action)
        raise
    undo = _AnimationState(obj)
    try:
        stash_current_action(obj)
        assign_action(obj, actions[0])
        for action in actions[1:]:
            add_take_track(obj, action, start_frame, mute=True)
    except BaseException:
        undo.restore(obj)
        for action in actions:
            bpy.data.actions.remove(action)
        raise
    return actions


def _record_length(action, motion) -> None:
    """Store the motion's length on its take: with Auto length it is known only once the engine has chosen."""
    action[SECONDS_PROP] = motion.num_frames / float(motion.fps)
    meta = getattr(motion, "meta", {})
    source = meta.get("length_source")
    if source:
        action[LENGTH_SOURCE_PROP] = str(source)
    if meta.get("warnings"):   # part of the take's report: shown in the Takes panel while the take is active
        action[WARNINGS_PROP] = str(meta["warnings"])
    if meta.get("read_as"):   # how the prompt was understood, also in the take's report
        action[READ_AS_PROP] = str(meta["read_as"])
    if meta.get("played_as"):   # "played in order as 'a person jumps' (2.2 s), 'a person waves' (3.0 s)"
        action[PLAYED_AS_PROP] = str(meta["played_as"])


def _record_placement(action, options) -> None:
    """Where a take was placed when that was not the default, so Extend continues it in the same place (a take
    from the current pose, or along a path, is placed in the engine coordinates it was asked in)."""
    if options is None:
        return
    if options.origin is not None:
        action[ORIGIN_PROP] = [float(v) for v in options.origin]
    if options.scale is not None:
        action[SCALE_PROP] = float(options.scale)


def placement_options(obj, action, motion) -> retarget.RetargetOptions:
    """Retarget options that continue `action` (made from `motion`) in its place: its recorded origin and
    scale, else its first frame at the rig's rest spot."""
    origin = action.get(ORIGIN_PROP)
    origin = tuple(origin) if origin is not None else tuple(motion.root_translation[0, [0, 2]].tolist())
    scale = action.get(SCALE_PROP)
    return dataclasses.replace(options_for(obj), origin=origin, scale=None if scale is None else float(scale))


def record_warnings(actions, warnings: list[str]) -> None:
    """Add `warnings` (a task's: the rig's, found before generating, and the engine's) to each take's report, so
    the Takes panel shows them whenever the take is active, not only when it was made."""
    for action in actions:
        if not hasattr(action, "get"):
            continue
        recorded = str(action.get(WARNINGS_PROP) or "")
        extra = [w for w in warnings if w and w not in recorded]
        if extra:
            action[WARNINGS_PROP] = "; ".join([recorded, *extra] if recorded else extra)


def take_warnings(actions) -> list[str]:
    """The distinct engine warnings recorded on `actions` (see WARNINGS_PROP), in order."""
    found = (action.get(WARNINGS_PROP) for action in actions if hasattr(action, "get"))
    return list(dict.fromkeys(str(w) for w in found if w))


class _AnimationState:
    """What the commit phase of `apply_takes` changes on an armature, so a failure there can be undone."""

    def __init__(self, obj):
        ad = obj.animation_data
        self.had_data = ad is not None
        self.action = ad.action if ad is not None else None
        self.slot = getattr(ad, "action_slot", None) if ad is not None else None
        self.fake_user = self.action.use_fake_user if self.action is not None else None
        self.tracks = {t.as_pointer() for t in ad.nla_tracks} if ad is not None else set()

    def restore(self, obj) -> None:
        ad = obj.animation_data
        if ad is None:
            return
        if not self.had_data:
            obj.animation_data_clear()
            return
        for track in [t for t in ad.nla_tracks if t.as_pointer() not in self.tracks]:
            ad.nla_tracks.remove(track)
        ad.action = self.action
        if self.slot is not None and getattr(ad, "action_slot", None) != self.slot:
            ad.action_slot = self.slot
        if self.action is not None:
            self.action.use_fake_user = self.fake_user


def use_take(obj, action) -> None:
    """Swap the active take: the current take goes back to its muted track, `action` becomes active."""
    ad = obj.animation_data or obj.animation_data_create()
    current = ad.action
    if current is action:
        return
    if current is not None and TAKE_PROP not in current:
        stash_current_action(obj)      # a user's own action: keep it on the NLA
    for track in list(ad.nla_tracks):
        if any(s.action == action for s in track.strips) and track.name == action.name:
            ad.nla_tracks.remove(track)
    if current is not None and TAKE_PROP in current:
        add_take_track(obj, current, current.get(START_PROP, current.frame_range[0]), mute=True)
    assign_action(obj, action)


def takes_of(obj) -> list:
    """Take actions that belong to this armature (active or on its NLA tracks)."""
    ad = obj.animation_data
    if ad is None:
        return []
    found = [ad.action] if ad.action is not None and TAKE_PROP in ad.action else []
    for track in ad.nla_tracks:
        for strip in track.strips:
            if strip.action is not None and TAKE_PROP in strip.action and strip.action not in found:
                found.append(strip.action)
    return found

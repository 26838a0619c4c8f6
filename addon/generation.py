"""Glue between a request and its takes: submit a generate/extend/timeline job, and the main-thread callback
that turns its results into actions. Shared by the panel's operators and the scripting API."""
from __future__ import annotations

import math
import os
import random

import bpy

from . import modal, session, takes
from .modal import GenerationTask
from .motion_io import load_motion


def new_seed() -> int:
    return random.randrange(0, 2**31 - 1)


def resolve_results(results) -> tuple[list, list]:
    """(motions, files) from a job's results: .npz paths are loaded, in-memory Motions are saved so the take
    can be extended later."""
    motions, files = [], []
    for item in results:
        if isinstance(item, (str, os.PathLike)):
            motions.append(load_motion(item))
            files.append(str(item))
        else:
            motions.append(item)
            files.append(session.persist_motion(item))
    return motions, files


def _lookup(obj_name: str, scene_name: str):
    """Objects are looked up by name when results arrive: the user may have deleted or renamed them."""
    obj = bpy.data.objects.get(obj_name)
    scene = bpy.data.scenes.get(scene_name)
    if obj is None or obj.type != "ARMATURE":
        raise ValueError(f"the target armature {obj_name!r} no longer exists")
    if scene is None:
        raise ValueError(f"the scene {scene_name!r} no longer exists")
    return obj, scene


def preflight(armature) -> list[str]:
    """Check the target before any work starts. Raises for what makes a take impossible (hips unmapped);
    returns warnings for what only limits it.

    Policy for incomplete bone maps: joints without a bone (or whose bone was deleted or renamed) are left
    out and listed in a warning; the mapped bones are animated as usual. Only the root joint is required.
    Non-uniform object scale cannot be represented by bone rotations (they would look sheared), so it is
    reported; uniform scale is handled exactly.
    """
    mapping = takes.bone_map(armature)
    root = takes.ROOT_JOINT
    if root not in mapping:
        raise ValueError(f"joint {root!r} (the hips) is not mapped to a bone of {armature.name!r}; map it in the "
                         "Retarget panel (Auto Map Bones) before generating")
    warnings = []
    unmapped = takes.unmapped_joints(armature)
    if unmapped:
        warnings.append(f"{len(unmapped)} of 22 joints have no bone on {armature.name!r} and are not animated: "
                        f"{', '.join(unmapped)}")
    warnings += takes.map_explanation(armature, mapping)[2]
    scale = [abs(s) for s in armature.matrix_world.to_scale()]
    if max(scale) > min(scale) * (1 + 1e-4):
        warnings.append(f"{armature.name!r} has non-uniform scale ({', '.join(f'{s:.3g}' for s in scale)}): "
                        "bones will look sheared; apply the scale first (Object > Apply > Scale)")
    return warnings


def checked_seconds(seconds, optional: bool) -> float | None:
    """`seconds` as a float, refused here with a clear message if it is not a positive finite number. None
    passes through when `optional`: the request then carries no length and the engine uses the model's
    predicted length for each prompt (it must stay None, not become a float, to mean that)."""
    if seconds is None and optional:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        allowed = " (or None for the model's predicted length)" if optional else ""
        raise ValueError(f"seconds must be a number{allowed}, got {seconds!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    return float(seconds)


def control_params(foot_cleanup: bool = True, loop: bool = False, smooth_joins: bool = True,
                   in_order: bool = True) -> dict:
    """Request params of the animator controls (issue 23). Only departures from the engine's defaults are
    sent (foot cleanup, smoothed joins and actions in order on by default, loops off), so requests without
    controls stay as they were, and an engine older than a control still takes them."""
    return {**({} if foot_cleanup else {"foot_cleanup": False}), **({"loop": True} if loop else {}),
            **({} if smooth_joins else {"smooth_joins": False}), **({} if in_order else {"sequences": False})}


def submit_generate(engine, settings, armature, scene, prompt: str, seconds: float | None, seed: int,
                    guidance: float, steps: int, num_takes: int, start_frame: float, *,
                    foot_cleanup: bool = True, loop: bool = False, path=None, pins=None,
                    from_pose: bool = False, in_order: bool = True) -> GenerationTask:
    """Start generating `num_takes` takes of `prompt` for `armature`; returns the task to step.

    seconds=None leaves the length to the model (its prediction for the prompt); the takes' actions record
    the length actually generated (`takes.SECONDS_PROP`). path/pins: see `continuation.guide_params` (sent as
    the generate params ``path`` and ``pins``). from_pose: when the armature is animated before
    `start_frame`, continue from its pose there (`submit_from_pose`) instead of starting from rest.
    in_order=False samples a prompt telling actions in order as one prompt (the engine's ``sequences``)."""
    prompt = prompt.strip()
    if not prompt:
        raise ValueError("type a prompt first")
    seconds = checked_seconds(seconds, optional=True)
    if armature is None or armature.type != "ARMATURE":
        raise ValueError("choose a target armature (or create the SMPL armature)")
    modal.ensure_idle()
    from . import continuation, rig_pose
    if from_pose and rig_pose.has_animation_before(armature, start_frame):
        task = submit_from_pose(engine, settings, armature, scene, prompt, seconds, seed, guidance, steps,
                                start_frame, foot_cleanup=foot_cleanup, path=path, pins=pins)
        if num_takes > 1:
            task.warnings.append("continuing from the current pose makes one take (the engine's extend)")
        return task
    warnings = preflight(armature)
    guides, guide_warnings = continuation.guide_params(armature, scene, start_frame, path, pins)
    warnings += guide_warnings
    params = session.request_params(settings, prompts=[prompt] * num_takes, seconds=seconds,
                                    seed=int(seed), guidance=float(guidance), steps=int(steps),
                                    **control_params(foot_cleanup, loop, in_order=in_order), **guides)
    mark = engine.stderr_mark() if hasattr(engine, "stderr_mark") else None
    job = engine.submit("generate", params)
    obj_name, scene_name = armature.name, scene.name

    def apply(results):
        obj, scn = _lookup(obj_name, scene_name)
        motions, files = resolve_results(results)
        ignored = continuation.ignored_guides(engine, mark, guides)
        if ignored:
            task.warnings.append(ignored)
        # Paths and pins are engine coordinates read with the rig's body fit: key with the same placement.
        options = continuation.placed_options(obj, rig_pose.fit_for(obj)) if guides else None
        if loop:   # issue 23: seamless takes repeat through Cycles modifiers (addon/loops.py)
            from . import loops
            actions = takes.apply_takes(obj, [loops.closed_loop(m) for m in motions], prompt, seed, start_frame,
                                        scn, files=files, options=options)
            for action in actions:
                loops.add_cycles(action)
            return actions
        return takes.apply_takes(obj, motions, prompt, seed, start_frame, scn, files=files, options=options)

    task = GenerationTask(job, f"“{prompt}”", apply, getattr(engine, "release", None), warnings,
                          explain=continuation.unsupported_explainer(guides))
    return task


def submit_from_pose(engine, settings, armature, scene, prompt: str, seconds: float | None, seed: int,
                     guidance: float, steps: int, start_frame: float, *, foot_cleanup: bool = True,
                     smooth_joins: bool = True, path=None, pins=None) -> GenerationTask:
    """One take of `prompt` continuing the armature's evaluated motion before `start_frame` (worker
    ``extend`` on a context Motion read from the rig); only the new frames are keyed, from `start_frame`.
    path/pins as in `submit_generate`: the context, the path and the pins are all in the rig's engine
    coordinates, and the pins' frames count from `start_frame`, which is the continuation's first frame."""
    from . import continuation
    modal.ensure_idle()
    warnings = preflight(armature)
    guides, guide_warnings = continuation.guide_params(armature, scene, start_frame, path, pins)
    guides = continuation.continuation_guides(guides)
    warnings += guide_warnings
    context = continuation.write_context(armature, scene, start_frame)
    params = session.request_params(settings, motion_path=context.path, prompt=prompt, seconds=seconds,
                                    seed=int(seed), guidance=float(guidance), steps=int(steps),
                                    **control_params(foot_cleanup, smooth_joins=smooth_joins), **guides)
    mark = engine.stderr_mark() if hasattr(engine, "stderr_mark") else None
    job = engine.submit("extend", params)
    obj_name, scene_name = armature.name, scene.name
    previous = armature.animation_data.action.name if armature.animation_data.action is not None else None

    def apply(results):
        obj, scn = _lookup(obj_name, scene_name)
        motions, files = resolve_results(results)
        ignored = continuation.ignored_guides(engine, mark, guides)
        if ignored:
            task.warnings.append(ignored)
        new = continuation.new_part(motions[0], context)
        options = continuation.placed_options(obj, context.fit)
        files = [continuation.save_new_part(new) or files[0]]
        actions = takes.apply_takes(obj, [new], prompt, seed, start_frame, scn, files=files, options=options)
        continuation.keep_old_playing(obj, previous)
        return actions

    task = GenerationTask(job, f"“{prompt}” from the current pose", apply, getattr(engine, "release", None),
                          warnings, explain=continuation.unsupported_explainer(guides))
    return task


def timeline_label(segments) -> str:
    """Take name prefix for a timeline: its first prompts, e.g. "walks → jumps → +3"."""
    names = [prompt for prompt, _ in segments]
    shown = " → ".join(names[:2])
    return shown + (f" → +{len(names) - 2}" if len(names) > 2 else "")


def submit_timeline(engine, settings, armature, scene, segments, seed: int, guidance: float, steps: int,
                    start_frame: float, *, foot_cleanup: bool = True, smooth_joins: bool = True, path=None,
                    pins=None) -> GenerationTask:
    """Start one continuous take playing `segments` (``[(prompt, seconds), ...]``) in order. path/pins as in
    `submit_generate` (pin frames count from `start_frame`, the timeline's start)."""
    from . import continuation, rig_pose
    segments = [(str(prompt).strip(), float(seconds)) for prompt, seconds in segments]
    if not segments:
        raise ValueError("the timeline is empty; add a segment first")
    blank = [i + 1 for i, (prompt, _) in enumerate(segments) if not prompt]
    if blank:
        raise ValueError(f"timeline segment {blank[0]} has no prompt")
    if armature is None or armature.type != "ARMATURE":
        raise ValueError("choose a target armature (or create the SMPL armature)")
    guides, warnings = continuation.guide_params(armature, scene, start_frame, path, pins)
    params = session.request_params(settings, segments=[list(s) for s in segments], seed=int(seed),
                                    guidance=float(guidance), steps=int(steps),
                                    **control_params(foot_cleanup, smooth_joins=smooth_joins), **guides)
    job = engine.submit("timeline", params)
    obj_name, scene_name, label = armature.name, scene.name, timeline_label(segments)

    def apply(results):
        obj, scn = _lookup(obj_name, scene_name)
        motions, files = resolve_results(results)
        # Paths and pins are engine coordinates read with the rig's body fit: key with the same placement.
        options = continuation.placed_options(obj, rig_pose.fit_for(obj)) if guides else None
        return takes.apply_takes(obj, motions, label, seed, start_frame, scn, files=files, options=options)

    return GenerationTask(job, f"timeline “{label}”", apply, getattr(engine, "release", None), warnings,
                          explain=continuation.unsupported_explainer(guides))


def active_take(armature):
    ad = armature.animation_data if armature is not None else None
    action = ad.action if ad is not None else None
    return action if action is not None and takes.TAKE_PROP in action else None


def submit_extend(engine, settings, armature, scene, prompt: str, seconds: float, seed: int, guidance: float,
                  steps: int, *, foot_cleanup: bool = True, smooth_joins: bool = True) -> GenerationTask:
    """Continue the armature's active take by `seconds` with a new prompt."""
    prompt = prompt.strip()
    if not prompt:
        raise ValueError("type a prompt for the continuation")
    seconds = checked_seconds(seconds, optional=False)
    source = active_take(armature)
    if source is None:
        raise ValueError("the armature has no active take to extend; generate one first")
    modal.ensure_idle()
    warnings = preflight(armature)
    path = source.get(takes.FILE_PROP)
    if not path or not os.path.isfile(path):
        raise ValueError(f"the motion file of take {source.name!r} is missing ({path or 'never saved'})")
    params = session.request_params(settings, motion_path=path, prompt=prompt, seconds=seconds,
                                    seed=int(seed), guidance=float(guidance), steps=int(steps),
                                    **control_params(foot_cleanup, smooth_joins=smooth_joins))
    job = engine.submit("extend", params)
    obj_name, scene_name, source_name = armature.name, scene.name, source.name
    label = f"{source.get(takes.PROMPT_PROP, '')}, then {prompt}"

    def apply(results):
        obj, scn = _lookup(obj_name, scene_name)
        original = load_motion(path)
        motions, files = resolve_results(results)
        start = float(bpy.data.actions[source_name].get(takes.START_PROP, scn.frame_start))
        full = _is_full_extension(original, motions[0])
        if not full:   # a continuation starts on the frame after the original's last one
            start += original.num_frames / original.fps * takes.scene_fps(scn)
        options = takes.placement_options(obj, bpy.data.actions[source_name], original)
        actions = takes.apply_takes(obj, motions, label, seed, start, scn, files=files, options=options)
        if not full:
            _unmute_stash_of(obj, source_name)
        return actions

    return GenerationTask(job, f"extend “{prompt}”", apply, getattr(engine, "release", None), warnings)


def _is_full_extension(original, result) -> bool:
    """Does `result` repeat `original` at its start (engine returned the whole clip) or only continue it?"""
    n = original.num_frames
    if result.num_frames <= n:
        return False
    import numpy as np
    return bool(np.allclose(result.root_translation[:n], original.root_translation, atol=1e-3))


def _unmute_stash_of(obj, action_name: str) -> None:
    """Let the original take keep playing before its continuation."""
    for track in takes.stash_tracks(obj, action_name):
        track.mute = False

"""Scripting API (Python console, scripts): `import motion_addon.api as api`.

    arm = bpy.data.objects["Armature"]
    actions = api.generate("a person waves", armature=arm, takes=3)      # length chosen by the model
    actions = api.generate("a person waves", armature=arm, seconds=4)    # exactly 4 s
    api.batch(["walks forward", "jumps"], armature=arm)
    api.timeline([("walks forward", 4.0), ("jumps", 2.0)], armature=arm)   # one continuous take

Calls block until the takes exist (use the panel for non-blocking generation). They use the engine from the
add-on preferences unless an `engine` (anything with `submit(method, params) -> Job`) is passed.
"""
from __future__ import annotations

import time

import bpy

from . import generation, modal, session


def _run(task, timeout: float | None) -> list:
    deadline = None if timeout is None else time.monotonic() + timeout
    while task.step() == modal.RUNNING:
        if deadline is not None and time.monotonic() > deadline:
            task.cancel()
            while task.step() == modal.RUNNING:
                time.sleep(0.05)
            raise TimeoutError(f"generation took longer than {timeout} s and was cancelled")
        time.sleep(0.05)
    if task.status != modal.FINISHED:
        raise RuntimeError(task.error or f"generation {task.status.lower()}")
    return task.actions


def _engine(engine):
    settings = session.settings_from_preferences(bpy.context)
    return (engine if engine is not None else session.get_engine(settings)), settings


def generate(prompt: str, armature, seconds: float | None = None, takes: int = 1, seed: int | None = None,
             guidance: float = 7.5, steps: int = 10, start_frame: int | None = None, scene=None, engine=None,
             timeout: float | None = None, foot_cleanup: bool = True, loop: bool = False, path=None, pins=None,
             from_pose: bool = False, in_order: bool = True) -> list:
    """Generate `takes` takes of `prompt` onto `armature`; returns their actions (take 1 is active).

    seconds=None lets the model choose the length from the prompt (its length predictor; 4 s for models
    without one), like the panel's Auto length; a positive number asks for exactly that many seconds (zero,
    negative or non-numbers raise ValueError). Each action stores the length it got in
    ``action["motion_seconds"]``. seed=None picks a random seed; start_frame=None uses the scene's start
    frame. foot_cleanup=False keeps the feet exactly as the model made them (default: planted feet locked).
    loop=True makes the takes seamless on repeat, with Cycles modifiers on their F-curves. in_order=False
    samples a prompt telling actions in order ("jumps, then waves") as one prompt instead of its clauses in turn.

    Issue 23 guides (sent as the engine's generate params ``path`` and ``pins``; an engine without them
    refuses the request with a message saying so):
    path: a curve object, or an empty animated along the way (its keys from the start frame are waypoints),
    or a ready ``{"curve": [[x, z], ...]}`` / ``{"waypoints": [...]}`` in engine ground coordinates.
    pins: True for the poses pinned on the armature (`pin_pose`), or a list of
    ``{"frame": F, "joints": [[x, y, z]] * 22}`` (F in engine frames, 20 fps, after the start frame).
    from_pose=True: when the armature is already animated before the start frame, continue from its pose
    there (one take; only the new frames are keyed, from the start frame, without a pop); the path and pins go
    with it (the engine's extend: the path leads on from where the character is, so an empty's key on the
    start frame is not sent)."""
    scene = scene or bpy.context.scene
    engine, settings = _engine(engine)
    seed = generation.new_seed() if seed is None else int(seed)
    start = scene.frame_start if start_frame is None else start_frame
    task = generation.submit_generate(engine, settings, armature, scene, prompt, seconds, seed, guidance, steps,
                                      int(takes), start, foot_cleanup=bool(foot_cleanup), loop=bool(loop),
                                      path=path, pins=pins, from_pose=bool(from_pose), in_order=bool(in_order))
    return _run(task, timeout)


def pin_pose(armature, frame: int | None = None, scene=None) -> dict:
    """Pin the armature's evaluated pose at `frame` (default: the current one); `generate(..., pins=True)`
    sends it. Returns the pin as ``{"frame": scene frame, "joints": 22 engine joints}``."""
    import json
    from . import rig_pose
    pin = rig_pose.pin_pose(armature, scene or bpy.context.scene, frame)
    return {"frame": pin.frame, "joints": json.loads(pin.joints)}


def clear_pins(armature) -> None:
    """Remove every pinned pose of the armature."""
    armature.motion_retarget.pins.clear()


def current_pose(armature, frame: int | None = None, scene=None):
    """(22, 3) the armature's evaluated pose at `frame` as the engine's joints (metres, y up, engine body)."""
    from . import rig_pose
    scene = scene or bpy.context.scene
    return rig_pose.pose_joints(armature, scene, [float(scene.frame_current if frame is None else frame)])[0]


def extend(prompt: str, armature, seconds: float = 2.0, seed: int | None = None, guidance: float = 7.5,
           steps: int = 10, scene=None, engine=None, timeout: float | None = None,
           foot_cleanup: bool = True, smooth_joins: bool = True) -> list:
    """Continue the armature's active take by `seconds` with a new prompt; returns the new take's actions.
    smooth_joins=False keeps the seam's step as sampled (default: smoothed, no pop)."""
    scene = scene or bpy.context.scene
    engine, settings = _engine(engine)
    seed = generation.new_seed() if seed is None else int(seed)
    task = generation.submit_extend(engine, settings, armature, scene, prompt, seconds, seed, guidance, steps,
                                    foot_cleanup=bool(foot_cleanup), smooth_joins=bool(smooth_joins))
    return _run(task, timeout)


def timeline(segments, armature, seed: int | None = None, guidance: float = 7.5, steps: int = 10,
             start_frame: int | None = None, scene=None, engine=None, timeout: float | None = None,
             foot_cleanup: bool = True, smooth_joins: bool = True, path=None, pins=None) -> list:
    """One continuous take playing ``[(prompt, seconds), ...]`` in order; returns its action (in a list).
    smooth_joins=False keeps the joins between segments as sampled (default: smoothed, no pop). path/pins as in
    `generate` (pin frames in engine frames after the start frame, the timeline's start)."""
    scene = scene or bpy.context.scene
    engine, settings = _engine(engine)
    seed = generation.new_seed() if seed is None else int(seed)
    start = scene.frame_start if start_frame is None else start_frame
    task = generation.submit_timeline(engine, settings, armature, scene, list(segments), seed, guidance, steps,
                                      start, foot_cleanup=bool(foot_cleanup), smooth_joins=bool(smooth_joins),
                                      path=path, pins=pins)
    return _run(task, timeout)


def batch(prompts, armature, **kwargs) -> list[list]:
    """`generate` for each prompt in turn (the engine stays warm); returns one list of actions per prompt."""
    if isinstance(prompts, str):
        raise TypeError("batch takes a list of prompts; use generate() for one")
    return [generate(p, armature, **kwargs) for p in prompts]

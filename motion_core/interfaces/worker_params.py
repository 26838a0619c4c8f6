"""Worker request parameters: each ``params`` value of a request checked and converted, or a ProtocolError.

`JOB_PARAMS` lists the keys each job method reads; the functions here read one value each (numbers, strings,
prompts, timeline segments, the input motion of an extend, the output folder), so that a bad request fails
before any model is loaded. Used by `motion_core.interfaces.worker`.
"""
from __future__ import annotations

from pathlib import Path

from motion_core.formats.atomic_file import file_in_the_way, probe_writable
from motion_core.interfaces.worker_protocol import ProtocolError

__all__ = ["MAX_PROMPTS", "JOB_PARAMS", "CONTROLS", "SPATIAL_CONTROLS", "control_options", "spatial_controls",
           "optional_str", "output_folder", "required_str", "optional_number",
           "optional_int", "prompt_list", "timeline_segments", "input_motion"]

# Animator controls (issue 23) each method takes, as the engine's keywords of the same names (see control_options).
CONTROLS = {"generate": {"foot_cleanup", "loop", "sequences"}, "extend": {"foot_cleanup", "smooth_joins"},
            "timeline": {"foot_cleanup", "smooth_joins"}}
# Spatial controls (issue 23, items 1 and 3): JSON values, checked by spatial_controls.
# extend counts their frames from its first new frame, timeline from its start (Engine.extend, .generate_timeline).
SPATIAL_CONTROLS = {"generate": {"path", "pins"}, "extend": {"path", "pins"}, "timeline": {"path", "pins"}}
_COMMON_PARAMS = {"seed", "guidance", "steps", "checkpoint", "device", "out_dir", "seconds", "frames"}
_GENERATE_PARAMS = _COMMON_PARAMS | {"prompts", "prompt"} | CONTROLS["generate"] | SPATIAL_CONTROLS["generate"]
_EXTEND_PARAMS = _COMMON_PARAMS | {"motion_path", "prompt"} | CONTROLS["extend"] | SPATIAL_CONTROLS["extend"]
_TIMELINE_PARAMS = ({"segments", "seed", "guidance", "steps", "checkpoint", "device", "out_dir"} | CONTROLS["timeline"]
                    | SPATIAL_CONTROLS["timeline"])
JOB_PARAMS = {"generate": _GENERATE_PARAMS, "extend": _EXTEND_PARAMS, "timeline": _TIMELINE_PARAMS}
MAX_PROMPTS = 256             # prompts per generate request (the add-on sends at most 16)


def control_options(params: dict, method: str = "generate") -> dict:
    """Animator controls given in the request (issue 23): booleans; absent or null ones keep the engine's defaults."""
    keys = CONTROLS.get(method, set())
    options = {}
    for key in sorted(keys & set(params)):
        if params[key] is None:
            continue
        if not isinstance(params[key], bool):
            raise ProtocolError("invalid_params", f"params.{key} must be true or false, got {params[key]!r:.60}")
        options[key] = params[key]
    return options


def spatial_controls(params: dict, method: str = "generate") -> dict:
    """params.path and params.pins (issue 23), parsed; absent or null ones are left out. Checked here, before a
    model is loaded, against the bundled model's skeleton (HumanML3D joint names, 20 fps) and, when params give
    the clip's length, against it; with params.checkpoint set, the engine checks the joint names itself."""
    from motion_core.controls.path import PathError, RootPath
    from motion_core.controls.pins import PinError, parse_pins
    from motion_core.kinematics.skeleton import HUMANML3D
    wanted = {key: params[key] for key in sorted(SPATIAL_CONTROLS.get(method, set()) & set(params))
              if params[key] is not None}
    if not wanted:
        return {}
    default_model = params.get("checkpoint") in (None, "")
    frames = _requested_frames(params) if default_model else None
    try:
        if "path" in wanted:
            wanted["path"] = RootPath.from_json(wanted["path"])
            if wanted["path"].waypoints:
                wanted["path"].frames(HUMANML3D.fps, frames)
        if "pins" in wanted and default_model:
            wanted["pins"] = parse_pins(wanted["pins"], HUMANML3D, frames)
    except (PathError, PinError) as exc:
        raise ProtocolError("invalid_params", f"params.{'path' if isinstance(exc, PathError) else 'pins'}: {exc}") \
            from None
    return wanted


def _requested_frames(params: dict) -> int | None:
    """The clip length params ask for at the bundled model's 20 fps (None: not given, or not a plain number)."""
    value = params.get("frames")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    seconds = params.get("seconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 < seconds < 1e6:
        return int(round(seconds * 20.0))
    return None


def optional_str(params: dict, key: str) -> str | None:
    """params[key]: a string, or None where it is missing, null or empty."""
    value = params.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError("invalid_params", f"params.{key} must be a string or null, got {value!r:.60}")
    return value or None


def output_folder(params: dict) -> str | None:
    """params.out_dir, refused before any work when no folder can ever be there (not after minutes of it)."""
    out_dir = optional_str(params, "out_dir")
    if out_dir is None:
        return None
    if "\0" in out_dir:
        raise ProtocolError("invalid_params", f"params.out_dir {out_dir!r:.300} contains a NUL byte")
    target = Path(out_dir).expanduser()
    blocker = file_in_the_way(target)
    if blocker is not None:
        raise ProtocolError("invalid_params", f"params.out_dir: {str(blocker)!r:.300} exists and is not a folder")
    try:
        probe_writable(target)
    except OSError as exc:
        raise ProtocolError("io_error", f"params.out_dir: cannot write into {str(target)!r:.300}: "
                                        f"{exc.strerror or exc}") from None
    return out_dir


def required_str(params: dict, key: str) -> str:
    """params[key], which must be a string."""
    value = params.get(key)
    if not isinstance(value, str):
        raise ProtocolError("invalid_params", f"params.{key} must be a string, got {value!r:.60}")
    return value


def optional_number(params: dict, key: str, default: float | None = None) -> float | None:
    """params[key] as a float (JSON integers too), or `default` where it is missing or null."""
    value = params.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError("invalid_params", f"params.{key} must be a number, got {value!r:.60}")
    try:
        return float(value)
    except OverflowError:  # a JSON integer of hundreds of digits
        raise ProtocolError("invalid_params", f"params.{key} is far too large") from None


def optional_int(params: dict, key: str, default: int | None = None) -> int | None:
    """params[key] as an int (whole floats too), or `default` where it is missing or null."""
    value = params.get(key, default)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError("invalid_params", f"params.{key} must be an integer, got {value!r:.60}")
    return value


def prompt_list(params: dict) -> list[str]:
    """A generate request's prompts: params.prompts (or a lone params.prompt), at most `MAX_PROMPTS`."""
    prompts = params.get("prompts")
    if prompts is None and isinstance(params.get("prompt"), str):
        prompts = [params["prompt"]]
    if not isinstance(prompts, list):
        raise ProtocolError("invalid_params", "generate needs params.prompts, a list of strings")
    if len(prompts) > MAX_PROMPTS:
        raise ProtocolError("invalid_params", f"params.prompts has {len(prompts)} prompts; at most {MAX_PROMPTS} "
                                              "per request")
    return prompts


def timeline_segments(params: dict) -> list[tuple]:
    """A timeline request's params.segments as (prompt, seconds) tuples; the engine checks their values."""
    segments = params.get("segments")
    if not isinstance(segments, list):
        raise ProtocolError("invalid_params", "timeline needs params.segments, a list of [prompt, seconds] pairs")
    pairs = []
    for item in segments:
        if isinstance(item, dict):
            item = [item.get("prompt"), item.get("seconds")]
        if not isinstance(item, list):
            raise ProtocolError("invalid_params", f"each timeline segment must be [prompt, seconds] or "
                                                  f"{{\"prompt\": ..., \"seconds\": ...}}, got {item!r:.60}")
        pairs.append(tuple(item))
    return pairs


def input_motion(params: dict):
    """The `Motion` that params.motion_path names (an extend request's input)."""
    from motion_core.formats.motion import Motion
    path = required_str(params, "motion_path")
    try:
        return Motion.load(path)
    except FileNotFoundError:
        raise ProtocolError("invalid_params", f"params.motion_path {path!r:.300} does not exist") from None
    except (ValueError, TypeError) as exc:  # not a Motion file (or a path with a NUL byte): the caller's to fix
        raise ProtocolError("invalid_params", f"params.motion_path: {exc}") from None

"""Process-wide add-on state: the warm engine (rebuilt when preferences change) and where takes are kept."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import engine_client as ec

PACKAGE = __package__ or "text_to_motion"


@dataclass(frozen=True)
class EngineSettings:
    mode: str = "SUBPROCESS"        # or "IN_PROCESS"
    python: str = ""                # interpreter that has motion_core installed (subprocess mode)
    checkpoint: str = ""            # empty: the model shipped with motion_core
    device: str = "auto"
    motion_core_path: str = ""      # optional folder added to the import path (a source checkout)


def settings_from_preferences(context) -> EngineSettings:
    """The add-on preferences as EngineSettings; defaults when the add-on is registered outside the
    preferences system (tests, scripts that call register() directly)."""
    addon = context.preferences.addons.get(PACKAGE) if context is not None else None
    prefs = getattr(addon, "preferences", None)
    if prefs is None:
        return EngineSettings()
    return EngineSettings(prefs.engine_mode, prefs.python_path, prefs.checkpoint, prefs.device,
                          prefs.motion_core_path)


_engine = None
_engine_key: EngineSettings | str | None = None
_PINNED = "pinned"


def get_engine(settings: EngineSettings):
    """The warm engine for these settings; a change of settings shuts the old one down first."""
    global _engine, _engine_key
    if _engine is not None and _engine_key in (settings, _PINNED):
        return _engine
    shutdown_engine()
    if settings.mode == "IN_PROCESS":
        if settings.motion_core_path:
            import sys
            if settings.motion_core_path not in sys.path:
                sys.path.append(settings.motion_core_path)
        _engine = ec.InProcessEngine(settings.checkpoint or None, settings.device)
    else:
        env = None
        if settings.motion_core_path:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (settings.motion_core_path, env.get("PYTHONPATH")) if p)
        _engine = ec.SubprocessEngine(python=settings.python or _default_python(), env=env)
    _engine_key = settings
    return _engine


def set_engine(engine) -> None:
    """Install a given engine (tests, scripts with their own engine object); it is used whatever the
    preferences say until `shutdown_engine`."""
    global _engine, _engine_key
    shutdown_engine()
    _engine, _engine_key = engine, _PINNED


def shutdown_engine() -> None:
    global _engine, _engine_key
    if _engine is not None:
        _engine.shutdown()
    _engine, _engine_key = None, None


def _default_python() -> str:
    """A Python that is not Blender's: Blender's own interpreter cannot be assumed to have torch."""
    return shutil.which("python3") or shutil.which("python") or "python3"


def request_params(settings: EngineSettings, **params) -> dict:
    """Protocol params: the request's own plus checkpoint, device and (subprocess) where to write results.

    Params given as None are left out, so the engine applies its own default: for `seconds` that is the
    model's predicted length per prompt (Auto length)."""
    params = {k: v for k, v in params.items() if v is not None}
    params.update(checkpoint=settings.checkpoint or None, device=settings.device)
    if settings.mode != "IN_PROCESS":
        params["out_dir"] = str(takes_dir())
    return params


def takes_dir() -> Path:
    """Where take files live so 'Extend' can find them later: the extension's user folder when installed
    as an extension (kept across sessions), else a temporary folder."""
    try:
        import bpy
        path = Path(bpy.utils.extension_path_user(PACKAGE, path="takes", create=True))
    except Exception:   # not installed as an extension (dev checkout, tests)
        path = Path(tempfile.gettempdir()) / "text_to_motion_takes"
        path.mkdir(parents=True, exist_ok=True)
    return path


def persist_motion(motion) -> str | None:
    """Save an in-process Motion next to the other takes; returns its path (None if it cannot be saved)."""
    save = getattr(motion, "save", None)
    if save is None:
        return None
    return str(save(takes_dir() / f"take_{uuid.uuid4().hex[:12]}.npz"))

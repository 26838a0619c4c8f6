"""The generation loop as plain step functions, so it runs (and is tested) without window events.

The modal operator calls `GenerationTask.step()` on every timer tick and `cancel()` on Esc; `step` polls
the engine job (which only ever changes on this, the main thread) and, when the job has finished, calls the
`apply` callback that writes bpy data. The task never touches bpy itself; `show_progress`/`clear_progress`
are the only UI calls and they tolerate a missing window (background mode).
"""
from __future__ import annotations

from typing import Callable

from . import engine_client as ec

RUNNING, FINISHED, CANCELLED, FAILED = "RUNNING", "FINISHED", "CANCELLED", "FAILED"

_active: "GenerationTask | None" = None   # one generation at a time, across operators


def active_task() -> "GenerationTask | None":
    return _active if _active is not None and _active.status == RUNNING else None


def ensure_idle() -> None:
    """Refuse a second generation while one runs: checked *before* a job is submitted, so a refused request
    never leaves an orphan job computing in the background."""
    if active_task() is not None:
        raise ec.EngineError("a generation is already running; wait for it or press Esc to cancel it")


def abandon_active_task() -> None:
    """Cancel and forget the running task (add-on unregistered, new file loaded)."""
    global _active
    if _active is not None and _active.status == RUNNING:
        _active.cancel()
        _active.status = CANCELLED
    _active = None


class GenerationTask:
    """A submitted job plus what to do with its results.

    `apply(results) -> list` runs on the main thread once the job is done and returns the created actions;
    `release(job)` hands the finished job back to its engine (which may restart a misbehaving child);
    `warnings` are problems found up front that did not stop the job (e.g. unmapped joints)."""

    def __init__(self, job, label: str, apply: Callable[[list], list],
                 release: Callable[[object], None] | None = None, warnings: list[str] | None = None,
                 explain: Callable[[str], str] | None = None):
        global _active
        if active_task() is not None:
            raise ec.EngineError("a generation is already running; press Esc to cancel it first")
        self.job = job
        self.label = label
        self.apply = apply
        self.release = release or (lambda job: None)
        self.status = RUNNING
        self.actions: list = []
        self.error: str | None = None
        self.warnings: list[str] = list(warnings or [])
        self.explain = explain or (lambda error: error)   # engine error -> what the user should do about it
        _active = self

    @property
    def fraction(self) -> float:
        return self.job.fraction

    @property
    def percent(self) -> int:
        return int(round(100 * self.job.fraction))

    def status_text(self) -> str:
        message = f" · {self.job.message}" if self.job.message else ""
        return f"Motion: {self.label} · {self.percent}%{message} · Esc to cancel"

    def step(self) -> str:
        """Advance: poll the job, and once it is done apply its results. Returns the task status."""
        if self.status != RUNNING:
            return self.status
        self.job.poll()
        if not self.job.done:
            return RUNNING
        self.release(self.job)
        if self.job.state == ec.DONE:
            try:
                self.actions = list(self.apply(self.job.results))
                self.status = FINISHED
                from .takes import record_warnings, take_warnings   # e.g. words the model never learned
                self.warnings.extend(w for w in take_warnings(self.actions) if w not in self.warnings)
                record_warnings(self.actions, self.warnings)   # and the rig's: all of them in the take's report
            except Exception as exc:   # any failure while writing data is reported, never half-applied
                self.error = f"could not apply the motion: {exc}"
                self.status = FAILED
        elif self.job.state == ec.CANCELLED:
            self.status = CANCELLED
        else:
            self.error = self.explain(self.job.error or "the engine failed")
            self.status = FAILED
        return self.status

    def cancel(self) -> None:
        self.job.cancel()


def show_progress(context, task: GenerationTask) -> None:
    """Percentage in the status bar and the cursor progress; silently nothing without a window."""
    workspace = getattr(context, "workspace", None)
    if workspace is not None:
        workspace.status_text_set(task.status_text())
    wm = getattr(context, "window_manager", None)
    if wm is not None and getattr(context, "window", None) is not None:
        wm.progress_update(task.percent)


def begin_progress(context) -> None:
    wm = getattr(context, "window_manager", None)
    if wm is not None and getattr(context, "window", None) is not None:
        wm.progress_begin(0, 100)


def clear_progress(context) -> None:
    workspace = getattr(context, "workspace", None)
    if workspace is not None:
        workspace.status_text_set(None)
    wm = getattr(context, "window_manager", None)
    if wm is not None and getattr(context, "window", None) is not None:
        wm.progress_end()

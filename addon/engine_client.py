"""One non-blocking job interface over the two ways of running the engine.

* `InProcessEngine`: motion_core imported into Blender's Python; a worker thread runs
  ``engine.generate``/``engine.extend``/``engine.generate_timeline``.
* `SubprocessEngine`: ``<python> -m motion_core serve --stdio`` speaking JSON lines; a reader thread turns
  the child's stdout into events. The child starts on first use, stays warm, and is restarted when it died.

Both hand back a `Job` whose state changes only when the caller (Blender's main thread, from a timer) calls
`Job.poll()`: threads never touch the job's fields, they only put protocol-shaped events on its queue
(``{"event": "progress"|"result"|"error"|"cancelled", ...}``). No bpy here, so it is testable anywhere.
"""
from __future__ import annotations

import collections
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any, Callable

RUNNING, DONE, ERROR, CANCELLED = "RUNNING", "DONE", "ERROR", "CANCELLED"
METHODS = ("generate", "extend", "timeline")   # the worker protocol's job methods


class EngineError(RuntimeError):
    """The engine could not be started or talked to."""


class Job:
    """A generate/extend request in flight. Read `state`, `fraction`, `message`, `results`, `error`.

    `reply_timeout` (s): fail if the engine says nothing for this long (model loading reports progress
    first, so silence means a hang). `cancel_grace` (s): after `cancel()`, how long to wait for the engine's
    confirmation before declaring the job cancelled anyway (and letting the owner kill a stuck engine).
    """

    def __init__(self, job_id: str, method: str, canceller: Callable[["Job"], None],
                 reply_timeout: float = 300.0, cancel_grace: float = 10.0, clock=time.monotonic):
        self.id = job_id
        self.method = method
        self.state = RUNNING
        self.fraction = 0.0
        self.message = "starting engine"
        self.results: list = []        # Motion objects (in-process) or .npz paths (subprocess)
        self.error: str | None = None
        self.events: queue.Queue = queue.Queue()
        self._canceller = canceller
        self._clock = clock
        self._reply_timeout = reply_timeout
        self._cancel_grace = cancel_grace
        self._last_event = clock()
        self._cancel_requested_at: float | None = None
        self.cancel_timed_out = False

    @property
    def done(self) -> bool:
        return self.state != RUNNING

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested_at is not None

    def cancel(self) -> None:
        if self.done or self.cancel_requested:
            return
        self._cancel_requested_at = self._clock()
        self.message = "cancelling"
        try:
            self._canceller(self)
        except Exception as exc:   # the engine is gone: nothing left to cancel
            self._finish(CANCELLED, message=f"cancelled ({exc})")

    def poll(self) -> "Job":
        """Apply queued events (main thread); check the timeouts."""
        while not self.done:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            self._last_event = self._clock()
            self._apply(event)
        now = self._clock()
        if not self.done and self.cancel_requested and now - self._cancel_requested_at > self._cancel_grace:
            self.cancel_timed_out = True
            self._finish(CANCELLED, message="cancelled (the engine did not confirm in time)")
        elif not self.done and now - self._last_event > self._reply_timeout:
            self._finish(ERROR, error=f"the engine sent nothing for {self._reply_timeout:g} s; giving up")
        return self

    def _apply(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "progress":
            self.fraction = _clamp(event.get("fraction", self.fraction))
            self.message = str(event.get("message", ""))
        elif kind == "result":
            motions = event.get("motions")
            if not isinstance(motions, list) or not motions:
                self._finish(ERROR, error=f"the engine's result lists no motions: {event!r:.200}")
            else:
                self.results = motions
                self._finish(DONE, message="done")
                self.fraction = 1.0
        elif kind == "cancelled":
            self._finish(CANCELLED, message="cancelled")
        elif kind == "error":
            err = event.get("error") or {}
            if isinstance(err, dict):
                text = f"{err.get('type', 'error')}: {err.get('message', '')}"
            else:
                text = str(err)
            self._finish(ERROR, error=text)
        else:
            self._finish(ERROR, error=f"unexpected reply from the engine: {event!r:.200}")

    def _finish(self, state: str, message: str | None = None, error: str | None = None) -> None:
        self.state = state
        if message is not None:
            self.message = message
        if error is not None:
            self.error = error
            self.message = error

    def wait(self, timeout: float | None = None, interval: float = 0.05) -> "Job":
        """Block until done (for scripts and tests; the UI polls instead)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.poll().done:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id} still running after {timeout} s")
            time.sleep(interval)
        return self


def _clamp(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(max(value, 0.0), 1.0) if value == value else 0.0


# ------------------------------------------------------------------------------------------------------------
# In-process
# ------------------------------------------------------------------------------------------------------------

class InProcessEngine:
    """Runs motion_core's Engine on a worker thread inside Blender. `loader(checkpoint, device)` returns an
    engine; the default imports motion_core (torch in Blender's Python: the user's choice in preferences)."""

    def __init__(self, checkpoint: str | None = None, device: str = "auto", loader=None,
                 reply_timeout: float = 600.0):
        self.checkpoint = checkpoint or None
        self.device = device
        self._loader = loader or _load_motion_core_engine
        self._engine = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._reply_timeout = reply_timeout

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, method: str, params: dict[str, Any]) -> Job:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
        if self.busy:
            raise EngineError("a generation is already running; wait for it or cancel it")
        job = Job(str(next(self._ids)), method, canceller=lambda j: None, reply_timeout=self._reply_timeout)
        self._thread = threading.Thread(target=self._run, args=(job, method, dict(params)), daemon=True,
                                        name=f"motion-job-{job.id}")
        self._thread.start()
        return job

    def _run(self, job: Job, method: str, params: dict) -> None:
        def progress(fraction, message=""):
            job.events.put({"event": "progress", "fraction": fraction, "message": message})

        def should_cancel():
            return job.cancel_requested

        try:
            if self._engine is None:
                progress(0.0, "loading model")
                self._engine = self._loader(self.checkpoint, self.device)
            # path/pins (issue 23) go through as given: an engine without them refuses them (TypeError), and
            # the add-on explains that, instead of silently generating without them.
            options = {k: params[k] for k in ("seconds", "seed", "guidance", "steps", "foot_cleanup", "loop",
                                               "smooth_joins", "sequences", "path", "pins")
                       if k in params}
            if method == "generate":
                motions = self._engine.generate(list(params["prompts"]), progress=progress,
                                                should_cancel=should_cancel, **options)
            elif method == "timeline":
                options.pop("seconds", None)   # each segment carries its own length
                motions = [self._engine.generate_timeline([tuple(s) for s in params["segments"]],
                                                          progress=progress, should_cancel=should_cancel,
                                                          **options)]
            else:
                motions = [self._engine.extend(_motion_param(params), params["prompt"], progress=progress,
                                               should_cancel=should_cancel, **options)]
            event = {"event": "cancelled"} if job.cancel_requested else {"event": "result", "motions": list(motions)}
        except Exception as exc:
            event = {"event": "cancelled"} if job.cancel_requested else \
                {"event": "error", "error": {"type": type(exc).__name__, "message": str(exc)}}
        job.events.put(event)

    def shutdown(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        self._engine = None


def _load_motion_core_engine(checkpoint, device):
    try:
        from motion_core.engine import Engine
    except ImportError as exc:
        raise EngineError("in-process mode needs motion_core (and torch) importable from Blender's Python; "
                          f"set its path in the add-on preferences or use subprocess mode ({exc})") from exc
    return Engine.load(checkpoint, device=device)


def _motion_param(params: dict):
    if params.get("motion") is not None:
        return params["motion"]
    from .motion_io import load_motion
    return load_motion(params["motion_path"])


# ------------------------------------------------------------------------------------------------------------
# Subprocess
# ------------------------------------------------------------------------------------------------------------

class SubprocessEngine:
    """Drives ``<python> -m motion_core serve --stdio`` (or any `command` speaking the same protocol)."""

    def __init__(self, python: str | None = None, command: list[str] | None = None, env: dict | None = None,
                 cwd: str | None = None, reply_timeout: float = 300.0, cancel_grace: float = 10.0):
        self.command = command or [python or sys.executable, "-m", "motion_core", "serve", "--stdio"]
        self.env = env
        self.cwd = cwd
        self.reply_timeout = reply_timeout
        self.cancel_grace = cancel_grace
        self._proc: subprocess.Popen | None = None
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=30)
        self._stderr_count = 0        # lines ever read, so callers can ask for those after a point
        self._pings: dict[str, threading.Event] = {}

    # -- process lifetime -----------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the child if it is not running (a dead one is replaced)."""
        if self.alive:
            return
        self._stderr_tail.clear()
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, cwd=self.cwd, text=True, encoding="utf-8",
                                    errors="replace", bufsize=1)
        except OSError as exc:
            raise EngineError(f"cannot start the engine ({' '.join(self.command)}): {exc}") from exc
        self._proc = proc
        stderr_reader = threading.Thread(target=self._read_stderr, args=(proc,), daemon=True,
                                         name="motion-engine-stderr")
        stderr_reader.start()
        threading.Thread(target=self._read_stdout, args=(proc, stderr_reader), daemon=True,
                         name="motion-engine-stdout").start()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Ask the child to exit; kill it if it does not within `timeout`."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                self._send({"id": f"s{next(self._ids)}", "method": "shutdown"})
                proc.wait(timeout)
            except (EngineError, subprocess.TimeoutExpired):
                self.kill()
        self._proc = None

    def kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)

    # -- requests -------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._jobs)

    def submit(self, method: str, params: dict[str, Any]) -> Job:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
        if self.busy:
            raise EngineError("a generation is already running; wait for it or cancel it")
        self.start()
        job = Job(str(next(self._ids)), method, canceller=self._cancel, reply_timeout=self.reply_timeout,
                  cancel_grace=self.cancel_grace)
        with self._lock:
            self._jobs[job.id] = job
        try:
            self._send({"id": job.id, "method": method, "params": params})
        except EngineError:
            with self._lock:
                self._jobs.pop(job.id, None)
            raise
        return job

    def release(self, job: Job) -> None:
        """Forget a finished job; a job that ended without the engine's word (timeout, stuck cancel) means
        the child cannot be trusted, so it is killed and the next request starts a fresh one."""
        with self._lock:
            still_tracked = self._jobs.pop(job.id, None) is not None
        if still_tracked and job.done and (job.cancel_timed_out or job.state == ERROR):
            self.kill()

    def ping(self, timeout: float = 30.0) -> bool:
        """True when the child answers a ping within `timeout` (blocking; for scripts and health checks)."""
        self.start()
        ping_id = f"p{next(self._ids)}"
        answered = threading.Event()
        self._pings[ping_id] = answered
        try:
            self._send({"id": ping_id, "method": "ping"})
            return answered.wait(timeout)
        finally:
            self._pings.pop(ping_id, None)

    def _cancel(self, job: Job) -> None:
        self._send({"id": f"c{next(self._ids)}", "method": "cancel", "params": {"target": job.id}})

    def _send(self, message: dict) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise EngineError(self._death_note(proc))
        line = json.dumps(message) + "\n"
        with self._write_lock:
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError) as exc:
                raise EngineError(f"cannot write to the engine: {exc}. {self._death_note(proc)}") from exc

    # -- reader threads -------------------------------------------------------------------------------------

    def _read_stdout(self, proc: subprocess.Popen, stderr_reader: threading.Thread) -> None:
        for line in proc.stdout:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                if not isinstance(event, dict):
                    raise ValueError("not a JSON object")
            except ValueError:
                self._fail_all(f"the engine sent malformed output (not a JSON object line): {line.strip()[:200]!r}")
                proc.kill()   # the stream is corrupt: nothing after this can be trusted
                return
            self._route(event)
        proc.wait()
        stderr_reader.join(2.0)   # so the error message carries the child's last words
        self._fail_all(self._death_note(proc))

    def _route(self, event: dict) -> None:
        event_id = str(event.get("id"))
        if event.get("event") == "pong" and event_id in self._pings:
            self._pings[event_id].set()
            return
        with self._lock:
            job = self._jobs.get(event_id)
            if job is not None and event.get("event") in ("result", "error", "cancelled"):
                del self._jobs[event_id]
        if job is not None:
            job.events.put(event)
        elif event.get("event") == "error":
            self._stderr_tail.append(f"[protocol] {event.get('error')}")

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            self._stderr_tail.append(line.rstrip())
            self._stderr_count += 1

    def stderr_mark(self) -> int:
        """A point in the child's stderr, for `stderr_since`."""
        return self._stderr_count

    def stderr_since(self, mark: int) -> list[str]:
        """The child's stderr lines after `mark` (those still in the kept tail), e.g. the worker's note that it
        ignored params it does not know."""
        new = self._stderr_count - mark
        return list(self._stderr_tail)[-new:] if new > 0 else []

    def _fail_all(self, message: str) -> None:
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:
            job.events.put({"event": "error", "error": {"type": "engine_failure", "message": message}})

    def _death_note(self, proc) -> str:
        if proc is None:
            return "the engine is not running"
        code = proc.poll()
        tail = " | ".join(list(self._stderr_tail)[-5:])
        return f"the engine process exited (code {code})" + (f"; last stderr: {tail}" if tail else "")

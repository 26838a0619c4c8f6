"""`motion-core serve --stdio`: a JSON-lines worker the Blender add-on drives over stdin/stdout.

Why a subprocess: Blender's Python must stay responsive and must not import torch; the worker keeps the model
warm between requests and can be killed at any time without taking Blender down.

Protocol (one JSON object per line, UTF-8, both directions):

requests  {"id": "1", "method": "generate", "params": {"prompts": ["a person walks"], "seconds": 4.0,
                "seed": 0, "guidance": 7.5, "steps": 20, "checkpoint": null, "device": "auto", "out_dir": null}}
          {"id": "2", "method": "extend", "params": {"motion_path": "/x.npz", "prompt": "then jumps",
                "seconds": 2.0, "seed": 0, "guidance": 7.5, "steps": 20, "checkpoint": null, "device": "auto",
                "out_dir": null}}
          {"id": "6", "method": "timeline", "params": {"segments": [["walks forward", 4.0], ["jumps", 2.0]],
                "seed": 0, "guidance": 7.5, "steps": 20, "checkpoint": null, "device": "auto", "out_dir": null}}
          {"id": "3", "method": "cancel", "params": {"target": "1"}}
          {"id": "4", "method": "ping"}
          {"id": "5", "method": "shutdown"}
          generate/extend/timeline also take "foot_cleanup": true/false (default true: planted feet locked);
          generate takes "loop": true/false (default false: seamless on repeat) and "sequences": true/false
          (default true: a prompt telling actions in order plays as a timeline of its clauses); extend/timeline take
          "smooth_joins": true/false (default true: no pop at seams and joins). All three take "path"
          ({"waypoints": [{"frame" or "time", "x", "z"}, ...]} or {"curve": [[x, z], ...]}) and "pins"
          ([{"frame", "joints": [[x, y, z] x 22]} or {"frame", "effectors": {"<joint>": [x, y, z]}}, ...]):
          see motion_core.controls.path and .pins (extend: frames from its first new frame, in the input motion's
          coordinates); bad ones get invalid_params before any model is loaded.
          guidance/steps may be omitted or null: the model's own defaults apply. A generate request without
          seconds/frames gets each prompt's length from the model's length predictor (4 s without one).
replies   {"id": "1", "event": "progress", "fraction": 0.35, "message": "denoising step 7/20"}
          {"id": "1", "event": "result",
           "motions": ["/tmp/motion_core_job_1_3f9c01ab/1_00_a_person_walks_3f9c01ab.npz"]}
          {"id": "1", "event": "error", "error": {"type": "invalid_params", "message": "..."}}
          {"id": "1", "event": "cancelled"}
          {"id": "4", "event": "pong", "busy": false}

Rules: generate/extend/timeline run on a job thread, one at a time (a second one while busy gets an error of type
"busy"); ping and cancel are answered while a job runs. A successful cancel is answered by the *target* job's
"cancelled" event (the cancel request itself gets no reply; cancelling a job that is not running gets an error
of type "not_running"). "shutdown" cancels the running job, waits for it, and exits with status 0, as does
end of input. Unknown params keys are ignored with a warning on stderr. Error types: parse_error,
invalid_request, unknown_method, invalid_params, busy, not_running, model_not_found, invalid_checkpoint (a
checkpoint that is malformed or unsafe to load), device_error, io_error (result files could not be written,
e.g. disk full), runtime_error. Request lines longer than
`MAX_REQUEST_CHARS` get a parse_error and are skipped without being held in memory; a generate request may
carry at most `MAX_PROMPTS` prompts. Result files are all-or-nothing: a job's files are written into a
`.partial_*` folder inside out_dir (or the temporary folder) and published by renaming it to a folder of their
own, so they appear all at once; a failed, cancelled or killed job (even by SIGKILL) leaves none of its files.
A killed worker's `.partial_*` folder is removed by the next job that writes there. SIGTERM ends the worker
like "shutdown" (the running job is cancelled), with exit status 143.
stdout carries protocol lines only: everything else that writes to stdout, Python or C, lands on stderr.

This module holds the dispatcher (`Worker`: requests in, one job thread at a time, events out) and the process
entry (`serve_stdio`); line framing is `worker_protocol`, params checks `worker_params`, result files
`worker_results`.
"""
from __future__ import annotations

import io
import math
import os
import signal
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

from motion_core.interfaces.worker_params import (JOB_PARAMS, MAX_PROMPTS, control_options, input_motion,
                                                  optional_int, optional_number, optional_str, output_folder,
                                                  prompt_list, required_str, spatial_controls, timeline_segments)
from motion_core.interfaces.worker_protocol import (MAX_REQUEST_CHARS, LineWriter, ProtocolError, bounded_lines,
                                                    parse_request)
from motion_core.interfaces.worker_results import write_motions

__all__ = ["Worker", "serve_stdio", "ProtocolError", "Terminated", "raise_terminated_on_sigterm",
           "MAX_REQUEST_CHARS", "MAX_PROMPTS"]

_JOIN_TIMEOUT_S = 30.0


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM (see `serve_stdio`); a BaseException so that no handler of
    ordinary errors swallows it."""


@dataclass
class _Job:
    id: str
    method: str
    params: dict[str, Any]
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


def _default_engine_loader(checkpoint: str | None, device: str):
    from motion_core.engine import Engine
    return Engine.load(checkpoint, device=device)


class Worker:
    """Request dispatcher. `engine_loader(checkpoint, device)` is injectable so tests can run without a model."""

    def __init__(self, writer: TextIO, engine_loader: Callable[[str | None, str], Any] = _default_engine_loader,
                 log: TextIO | None = None):
        self._out = LineWriter(writer)
        self._log = log if log is not None else sys.stderr
        self._load_engine = engine_loader
        self._engine = None
        self._engine_key: tuple[str | None, str] | None = None
        self._job: _Job | None = None
        self._job_lock = threading.Lock()

    # -- reader side -------------------------------------------------------------------------------------

    def serve(self, reader: TextIO) -> int:
        """Handle request lines until shutdown or end of input; returns the process exit status."""
        status = 0
        try:
            for line in bounded_lines(reader, MAX_REQUEST_CHARS):
                if line is None:
                    self._error(None, "parse_error",
                                f"request line longer than {MAX_REQUEST_CHARS} characters; skipped")
                    continue
                if not line.strip():
                    continue
                if not self.handle_line(line):
                    break
        except Terminated:   # SIGTERM: end like "shutdown", so the running job is cancelled, not cut short
            status = 128 + signal.SIGTERM
        finally:
            self._stop_job()
        return status

    def handle_line(self, line: str) -> bool:
        """Answer one request line; False means "shut down"."""
        request_id = None
        try:
            request = parse_request(line)
            request_id = request["id"]
            return self._dispatch(request_id, request["method"], request.get("params") or {})
        except ProtocolError as exc:
            self._error(request_id or exc.request_id, exc.kind, str(exc))
        except Exception as exc:  # a bug here must never kill the worker the add-on depends on
            traceback.print_exc(file=self._log)
            self._error(request_id, "runtime_error", f"{type(exc).__name__}: {exc}")
        return True

    def _dispatch(self, request_id: str, method: str, params: dict[str, Any]) -> bool:
        if method == "ping":
            self._out.send({"id": request_id, "event": "pong", "busy": self._busy()})
        elif method == "cancel":
            self._cancel(request_id, params)
        elif method == "shutdown":
            return False
        elif method in JOB_PARAMS:
            allowed = JOB_PARAMS[method]
            unknown = sorted(set(params) - allowed)
            if unknown:
                print(f"motion-core worker: ignoring unknown {method} params {unknown}", file=self._log)
            self._start_job(_Job(request_id, method, params))
        else:
            raise ProtocolError("unknown_method", f"unknown method {method!r}; expected one of: "
                                                  "generate, extend, timeline, cancel, ping, shutdown")
        return True

    def _busy(self) -> bool:
        with self._job_lock:
            return self._job is not None

    def _cancel(self, request_id: str, params: dict[str, Any]) -> None:
        target = params.get("target")
        if not isinstance(target, str):
            raise ProtocolError("invalid_params", "cancel needs params.target, the id (a string) of the job")
        with self._job_lock:
            job = self._job
            if job is None or job.id != target:
                running = f"job {job.id!r} is running" if job else "no job is running"
                raise ProtocolError("not_running", f"cannot cancel {target!r}: {running}")
            job.cancel.set()

    def _start_job(self, job: _Job) -> None:
        with self._job_lock:
            if self._job is not None:
                raise ProtocolError("busy", f"job {self._job.id!r} is still running; cancel it or wait")
            self._job = job
            job.thread = threading.Thread(target=self._run_job, args=(job,), name=f"job-{job.id}", daemon=True)
            job.thread.start()

    def _stop_job(self) -> None:
        with self._job_lock:
            job = self._job
        if job is not None:
            job.cancel.set()
            job.thread.join(_JOIN_TIMEOUT_S)

    # -- job side ----------------------------------------------------------------------------------------

    def _run_job(self, job: _Job) -> None:
        try:
            event = {"id": job.id, "event": "result", "motions": self._execute(job)}
        except Exception as exc:
            kind, message = self._classify(exc)
            event = ({"id": job.id, "event": "cancelled"} if kind == "cancelled" else
                     {"id": job.id, "event": "error", "error": {"type": kind, "message": message}})
        # Free the slot *before* replying: a client that submits the next job as soon as it reads this
        # reply must not be told "busy".
        with self._job_lock:
            self._job = None
        self._out.send(event)

    def _execute(self, job: _Job) -> list[str]:
        # Read every param (and the input motion) before loading a model, so bad requests fail fast.
        params = job.params
        progress = self._progress_reporter(job)
        if job.method == "timeline":
            return self._execute_timeline(job, progress)
        options = dict(seconds=optional_number(params, "seconds"), frames=optional_int(params, "frames"),
                       **_sampling_options(job, progress))
        out_dir = output_folder(params)
        options.update(spatial_controls(params, job.method))
        if job.method == "generate":
            prompts = prompt_list(params)
        else:
            motion, prompt = input_motion(params), required_str(params, "prompt")
        engine = self._engine_for(optional_str(params, "checkpoint"), optional_str(params, "device") or "auto",
                                  progress)
        if job.method == "generate":
            motions = engine.generate(prompts, **options)
        else:
            motions = [engine.extend(motion, prompt, **options)]
        return write_motions(motions, job.id, job.cancel, out_dir)

    def _execute_timeline(self, job: _Job, progress: Callable[[float, str], None]) -> list[str]:
        """One continuous motion from params.segments, ``[[prompt, seconds], ...]`` (or objects with those
        keys); the engine validates the segments themselves."""
        params = job.params
        segments = timeline_segments(params)
        options = dict(_sampling_options(job, progress), **spatial_controls(params, "timeline"))
        out_dir = output_folder(params)
        engine = self._engine_for(optional_str(params, "checkpoint"), optional_str(params, "device") or "auto",
                                  progress)
        return write_motions([engine.generate_timeline(segments, **options)], job.id, job.cancel, out_dir)

    def _engine_for(self, checkpoint: str | None, device: str, progress: Callable[[float, str], None]):
        """The warm engine, reloaded only when the request names another checkpoint or device."""
        key = (checkpoint, device)
        if self._engine is None or self._engine_key != key:
            progress(0.0, f"loading model {checkpoint or '(default)'} on {device}")
            self._engine = None  # drop the old weights before loading new ones
            self._engine = self._load_engine(checkpoint, device)
            self._engine_key = key
        return self._engine

    def _progress_reporter(self, job: _Job) -> Callable[[float, str], None]:
        def report(fraction: float, message: str = "") -> None:
            value = float(fraction) if math.isfinite(float(fraction)) else 0.0
            self._out.send({"id": job.id, "event": "progress", "fraction": min(max(value, 0.0), 1.0),
                            "message": str(message)})
        return report

    def _classify(self, exc: Exception) -> tuple[str, str]:
        """Map an exception from a job to an error type; unexpected ones get their traceback on stderr."""
        from motion_core import engine as engine_module
        if isinstance(exc, engine_module.Cancelled):
            return "cancelled", ""
        if isinstance(exc, ProtocolError):
            return exc.kind, str(exc)
        if isinstance(exc, engine_module.ModelNotFoundError):
            return "model_not_found", str(exc)
        from motion_core.formats.checkpoint import CheckpointError
        if isinstance(exc, CheckpointError):
            return "invalid_checkpoint", str(exc)
        if isinstance(exc, engine_module.DeviceError):
            return "device_error", str(exc)
        if isinstance(exc, (engine_module.InputError, FileNotFoundError)):
            return "invalid_params", str(exc)
        if isinstance(exc, OSError):
            return "io_error", str(exc)
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=self._log)
        return "runtime_error", f"{type(exc).__name__}: {exc}"

    def _error(self, request_id: str | None, kind: str, message: str) -> None:
        self._out.send({"id": request_id, "event": "error", "error": {"type": kind, "message": message}})


# -- request options ---------------------------------------------------------------------------------------

def _sampling_options(job: "_Job", progress: Callable[[float, str], None]) -> dict:
    """Seed, guidance and steps (None: the model's defaults), progress and cancellation: what every method takes."""
    params = job.params
    return dict(seed=optional_int(params, "seed", default=0), guidance=optional_number(params, "guidance"),
                steps=optional_int(params, "steps"), progress=progress, should_cancel=job.cancel.is_set,
                **control_options(params, job.method))


# -- process entry -----------------------------------------------------------------------------------------

def serve_stdio(engine_loader: Callable[[str | None, str], Any] = _default_engine_loader) -> int:
    """Run the worker on this process's stdin/stdout, keeping stray stdout writes off the protocol stream."""
    protocol_fd = os.dup(sys.stdout.fileno())
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # C-level and print() output now goes to stderr
    sys.stdout = sys.stderr
    protocol = io.TextIOWrapper(os.fdopen(protocol_fd, "wb", buffering=0), encoding="utf-8",
                                line_buffering=True, write_through=True)
    reader = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    worker = Worker(protocol, engine_loader)
    raise_terminated_on_sigterm()
    return worker.serve(reader)


def raise_terminated_on_sigterm():
    """Turn SIGTERM into `Terminated` in the main thread (without a handler the process would die on the spot,
    leaving its work in progress on disk); returns the handler it replaced, None off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def _raise_terminated(signum, frame):
    raise Terminated()

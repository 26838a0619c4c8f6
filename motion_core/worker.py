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
          generate takes "loop": true/false (default false: seamless on repeat).
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
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import sys
import tempfile
import threading
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from motion_core.atomic_file import file_in_the_way, probe_writable, publish_folder, remove_stale_partials

__all__ = ["Worker", "serve_stdio", "ProtocolError", "Terminated", "raise_terminated_on_sigterm"]

_CONTROL_PARAMS = {"foot_cleanup"}   # issue 23: animator controls, see _control_options
_COMMON_PARAMS = {"seed", "guidance", "steps", "checkpoint", "device", "out_dir", "seconds", "frames"} | _CONTROL_PARAMS
_GENERATE_PARAMS = _COMMON_PARAMS | {"prompts", "prompt", "loop"}
_EXTEND_PARAMS = _COMMON_PARAMS | {"motion_path", "prompt"}
_TIMELINE_PARAMS = {"segments", "seed", "guidance", "steps", "checkpoint", "device", "out_dir"} | _CONTROL_PARAMS
_JOB_PARAMS = {"generate": _GENERATE_PARAMS, "extend": _EXTEND_PARAMS, "timeline": _TIMELINE_PARAMS}
_JOIN_TIMEOUT_S = 30.0
MAX_REQUEST_CHARS = 1 << 20   # a request is a few hundred bytes; a megabyte line is garbage or an attack
MAX_PROMPTS = 256             # prompts per generate request (the add-on sends at most 16)


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM (see `serve_stdio`); a BaseException so that no handler of
    ordinary errors swallows it."""


class ProtocolError(Exception):
    """A request the worker can answer only with an error event; `kind` is the event's error type."""

    def __init__(self, kind: str, message: str, request_id: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.request_id = request_id  # set when the error is found after the request's id was read


class _LineWriter:
    """Serialises events from the reader and job threads onto one stream, one complete line at a time."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, event: dict[str, Any]) -> None:
        # ASCII escapes keep every event on one line for any reader: raw U+0085 or U+2028 in an echoed id or
        # prompt would split the line for readers that honour Unicode line breaks (Python's str.splitlines).
        line = json.dumps(event, ensure_ascii=True, allow_nan=False)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                pass  # the client went away; the reader sees end of input and shuts us down


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
        self._out = _LineWriter(writer)
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
            for line in _bounded_lines(reader, MAX_REQUEST_CHARS):
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
            request = _parse_request(line)
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
        elif method in _JOB_PARAMS:
            allowed = _JOB_PARAMS[method]
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
        options = dict(seconds=_opt_number(params, "seconds"), frames=_opt_int(params, "frames"),
                       **_sampling_options(job, progress))
        out_dir = _out_dir(params)
        if job.method == "generate":
            prompts = _prompts(params)
        else:
            motion, prompt = _load_motion(params), _required_str(params, "prompt")
        engine = self._engine_for(_opt_str(params, "checkpoint"), _opt_str(params, "device") or "auto", progress)
        if job.method == "generate":
            motions = engine.generate(prompts, **options)
        else:
            motions = [engine.extend(motion, prompt, **options)]
        return _write_motions(motions, job, out_dir)

    def _execute_timeline(self, job: _Job, progress: Callable[[float, str], None]) -> list[str]:
        """One continuous motion from params.segments, ``[[prompt, seconds], ...]`` (or objects with those
        keys); the engine validates the segments themselves."""
        params = job.params
        segments = _segments(params)
        options = _sampling_options(job, progress)
        out_dir = _out_dir(params)
        engine = self._engine_for(_opt_str(params, "checkpoint"), _opt_str(params, "device") or "auto", progress)
        return _write_motions([engine.generate_timeline(segments, **options)], job, out_dir)

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
        from motion_core.checkpoint import CheckpointError
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


# -- request parsing -----------------------------------------------------------------------------------------

def _bounded_lines(reader: TextIO, limit: int):
    """Lines of `reader`, with None in place of any line over `limit` characters (read and dropped in chunks,
    so one endless line cannot exhaust memory)."""
    while True:
        line = reader.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit:
            yield line
            continue
        while line and not line.endswith("\n"):
            line = reader.readline(limit)
        yield None


def _parse_request(line: str) -> dict[str, Any]:
    try:
        request = json.loads(line)
    except (ValueError, RecursionError) as exc:  # ValueError: bad JSON or an integer of thousands of digits
        raise ProtocolError("parse_error", f"request is not valid JSON: {exc!s:.200}") from None
    if not isinstance(request, dict):
        raise ProtocolError("invalid_request", "request must be a JSON object")
    request_id = request.get("id")
    if isinstance(request_id, (int, float)) and not isinstance(request_id, bool):
        request_id = str(request_id)  # be forgiving about numeric ids; replies always carry strings
    if not isinstance(request_id, str) or not request_id:
        raise ProtocolError("invalid_request", "request needs a non-empty string \"id\"")
    request["id"] = request_id
    method = request.get("method")
    if not isinstance(method, str):
        raise ProtocolError("invalid_request", "request needs a string \"method\"", request_id)
    if not isinstance(request.get("params") or {}, dict):
        raise ProtocolError("invalid_request", "\"params\" must be a JSON object", request_id)
    return request


def _opt_str(params: dict, key: str) -> str | None:
    value = params.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError("invalid_params", f"params.{key} must be a string or null, got {value!r:.60}")
    return value or None


def _out_dir(params: dict) -> str | None:
    """params.out_dir, refused before any work when no folder can ever be there (not after minutes of it)."""
    out_dir = _opt_str(params, "out_dir")
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


def _required_str(params: dict, key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str):
        raise ProtocolError("invalid_params", f"params.{key} must be a string, got {value!r:.60}")
    return value


def _sampling_options(job: "_Job", progress: Callable[[float, str], None]) -> dict:
    """Seed, guidance and steps (None: the model's defaults), progress and cancellation: what every method takes."""
    params = job.params
    return dict(seed=_opt_int(params, "seed", default=0), guidance=_opt_number(params, "guidance"),
                steps=_opt_int(params, "steps"), progress=progress, should_cancel=job.cancel.is_set,
                **_control_options(params, job.method))


def _control_options(params: dict, method: str = "generate") -> dict:
    """Animator controls given in the request (issue 23); absent ones keep the engine's defaults."""
    options = {}
    for key in sorted(_CONTROL_PARAMS & set(params) | ({"loop"} & set(params) if method == "generate" else set())):
        if params[key] is None:
            continue
        if not isinstance(params[key], bool):
            raise ProtocolError("invalid_params", f"params.{key} must be true or false, got {params[key]!r:.60}")
        options[key] = params[key]
    return options


def _opt_number(params: dict, key: str, default: float | None = None) -> float | None:
    value = params.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError("invalid_params", f"params.{key} must be a number, got {value!r:.60}")
    try:
        return float(value)
    except OverflowError:  # a JSON integer of hundreds of digits
        raise ProtocolError("invalid_params", f"params.{key} is far too large") from None


def _opt_int(params: dict, key: str, default: int | None = None) -> int | None:
    value = params.get(key, default)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError("invalid_params", f"params.{key} must be an integer, got {value!r:.60}")
    return value


def _prompts(params: dict) -> list[str]:
    prompts = params.get("prompts")
    if prompts is None and isinstance(params.get("prompt"), str):
        prompts = [params["prompt"]]
    if not isinstance(prompts, list):
        raise ProtocolError("invalid_params", "generate needs params.prompts, a list of strings")
    if len(prompts) > MAX_PROMPTS:
        raise ProtocolError("invalid_params", f"params.prompts has {len(prompts)} prompts; at most {MAX_PROMPTS} "
                                              "per request")
    return prompts


def _segments(params: dict) -> list[tuple]:
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


def _load_motion(params: dict):
    from motion_core.motion import Motion
    path = _required_str(params, "motion_path")
    try:
        return Motion.load(path)
    except FileNotFoundError:
        raise ProtocolError("invalid_params", f"params.motion_path {path!r:.300} does not exist") from None
    except (ValueError, TypeError) as exc:  # not a Motion file (or a path with a NUL byte): the caller's to fix
        raise ProtocolError("invalid_params", f"params.motion_path: {exc}") from None


# -- result files ------------------------------------------------------------------------------------------

def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:limit].rstrip("_") or "motion"


def _write_motions(motions: list, job: _Job, out_dir: str | None) -> list[str]:
    """Save the job's motions as .npz files in a folder of their own, published by one rename: a failed or
    killed job leaves none of its files, only a `.partial_*` folder that the next job there removes."""
    target = Path(out_dir).expanduser() if out_dir else Path(tempfile.gettempdir())
    target.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(target)
    # Request ids restart with every client session, so names carry a random token too: a new take must
    # never overwrite an older one that a saved .blend file still points to.
    token = uuid.uuid4().hex[:8]
    folder = target / f"{'' if out_dir else 'motion_core_job_'}{_slug(job.id, 16)}_{token}"
    names = [f"{_slug(job.id, 16)}_{index:02d}_{_slug(str(motion.meta.get('prompt', '')))}_{token}.npz"
             for index, motion in enumerate(motions)]
    with publish_folder(folder) as scratch:
        for motion, name in zip(motions, names):
            if job.cancel.is_set():   # shutdown or SIGTERM while writing hundreds of takes: stop, publish nothing
                from motion_core.engine import Cancelled
                raise Cancelled("cancelled while writing the results")
            motion.save(scratch / name)
    return [str((folder / name).resolve()) for name in names]


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

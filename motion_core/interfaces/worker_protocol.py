"""The worker's wire protocol: JSON lines in, JSON lines out (see `motion_core.interfaces.worker` for the messages).

Incoming lines are read with a length limit (`bounded_lines`, `MAX_REQUEST_CHARS`) and parsed into requests
(`parse_request`); outgoing events are written one complete line at a time from any thread (`LineWriter`).
A request that can only be answered with an error raises `ProtocolError`.
"""
from __future__ import annotations

import json
import threading
from typing import Any, TextIO

__all__ = ["MAX_REQUEST_CHARS", "ProtocolError", "LineWriter", "bounded_lines", "parse_request"]

MAX_REQUEST_CHARS = 1 << 20   # a request is a few hundred bytes; a megabyte line is garbage or an attack


class ProtocolError(Exception):
    """A request the worker can answer only with an error event; `kind` is the event's error type."""

    def __init__(self, kind: str, message: str, request_id: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.request_id = request_id  # set when the error is found after the request's id was read


class LineWriter:
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


def bounded_lines(reader: TextIO, limit: int):
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


def parse_request(line: str) -> dict[str, Any]:
    """One request line as a dict with a string "id" and "method" (and "params", if any, an object), or a
    ProtocolError saying what is wrong with it."""
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

"""The safetensors header: parsed and sanity-checked before any tensor data of a checkpoint is loaded.

`read_safetensors_header` reads only the header and checks every entry (allowed dtype, plausible shape, byte
range inside the file and matching dtype and shape, no two tensors sharing bytes), so a crafted file is
refused before anything is allocated from it.
"""
from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from motion_core.formats.checkpoint_limits import ALLOWED_DTYPES, MAX_HEADER_BYTES, MAX_PARAMS, CheckpointError

__all__ = ["HeaderEntry", "read_safetensors_header"]


@dataclass
class HeaderEntry:
    """One tensor of a safetensors header: dtype name, shape and byte range within the data section."""
    dtype: str
    shape: tuple[int, ...]
    offsets: tuple[int, int] = field(default=(0, 0))


def read_safetensors_header(file: str | os.PathLike) -> dict[str, HeaderEntry]:
    """Parse and sanity-check a safetensors header without touching tensor data.

    Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}, data.
    """
    file = Path(file)
    if not file.is_file():
        raise CheckpointError(f"{file} not found")
    size = file.stat().st_size
    with open(file, "rb") as handle:
        raw = handle.read(8)
        if len(raw) < 8:
            raise CheckpointError(f"{file} is not a safetensors file (too short)")
        (header_len,) = struct.unpack("<Q", raw)
        if header_len < 2 or header_len > min(MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{file} is not a safetensors file (implausible header length {header_len})")
        header_bytes = handle.read(header_len)
    if not header_bytes.lstrip().startswith(b"{"):
        raise CheckpointError(f"{file} is not a safetensors file (header is not a JSON object)")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise CheckpointError(f"{file} is not a safetensors file (bad header: {error!s:.200})") from error
    if type(header) is not dict:
        raise CheckpointError(f"{file} is not a safetensors file (header is not a JSON object)")
    header.pop("__metadata__", None)
    data_size = size - 8 - header_len
    entries = {key: _parse_entry(file, key, entry, data_size) for key, entry in header.items()}
    _check_no_overlap(file, entries)
    return entries


def _check_no_overlap(file: Path, entries: dict[str, "HeaderEntry"]) -> None:
    """Each tensor must own its bytes: overlapping ranges are how a crafted file aliases one tensor's data."""
    end, previous = 0, None
    for key, entry in sorted(entries.items(), key=lambda item: item[1].offsets):
        start, stop = entry.offsets
        if start < end:
            raise CheckpointError(f"{file}: tensors {previous!r:.80} and {key!r:.80} have overlapping data offsets")
        if stop > start:
            end, previous = stop, key


def _parse_entry(file: Path, key: str, entry: Any, data_size: int) -> HeaderEntry:
    def bad(message: str):
        raise CheckpointError(f"{file}: tensor {key!r:.80}: {message}")

    if type(entry) is not dict or set(entry) != {"dtype", "shape", "data_offsets"}:
        bad("malformed header entry")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in ALLOWED_DTYPES:
        bad(f"unsupported dtype {dtype!r:.20}")
    if (type(shape) is not list or len(shape) > 8
            or not all(type(s) is int and 0 <= s <= MAX_PARAMS for s in shape)):
        bad(f"invalid shape {shape!r:.80}")
    if (type(offsets) is not list or len(offsets) != 2 or not all(type(o) is int for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size):
        bad(f"invalid data offsets {offsets!r:.80}")
    if offsets[1] - offsets[0] != math.prod(shape) * ALLOWED_DTYPES[dtype]:
        bad("data size does not match dtype and shape")
    return HeaderEntry(dtype, tuple(shape), (offsets[0], offsets[1]))

"""Write a file whole or not at all: a half-written take or export must never replace a good one."""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path: Path, mode: str = "wb", **open_kwargs):
    """Yield a handle to a temporary file beside `path`; on success it replaces `path` in one rename.

    On any failure (a disk-full OSError included) the previous file, if any, is untouched and the temporary
    is removed; OSErrors are re-raised with the target path in the message.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path, payload, default=None) -> Path:
    """`payload` as indented JSON (newline-terminated) at `path`, parent folders made, whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(payload, indent=2, default=default) + "\n")
    return path

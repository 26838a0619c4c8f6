"""Write a file whole or not at all: a half-written take or export must never replace a good one.

Work in progress lives under names starting with `PARTIAL_PREFIX` that carry the writer's host and process id,
so a later process can tell the leftovers of a killed writer (`remove_stale_partials`) from a live one's.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import tempfile
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

PARTIAL_PREFIX = ".partial_"
# Host tag: on a folder shared between machines, a process id means nothing on another host.
_HOST = f"{zlib.crc32(socket.gethostname().encode('utf-8', 'replace')):08x}"
_OWNED = re.compile(re.escape(PARTIAL_PREFIX) + r"(?P<host>[0-9a-f]{8})_(?P<pid>\d+)_")
# Older versions' worker staged a job in tempfile.mkdtemp(prefix=".partial_") folders, which name no process:
# such a folder is taken for a leftover once it is an hour old.
_LEGACY = re.compile(re.escape(PARTIAL_PREFIX) + r"[a-z0-9_]{8}")
_LEGACY_STALE_S = 3600.0


@contextmanager
def atomic_write(path: Path, mode: str = "wb", **open_kwargs):
    """Yield a handle to a temporary file beside `path`; on success it replaces `path` in one rename.

    On any failure (a disk-full OSError included) the previous file, if any, is untouched and the temporary
    is removed; OSErrors are re-raised with the target path in the message.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{_partial_prefix()}{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~current_umask())   # mkstemp makes it 0600; user files follow the umask, as open() does
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


def _partial_prefix() -> str:
    return f"{PARTIAL_PREFIX}{_HOST}_{os.getpid()}_"


@contextmanager
def publish_folder(final: Path):
    """Yield an empty staging folder beside `final`; on success it becomes `final` in one rename.

    What is written into it appears all at once or, whatever stops the process, not at all: a failure removes
    the staging folder, and a killed process's is removed by the next `remove_stale_partials` of the parent.
    `final` must not exist yet.
    """
    final = Path(final)
    staging = Path(tempfile.mkdtemp(prefix=_partial_prefix(), dir=final.parent))
    try:
        yield staging
        os.chmod(staging, 0o777 & ~current_umask())   # mkdtemp made it private; the result follows the umask
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextmanager
def publish_files(folder: Path):
    """Yield an empty staging folder inside `folder`; on success every file written there moves into `folder`.

    For files that must sit directly in a user's folder (a folder of their own cannot be published by one
    rename there): nothing appears before everything is written, and the moves, renames within one folder,
    run with SIGTERM and SIGINT held. Only SIGKILL or a power cut during those few renames can leave some of
    the files without the rest. A failure while writing leaves `folder` as it was.
    """
    folder = Path(folder)
    staging = Path(tempfile.mkdtemp(prefix=_partial_prefix(), dir=folder))
    try:
        yield staging
        with signals_deferred():
            for name in sorted(os.listdir(staging)):
                os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing path of `folder` and its parents when it is not a folder (so `folder` can never be
    made), else None: named to the user before any work, where mkdir would only say "File exists"."""
    for part in (folder, *folder.parents):
        if part.exists():
            return None if part.is_dir() else part
    return None


def probe_writable(folder: Path) -> None:
    """Create `folder` (and its parents) if needed and write and remove a file in it: raises the OSError that
    writing results there would meet, before the work that makes them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle, probe = tempfile.mkstemp(prefix=_partial_prefix(), suffix=".probe", dir=folder)
    os.close(handle)
    os.unlink(probe)


def remove_stale_partials(folder) -> list[Path]:
    """Remove the work in progress (`PARTIAL_PREFIX` files and folders) that dead processes left in `folder`;
    returns what was removed. A live process's, or another host's, is never touched."""
    try:
        entries = list(os.scandir(folder))
    except OSError:   # no such folder yet, or unreadable: nothing of ours can be there
        return []
    removed = []
    for entry in entries:
        if not entry.name.startswith(PARTIAL_PREFIX) or not _is_stale(entry):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
        removed.append(Path(entry.path))
    return removed


def _is_stale(entry: os.DirEntry) -> bool:
    owner = _OWNED.match(entry.name)
    if owner is None:
        try:
            return (_LEGACY.fullmatch(entry.name) is not None and entry.is_dir(follow_symlinks=False)
                    and time.time() - entry.stat(follow_symlinks=False).st_mtime > _LEGACY_STALE_S)
        except OSError:
            return False
    pid = int(owner["pid"])
    return owner["host"] == _HOST and pid != os.getpid() and not _process_alive(pid)


def _process_alive(pid: int) -> bool:
    if os.name == "nt":   # os.kill(pid, 0) would *terminate* the process on Windows
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):   # another user's process: alive; a pid beyond the OS's: keep
        return True
    return True


def _windows_process_alive(pid: int) -> bool:
    import ctypes
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x100000, False, pid)   # SYNCHRONIZE
    if not handle:
        return ctypes.GetLastError() == 5   # access denied: it exists
    try:
        return kernel32.WaitForSingleObject(handle, 0) == 0x102   # WAIT_TIMEOUT: still running
    finally:
        kernel32.CloseHandle(handle)


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (os.umask can only set it, and
    setting it briefly would race with other threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def signals_deferred():
    """Hold SIGTERM and SIGINT until the block ends (main thread, POSIX), so a run of renames is not cut short
    by a polite kill; elsewhere the block simply runs."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGTERM, signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)

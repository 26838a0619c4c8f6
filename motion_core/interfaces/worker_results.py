"""Worker result files: a job's motions saved all-or-nothing as .npz files in a folder of their own.

`write_motions` writes into a `.partial_*` folder and publishes it with one rename
(`motion_core.formats.atomic_file.publish_folder`), so a failed, cancelled or killed job leaves none of its
files; names carry the job id, the prompt and a random token, so a new take never overwrites an older one.
"""
from __future__ import annotations

import re
import tempfile
import threading
import uuid
from pathlib import Path

from motion_core.formats.atomic_file import publish_folder, remove_stale_partials

__all__ = ["write_motions"]


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:limit].rstrip("_") or "motion"


def write_motions(motions: list, job_id: str, cancel: threading.Event, out_dir: str | None) -> list[str]:
    """Save job `job_id`'s motions as .npz files in a folder of their own, published by one rename: a failed or
    killed job leaves none of its files, only a `.partial_*` folder that the next job there removes. Setting
    `cancel` while writing stops it (engine.Cancelled) and publishes nothing."""
    target = Path(out_dir).expanduser() if out_dir else Path(tempfile.gettempdir())
    target.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(target)
    # Request ids restart with every client session, so names carry a random token too: a new take must
    # never overwrite an older one that a saved .blend file still points to.
    token = uuid.uuid4().hex[:8]
    folder = target / f"{'' if out_dir else 'motion_core_job_'}{_slug(job_id, 16)}_{token}"
    names = [f"{_slug(job_id, 16)}_{index:02d}_{_slug(str(motion.meta.get('prompt', '')))}_{token}.npz"
             for index, motion in enumerate(motions)]
    with publish_folder(folder) as scratch:
        for motion, name in zip(motions, names):
            if cancel.is_set():   # shutdown or SIGTERM while writing hundreds of takes: stop, publish nothing
                from motion_core.engine import Cancelled
                raise Cancelled("cancelled while writing the results")
            motion.save(scratch / name)
    return [str((folder / name).resolve()) for name in names]

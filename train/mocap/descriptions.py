"""CMU trial descriptions ("walk", "jump, balance", "run/jog, sudden stop") and frame rates, per trial id.

Three index formats are read, whichever the user has:

* B. Hahne's compiled listing (``cmu-mocap-index-text.txt``, shipped with the cgspeed BVH conversions): lines
  ``02_01<TAB>walk`` under ``Subject #2 (...)`` headings;
* a CSV with columns ``Subject, Trial #, Motion Description, framerate`` (e.g. ``CMU data.csv``);
* a TSV ``trial<TAB>description[<TAB>fps]``, like `BUILTIN_INDEX` (this package's own small table, for the
  trials the README's fetch steps bring).

Trial ids are normalised to ``SS_TT`` with at least two digits each (``2_1`` and ``002_01`` -> ``02_01``).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

BUILTIN_INDEX = Path(__file__).with_name("cmu_index.tsv")
DEFAULT_FPS = 120.0
_TRIAL = re.compile(r"^(\d+)_(\d+)$")


@dataclass(frozen=True)
class TrialInfo:
    description: str
    fps: float = DEFAULT_FPS


def trial_id(text: str) -> str | None:
    """Normalised ``SS_TT`` id of a trial name like ``02_01``, ``2_1`` or ``002_01``; None if it is not one."""
    m = _TRIAL.match(text.strip())
    if not m:
        return None
    return f"{int(m.group(1)):02d}_{int(m.group(2)):02d}"


def parse_index(text: str) -> dict[str, TrialInfo]:
    """Descriptions from any of the three formats (detected per line)."""
    out: dict[str, TrialInfo] = {}
    first = text.lstrip("\ufeff").splitlines()[:1]
    if first and first[0].lstrip('"').lower().startswith("subject") and "," in first[0]:
        reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
        header = [h.strip().lower() for h in next(reader)]
        col = {name: k for k, name in enumerate(header)}
        subject, trial = col.get("subject"), col.get("trial #", col.get("trial"))
        desc = next((k for name, k in col.items() if "description" in name), None)
        fps = col.get("framerate", col.get("fps"))
        if subject is None or trial is None or desc is None:
            raise ValueError("CSV index needs Subject, Trial # and Motion Description columns")
        for row in reader:
            if len(row) <= max(subject, trial, desc):
                continue
            tid = trial_id(f"{row[subject]}_{row[trial]}")
            if tid and row[desc].strip():
                rate = DEFAULT_FPS
                if fps is not None and fps < len(row):
                    try:
                        rate = float(row[fps])
                    except ValueError:
                        pass
                out[tid] = TrialInfo(row[desc].strip(), rate)
        return out
    for line in text.splitlines():
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 2:
            continue
        tid = trial_id(parts[0])
        if tid is None or not parts[1].strip():
            continue
        rate = DEFAULT_FPS
        if len(parts) > 2 and parts[2].strip():
            try:
                rate = float(parts[2])
            except ValueError:
                pass
        out[tid] = TrialInfo(parts[1].strip(), rate)
    return out


def load_index(paths: list[str | Path] | None = None) -> dict[str, TrialInfo]:
    """The built-in table, overridden by each file in `paths` in turn (later files win)."""
    out = parse_index(BUILTIN_INDEX.read_text(encoding="utf-8"))
    for path in paths or ():
        out.update(parse_index(Path(path).read_text(encoding="utf-8", errors="replace")))
    return out

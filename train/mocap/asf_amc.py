"""Reading Acclaim skeleton (.asf) and motion (.amc) files, the format of the CMU motion capture database.

Format facts used here (Acclaim's ASF/AMC specification, as written by CMU's Vicon pipeline):

* ASF ``:units``: ``length`` is a scale; CMU's files use 0.45, and their lengths are inches divided by it, so
  metres = value * (1 / length) * 0.0254 (CMU's FAQ: 0.056444 for length 0.45). ``angle`` is ``deg`` or ``rad``.
* ``:root``: ``order`` lists the root's AMC channels (e.g. TX TY TZ RX RY RZ); ``axis`` the Euler order of its
  rotation; ``position``/``orientation`` its rest placement.
* ``:bonedata``: per bone a unit ``direction`` (world frame, rest pose), a ``length``, an ``axis`` (three
  angles and an order such as XYZ: the bone's local frame in the world, rest pose) and optional ``dof``
  (the AMC channels of that bone, in file order, each one of rx ry rz tx ty tz l).
* ``:hierarchy``: lines ``parent child child ...`` between ``begin``/``end``.
* AMC: optional header lines (``#``, ``:FULLY-SPECIFIED``, ``:DEGREES``), then frames: a frame number on its
  own line followed by ``name value...`` lines, one per bone that has dofs (and ``root``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

INCH = 0.0254
ROTATION_DOFS = ("rx", "ry", "rz")


class AsfAmcError(ValueError):
    """A malformed .asf or .amc file; the message names the file and what is wrong."""


@dataclass
class Bone:
    name: str
    direction: np.ndarray            # (3,) unit vector, world frame, rest pose
    length: float                    # file units (see Skeleton.to_metres)
    axis: np.ndarray                 # (3,) angles of the bone's local frame, in `axis_order`
    axis_order: str = "XYZ"
    dofs: tuple[str, ...] = ()
    parent: str | None = None


@dataclass
class AsfSkeleton:
    name: str
    length_scale: float              # ASF ``:units length``
    degrees: bool
    root_order: tuple[str, ...]      # AMC channels of the root, e.g. ("tx", "ty", "tz", "rx", "ry", "rz")
    root_axis_order: str
    root_position: np.ndarray
    root_orientation: np.ndarray
    bones: dict[str, Bone] = field(default_factory=dict)   # in hierarchy order: parents before children

    @property
    def to_metres(self) -> float:
        """Factor from file length units to metres."""
        return INCH / self.length_scale

    def children(self, name: str) -> list[str]:
        return [b.name for b in self.bones.values() if b.parent == name]


def _numbers(tokens: list[str], path: Path, what: str) -> np.ndarray:
    try:
        return np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError:
        raise AsfAmcError(f"{path}: {what} must be numbers, got {' '.join(tokens)!r}") from None


def _sections(text: str) -> dict[str, list[list[str]]]:
    """Split an ASF into its ``:keyword`` sections, each a list of token lines (comments dropped)."""
    sections: dict[str, list[list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":"):
            head, *rest = line.split()
            current = head[1:].lower()
            sections.setdefault(current, [])
            if rest:
                sections[current].append(rest)
            continue
        if current is not None:
            sections[current].append(line.split())
    return sections


def _parse_bone(lines: list[list[str]], path: Path) -> Bone:
    values: dict[str, list[str]] = {}
    for tokens in lines:
        if tokens[0] == "limits" or tokens[0].startswith("("):
            continue   # joint limits: not needed for playback
        values[tokens[0].lower()] = tokens[1:]
    if "name" not in values:
        raise AsfAmcError(f"{path}: a bone in :bonedata has no name")
    name = values["name"][0]
    for key in ("direction", "length", "axis"):
        if key not in values:
            raise AsfAmcError(f"{path}: bone {name!r} has no {key}")
    direction = _numbers(values["direction"][:3], path, f"bone {name!r} direction")
    norm = np.linalg.norm(direction)
    axis_tokens = values["axis"]
    axis_order = axis_tokens[3].upper() if len(axis_tokens) > 3 else "XYZ"
    if sorted(axis_order) != ["X", "Y", "Z"]:
        raise AsfAmcError(f"{path}: bone {name!r} axis order {axis_order!r} is not a permutation of XYZ")
    dofs = tuple(d.lower() for d in values.get("dof", ()))
    for d in dofs:
        if d not in ("rx", "ry", "rz", "tx", "ty", "tz", "l"):
            raise AsfAmcError(f"{path}: bone {name!r} has an unknown dof {d!r}")
    return Bone(name=name, direction=direction / norm if norm > 0 else direction,
                length=float(_numbers(values["length"][:1], path, f"bone {name!r} length")[0]),
                axis=_numbers(axis_tokens[:3], path, f"bone {name!r} axis"), axis_order=axis_order, dofs=dofs)


def parse_asf(text: str, path: str | Path = "<asf>") -> AsfSkeleton:
    path = Path(path)
    sections = _sections(text)
    for required in ("root", "bonedata", "hierarchy"):
        if required not in sections:
            raise AsfAmcError(f"{path}: missing the :{required} section")
    units = {t[0].lower(): t[1] for t in sections.get("units", []) if len(t) >= 2}
    length_scale = float(units.get("length", 1.0))
    degrees = units.get("angle", "deg").lower().startswith("deg")

    root = {t[0].lower(): t[1:] for t in sections["root"]}
    root_order = tuple(c.lower() for c in root.get("order", ["TX", "TY", "TZ", "RX", "RY", "RZ"]))
    root_axis_order = root.get("axis", ["XYZ"])[0].upper()
    root_position = _numbers(root.get("position", ["0", "0", "0"])[:3], path, "root position")
    root_orientation = _numbers(root.get("orientation", ["0", "0", "0"])[:3], path, "root orientation")

    bones: dict[str, Bone] = {}
    block: list[list[str]] | None = None
    for tokens in sections["bonedata"]:
        if tokens[0] == "begin":
            block = []
        elif tokens[0] == "end":
            if block is None:
                raise AsfAmcError(f"{path}: 'end' without 'begin' in :bonedata")
            bone = _parse_bone(block, path)
            bones[bone.name] = bone
            block = None
        elif block is not None:
            block.append(tokens)

    parents: dict[str, str] = {}
    for tokens in sections["hierarchy"]:
        if tokens[0] in ("begin", "end"):
            continue
        parent, *children = tokens
        if parent != "root" and parent not in bones:
            raise AsfAmcError(f"{path}: :hierarchy names an unknown bone {parent!r}")
        for child in children:
            if child not in bones:
                raise AsfAmcError(f"{path}: :hierarchy names an unknown bone {child!r}")
            parents[child] = parent

    ordered: dict[str, Bone] = {}

    def visit(name: str) -> None:
        for child in [c for c, p in parents.items() if p == name]:
            bones[child].parent = None if name == "root" else name
            ordered[child] = bones[child]
            visit(child)

    visit("root")
    missing = sorted(set(bones) - set(ordered))
    if missing:
        raise AsfAmcError(f"{path}: bones not reachable from the root in :hierarchy: {', '.join(missing)}")
    name = (sections.get("name") or [["unnamed"]])[0][0]
    return AsfSkeleton(name=name, length_scale=length_scale, degrees=degrees, root_order=root_order,
                       root_axis_order=root_axis_order, root_position=root_position,
                       root_orientation=root_orientation, bones=ordered)


def read_asf(path: str | Path) -> AsfSkeleton:
    return parse_asf(Path(path).read_text(encoding="latin-1"), path)


@dataclass
class AmcMotion:
    """Channel values per bone, (T, channels) each, in the order the ASF lists them (root: ``root_order``)."""
    channels: dict[str, np.ndarray]
    frame_numbers: np.ndarray        # (T,) as written in the file

    @property
    def num_frames(self) -> int:
        return len(self.frame_numbers)


def parse_amc(text: str, skeleton: AsfSkeleton, path: str | Path = "<amc>") -> AmcMotion:
    path = Path(path)
    widths = {"root": len(skeleton.root_order)}
    widths.update({b.name: len(b.dofs) for b in skeleton.bones.values() if b.dofs})
    frames: list[dict[str, list[float]]] = []
    numbers: list[int] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith(":"):
            continue
        tokens = line.split()
        if len(tokens) == 1 and tokens[0].isdigit():
            numbers.append(int(tokens[0]))
            frames.append({})
            continue
        if not frames:
            raise AsfAmcError(f"{path}:{lineno}: channel values before the first frame number")
        name = tokens[0]
        if name not in widths:
            raise AsfAmcError(f"{path}:{lineno}: bone {name!r} has no dofs in the skeleton")
        if len(tokens) - 1 != widths[name]:
            raise AsfAmcError(f"{path}:{lineno}: bone {name!r} needs {widths[name]} values, got {len(tokens) - 1}")
        frames[-1][name] = [float(v) for v in tokens[1:]]
    if not frames:
        raise AsfAmcError(f"{path}: no frames")
    if not frames[-1]:          # a trailing frame number without values (truncated file): drop it
        frames.pop()
        numbers.pop()
    channels = {}
    for name, width in widths.items():
        values = np.zeros((len(frames), width))
        for t, frame in enumerate(frames):
            if name not in frame:
                raise AsfAmcError(f"{path}: frame {numbers[t]} has no values for {name!r}")
            values[t] = frame[name]
        channels[name] = values
    return AmcMotion(channels=channels, frame_numbers=np.array(numbers))


def read_amc(path: str | Path, skeleton: AsfSkeleton) -> AmcMotion:
    return parse_amc(Path(path).read_text(encoding="latin-1"), skeleton, path)

"""Twist references: which neighbouring joints decide each bone's roll about itself, per skeleton.

Joint positions fix a bone's direction but not its twist. The inverse kinematics (`motion_core.kinematics.rotations`)
takes each one-child joint's twist from references listed here in `TWIST_REFERENCES`: a bend plane (`Bend`:
knee/elbow, or the foot plane for a straight leg) or an across line (`Across`: hips/collars for the spine).
`bind` turns a reference into joint indices of one skeleton (`BoundBend`, `BoundAcross`), whose `vector`
gives the measured direction and how reliable it is on every frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_core.kinematics import component_first as cf
from motion_core.kinematics.skeleton import Skeleton

__all__ = ["ramp", "Bend", "BoundBend", "Across", "BoundAcross", "TWIST_REFERENCES"]


def ramp(x, lo: float, hi: float):
    """0 below lo, 1 above hi, linear between: how much to trust a reference whose quality is x."""
    return np.minimum(np.maximum((x - lo) / (hi - lo), 0.0), 1.0)


@dataclass(frozen=True)
class Bend:
    """Normal of the plane through joints a -> b -> c (a knee or elbow bend axis, or the foot plane).

    `hinge` is its direction in the rest pose when the rest limb is straight and the plane is undefined there.
    """
    a: str
    b: str
    c: str
    hinge: tuple[float, float, float] | None = None

    def bind(self, skeleton: Skeleton) -> "BoundBend":
        return BoundBend(f"{self.a}->{self.b}->{self.c}", *(skeleton.index(n) for n in (self.a, self.b, self.c)),
                          None if self.hinge is None else np.asarray(self.hinge, dtype=np.float64))


@dataclass(frozen=True)
class BoundBend:
    """A `Bend` with joint indices of one skeleton."""
    name: str
    a: int
    b: int
    c: int
    hinge: np.ndarray | None

    def vector(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(normal (3, ...), reliability (...)) from positions (3, J, ...)."""
        a, b, c = pos[:, self.a], pos[:, self.b], pos[:, self.c]
        normal = cf.cross(cf.unit(b - a), cf.unit(c - b))
        # sin of the bend angle: below ~10 degrees the plane is numerical noise.
        return normal, ramp(cf.norm(normal), np.sin(np.radians(10)), np.sin(np.radians(30)))

    def rest_vector(self, rest_positions: np.ndarray) -> np.ndarray:
        """(3, ...) the normal in rest poses (3, J, ...), or the hinge where the rest limb is straight."""
        normal, reliable = self.vector(rest_positions)
        defined = reliable > 0.5
        if self.hinge is None:
            if not defined.all():
                raise ValueError(f"bend {self.name} is straight in the rest pose; give a hinge axis")
            return normal
        return np.where(defined, normal, self.hinge.reshape((3,) + (1,) * defined.ndim))


@dataclass(frozen=True)
class Across:
    """A weighted sum of left-minus-right lines (hips, collars): the body's across direction."""
    pairs: tuple[tuple[str, str, float], ...]

    def bind(self, skeleton: Skeleton) -> "BoundAcross":
        return BoundAcross(tuple((skeleton.index(left), skeleton.index(right), share)
                                  for left, right, share in self.pairs))


@dataclass(frozen=True)
class BoundAcross:
    """An `Across` with joint indices of one skeleton."""
    pairs: tuple[tuple[int, int, float], ...]

    def vector(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(direction (3, ...), reliability (...)) from positions (3, J, ...)."""
        total = sum(share * cf.unit(pos[:, left] - pos[:, right]) for left, right, share in self.pairs)
        return total, np.ones(total.shape[1:])

    def rest_vector(self, rest_positions: np.ndarray) -> np.ndarray:
        return self.vector(rest_positions)[0]


# Knees flex about +x in the rest pose (ankle moves back), elbows about -x (wrist moves forward). Candidates
# are listed by priority: later ones fill in where earlier ones are undefined (a straight leg's twist comes
# from the foot). Spine twist is shared between the hips' and collars' across lines.
def _LEG(hip: str, knee: str, ankle: str, toe: str) -> tuple:
    return Bend(hip, knee, ankle, hinge=(1, 0, 0)), Bend(knee, ankle, toe)


TWIST_REFERENCES: dict[str, dict[str, tuple]] = {
    "humanml3d": {
        "left_hip": _LEG("left_hip", "left_knee", "left_ankle", "left_foot"),
        "right_hip": _LEG("right_hip", "right_knee", "right_ankle", "right_foot"),
        "left_shoulder": (Bend("left_shoulder", "left_elbow", "left_wrist", hinge=(-1, 0, 0)),),
        "right_shoulder": (Bend("right_shoulder", "right_elbow", "right_wrist", hinge=(-1, 0, 0)),),
        "spine1": (Across((("left_hip", "right_hip", 2 / 3), ("left_collar", "right_collar", 1 / 3))),),
        "spine2": (Across((("left_hip", "right_hip", 1 / 3), ("left_collar", "right_collar", 2 / 3))),),
    },
    "kit": {
        "left_hip": _LEG("left_hip", "left_knee", "left_ankle", "left_ball"),
        "right_hip": _LEG("right_hip", "right_knee", "right_ankle", "right_ball"),
        "left_shoulder": (Bend("left_shoulder", "left_elbow", "left_wrist", hinge=(-1, 0, 0)),),
        "right_shoulder": (Bend("right_shoulder", "right_elbow", "right_wrist", hinge=(-1, 0, 0)),),
        "spine_lower": (Across((("left_hip", "right_hip", 2 / 3), ("left_shoulder", "right_shoulder", 1 / 3))),),
        "spine_upper": (Across((("left_hip", "right_hip", 1 / 3), ("left_shoulder", "right_shoulder", 2 / 3))),),
    },
}

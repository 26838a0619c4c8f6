"""Per-frame control channels that actions write and the motion builder reads.

Actions fill their own frame range with *intent* (how fast the root should move, how low the pelvis, where the
wrists go); `Channels.smoothed` then blends neighbouring actions so a clip never jumps between them.
Discrete foot events (jumps, kicks) are listed separately because they are not blended.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from train.procedural.body import FPS, SIDES
from train.procedural.signal import gaussian_smooth


@dataclass(frozen=True)
class FootEvent:
    """A scripted swing over frames [start, stop).

    "jump" moves both feet (or only `side`'s foot when `side` is set: a one-footed hop); "kick" swings one foot
    out and back to where it stood ("hold": the same raised foot, carried along as the body travels, set down
    under the hip); "place" moves one foot to a new spot (lunges, kneeling, stances).
    `offset` (lateral, forward) in the heading frame moves the landing spot away from the nominal foothold
    under the hip (jumping jacks spread the feet, a lunge puts one foot ahead).
    """
    kind: str
    start: int
    stop: int
    side: int = 0                 # kick / hold / place / one-footed hop
    height: float = 0.0           # kick: ankle height at full extension; others: swing clearance
    reach: float = 0.0            # kick: forward reach from the hip line
    offset: tuple = (0.0, 0.0)    # landing offset (lateral multiplied by the side's sign, forward)
    level: float = 0.0            # place: height of the spot it lands on above the floor (a stair tread), m


@dataclass
class Channels:
    num_frames: int
    vel: np.ndarray = None            # (T, 2) root velocity in the heading frame (x left, z forward), m/s
    yaw_rate: np.ndarray = None       # (T,) rad/s, + turns left
    stepping: np.ndarray = None       # (T,) 1 where the gait cycles
    cadence: np.ndarray = None        # (T,) gait cycles per second
    duty: np.ndarray = None           # (T,) stance fraction of a cycle
    step_height: np.ndarray = None    # (T,) swing-foot clearance, m
    stance_width: np.ndarray = None   # (T,) lateral foot offset from the root line, m
    settle: np.ndarray = None         # (T,) 1 where the feet may take a step to square up after walking
    height: np.ndarray = None         # (T,) pelvis height offset from standing (- crouches)
    lift: np.ndarray = None           # (T,) ballistic pelvis rise of jumps (not smoothed)
    shift: np.ndarray = None          # (T, 2) pelvis offset from the root line in the heading frame
    pelvis_pitch: np.ndarray = None   # (T,) + tilts forward
    spine: np.ndarray = None          # (T, 3) whole-spine (yaw twist, pitch forward bend, roll side lean)
    head_pitch: np.ndarray = None     # (T,)
    arm_swing: np.ndarray = None      # (T,) fore-aft amplitude of the gait's arm swing, m
    arm_bend: np.ndarray = None       # (T,) 0 hanging .. 1 forearms forward (jog/run carriage)
    arm_target: dict = None           # side -> (T, 3) wrist relative to shoulder, heading frame
    arm_pole: dict = None             # side -> (T, 3) elbow pole, heading frame
    arm_weight: dict = None           # side -> (T,) 0 = default carriage, 1 = arm_target
    # Floor poses (`floor_layer`): where feet and hands rest relative to the root while lying, on all fours...
    floor: np.ndarray = None          # (T,) 0 = feet from the gait, 1 = feet from floor_ankle / floor_foot_pitch
    floor_ankle: dict = None          # side -> (T, 3) ankle relative to the root, heading frame, y = height
    floor_foot_pitch: dict = None     # side -> (T,) toe-down foot pitch, rad (negative points the toes up)
    floor_knee_pole: dict = None      # side -> (T, 3) knee pole, heading frame
    hand_floor: dict = None           # side -> (T, 3) wrist relative to the root, heading frame, y = height
    hand_weight: dict = None          # side -> (T,) 0 = arm targets above, 1 = hand_floor
    hand_plant: dict = None           # side -> (T,) 1 where the hand stays put in the world (crawling), not smoothed
    foot_plant: dict = None           # side -> (T,) the same for the floor ankle
    on_knees: np.ndarray = None       # (T,) weight of a pelvis height held up by the thighs over planted knees
    events: list = field(default_factory=list)

    def __post_init__(self):
        n = self.num_frames
        zeros = lambda *shape: np.zeros((n,) + shape)  # noqa: E731
        for name in ("yaw_rate", "stepping", "settle", "height", "lift", "pelvis_pitch", "head_pitch",
                     "arm_swing", "arm_bend"):
            if getattr(self, name) is None:
                setattr(self, name, zeros())
        for name, shape in (("vel", (2,)), ("shift", (2,)), ("spine", (3,))):
            if getattr(self, name) is None:
                setattr(self, name, zeros(*shape))
        if self.cadence is None:
            self.cadence, self.duty = np.full(n, 0.9), np.full(n, 0.62)
            self.step_height, self.stance_width = np.full(n, 0.08), np.full(n, 0.11)
        if self.arm_target is None:
            self.arm_target = {s: np.tile([0.04 * s, -0.5, 0.03], (n, 1)) for s in SIDES}
            self.arm_pole = {s: np.tile([0.3 * s, -0.2, -1.0], (n, 1)) for s in SIDES}
            self.arm_weight = {s: zeros() for s in SIDES}
        if self.floor is None:
            self.floor = zeros()
            self.floor_ankle = {s: np.tile([0.1 * s, 0.08, 0.0], (n, 1)) for s in SIDES}
            self.floor_foot_pitch = {s: zeros() for s in SIDES}
            self.floor_knee_pole = {s: np.tile([0.0, 1.0, 0.3], (n, 1)) for s in SIDES}
            self.hand_floor = {s: np.tile([0.2 * s, 0.04, 0.3], (n, 1)) for s in SIDES}
            self.hand_weight = {s: zeros() for s in SIDES}
            self.hand_plant = {s: zeros() for s in SIDES}
            self.foot_plant = {s: zeros() for s in SIDES}
            self.on_knees = zeros()

    def smoothed(self, sigma_s: float = 0.12, vel_sigma_s: float = 0.2) -> "Channels":
        """A copy with continuous channels gaussian-smoothed in time (edges held); events and lift kept."""
        s, sv = sigma_s * FPS, vel_sigma_s * FPS
        out = Channels(self.num_frames, events=list(self.events), lift=self.lift.copy(), stepping=self.stepping.copy(),
                       settle=self.settle.copy())
        out.vel = gaussian_smooth(self.vel, sv)
        out.yaw_rate = gaussian_smooth(self.yaw_rate, sv)
        for name in ("cadence", "duty", "step_height", "stance_width", "height", "pelvis_pitch", "head_pitch",
                     "arm_swing", "arm_bend", "shift", "spine"):
            setattr(out, name, gaussian_smooth(getattr(self, name), s))
        out.arm_target = {k: gaussian_smooth(v, s) for k, v in self.arm_target.items()}
        out.arm_pole = {k: gaussian_smooth(v, s) for k, v in self.arm_pole.items()}
        out.arm_weight = {k: gaussian_smooth(v, s) for k, v in self.arm_weight.items()}
        out.floor, out.on_knees = gaussian_smooth(self.floor, s), gaussian_smooth(self.on_knees, s)
        out.hand_plant = {k: v.copy() for k, v in self.hand_plant.items()}
        out.foot_plant = {k: v.copy() for k, v in self.foot_plant.items()}
        for name in ("floor_ankle", "floor_foot_pitch", "floor_knee_pole", "hand_floor", "hand_weight"):
            setattr(out, name, {k: gaussian_smooth(v, s) for k, v in getattr(self, name).items()})
        return out

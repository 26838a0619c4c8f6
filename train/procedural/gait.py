"""Foot placement: where each foot is planted, when it swings, and the path it swings along.

A gait phase (cycles/s = cadence) drives stepping: foot `s` swings while ``frac(phase + offset_s) >= duty``.
Each landing foothold is the root line's position at the middle of the coming stance plus a lateral stance
offset, so the stance foot sits under the body while the body passes over it. After a stepping run ends, an
optional settle step brings a trailing foot back beside the other. Jumps and kicks are scripted swings.

Stance feet never move: the ankle and toe stay at their foothold until heel-off, after which the foot rolls
about the planted toe (ankle rises, toe stays) until lift-off. The body is then solved around the feet (the
pelvis height is capped by the stance legs' reach in `build`), which is what keeps feet from sliding.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from train.procedural.body import ANKLE_HEIGHT, DT, FOOT, FOOT_PITCH, LEFT, SIDES, TOE_HEIGHT, foot_direction
from train.procedural.signal import smoothstep
from train.procedural.timeline import Channels

TOE_OUT = np.radians(6.0)
HEEL_ROLL = np.radians(28.0)       # extra toe-down pitch reached at lift-off
SETTLE_FRAMES = 7
LIFT_SHARE = 0.18                  # share of a swing at each end spent lifting / lowering before moving


@dataclass(frozen=True)
class Swing:
    side: int
    start: int          # first airborne frame
    stop: int           # first frame planted again
    kind: str = "step"  # step | jump | kick | hold | place
    height: float = 0.08
    reach: float = 0.0  # kick only
    offset: tuple = (0.0, 0.0)   # jump / place: landing offset (lateral * side, forward), heading frame
    level: float = 0.0           # height of the landing spot above the floor (stairs), m


@dataclass
class FootTrack:
    ankle: np.ndarray           # (T, 3)
    direction: np.ndarray       # (T, 3) ankle -> toe
    ankle_contact: np.ndarray   # (T,) bool, ankle planted
    toe_contact: np.ndarray     # (T,) bool, toe planted (also during heel-off)


def _phase_swings(ch: Channels, first_side: int) -> list[Swing]:
    """Swings of every stepping run, each run finishing its open swings after the run ends."""
    n, swings = ch.num_frames, []
    offsets = {LEFT: 0.0, -LEFT: 0.5}
    t = 0
    while t < n:
        if ch.stepping[t] < 0.5:
            t += 1
            continue
        phase = ch.duty[t] - offsets[first_side]         # the first foot lifts right away
        airborne = {s: None for s in SIDES}
        while t < n:
            active = ch.stepping[t] >= 0.5
            for s in SIDES:
                up = (phase + offsets[s]) % 1.0 >= ch.duty[t]
                if up and airborne[s] is None and active:
                    airborne[s] = t
                elif not up and airborne[s] is not None:
                    swings.append(Swing(s, airborne[s], t, height=float(ch.step_height[airborne[s]])))
                    airborne[s] = None
            if not active and all(v is None for v in airborne.values()):
                break
            phase += ch.cadence[t] * DT
            t += 1
        for s, start in airborne.items():
            if start is not None:
                swings.append(Swing(s, start, n, height=float(ch.step_height[start])))
        first_side = -first_side
    return swings


def _event_swings(ch: Channels) -> list[Swing]:
    swings = []
    for e in ch.events:
        if e.kind == "jump":
            feet = (e.side,) if e.side else SIDES
            swings += [Swing(s, e.start, e.stop, "jump", height=e.height or 0.06, offset=e.offset) for s in feet]
        elif e.kind == "place":
            swings.append(Swing(e.side, e.start, e.stop, "place", height=e.height or 0.06, offset=e.offset,
                                level=e.level))
        elif e.kind in ("kick", "hold"):
            swings.append(Swing(e.side, e.start, e.stop, e.kind, height=e.height, reach=e.reach, offset=e.offset))
        else:
            raise ValueError(f"unknown foot event {e.kind!r}")
    return swings


class _Footholds:
    """Nominal foothold of each foot at any frame: the root line plus the stance offset, toes turned out."""

    def __init__(self, root_xz: np.ndarray, yaw: np.ndarray, width: np.ndarray):
        self.root_xz, self.yaw, self.width = root_xz, yaw, width

    def at(self, side: int, frame: int) -> tuple[np.ndarray, float]:
        f = int(np.clip(frame, 0, len(self.yaw) - 1))
        yaw, w = self.yaw[f], self.width[f] * side
        xz = self.root_xz[f] + w * np.array([np.cos(yaw), -np.sin(yaw)])
        return xz, float(yaw + side * TOE_OUT)


def _settle_swings(ch: Channels, swings: list[Swing], holds: _Footholds) -> list[Swing]:
    """In each settle window (after a stepping run), one step per foot left far from its square stance."""
    extra = []
    settle = ch.settle >= 0.5
    starts = [t for t in range(ch.num_frames) if settle[t] and (t == 0 or not settle[t - 1])]
    for start in starts:
        stop = start + int(np.argmin(np.append(settle[start:], False)))
        t = max([w.stop for w in swings if w.start < start] + [start]) + 2
        # Aim where the root line will be just after the step lands (it may still be coasting to a stop).
        error = {s: np.linalg.norm(_planted_at(swings, holds, ch, s, t) - holds.at(s, t + SETTLE_FRAMES + 4)[0])
                 for s in SIDES}
        for s in sorted(SIDES, key=lambda s: -error[s]):
            if error[s] > 0.05 and t + SETTLE_FRAMES <= stop:
                extra.append(Swing(s, t, t + SETTLE_FRAMES, height=0.05))
                t += SETTLE_FRAMES + 1
    return extra


def _landing(swing: Swing, holds: _Footholds, ch: Channels) -> tuple[np.ndarray, float]:
    """Foothold a swing lands on: mid-stance of the coming stance for gait steps, just after landing otherwise."""
    if swing.kind != "step":
        xz, yaw = holds.at(swing.side, swing.stop + 2)
        lateral, forward = swing.offset
        if lateral or forward:
            h = holds.yaw[int(np.clip(swing.stop + 2, 0, len(holds.yaw) - 1))]
            xz = xz + lateral * swing.side * np.array([np.cos(h), -np.sin(h)]) + forward * np.array([np.sin(h), np.cos(h)])
        return xz, yaw
    f = min(swing.stop, ch.num_frames - 1)
    stance = int(round(ch.duty[f] / max(ch.cadence[f], 0.3) / DT))
    return holds.at(swing.side, swing.stop + stance // 2)


def _planted_at(swings: list[Swing], holds: _Footholds, ch: Channels, side: int, frame: int) -> np.ndarray:
    """Where `side`'s foot stands at `frame` (kicks return to the foothold they left)."""
    done = [w for w in swings if w.side == side and w.stop <= frame and w.kind != "kick"]
    if not done:
        return holds.at(side, 0)[0]
    return _landing(max(done, key=lambda w: w.stop), holds, ch)[0]


def plan_feet(ch: Channels, root_xz: np.ndarray, yaw: np.ndarray, rng: np.random.Generator) -> dict:
    """side -> FootTrack for a clip, from its (smoothed) channels and root line."""
    holds = _Footholds(root_xz, yaw, ch.stance_width)
    swings = _phase_swings(ch, int(rng.choice(SIDES))) + _event_swings(ch)
    swings += _settle_swings(ch, swings, holds)
    return {s: _track(s, sorted((w for w in swings if w.side == s), key=lambda w: w.start), holds, ch)
            for s in SIDES}


def _track(side: int, swings: list[Swing], holds: _Footholds, ch: Channels) -> FootTrack:
    n = ch.num_frames
    ankle_h, foot_len = ANKLE_HEIGHT[side], FOOT[side]
    ankle = np.zeros((n, 3))
    pitch = np.full(n, FOOT_PITCH)
    yaw = np.zeros(n)
    ankle_contact = np.ones(n, bool)
    toe_contact = np.ones(n, bool)
    xz, foot_yaw = holds.at(side, 0)
    planted_from, level = 0, 0.0
    for w in swings:
        if w.start < planted_from:
            raise ValueError(f"overlapping swings of one foot at frame {w.start}")
        # A foot stands on the floor or, on stairs, on the tread its last `place` swing landed on.
        _stance(ankle, pitch, yaw, ankle_contact, planted_from, w.start, xz, foot_yaw, ankle_h + level, foot_len)
        land_xz, land_yaw = (xz, foot_yaw) if w.kind == "kick" else _landing(w, holds, ch)
        land_level = level if w.kind in ("kick", "hold") else w.level
        # A held foot (a hop's raised leg) is carried along by the root while the body travels.
        carry = holds.root_xz[w.start:w.stop] - holds.root_xz[max(w.start - 1, 0)] if w.kind == "hold" else None
        _swing(ankle, pitch, yaw, w, ankle[w.start - 1] if w.start > 0 else np.array([xz[0], ankle_h, xz[1]]),
               pitch[w.start - 1] if w.start > 0 else FOOT_PITCH, foot_yaw, land_xz, land_yaw, ankle_h + land_level,
               ch, min(level, land_level), carry)
        ankle_contact[w.start:w.stop] = False
        toe_contact[w.start:w.stop] = False
        xz, foot_yaw, planted_from, level = land_xz, land_yaw, w.stop, land_level
    _stance(ankle, pitch, yaw, ankle_contact, planted_from, n, xz, foot_yaw, ankle_h + level, foot_len, roll=False)
    return FootTrack(ankle, foot_direction(yaw, pitch), ankle_contact, toe_contact)


def _stance(ankle, pitch, yaw, ankle_contact, start, stop, xz, foot_yaw, ankle_h, foot_len, roll=True):
    """Planted foot over [start, stop); with `roll`, the heel lifts over the last frames, pivoting on the toe."""
    if stop <= start:
        return
    ankle[start:stop] = [xz[0], ankle_h, xz[1]]
    pitch[start:stop] = FOOT_PITCH
    yaw[start:stop] = foot_yaw
    length = stop - start
    roll_frames = min(5, int(0.4 * length)) if roll else 0
    if roll_frames < 2:
        return
    u = smoothstep(np.arange(1, roll_frames + 1) / roll_frames)
    p = FOOT_PITCH + HEEL_ROLL * u
    heading = np.array([np.sin(foot_yaw), np.cos(foot_yaw)])
    toe_xz = xz + foot_len * np.cos(FOOT_PITCH) * heading
    frames = slice(stop - roll_frames, stop)
    ankle[frames, 0] = toe_xz[0] - foot_len * np.cos(p) * heading[0]
    ankle[frames, 2] = toe_xz[1] - foot_len * np.cos(p) * heading[1]
    ankle[frames, 1] = ankle_h - foot_len * np.sin(FOOT_PITCH) + foot_len * np.sin(p)
    pitch[frames] = p
    ankle_contact[frames] = False


def _swing(ankle, pitch, yaw, w: Swing, start_ankle, start_pitch, start_yaw, land_xz, land_yaw, ankle_h, ch,
           floor=0.0, carry=None):
    """`carry` ((n, 2) root displacement since the swing began, "hold" only): the foot rides along with it."""
    n = w.stop - w.start
    u = (np.arange(1, n + 1)) / (n + 1)
    # The foot rises before it travels and travels before it comes down (horizontal progress starts late and
    # ends early), so a foot near the floor is never also moving fast: that is what foot skating measures.
    kicked = w.kind in ("kick", "hold")
    s = smoothstep((u - LIFT_SHARE) / (1 - 2 * LIFT_SHARE))[:, None] if not kicked else smoothstep(u)[:, None]
    end = np.array([land_xz[0], ankle_h, land_xz[1]])
    path = start_ankle * (1 - s) + end * s
    if carry is not None:
        ride = np.stack([carry[:, 0], np.zeros(n), carry[:, 1]], axis=1)
        path = start_ankle + ride + (end - start_ankle - ride[-1]) * s
    if kicked:
        heading = np.array([np.sin(start_yaw), 0.0, np.cos(start_yaw)])
        outward = w.side * np.array([np.cos(start_yaw), 0.0, -np.sin(start_yaw)])   # side kicks go this way
        out = np.sin(np.pi * u) ** 2
        path = path + out[:, None] * (w.reach * heading + w.offset[0] * outward + np.array([0.0, w.height, 0.0]))
        pitch_path = start_pitch * (1 - out) + np.radians(-10) * out
    else:
        path[:, 1] += w.height * np.sin(np.pi * u) ** 0.6
        if w.kind == "jump":
            path[:, 1] += ch.lift[w.start:w.stop]
        pitch_path = start_pitch + (FOOT_PITCH - start_pitch) * smoothstep(2 * u)
    # Keep the toe above the floor while the foot pitches (a rolled-off foot dropping back, a kick's return).
    toe_floor = floor + TOE_HEIGHT + FOOT[w.side] * np.sin(pitch_path)
    path[:, 1] = np.maximum(path[:, 1], toe_floor)
    ankle[w.start:w.stop] = path
    pitch[w.start:w.stop] = pitch_path
    dyaw = (land_yaw - start_yaw + np.pi) % (2 * np.pi) - np.pi
    yaw[w.start:w.stop] = start_yaw + dyaw * s[:, 0]

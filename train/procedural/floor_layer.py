"""Poses that rest on the floor: feet and hands placed relative to the root, blended over the gait's feet.

The gait plants feet under a standing body. Lying, push-ups and sit-ups put the feet far from there (legs
stretched out ahead, toes behind a plank) and the hands on the floor, so floor actions write where the ankles
and wrists rest in the root's heading frame (`Channels.floor_*`, `hand_*`) and how much that pose counts
(`floor`, `hand_weight`). Where the root moves (crawling), planted hands and knees are pinned to the world
(`plants.pin`) and the thighs hold the pelvis over the knees (`kneeling_support`).

Contact labels follow the result: a foot joint is planted on a floor frame only where it is low and still,
which is how the corpus tests and the skating metric read contact.
"""
from __future__ import annotations

import numpy as np

from train.procedural.body import ANKLE_HEIGHT, LEFT, SHIN, SIDES, THIGH, TOE_HEIGHT, foot_direction, hip_offsets
from train.procedural.gait import FootTrack
from train.procedural.plants import pin
from train.procedural.timeline import Channels

CONTACT_SLACK = 0.03       # a foot joint this far above its standing height still touches the floor, m
STILL = 0.002              # and moves less than this per frame (2 mm: 4 cm/s)
KNEE_HEIGHT = 0.09         # knee joint above the floor when kneeling on it, m
KNEE_LIFT, HAND_LIFT = 0.04, 0.08   # swing clearance of a crawling knee / hand, m
FOOT_RAISE = 1.5                    # a swinging foot rises this much more than its knee


def to_world(local: np.ndarray, xz: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """(T, 3) heading-frame offsets (x left, y height, z forward) placed on the root line."""
    left = np.stack([np.cos(yaw), -np.sin(yaw)], -1)
    forward = np.stack([np.sin(yaw), np.cos(yaw)], -1)
    ground = xz + local[:, :1] * left + local[:, 2:] * forward
    return np.stack([ground[:, 0], local[:, 1], ground[:, 1]], -1)


def knee_path(ch: Channels, side: int, xz: np.ndarray, yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((T, 3) knee, (T, 3) ankle) of a leg resting on its knee with the shin on the floor.

    A planted leg rests on its knee: the knee is pinned and the shin carried with it, so a swing lifts the knee
    off the floor first instead of dragging it after a rising foot; the foot rises further than the knee
    (`FOOT_RAISE`), so that the toes clear the floor as they travel.
    """
    free = to_world(ch.floor_ankle[side], xz, yaw)
    rest = knee_spot(free, yaw, side)
    knee = pin(rest, ch.foot_plant[side], KNEE_LIFT)
    ankle = knee - (rest - free)
    ankle[:, 1] += FOOT_RAISE * (knee[:, 1] - rest[:, 1])
    return knee, ankle


def blend_feet(ch: Channels, feet: dict, xz: np.ndarray, yaw: np.ndarray) -> dict:
    """side -> FootTrack with the floor pose blended in by `ch.floor` (the gait's track where it is 0)."""
    w = np.clip(ch.floor, 0.0, 1.0)[:, None]
    out = {}
    for s in SIDES:
        track = feet[s]
        ankle = (1 - w) * track.ankle + w * knee_path(ch, s, xz, yaw)[1]
        floor_dir = foot_direction(yaw + s * np.radians(6.0), ch.floor_foot_pitch[s])
        direction = (1 - w) * track.direction + w * floor_dir
        direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-9)
        out[s] = FootTrack(ankle, direction, track.ankle_contact.copy(), track.toe_contact.copy())
    return out


def knee_poles(ch: Channels, gait_poles: dict, yaw: np.ndarray) -> dict:
    """Knee poles: the gait's, turned toward the floor pose's (knees up when lying, down on all fours)."""
    w = np.clip(ch.floor, 0.0, 1.0)[:, None]
    return {s: (1 - w) * gait_poles[s] + w * to_world(ch.floor_knee_pole[s], np.zeros((len(yaw), 2)), yaw)
            for s in SIDES}


def hand_targets(ch: Channels, xz: np.ndarray, yaw: np.ndarray) -> tuple[dict, dict]:
    """(side -> (T, 3) world wrist target, side -> (T,) weight) of hands resting on the floor."""
    return ({s: pin(to_world(ch.hand_floor[s], xz, yaw), ch.hand_plant[s], HAND_LIFT) for s in SIDES},
            {s: np.clip(ch.hand_weight[s], 0.0, 1.0) for s in SIDES})


def knee_spot(ankle: np.ndarray, yaw: np.ndarray, side: int) -> np.ndarray:
    """(T, 3) where the knee rests when the shin lies on the floor ahead of the ankle."""
    along = np.sqrt(SHIN[side] ** 2 - (KNEE_HEIGHT - ankle[:, 1]) ** 2)
    return np.stack([ankle[:, 0] + along * np.sin(yaw), np.full(len(yaw), KNEE_HEIGHT),
                     ankle[:, 2] + along * np.cos(yaw)], -1)


def kneeling_support(ch: Channels, height: np.ndarray, pelvis_xz: np.ndarray, pelvis_rot: np.ndarray, xz: np.ndarray,
                     yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pelvis height, pelvis roll) with each hip a thigh's length from its knee, blended in by `ch.on_knees`.

    On all fours the thighs hold the pelvis up over the knees: a planted knee stays put and the pelvis rides a
    little arc over it, and the hip over a swinging (lifted) knee rises, rolling the pelvis toward the planted
    side, as a crawling body does. Roll is about the heading's forward axis, + lifts the left hip.
    """
    w = np.clip(ch.on_knees, 0.0, 1.0)
    if not w.any():
        return height, np.zeros(len(height))
    hips = hip_offsets(pelvis_rot)
    hip_y = {}
    for s in SIDES:
        knee, _ = knee_path(ch, s, xz, yaw)
        d = np.linalg.norm(pelvis_xz + hips[s][:, [0, 2]] - knee[:, [0, 2]], axis=-1)
        hip_y[s] = knee[:, 1] - hips[s][:, 1] + np.sqrt(np.maximum(THIGH[s] ** 2 - d ** 2, 0.0))
    width = float(np.linalg.norm(hips[LEFT][0] - hips[-LEFT][0]))
    roll = np.arcsin(np.clip((hip_y[LEFT] - hip_y[-LEFT]) / width, -0.5, 0.5))
    held = (hip_y[LEFT] + hip_y[-LEFT]) / 2
    return (1 - w) * height + w * held, w * roll


def relabel_contacts(ch: Channels, feet: dict, joints: np.ndarray, legs: dict) -> None:
    """On floor frames, a foot joint is planted only while it is low and still (lying toes point up)."""
    on_floor = ch.floor > 1e-3
    if not on_floor.any():
        return
    for s in SIDES:
        _, _, ankle, toe = legs[s]
        for joint, rest, flags in ((ankle, ANKLE_HEIGHT[s], feet[s].ankle_contact),
                                   (toe, TOE_HEIGHT, feet[s].toe_contact)):
            p = joints[:, joint]
            step = np.linalg.norm(np.diff(p, axis=0), axis=-1)
            still = np.concatenate([[step[0]], np.maximum(step[1:], step[:-1]), [step[-1]]]) < STILL
            flags[on_floor] = ((p[:, 1] < rest + CONTACT_SLACK) & still)[on_floor]

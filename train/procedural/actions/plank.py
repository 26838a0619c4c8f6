"""Push-ups: down from standing onto the hands, feet jumped back into a plank, the body lowered and pushed up
`count` times on straight legs, then the feet jumped in again and back up to standing.

The plank is a straight line from the toes to the shoulders pitched up by an angle: the toes and the hands
stay where they were planted and the whole body swings about the toes, so the pelvis follows an arc and the
elbows take up the change of shoulder height (they bend back and out).
"""
from __future__ import annotations

import numpy as np

from train.procedural.actions.base import frames, register
from train.procedural.actions.floor_poses import STAND, FloorPose, play, pose
from train.procedural.body import FOOT, LEFT, TOE_HEIGHT
from train.procedural.timeline import Channels

TOE_PITCH = 1.95                                  # toes curled under, the foot pointing down and back, rad
ON_TOES = TOE_HEIGHT + FOOT[LEFT] * np.sin(TOE_PITCH)
LEG = 0.818                                       # hip to ankle with the legs straight (just short of locked)
FEET_BACK = -0.62                                 # ankles behind where they stood, m
HANDS = (0.24, 0.04, 0.57)                        # wrists on the floor under the shoulders, heading frame
TOP, BOTTOM = 0.36, 0.12                          # body pitch with the arms straight / chest near the floor, rad


def plank(angle: float) -> FloorPose:
    """The body straight from the toes at `angle` above the floor, hands planted."""
    return pose(pelvis=(FEET_BACK + LEG * np.cos(angle), ON_TOES + LEG * np.sin(angle)), pitch=np.pi / 2 - angle,
                trunk=np.pi / 2 - angle, head=-0.6, feet=1.0, ankle=(0.12, ON_TOES, FEET_BACK), foot_pitch=TOE_PITCH,
                knee_pole=(0.0, -0.3, 1.0), hands=1.0, hand=HANDS, elbow_pole=(0.5, 0.0, -1.0))


# Hands down in a deep squat, then the feet hop back into the plank: they leave the floor before they travel
# and travel before they come down, so a foot near the floor never slides (what foot skating measures).
SQUAT = pose(pelvis=(-0.1, 0.36), pitch=0.5, trunk=1.3, head=-0.4, hands=1.0, hand=HANDS, elbow_pole=(0.5, 0.0, -1.0),
             ankle=(0.11, 0.065, 0.0))
LIFT = pose(SQUAT, pelvis=(-0.02, 0.45), pitch=0.8, feet=1.0, ankle=(0.11, 0.2, -0.05), foot_pitch=0.8,
            knee_pole=(0.0, 0.1, 1.0))
TUCK = pose(LIFT, pelvis=(0.03, 0.5), pitch=1.0, ankle=(0.12, 0.26, -0.3), foot_pitch=1.7)
HOP = pose(LIFT, pelvis=(0.08, 0.5), pitch=1.1, trunk=1.25, ankle=(0.12, 0.25, -0.6), foot_pitch=1.9,
           knee_pole=(0.0, -0.3, 1.0))


def sample_push_ups(rng):
    count = int(rng.choice([1, 2, 3, 4]))          # 4 is captioned "repeatedly" / "does push-ups"
    cycle = frames(rng, 1.0, 1.4)
    return {"count": count, "cycle_frames": cycle, "frames": 2 * frames(rng, 1.6, 1.9) + count * cycle}


def _get_down(lead: int) -> list[tuple[int, FloorPose]]:
    """Standing to the top of the plank over `lead` frames; played backward, the way back up."""
    return list(zip([0, int(0.4 * lead), int(0.55 * lead), int(0.68 * lead), int(0.82 * lead), lead],
                    [STAND, SQUAT, LIFT, TUCK, HOP, plank(TOP)]))


def fill_push_ups(ch: Channels, a: int, b: int, p: dict) -> None:
    n, cycle, count = b - a, p["cycle_frames"], p["count"]
    lead = (n - count * cycle) // 2
    keys = _get_down(lead)
    for r in range(count):
        keys += [(lead + int((r + 0.5) * cycle), plank(BOTTOM)), (lead + (r + 1) * cycle, plank(TOP))]
    end = keys[-1][0]
    keys += [(n - 1 - t, k) for t, k in reversed(_get_down(n - 1 - end))]
    play(ch, a, b, keys)


register("push_ups", sample_push_ups, fill_push_ups, "exercise")

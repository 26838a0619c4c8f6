"""Floor drift: the model's body can float up off the floor (or sink into it) while it stands on it; set it down.

A short walk's whole body rose 5-9 cm over 2-3 s (pelvis and feet together: the model's own root height, not the
cleanup's), so on every rig the character ended up hovering. Session 41 set the body down wherever a contact
channel was on (benchmarks/results/foot_settle_20261207/): the walks were fixed, but stairs and hops were flattened,
because a hop's raised foot and a stair tread 15 cm up counted as standing on the floor too.

Here a plant (a run of frames with a foot's contact channels on) counts as standing on the floor only if
- that foot is the one the body stands on: no other foot is lower by more than `SUPPORT_MARGIN` (a hop's raised
  foot may flicker "planted" at 17 cm), and
- it stands less than `FLOOR_BAND` above the floor (y = 0): a stair tread is a riser higher (the corpus's
  0.15-0.18 m) and keeps its height.
Each such plant is set down by its height (median over the plant of its toe's height, or its ankle's less
`ANKLE_HEIGHT`, whichever is lower, or of the body's lowest joint where that is lower: a crawl's knees and hands
stay above the floor), each other plant by nothing, linearly between plants (a jump's flight keeps its arc) and
held before the first and after the last. In an `extend` the kept frames stay and the lowering eases in after them
(`EASE_FRAMES`). Contact with the floor itself, feet above y = 0 and planted feet locked, stays `foot_cleanup`'s.
Measured in benchmarks/results/floor_settle_20261208/ (hovering takes 10 -> 1 of 240, the 8-seed report unchanged).
"""
from __future__ import annotations

import numpy as np

__all__ = ["hover_heights", "ANKLE_HEIGHT", "FLOOR_BAND", "SUPPORT_MARGIN", "MIN_PLANT_FRAMES", "EASE_FRAMES"]

FLOOR_BAND = 0.10      # m: a plant lower than this stands on the floor; higher, on something (a stair tread)
SUPPORT_MARGIN = 0.03  # m: a planted foot this much above the lowest foot is not what the body stands on
MIN_PLANT_FRAMES = 2   # contact frames running that make a plant (one frame is decoder flicker)
EASE_FRAMES = 10       # after the frames an `extend` keeps, the setting down eases in over these (0.5 s at 20 fps)
# m: the ankle joint over the floor when the foot stands flat (the engine's standing body: 5.3-5.7 cm, toe at 0;
# addon.retarget's STANDING_FOOT_DROP). Without it a heel strike set the ankle on the floor and buried the heel.
ANKLE_HEIGHT = 0.053


def hover_heights(joints: np.ndarray, contacts: np.ndarray, feet: list[tuple[int, int]],
                  keep_before: int = 0) -> np.ndarray:
    """(T,) how far to lower the body at each frame (negative: raise it) so that it stands on the floor.

    `joints` (T, J, 3), y up, floor at 0; `contacts` (T, 2 * len(feet)) bool, channels 2f and 2f + 1 planting
    foot f's (ankle, toe) in `feet`. Frames before `keep_before` (what `extend` keeps) are 0."""
    num = len(joints)
    contacts = np.asarray(contacts, dtype=bool)
    # how high each foot stands: its toe, or its ankle less the ankle's height over a flat foot (a heel strike
    # has the ankle at its lowest and the toe up)
    feet_low = np.stack([np.minimum(joints[:, ankle, 1] - ANKLE_HEIGHT, joints[:, toe, 1]) for ankle, toe in feet],
                        axis=1)
    body_low = joints[:, :, 1].min(axis=1)
    plants = []   # (middle frame, how far it is set down)
    for foot in range(len(feet)):
        down = contacts[:, 2 * foot:2 * foot + 2].any(axis=1) & \
            (feet_low[:, foot] <= feet_low.min(axis=1) + SUPPORT_MARGIN)
        down[:keep_before] = False
        for start, stop in _runs(down):
            if stop - start >= MIN_PLANT_FRAMES:
                level = float(min(np.median(feet_low[start:stop, foot]), np.median(body_low[start:stop])))
                plants.append(((start + stop - 1) / 2, level if level < FLOOR_BAND else 0.0))
    if not plants:
        return np.zeros(num)
    middles, lowering = np.array(sorted(plants)).T
    out = np.interp(np.arange(num), middles, lowering)
    out[:keep_before] = 0.0
    if keep_before:   # no pop at the seam: eased in after the kept frames
        ramp = np.minimum(np.arange(1, num - keep_before + 1) / EASE_FRAMES, 1.0)
        out[keep_before:] *= 0.5 - 0.5 * np.cos(np.pi * ramp)
    return out


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))

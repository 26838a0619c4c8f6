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
Each such plant is set down by its height: where its toe is planted, the toe's; where only its heel is (the toe
up), the ankle's less `ANKLE_HEIGHT`; where the body's lowest joint is lower still, that (a crawl's knees and
hands stay above the floor); a plant above the band, by nothing. The lowering is causal, so that a timeline's
later segments and an extend's new frames leave earlier frames as they were: each plant takes over where it
begins, its level the mean of its first `SETTLE_FRAMES` frames (read only up to the frame being set), eased in
over them, and holds until the next plant begins (a jump's flight keeps its arc). In an `extend` the kept frames
stay and the first plant after them eases in from 0. Contact with the floor itself, feet above y = 0 and planted
feet locked, stays `foot_cleanup`'s. Measured in benchmarks/results/floor_settle_20261208/.
"""
from __future__ import annotations

import numpy as np

__all__ = ["hover_heights", "ANKLE_HEIGHT", "FLOOR_BAND", "SUPPORT_MARGIN", "MIN_PLANT_FRAMES", "SETTLE_FRAMES"]

FLOOR_BAND = 0.10      # m: a plant lower than this stands on the floor; higher, on something (a stair tread)
SUPPORT_MARGIN = 0.03  # m: a planted foot this much above the lowest foot is not what the body stands on
MIN_PLANT_FRAMES = 2   # contact frames running that make a plant (one frame is decoder flicker)
SETTLE_FRAMES = 5      # a plant's level: the mean of its first frames; the lowering eases to it over them (0.25 s)
# m: the ankle joint over the floor when the foot stands flat (the engine's standing body: 5.3-5.7 cm, toe at 0;
# addon.retarget's STANDING_FOOT_DROP). Without it a heel strike set the ankle on the floor and buried the heel.
ANKLE_HEIGHT = 0.053


def hover_heights(joints: np.ndarray, contacts: np.ndarray, feet: list[tuple[int, int]],
                  keep_before: int = 0) -> np.ndarray:
    """(T,) how far to lower the body at each frame (negative: raise it) so that it stands on the floor.

    `joints` (T, J, 3), y up, floor at 0; `contacts` (T, 2 * len(feet)) bool, channels 2f and 2f + 1 planting
    foot f's (ankle, toe) in `feet`. Causal: a frame reads only the plants begun by then and their frames up to
    it, so a timeline's later segments and an extend's new frames never change earlier ones. Frames before
    `keep_before` (what `extend` keeps) are 0, and the first plant after them eases in from 0."""
    num = len(joints)
    plants = _plants(joints, np.asarray(contacts, dtype=bool), feet, keep_before)
    if not plants:
        return np.zeros(num)
    out = np.zeros(num)
    held = 0.0 if keep_before else _lowering(plants[0][2][:SETTLE_FRAMES])   # before the first plant
    out[keep_before:plants[0][0]] = held
    for k, (start, _, levels) in enumerate(plants):
        until = plants[k + 1][0] if k + 1 < len(plants) else num   # this plant rules until the next begins
        if until <= start:   # the other foot planted on the same frame: that plant rules
            continue
        for t in range(start, until):
            seen = levels[:min(t - start + 1, SETTLE_FRAMES)]      # its frames up to t, at most SETTLE_FRAMES
            ramp = min(len(seen) / SETTLE_FRAMES, 1.0)
            out[t] = held + ramp * (_lowering(seen) - held)
        held = out[until - 1]
    return out


def _plants(joints, contacts, feet, keep_before) -> list[tuple[int, int, np.ndarray]]:
    """(start, stop, floor level per frame) of each plant the body stands on (see the module doc), by start."""
    ankles, toes = joints[:, [a for a, _ in feet], 1], joints[:, [t for _, t in feet], 1]
    # how high each foot stands: its toe, or its ankle less the ankle's height over a flat foot
    feet_low = np.minimum(ankles - ANKLE_HEIGHT, toes)
    body_low = joints[:, :, 1].min(axis=1)
    plants = []
    for foot in range(len(feet)):
        ankle_down, toe_down = contacts[:, 2 * foot], contacts[:, 2 * foot + 1]
        down = (ankle_down | toe_down) & (feet_low[:, foot] <= feet_low.min(axis=1) + SUPPORT_MARGIN)
        down[:keep_before] = False
        # a planted toe stands at its own height; a heel alone (toe up) at the ankle's less ANKLE_HEIGHT
        levels = np.minimum(np.where(toe_down, toes[:, foot], ankles[:, foot] - ANKLE_HEIGHT), body_low)
        plants += [(start, stop, levels[start:stop]) for start, stop in true_runs(down)
                   if stop - start >= MIN_PLANT_FRAMES]
    return sorted(plants, key=lambda plant: plant[0])


def _lowering(levels: np.ndarray) -> float:
    """A plant's lowering from its levels so far: their mean under `FLOOR_BAND`, nothing above it (a tread)."""
    level = float(np.mean(levels))
    return level if level < FLOOR_BAND else 0.0


def true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in a boolean mask (also foot_cleanup's contact runs)."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))

"""Feet under key poses: which foot joints are planted where pins reshaped the motion (issue 23, item 3).

The model's contact channels describe the gait it sampled. A pin blends another pose in over `FALLOFF_SECONDS`
on each side of its frame, so near a pin those channels describe feet that are no longer there: a foot the pin
lifted is still "planted" (and the foot cleanup drags it back), a foot the pin put down is "in the air" (and
slides along the floor at the body's pace). That was most of the skating pins caused (a run pinned to another
take's pose: skating share 0.014 -> 0.16, `benchmarks/paths.py`).

So, for each foot joint a pin constrains (a whole-pose pin constrains all four), and only over the frames the
pin's change reaches (`pins.pin_reach`), the contacts are read from the pinned motion itself: a foot joint is
planted where it is within `PLANTED_HEIGHT` of the floor. A run through the pinned frame is held at the pinned
position, and a pinned joint in the air is held where the pin put it (`anchors`), so planting feet and meeting
the pin agree. Planting changes the heights the contacts were read from, so `generation.constraints` repeats
(contacts, cleanup, pins) a few times (`PIN_PASSES`).
"""
from __future__ import annotations

import numpy as np

from motion_core.controls.foot_cleanup import GROUND_HEIGHT
from motion_core.controls.pins import PosePin, pin_reach
from motion_core.formats.motion import Motion

__all__ = ["pinned_contacts", "PLANTED_HEIGHT"]

# m above the floor: a foot joint this low in the pinned motion is planted. Lower than the cleanup's LOW_HEIGHT
# (5 cm) because these contacts come from heights alone, with no contact channel to confirm them: at 5 cm a toe
# brushing the floor in a swing was planted too, and dragging it there skated (12 pinned takes, 3 passes:
# skating share 0.036 at 5 cm, 0.026 at 3 cm, 0.026 at 2 cm).
PLANTED_HEIGHT = 0.03


def _channels(skeleton) -> list[int]:
    """Joint index of each contact channel (left ankle, left toe, right ankle, right toe)."""
    return [*skeleton.left_foot, *skeleton.right_foot]


def pinned_contacts(motion: Motion, contacts: np.ndarray, pins: list[PosePin], keep_before: int = 0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(contacts (T, 4), anchors (T, 4)) for the foot cleanup of `motion`, a motion the pins were applied to
    (with `keep_before`, as `pins.apply_pins`); `contacts` are the model's (T, 4) bool."""
    contacts = np.array(contacts, dtype=bool)
    anchors = np.zeros_like(contacts)
    reach = pin_reach(motion.num_frames, pins, motion.fps, keep_before=keep_before)
    low = motion.joints[:, _channels(motion.skeleton), 1] < GROUND_HEIGHT + PLANTED_HEIGHT    # (T, 4)
    for pin, frames in zip(pins, reach):
        pinned = {j for j, _ in pin.targets}
        for c, joint in enumerate(_channels(motion.skeleton)):
            if joint in pinned:
                contacts[frames, c] = low[frames, c]
                anchors[pin.frame, c] = True
    return contacts, anchors

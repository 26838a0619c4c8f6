"""Floor drift (controls.floor_drift): a body floating off the floor where it stands on it is set down; stair
treads, a hop's raised foot and the frames an extend keeps are left where they are."""
import numpy as np

from motion_core.controls.floor_drift import ANKLE_HEIGHT, SETTLE_FRAMES, hover_heights

FEET = [(0, 1), (2, 3)]   # (ankle, toe) of the left and the right foot; joint 4 is the pelvis


def body(left_y, right_y, pelvis_y=0.9):
    """(T, 5, 3) joints: each foot flat (its ankle `ANKLE_HEIGHT` above its toe), the pelvis at `pelvis_y` (+ the
    lower foot)."""
    left_y, right_y = np.asarray(left_y, float), np.asarray(right_y, float)
    joints = np.zeros((len(left_y), 5, 3))
    joints[:, 0, 1], joints[:, 1, 1] = left_y + ANKLE_HEIGHT, left_y
    joints[:, 2, 1], joints[:, 3, 1] = right_y + ANKLE_HEIGHT, right_y
    joints[:, 4, 1] = pelvis_y + np.minimum(left_y, right_y)
    return joints


def alternating(num: int, period: int = 10) -> np.ndarray:
    """(T, 4) contacts of a walk: left foot down for `period` frames, then the right, and so on."""
    left = (np.arange(num) // period) % 2 == 0
    return np.stack([left, left, ~left, ~left], axis=1)


def test_a_walk_that_floats_up_is_set_down_on_the_floor():
    num = 60
    rise = np.linspace(0.0, 0.08, num)           # the whole body creeps 8 cm up over the take
    contacts = alternating(num)
    swing = np.where(contacts[:, 0], 0.0, 0.1)   # the swinging foot 10 cm up
    joints = body(rise + swing, rise + 0.1 - swing)
    lowered = hover_heights(joints, contacts, FEET)
    settled = joints[:, :, 1] - lowered[:, None]
    planted = np.where(contacts[:, 0], settled[:, 1], settled[:, 3])
    assert np.abs(planted).max() < 0.01                     # no planted frame more than 1 cm off the floor
    assert lowered[-1] > 0.07                               # the last step set down by its creep


def test_a_heel_strike_is_set_down_by_its_heel_not_its_ankle():
    """The ankle channel alone on, toe up (a heel strike): the ankle joint belongs `ANKLE_HEIGHT` over the floor,
    not on it (set down to the floor, a heel went 5 cm under it on the rigs)."""
    num = 20
    contacts = np.zeros((num, 4), dtype=bool)
    contacts[:, 0] = True                              # the left heel down, its toe raised 8 cm
    joints = body(np.full(num, 0.02), np.full(num, 0.3))
    joints[:, 1, 1] = 0.10
    np.testing.assert_allclose(hover_heights(joints, contacts, FEET), 0.02)   # ankle 2 cm too high, not 7.3


def test_stair_treads_and_a_raised_foot_keep_their_height():
    num = 60
    contacts = alternating(num)
    treads = 0.16 * (np.arange(num) // 10)         # each step lands one riser (16 cm) higher
    joints = body(np.where(contacts[:, 0], treads, treads + 0.1), np.where(contacts[:, 2], treads, treads + 0.1))
    np.testing.assert_allclose(hover_heights(joints, contacts, FEET)[10:], 0.0)   # above the first step: kept
    # a hop on the left foot: the raised right foot flickers "planted" 17 cm up; the left stands on the floor
    hop = np.zeros((num, 4), dtype=bool)
    hop[:, :2] = True
    hop[20:25, 2:] = True
    joints = body(np.zeros(num), np.full(num, 0.17))
    np.testing.assert_allclose(hover_heights(joints, hop, FEET), 0.0)


def test_an_extend_keeps_its_first_frames_and_eases_the_rest_down():
    num, kept = 60, 20
    contacts = np.ones((num, 4), dtype=bool)       # standing on both feet, 5 cm up
    joints = body(np.full(num, 0.05), np.full(num, 0.05))
    lowered = hover_heights(joints, contacts, FEET, keep_before=kept)
    assert (lowered[:kept] == 0).all()
    assert 0 < lowered[kept] < lowered[kept + SETTLE_FRAMES // 2] < 0.05
    np.testing.assert_allclose(lowered[kept + SETTLE_FRAMES:], 0.05)


def test_later_frames_never_change_earlier_lowering():
    """Causal, as timelines and extends need: a take's first 40 frames are lowered the same whatever follows."""
    contacts = alternating(60)
    rise = np.linspace(0.0, 0.08, 60)
    joints = body(rise + np.where(contacts[:, 0], 0.0, 0.1), rise + np.where(contacts[:, 0], 0.1, 0.0))
    other = joints.copy()
    other[40:, :, 1] += 0.3                         # what comes after frame 40 differs (a step onto a box)
    np.testing.assert_array_equal(hover_heights(joints, contacts, FEET)[:40],
                                  hover_heights(other, contacts, FEET)[:40])


def test_nothing_planted_moves_nothing():
    joints = body(np.full(30, 0.3), np.full(30, 0.3))   # in the air all along
    np.testing.assert_allclose(hover_heights(joints, np.zeros((30, 4), dtype=bool), FEET), 0.0)

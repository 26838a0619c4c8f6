"""Feet under key poses (issue 23, item 3): contacts read from the pinned motion near pins, anchored locks."""
import numpy as np
import pytest

from motion_core.controls.foot_cleanup import clean_feet, clean_feet_joints
from motion_core.controls.pinned_feet import pinned_contacts
from motion_core.controls.pins import parse_pins, pin_errors, pin_reach
from motion_core.engine import Engine
from motion_core.kinematics.motion_metrics import foot_skating
from motion_core.kinematics.skeleton import HUMANML3D
from tests.test_controls_foot_cleanup import skating_motion

TOES = (HUMANML3D.left_foot[1], HUMANML3D.right_foot[1])


def test_a_run_through_an_anchor_is_held_where_the_anchor_is():
    motion = skating_motion(frames=20, sink=0.0)
    contacts = np.zeros((20, 4), dtype=bool)
    contacts[5:15, 1] = True                       # the left toe planted on frames 5-14
    anchors = np.zeros((20, 4), dtype=bool)
    anchors[10, 1] = True                          # ... pinned on frame 10
    plain = clean_feet_joints(motion.joints, contacts, HUMANML3D, motion.offsets)
    anchored = clean_feet_joints(motion.joints, contacts, HUMANML3D, motion.offsets, anchors=anchors)
    toe = HUMANML3D.left_foot[1]
    np.testing.assert_allclose(plain[5:15, toe, [0, 2]], np.broadcast_to(motion.joints[5, toe, [0, 2]], (10, 2)),
                               atol=1e-4)          # held where it landed
    np.testing.assert_allclose(anchored[5:15, toe, [0, 2]],
                               np.broadcast_to(motion.joints[10, toe, [0, 2]], (10, 2)), atol=1e-4)


def test_an_anchor_in_the_air_keeps_the_joint_where_it_is():
    motion = skating_motion(frames=30, sink=0.0)
    contacts = np.zeros((30, 4), dtype=bool)
    contacts[2:6, 2] = contacts[24:28, 2] = True    # the right ankle planted twice, gliding in between
    anchors = np.zeros((30, 4), dtype=bool)
    anchors[12, 2] = True
    # the legs' anchors alone (setting the body down on the floor moves it all; this toy foot has its ankle 1 cm up)
    cleaned = clean_feet_joints(motion.joints, contacts, HUMANML3D, motion.offsets, anchors=anchors, settle=False)
    ankle = HUMANML3D.right_foot[0]
    np.testing.assert_allclose(cleaned[12, ankle], motion.joints[12, ankle], atol=1e-4)
    unanchored = clean_feet_joints(motion.joints, contacts, HUMANML3D, motion.offsets, settle=False)
    assert np.linalg.norm(unanchored[12, ankle] - motion.joints[12, ankle]) > 0.03   # the swing would have moved it


def test_contacts_near_a_pin_come_from_the_pinned_motion():
    motion = skating_motion(frames=60, sink=0.0)          # both feet on the floor throughout
    model = np.zeros((60, 4), dtype=bool)                 # the model said: feet in the air
    pose = motion.joints[30].astype(np.float64)
    pins = parse_pins([{"frame": 30, "joints": pose.tolist()},
                       {"frame": 55, "effectors": {"left_wrist": pose[20].tolist()}}], HUMANML3D, 60)
    contacts, anchors = pinned_contacts(motion, model, pins)
    reach = pin_reach(60, pins, motion.fps)[0]
    toe_channels = [1, 3]
    assert contacts[reach][:, toe_channels].all()        # low toes near the whole-pose pin: planted
    assert not contacts[~reach].any()                     # elsewhere the model's contacts, and the wrist pin
    assert anchors[30].all() and anchors.sum() == 4       # pins no foot joint
    assert reach[20:41].all() and not reach[:19].any()    # 0.5 s each side at 20 fps


@pytest.mark.slow
def test_a_run_pinned_to_another_takes_pose_does_not_skate():
    """The case that skated most in benchmarks/paths.py (skating share 1.0 with the model's own contacts)."""
    engine = Engine.load(None, device="cpu")
    (own,), (donor,) = (engine.generate(["a person runs forward"], seconds=4, seed=seed) for seed in (7003, 7103))
    pose = donor.joints[40].astype(np.float64).copy()
    pose[:, [0, 2]] += own.joints[40, 0, [0, 2]] - pose[0, [0, 2]]
    pins = [{"frame": 40, "joints": pose.tolist()}]
    (take,) = engine.generate(["a person runs forward"], seconds=4, seed=7003, pins=pins)
    assert max(pin_errors(take.joints, parse_pins(pins, HUMANML3D))) <= 0.03
    assert foot_skating(take.joints, HUMANML3D, engine.fps)["skating_share"] <= 0.1
    assert take.joints[:, list(TOES), 1].min() >= -0.005  # no toe through the floor

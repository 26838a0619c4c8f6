"""train.mocap: ASF/AMC reading, forward kinematics, the 22-joint mapping, canonical frame, features, captions."""
from pathlib import Path

import numpy as np
import pytest

from motion_core.kinematics.representation import canonicalize, features_to_joints
from motion_core.kinematics.skeleton import HUMANML3D
from train.data.texts import read_caption_file
from train.mocap.asf_amc import AsfAmcError, parse_amc, read_amc, read_asf
from train.mocap.captions import describe, parse_description, tokens
from train.mocap.convert import convert_trial, cut, make_clip, trial_joints
from train.mocap.descriptions import parse_index, trial_id
from train.mocap.export import build_dataset
from train.mocap.kinematics import forward_kinematics
from train.mocap.mapping import cmu_to_humanml3d, retarget
from train.mocap.resample import resample

DATA = Path(__file__).parent / "data" / "cmu_mocap"
ASF, AMC = DATA / "02.asf", DATA / "02_01_first36.amc"


@pytest.fixture(scope="module")
def skeleton():
    return read_asf(ASF)


@pytest.fixture(scope="module")
def fk(skeleton):
    return forward_kinematics(skeleton, read_amc(AMC, skeleton))


def test_parser_reads_skeleton_and_frames(skeleton):
    assert skeleton.length_scale == pytest.approx(0.45)
    assert skeleton.to_metres == pytest.approx(0.056444, abs=1e-6)    # CMU's FAQ
    assert len(skeleton.bones) == 30 and skeleton.bones["lfemur"].parent == "lhipjoint"
    assert skeleton.bones["lhipjoint"].parent is None                  # child of the root
    assert skeleton.bones["lfemur"].dofs == ("rx", "ry", "rz")
    motion = read_amc(AMC, skeleton)
    assert motion.num_frames == 36 and list(motion.frame_numbers[:2]) == [1, 2]
    assert motion.channels["root"].shape == (36, 6)
    assert motion.channels["root"][0, 0] == pytest.approx(10.4194)
    assert motion.channels["ltibia"].shape == (36, 1)


def test_parser_rejects_bad_amc(skeleton):
    with pytest.raises(AsfAmcError, match="needs 3 values"):
        parse_amc("1\nroot 0 0 0 0 0 0\nlfemur 1 2\n", skeleton)
    with pytest.raises(AsfAmcError, match="no dofs"):
        parse_amc("1\nnosuchbone 1\n", skeleton)


def test_fk_bone_lengths_constant_and_equal_to_asf(skeleton, fk):
    names, pos = fk
    for bone in skeleton.bones.values():
        parent = names.index(bone.parent or "root")
        length = np.linalg.norm(pos[:, names.index(bone.name)] - pos[:, parent], axis=-1)
        assert np.ptp(length) < 1e-9
        assert length[0] == pytest.approx(bone.length * skeleton.to_metres, rel=1e-9)


def test_fk_is_a_plausible_standing_walker(fk):
    names, pos = fk
    y = pos[..., 1]
    assert 0.8 < y[:, 0].mean() < 1.1                  # pelvis around hip height, metres
    assert y.min() > -0.05 and y[:, names.index("head")].min() > 1.4
    # Walking towards +z: feet ahead of the ankles (toes point the way the body goes) and knees bend forward.
    forward = pos[-1, 0] - pos[0, 0]
    assert forward[2] > 0.2
    for side in "lr":
        toe = pos[:, names.index(f"{side}foot")] - pos[:, names.index(f"{side}tibia")]
        assert np.mean(toe[:, 2]) > 0.05


def test_mapping_keeps_left_on_the_left(fk):
    names, pos = fk
    joints = cmu_to_humanml3d(names, pos)
    canon = canonicalize(retarget(joints))
    s = HUMANML3D
    # HumanML3D's canonical frame faces +z with the character's left on +x: hips, collars and shoulders on
    # every frame; knees, elbows and wrists on average. (Subject 02 walks on a narrow line: in this 0.3 s
    # excerpt the swinging foot passes the other one, so ankles and toes are not compared here.)
    for left, right in s.mirror_pairs:
        name = s.joint_names[left]
        if name in ("left_hip", "left_collar", "left_shoulder"):
            assert (canon[:, left, 0] > canon[:, right, 0] + 0.05).all(), name
        elif name in ("left_knee", "left_elbow", "left_wrist"):
            assert canon[:, left, 0].mean() > canon[:, right, 0].mean(), name
    # and the same joints sit where their CMU bones end
    assert np.allclose(joints[:, s.index("left_knee")], pos[:, names.index("lfemur")])
    assert np.allclose(joints[:, s.index("right_wrist")], pos[:, names.index("rradius")])


def test_retarget_gives_humanml3d_bone_lengths(fk):
    joints = retarget(cmu_to_humanml3d(*fk))
    s = HUMANML3D
    for j, p in enumerate(s.parents):
        if p >= 0:
            length = np.linalg.norm(joints[:, j] - joints[:, p], axis=-1)
            assert np.allclose(length, s.bone_lengths[j], atol=1e-9)


def test_resample_picks_every_sixth_frame_and_interpolates():
    x = np.arange(13, dtype=float)[:, None]
    assert np.allclose(resample(x, 120, 20)[:, 0], [0, 6, 12])
    assert np.allclose(resample(x, 30, 20)[:, 0], [0, 1.5, 3, 4.5, 6, 7.5, 9, 10.5, 12])


def test_drop_leading_pose_removes_a_teleporting_first_frame():
    from train.mocap.convert import drop_leading_pose
    joints = np.zeros((5, 22, 3))
    joints[:, :, 1] = np.linspace(0, 1.7, 22)
    joints[1:, :, 2] += 3.0            # frame 0 is a rest pose 3 m away from where the motion starts
    assert len(drop_leading_pose(joints)) == 4
    assert len(drop_leading_pose(joints[1:])) == 4


def test_cut_makes_equal_pieces_within_the_limit():
    assert cut(150) == [(0, 150)]
    pieces = cut(500, 196)
    assert len(pieces) == 3 and pieces[0][0] == 0 and pieces[-1][1] == 500
    assert all(b - a <= 196 for a, b in pieces) and max(b - a for a, b in pieces) - min(b - a for a, b in pieces) <= 1


def test_canonical_clip_on_floor_facing_z_and_features_round_trip(skeleton):
    joints = trial_joints(skeleton, AMC, 120.0)
    assert joints.shape == (6, 22, 3)              # 36 frames at 120 fps -> frames 0, 6, ..., 30 at 20 fps
    clip = make_clip(joints)
    j = clip.joints
    assert j[..., 1].min() == pytest.approx(0.0, abs=1e-9)          # lowest joint on the floor
    assert np.allclose(j[0, 0, [0, 2]], 0.0, atol=1e-9)             # first root above the origin
    s = HUMANML3D
    r_hip, l_hip, r_sh, l_sh = s.face_joints
    across = (j[0, l_hip] - j[0, r_hip]) + (j[0, l_sh] - j[0, r_sh])
    facing = np.cross(across, [0.0, 1.0, 0.0])   # left x up = forward
    facing[1] = 0
    facing /= np.linalg.norm(facing)
    assert facing[2] > 0.999                                         # faces +z
    assert j[-1, 0, 2] > 0.05                                        # and walks that way
    assert clip.features.shape == (6, 263)
    assert np.abs(features_to_joints(clip.features) - j).max() < 1e-5


def test_convert_trial_reports_source_frames():
    clips = convert_trial(ASF, AMC, 120.0)
    assert len(clips) == 1 and clips[0].source_frames == (1, 31)


def test_bvh_conversion_cgspeed_names():
    from motion_core.formats.bvh import read_bvh
    from train.mocap.mapping import bvh_scheme
    bvh = read_bvh(DATA / "131_03_first12.bvh")
    assert bvh_scheme(bvh.names) == "cgspeed_max"
    clips = convert_trial(None, DATA / "131_03_first12.bvh")
    assert len(clips) == 1 and clips[0].joints.shape == (2, 22, 3)   # 12 frames at 120 fps -> 0, 6
    j, s = clips[0].joints, HUMANML3D
    for left, right in ((1, 2), (13, 14), (16, 17)):
        assert (j[:, left, 0] > j[:, right, 0]).all()
    assert j[:, s.index("head"), 1].min() > 1.3 and j[..., 1].min() == pytest.approx(0.0, abs=1e-9)
    for k, p in enumerate(s.parents):
        if p >= 0:
            assert np.allclose(np.linalg.norm(j[:, k] - j[:, p], axis=-1), s.bone_lengths[k], atol=1e-9)


def test_descriptions_index_formats():
    hahne = "Subject #2 (various)\n\n02_01\twalk\n02_03\trun/jog\n"
    assert parse_index(hahne)["02_03"].description == "run/jog"
    csv = '"Subject","Trial #","Motion Description","framerate"\n7,4,"slow walk",60\n'
    info = parse_index(csv)["07_04"]
    assert info.description == "slow walk" and info.fps == 60
    assert trial_id("002_01") == "02_01" and trial_id("notes") is None


def test_captions_rephrase_cmu_descriptions():
    caps = describe("run/jog, sudden stop", "x", 4)
    assert len(caps) == len(set(caps)) >= 3
    assert caps[0] == "a person runs, then stops suddenly" or caps[0].startswith("a person runs")
    assert all("stop" in c for c in caps)
    assert parse_description("basketball - forward dribble, 90-degree left turns") == \
        ("basketball", ["forward dribble", "90-degree left turns"])
    assert any("90 degrees to the left" in c or "90-degree left turn" in c
               for c in describe("walk, 90-degree left turn", 1, 4))
    assert tokens("a person walks forward") == ("a/DET", "person/NOUN", "walk/VERB", "forward/ADV")


def test_build_dataset_writes_humanml3d_layout(tmp_path):
    source = tmp_path / "raw" / "subjects" / "02"
    source.mkdir(parents=True)
    (source / "02.asf").write_bytes(ASF.read_bytes())
    (source / "02_01.amc").write_bytes(AMC.read_bytes())
    out = tmp_path / "out"
    summary = build_dataset(tmp_path / "raw", out, min_frames=2, log=lambda *a: None)
    assert summary["clips"] == 1 and summary["trials"] == 1
    feats = np.load(out / "new_joint_vecs" / "cmu02_01_00.npy")
    assert feats.shape == (6, 263)
    lines, bad = read_caption_file(out / "texts" / "cmu02_01_00.txt")
    assert bad == 0 and len(lines) >= 3 and all("walk" in line.caption for line in lines)
    assert (out / "Mean.npy").is_file() and (out / "Std.npy").is_file()
    ids = sum(((out / f"{s}.txt").read_text().split() for s in ("train", "val", "test")), [])
    assert ids == ["cmu02_01_00"]


def test_append_adds_clips_to_an_existing_corpus(tmp_path):
    from train.data.writer import prepare_layout, write_captions, write_motion, write_split
    from train.mocap.captions import caption_lines
    source = tmp_path / "raw"
    source.mkdir()
    (source / "02.asf").write_bytes(ASF.read_bytes())
    (source / "02_01.amc").write_bytes(AMC.read_bytes())
    corpus = prepare_layout(tmp_path / "corpus")
    write_motion(corpus, "p000000", np.ones((50, 263)))
    write_captions(corpus, "p000000", caption_lines(["a person waves"]))
    for split in ("train", "val", "test"):
        write_split(corpus, split, ["p000000"] if split == "train" else [])
    build_dataset(source, corpus, min_frames=2, append=True, log=lambda *a: None)
    listed = {s: (corpus / f"{s}.txt").read_text().split() for s in ("train", "val", "test")}
    assert listed["train"] == ["cmu02_01_00", "p000000"]     # trial 02_01 hashes into train
    assert not np.allclose(np.load(corpus / "Mean.npy"), 1.0)   # recomputed over both corpora


@pytest.mark.parametrize("description, caption", [
    ("walking backwards", "a person walks backwards"),
    ("JumpForward", "a person jumps forward"),
    ("elephant (human subject)", "a person moves like an elephant"),
    ("walk sideways and turn (opposite direction)", "a person walks sideways"),
    ("playground - climb, swing", "a person climbs"),
    ("Start Hop Stop", "a person hops and then stops"),
])
def test_caption_rules_for_other_cmu_wordings(description, caption):
    first = describe(description, 0, 1)[0]
    assert first.startswith(caption), first
    assert " does " not in first

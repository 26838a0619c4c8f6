"""The HumanML3D-layout loader: file discovery, caption parsing, length rules, cropping, batching, statistics."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from motion_core.kinematics.representation import mirror_features
from train.data import (HUMANML3D_SPEC, KIT_SPEC, CaptionLine, MotionTextDataset, collate_motion_text,
                        compute_mean_std, crop_length, kit_dataset, load_samples, mirror_text, parse_caption_line,
                        read_caption_file)
from train.data.writer import prepare_layout, write_captions, write_mean_std, write_motion, write_split

D = HUMANML3D_SPEC.feature_dim


def _motion(rng, frames, dim=D):
    return rng.normal(size=(frames, dim)).astype(np.float32)


@pytest.fixture()
def dataset_root(tmp_path):
    """A small HumanML3D-shaped folder with the awkward cases the public data has."""
    rng = np.random.default_rng(0)
    root = prepare_layout(tmp_path / "hml")
    lines = {
        "000001": ["a man walks forward.#a/DET man/NOUN walk/VERB forward/ADV#0.0#0.0",
                   "someone steps ahead to the left#someone/PRON step/VERB#0.0#0.0",
                   "he waves his left hand#he/PRON wave/VERB#1.0#4.5",        # frames [20, 90)
                   "this line has no fields",                                 # malformed
                   "bad times#x/NOUN#one#two"],                               # malformed
        "000002": ["a person jumps#a/DET person/NOUN jump/VERB#0.0#0.0",
                   "too short a piece#x/NOUN#0.0#1.0"],                       # 20 frames < 40: dropped
        "000003": ["only a short clip#x/NOUN#0.0#0.0"],                       # whole motion too short
        "000004": ["far too long#x/NOUN#0.0#0.0"],                            # >= 200 frames: dropped
        "000005": ["no motion file for this one#x/NOUN#0.0#0.0"],
    }
    frames = {"000001": 150, "000002": 60, "000003": 30, "000004": 250}
    for motion_id, n in frames.items():
        write_motion(root, motion_id, _motion(rng, n))
    write_motion(root, "M000001", _motion(rng, 150))     # a shipped mirror, not listed in train.txt
    for motion_id, text in lines.items():
        (root / "texts" / f"{motion_id}.txt").write_text("\n".join(text) + "\n")
    write_captions(root, "M000001", [CaptionLine("a man walks forward to the right", ("a/DET",))])
    write_motion(root, "000006", _motion(rng, 80))        # listed, but has no caption file
    write_split(root, "train", ["000001", "000002", "000003", "000004", "000005", "000006"])
    write_split(root, "val", ["000002"])
    write_mean_std(root, np.full(D, 0.5, np.float32), np.full(D, 2.0, np.float32))
    return root


def test_load_samples_keeps_usable_windows_and_counts_the_rest(dataset_root):
    samples, report = load_samples(dataset_root, "train")
    keys = {s.key for s in samples}
    assert keys == {"000001", "000001@20-90", "000002", "M000001"}
    whole = next(s for s in samples if s.key == "000001")
    assert [c.caption for c in whole.captions] == ["a man walks forward.", "someone steps ahead to the left"]
    assert whole.captions[0].tokens == ("a/DET", "man/NOUN", "walk/VERB", "forward/ADV")
    sub = next(s for s in samples if s.key == "000001@20-90")
    assert (sub.first, sub.stop) == (20, 90) and sub.features.shape == (70, D)
    np.testing.assert_array_equal(sub.features, whole.motion[20:90])
    assert report.mirrors_added == 1
    assert report.dropped == {"malformed_caption_lines": 2, "too_short": 2, "too_long": 1,
                              "missing_motion": 1, "missing_text": 1}
    assert "malformed_caption_lines=2" in report.summary()


def test_mirrors_can_be_left_out(dataset_root):
    samples, report = load_samples(dataset_root, "train", include_mirrored=False)
    assert "M000001" not in {s.key for s in samples} and report.mirrors_added == 0


def test_missing_folders_and_split_lists_are_named(tmp_path, dataset_root):
    with pytest.raises(FileNotFoundError, match="new_joint_vecs"):
        load_samples(tmp_path / "nowhere", "train")
    with pytest.raises(FileNotFoundError, match="test.txt"):
        load_samples(dataset_root, "test")


def test_wrong_feature_size_is_skipped_and_counted(dataset_root):
    np.save(dataset_root / "new_joint_vecs" / "000002.npy", np.zeros((60, 251), np.float32))
    samples, report = load_samples(dataset_root, "val")
    assert samples == [] and report.dropped["bad_motion_file"] == 1
    with pytest.raises(ValueError, match="no usable samples"):
        MotionTextDataset(dataset_root, "val")


@pytest.mark.parametrize("line, problem", [
    ("caption only", "4 '#'-separated"),
    ("#tok#0#0", "empty caption"),
    ("c#t#a#b", "numbers"),
    ("c#t#3.0#2.0", "after start"),
    ("c#t#-1#2", ">= 0"),
])
def test_parse_caption_line_rejects_malformed_lines(line, problem):
    with pytest.raises(ValueError, match=problem):
        parse_caption_line(line)


def test_caption_lines_round_trip_and_map_to_frames(tmp_path):
    line = parse_caption_line("a person # waves#a/DET person/NOUN#1.5#3.25")
    assert line.caption == "a person # waves" and line.frame_range(20, 100) == (30, 65)
    assert line.frame_range(20, 50) == (30, 50)
    assert parse_caption_line("x#y/NOUN#0.0#0.0").frame_range(20, 77) == (0, 77)
    path = tmp_path / "c.txt"
    path.write_text(CaptionLine("walks left", ("walk/VERB", "left/ADV"), 0.5, 2.0).to_line() + "\n\nbroken\n")
    lines, malformed = read_caption_file(path)
    assert malformed == 1 and lines == [CaptionLine("walks left", ("walk/VERB", "left/ADV"), 0.5, 2.0)]


def test_mirror_text_swaps_sides_and_keeps_case():
    assert mirror_text("Left hand up, then turns RIGHT clockwise") == "Right hand up, then turns LEFT counterclockwise"
    assert mirror_text("leftover bright lights") == "leftover bright lights"
    assert mirror_text("wave/VERB left/ADJ") == "wave/VERB right/ADJ"


def test_dataset_items_are_normalised_unit_length_crops(dataset_root):
    torch.manual_seed(0)
    ds = MotionTextDataset(dataset_root, "train")
    by_key = {s.key: i for i, s in enumerate(ds.samples)}
    features, caption, length = ds[by_key["000001"]]
    assert length == 148 and features.shape == (148, D) and features.dtype == torch.float32
    assert caption in {"a man walks forward.", "someone steps ahead to the left"}
    raw = ds.samples[by_key["000001"]].motion
    restored = features.numpy() * 2.0 + 0.5
    starts = [s for s in range(0, 3) if np.allclose(raw[s:s + 148], restored, atol=1e-5)]
    assert len(starts) == 1, "item must be a contiguous window of the motion, de-normalised by Mean/Std"
    lengths = {ds[by_key["000001@20-90"]][2] for _ in range(5)}
    assert lengths == {68}


def test_crop_length_caps_and_rounds():
    assert crop_length(199, HUMANML3D_SPEC) == 196
    assert crop_length(41, HUMANML3D_SPEC) == 40
    assert crop_length(43, HUMANML3D_SPEC) == 40


def test_crops_cover_different_offsets(dataset_root):
    torch.manual_seed(1)
    ds = MotionTextDataset(dataset_root, "train", include_mirrored=False)
    i = next(i for i, s in enumerate(ds.samples) if s.key == "000002")   # 60 frames -> 60, fixed
    assert {float(ds[i][0][0, 0]) for _ in range(4)} == {float(ds[i][0][0, 0])}
    j = next(i for i, s in enumerate(ds.samples) if s.key == "000001")   # 150 -> 148, three offsets
    assert len({float(ds[j][0][0, 0]) for _ in range(40)}) > 1


def test_on_the_fly_mirroring_swaps_features_and_words(dataset_root):
    ds = MotionTextDataset(dataset_root, "train", include_mirrored=False, mirror_prob=1.0, crop=False)
    i = next(i for i, s in enumerate(ds.samples) if s.key == "000001")
    for _ in range(10):
        features, caption, _ = ds[i]
        if "ahead" in caption:
            break
    assert caption == "someone steps ahead to the right"
    expected = mirror_features(ds.samples[i].motion, HUMANML3D_SPEC.skeleton)
    np.testing.assert_allclose(features.numpy() * 2.0 + 0.5, expected, atol=1e-5)
    with pytest.raises(ValueError, match="mirror_prob"):
        MotionTextDataset(dataset_root, "train", mirror_prob=2.0)


def test_collate_pads_to_batch_max_with_mask():
    a, b = torch.ones(8, 5), torch.full((4, 5), 2.0)
    batch = collate_motion_text([(a, "first", 8), (b, "second", 4)])
    assert batch["motion"].shape == (2, 8, 5) and batch["captions"] == ["first", "second"]
    assert batch["lengths"].tolist() == [8, 4]
    assert batch["mask"].tolist() == [[True] * 8, [True] * 4 + [False] * 4]
    assert torch.all(batch["motion"][1, 4:] == 0) and torch.all(batch["motion"][1, :4] == 2)
    with pytest.raises(ValueError, match="length"):
        collate_motion_text([(a, "x", 7)])


def test_compute_mean_std_counts_each_motion_once(dataset_root):
    ds = MotionTextDataset(dataset_root, "train")
    mean, std = compute_mean_std(ds)
    frames = np.concatenate([np.load(dataset_root / "new_joint_vecs" / f"{i}.npy") for i in ("000001", "000002", "M000001")])
    np.testing.assert_allclose(mean, frames.mean(0), atol=1e-5)
    np.testing.assert_allclose(std, frames.std(0), atol=1e-5)
    _, block_std = compute_mean_std(ds, per_block=True, contact_scale=5.0)
    np.testing.assert_allclose(block_std[4:67], frames.std(0)[4:67].mean(), rtol=1e-5)
    np.testing.assert_allclose(block_std[-4:], frames.std(0)[-4:].mean() / 5.0, rtol=1e-5)
    with pytest.raises(ValueError, match="no frames"):
        compute_mean_std([])


def test_kit_spec_reads_251_dim_features(tmp_path):
    rng = np.random.default_rng(3)
    root = prepare_layout(tmp_path / "kit")
    write_motion(root, "00001", _motion(rng, 30, dim=251))      # 30 frames >= KIT's 24 minimum
    write_captions(root, "00001", [CaptionLine("a person walks", ("a/DET",))])
    write_split(root, "train", ["00001"])
    write_mean_std(root, np.zeros(251, np.float32), np.ones(251, np.float32))
    ds = kit_dataset(root, "train")
    features, _, length = ds[0]
    assert KIT_SPEC.feature_dim == 251 and features.shape == (28, 251) and length == 28


def test_real_humanml3d_sample_loads(tmp_path, humanml3d_sample):
    features, _ = humanml3d_sample
    root = prepare_layout(tmp_path / "real")
    write_motion(root, "012314", features)
    write_captions(root, "012314", [CaptionLine("a person does something", ("a/DET",))])
    write_split(root, "test", ["012314"])
    mean, std = compute_mean_std([features])
    write_mean_std(root, mean, std)
    ds = MotionTextDataset(root, "test")
    x, _, length = ds[0]
    assert length == crop_length(len(features), HUMANML3D_SPEC)
    assert abs(float(x.mean())) < 0.5 and torch.isfinite(x).all()

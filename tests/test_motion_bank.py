"""The device-resident training windows (train/data/motion_bank.py): same batches, same training, clear errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.test_training import TINY_CONFIG, fit, write_synthetic_dataset
from train.data import HUMANML3D_SPEC, MotionTextDataset, collate_motion_text
from train.data.humanml3d import DatasetSpec
from train.data.motion_bank import CropItems, MotionBank, collate_crops
from train.data_order import SeededItems

SPEC = DatasetSpec("humanml3d", HUMANML3D_SPEC.skeleton, min_frames=20, max_frames=40, drop_frames=200)
_RNG = np.random.default_rng(0)
STATS = {"mean": _RNG.normal(size=SPEC.feature_dim).astype(np.float32),
         "std": _RNG.uniform(0.5, 2.0, SPEC.feature_dim).astype(np.float32)}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("bank"), clips=12, frames=(24, 70))


def test_gathered_batches_equal_host_batches(data_root):
    dataset = MotionTextDataset(data_root, "train", SPEC, **STATS)
    host, refs, bank = SeededItems(dataset, 7), SeededItems(CropItems(dataset), 7), MotionBank(dataset, "cpu")
    for epoch in range(3):      # several epochs: new crops and captions each time
        keys = [(epoch, i) for i in torch.randperm(len(dataset)).tolist()[:8]]
        expected = collate_motion_text([host[k] for k in keys])
        got = bank.gather(collate_crops([refs[k] for k in keys]))
        assert torch.equal(got["motion"], expected["motion"]) and torch.equal(got["mask"], expected["mask"])
        assert torch.equal(got["lengths"], expected["lengths"]) and got["captions"] == expected["captions"]
    assert bank.nbytes == sum(s.num_frames for s in dataset.samples) * SPEC.feature_dim * 4


def test_bank_refuses_what_it_cannot_serve(data_root):
    dataset = MotionTextDataset(data_root, "train", SPEC, **STATS)
    bank = MotionBank(dataset, "cpu")
    crop = dataset.draw(0)
    too_far = crop._replace(first=dataset.samples[0].num_frames - crop.length + 1)
    with pytest.raises(ValueError, match="reaches past"):
        bank.gather(collate_crops([too_far]))
    with pytest.raises(ValueError, match="does not hold"):
        bank.gather(collate_crops([crop._replace(index=len(dataset))]))
    with pytest.raises(ValueError, match="mirror"):
        CropItems(MotionTextDataset(data_root, "train", SPEC, mirror_prob=0.5, **STATS))


def test_a_bank_too_big_for_the_device_says_how_to_train_anyway(data_root, monkeypatch):
    dataset = MotionTextDataset(data_root, "train", SPEC, **STATS)

    upload = torch.Tensor.to

    def no_room_for_features(tensor, *args, **kwargs):   # index tensors fit; the feature table does not
        if tensor.dim() == 2 and tensor.shape[1] == SPEC.feature_dim:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 3.00 GiB")
        return upload(tensor, *args, **kwargs)
    monkeypatch.setattr(torch.Tensor, "to", no_room_for_features)
    with pytest.raises(MemoryError, match='"device_bank": false'):
        MotionBank(dataset, "cpu")


def _config(tmp_path, device_bank: bool):
    config = json.loads(TINY_CONFIG.read_text())
    config["data"]["device_bank"] = device_bank
    config["data"]["num_workers"] = 0
    for stage in ("vae", "denoiser"):
        config[stage]["optim"].update(max_steps=3, log_every=1)
    path = tmp_path / f"config-{device_bank}.json"
    path.write_text(json.dumps(config))
    return path


def test_training_from_the_bank_matches_host_batches(tmp_path, data_root):
    losses = {}
    for device_bank in (False, True):
        run = tmp_path / f"run-{device_bank}"
        fit("--config", _config(tmp_path, device_bank), "--data", data_root, "--out", run)
        losses[device_bank] = [json.loads(line)["loss"] for stage in ("vae", "denoiser")
                               for line in (run / stage / "log.jsonl").read_text().splitlines()]
    assert losses[True] == pytest.approx(losses[False], rel=1e-6, abs=1e-9)

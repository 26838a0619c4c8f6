"""benchmarks/length_predictors.py: the split view that keeps only clips neither predictor trained on."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import length_predictors  # noqa: E402


def test_the_split_view_keeps_procedural_clips_from_the_given_one(tmp_path):
    data, folder = tmp_path / "data", tmp_path / "view"
    (data / "texts").mkdir(parents=True)
    folder.mkdir()
    (data / "val.txt").write_text("p000001\np003000\np011999\ncmu02_01_00\n")
    view = length_predictors.split_view(data, "val", 3000, folder)
    assert (view / "val.txt").read_text().split() == ["p003000", "p011999"]
    assert (view / "texts").resolve() == (data / "texts").resolve()
    assert length_predictors.split_view(data, "val", None, folder) == data


def test_a_model_without_a_length_predictor_is_refused(tmp_path, capsys):
    from motion_core.engine import Engine
    model = Engine.random(seed=0).save(tmp_path / "model")
    corpus = tmp_path / "corpus"
    for folder in ("new_joint_vecs", "texts"):
        (corpus / folder).mkdir(parents=True)
    np.save(corpus / "new_joint_vecs" / "p000001.npy", np.zeros((60, 263), dtype=np.float32))
    (corpus / "texts" / "p000001.txt").write_text("a person walks#a/DET person/NOUN walk/VERB#0.0#0.0\n")
    (corpus / "val.txt").write_text("p000001\n")
    with pytest.raises(SystemExit):
        length_predictors.main(["--data", str(corpus), "--checkpoints", str(model)])
    assert "has no length predictor" in capsys.readouterr().err

"""train.word_vectors --from-checkpoint: the bundled model's frozen table, as a vectors file train.fit reads."""
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from motion_core.text.word_vectors import WordVectors
from motion_core.text.wordvec import WordVecTextEncoder
from train.word_vectors import from_checkpoint, main

BUNDLED = Path(__file__).resolve().parents[1] / "motion_core" / "default_model"


def test_extracts_the_bundled_table_exactly(tmp_path):
    summary = from_checkpoint(BUNDLED, tmp_path, log=lambda *_: None)
    vectors = WordVectors.load(tmp_path)
    with safe_open(str(BUNDLED / "model.safetensors"), framework="pt") as f:
        table = f.get_tensor("text.table")
    assert summary["tokens_kept"] == len(vectors) == table.shape[0]
    assert torch.equal(vectors.table, table)
    assert vectors.tokens("a person waves")          # the tokenizer round-tripped
    # what train.fit builds from denoiser.text.vectors: same table, same tokenizer size as the checkpoint's
    encoder = WordVecTextEncoder(vectors=str(tmp_path / "word_vectors.safetensors"))
    assert torch.equal(encoder.table, table)
    assert (tmp_path / "LICENSE-wordllama.txt").is_file()


def test_cli_and_a_checkpoint_without_wordvec(tmp_path):
    assert main(["--out", str(tmp_path / "wv"), "--from-checkpoint", str(BUNDLED)]) == 0
    assert (tmp_path / "wv" / "word_vectors.safetensors").is_file()
    from safetensors.torch import save_file
    save_file({"denoiser.x": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="no wordvec"):
        from_checkpoint(tmp_path / "other.safetensors", tmp_path / "out", log=lambda *_: None)

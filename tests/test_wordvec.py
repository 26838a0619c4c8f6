"""The word-vector text encoder ("wordvec") and its pruned WordLlama table.

tests/data/word_vectors_tiny.safetensors is a 194-token cut of the real table and tokenizer (made with
train.word_vectors' `select_tokens(..., max_id=0, words)` + `prune`), so no test needs the wordllama wheel.
"""
import json
from pathlib import Path

import pytest
import torch

from motion_core.formats.checkpoint import load_checkpoint, module_shapes, save_checkpoint, validate_config
from motion_core.text import build_text_encoder
from motion_core.text.word_vectors import WordVectors, tokenizer_tensor
from motion_core.text.wordvec import WordVecTextEncoder
from train.word_vectors import prune

FIXTURE = Path(__file__).parent / "data" / "word_vectors_tiny.safetensors"
SMALL = {"type": "wordvec", "dim": 32, "layers": 2, "heads": 4, "ff_dim": 64, "max_tokens": 16, "dropout": 0.0}


@pytest.fixture
def encoder():
    torch.manual_seed(0)
    return build_text_encoder({**SMALL, "vectors": str(FIXTURE)}).eval()


def test_fixture_keeps_the_real_similarities():
    vectors = WordVectors.load(FIXTURE)
    # the figures issue 21 measured on the full table: pruning must not change a kept word's vector
    assert vectors.similarity("jump", "leap") == pytest.approx(0.46, abs=0.01)
    assert vectors.similarity("jump", "hop") == pytest.approx(0.32, abs=0.01)
    assert vectors.similarity("jump", "walk") == pytest.approx(0.05, abs=0.01)
    assert vectors.similarity("run", "jog") == pytest.approx(0.61, abs=0.01)


def test_tokenisation_normalises_and_pads(encoder):
    batch = encoder.tokenize(["Someone  JUMPS", "", "someone jumps, then walks"])
    assert batch.ids.shape == batch.mask.shape and batch.ids.dtype == torch.long
    assert batch.mask.sum(1).tolist()[1] == 0
    # case and spacing do not matter
    first, third = batch.ids[0][batch.mask[0]].tolist(), batch.ids[2][batch.mask[2]].tolist()
    assert third[: len(first)] == first
    assert batch.truncated == [False, False, False]


def test_long_prompts_are_truncated_and_reported(encoder):
    batch = encoder.tokenize(["walk " * 40])
    assert batch.ids.shape[1] == 16 and batch.truncated == [True]
    tokens, mask = encoder.encode(["walk " * 40])
    assert tokens.shape == (1, 17, 32) and encoder.last_truncated == [True]


def test_encode_shapes_mask_and_empty_prompt(encoder):
    tokens, mask = encoder.encode(["someone jumps", ""])
    assert tokens.shape[0] == 2 and tokens.shape[2] == 32 and mask[:, 0].all()
    assert mask[1].sum() == 1                      # the empty prompt is only the summary token
    assert torch.all(tokens[~mask] == 0)


def test_prepare_and_forward_prepared_equal_encode(encoder):
    prompts = ["someone jumps, then walks", "a person runs"]
    direct = encoder.encode(prompts)
    split = encoder.forward_prepared(*encoder.prepare(prompts))
    assert encoder.splits_encoding
    assert torch.equal(direct[0], split[0]) and torch.equal(direct[1], split[1])


def test_word_order_matters(encoder):
    a, _ = encoder.encode(["someone walks, then jumps"])
    b, _ = encoder.encode(["someone jumps, then walks"])
    assert a.shape == b.shape
    assert not torch.allclose(a[:, 0], b[:, 0], atol=1e-4)   # the summary token reads the order


def test_unknown_characters_map_to_unk_and_encode(encoder):
    vocab = json.loads(encoder.word_vectors().tokenizer_json)["model"]["vocab"]
    batch = encoder.tokenize(["someone ☃ 人が歩く"])
    ids = batch.ids[0][batch.mask[0]].tolist()
    assert vocab["<unk>"] in ids
    assert all(0 <= i < encoder.table.shape[0] for i in ids)
    tokens, _ = encoder.encode(["someone ☃ 人が歩く"])
    assert torch.isfinite(tokens).all()


def test_the_table_is_frozen_and_float16(encoder):
    assert encoder.table.dtype == torch.float16 and not encoder.table.requires_grad
    assert "table" not in dict(encoder.named_parameters())
    tokens, _ = encoder.encode(["someone jumps"])
    tokens.sum().backward()
    assert encoder.project.weight.grad is not None


def test_config_round_trips_without_the_path(encoder):
    config = encoder.config()
    assert "vectors" not in config and config["vocab_size"] == 194 and "MIT" in config["notice"]
    rebuilt = build_text_encoder(config)
    assert module_shapes("text.", rebuilt) == module_shapes("text.", encoder)
    with pytest.raises(RuntimeError, match="no tokenizer"):
        rebuilt.tokenize(["someone jumps"])    # zero buffers until the checkpoint's are loaded
    rebuilt.load_state_dict(encoder.state_dict())
    rebuilt.eval()
    assert torch.equal(rebuilt.encode(["someone jumps"])[0], encoder.encode(["someone jumps"])[0])


def test_needs_vectors_or_sizes():
    with pytest.raises(ValueError, match="word vectors"):
        WordVecTextEncoder(dim=32, heads=4)


def test_pruned_table_round_trip(tmp_path):
    full = WordVectors.load(FIXTURE)
    keep = {"<unk>", "<s>", "</s>"} | set(full.tokens("someone jumps")) | set(full.tokens("a person runs"))
    pruned_json, rows = prune(full.tokenizer_json, full.table, keep)
    small = WordVectors(pruned_json, rows)
    assert len(small) < len(full)
    # a word made of kept tokens splits as before and keeps its vector
    for text in ("someone jumps", "a person runs"):
        assert small.tokens(text) == full.tokens(text)
        assert torch.allclose(small.vectors([text]), full.vectors([text]))
    path = small.save(tmp_path / "wv")
    again = WordVectors.load(path)
    assert torch.equal(again.table, small.table) and again.tokenizer_json == small.tokenizer_json
    assert again.table.dtype == torch.float16


def test_mismatched_tokenizer_and_table_are_rejected():
    full = WordVectors.load(FIXTURE)
    with pytest.raises(ValueError, match="rows"):
        WordVectors(full.tokenizer_json, full.table[:-1])


def test_checkpoint_round_trip(tmp_path, encoder):
    from motion_core.engine import Engine, tiny_config
    config = tiny_config()
    config["architecture"]["text"] = {**encoder.config(), "dim": 32}
    config["text_encoder_type"] = "wordvec"
    validate_config(config)
    engine = Engine.random(config, seed=0)
    engine.text_encoder.load_state_dict(encoder.state_dict())
    engine.save(tmp_path / "model")
    header_dtypes = {k: v.dtype for k, v in load_checkpoint(tmp_path / "model")[1].items() if k.startswith("text.")}
    assert header_dtypes["text.table"] == torch.float16 and header_dtypes["text.tokenizer_json"] == torch.uint8
    loaded = Engine.load(tmp_path / "model", device="cpu")
    assert loaded.config["architecture"]["text"]["type"] == "wordvec"
    a = loaded.text_encoder.eval().encode(["someone jumps"])[0]
    b = engine.text_encoder.eval().encode(["someone jumps"])[0]
    assert torch.allclose(a, b)
    motion = loaded.generate(["someone jumps"], seconds=1.0, steps=2)[0]
    assert motion.num_frames > 0


def test_checkpoint_with_a_wrong_table_size_is_rejected(tmp_path, encoder):
    from motion_core.formats.checkpoint import CheckpointError
    from motion_core.engine import Engine, tiny_config
    config = tiny_config()
    config["architecture"]["text"] = {**encoder.config(), "dim": 32}
    config["text_encoder_type"] = "wordvec"
    engine = Engine.random(config, seed=0)
    engine.save(tmp_path / "model")
    stored = json.loads((tmp_path / "model" / "config.json").read_text())
    stored["architecture"]["text"]["vocab_size"] = 100
    (tmp_path / "model" / "config.json").write_text(json.dumps(stored))
    with pytest.raises(CheckpointError, match="text"):
        Engine.load(tmp_path / "model", device="cpu")


def test_tokenizer_tensor_is_utf8_bytes():
    t = tokenizer_tensor('{"é": 1}')
    assert t.dtype == torch.uint8 and bytes(t.tolist()).decode("utf-8") == '{"é": 1}'


def test_training_configs_choose_the_encoder():
    from train.config import TrainConfigError, load_config, resolve_config
    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "train" / "configs" / "v2.json", word_vectors=FIXTURE)
    assert config["denoiser"]["text"]["type"] == "wordvec"
    assert config["denoiser"]["text"]["vectors"] == str(FIXTURE)
    encoder = build_text_encoder(config["denoiser"]["text"])
    assert encoder.dim == 256 and "vectors" not in encoder.config()
    with pytest.raises(TrainConfigError, match="wordvec"):
        load_config(root / "train" / "configs" / "default.json", word_vectors=FIXTURE)
    with pytest.raises(TrainConfigError, match="vectors"):
        resolve_config({"denoiser": {"text": {"type": "wordvec"}}})
    with pytest.raises(TrainConfigError, match="text.type"):
        resolve_config({"denoiser": {"text": {"type": "openclip"}}})


def test_exported_tensors_keep_float16_and_uint8(encoder):
    from train.stages import _prefixed
    tensors = _prefixed(encoder, "text.")
    assert tensors["text.table"].dtype == torch.float16 and tensors["text.tokenizer_json"].dtype == torch.uint8
    assert tensors["text.project.weight"].dtype == torch.float32

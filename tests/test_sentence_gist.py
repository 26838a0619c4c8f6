"""The sentence gist (motion_core.text.sentence_gist) on the wordvec encoder, and grafting it onto a model.

The sentence vectors here are a made-up WordPiece tokenizer and table (no MiniLM wheel needed): what is tested is
how the gist is read and carried, not what the real vectors know (benchmarks/text_features_probe.py measures that).
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from motion_core.engine import Engine
from motion_core.formats.checkpoint import load_checkpoint, validate_config
from motion_core.text import build_text_encoder
from motion_core.text.sentence_gist import SentenceGist
from motion_core.text.word_vectors import WordVectors
from train import export, sentence_gist, text_tuning

WORDS = Path(__file__).parent / "data" / "word_vectors_tiny.safetensors"
SMALL = {"type": "wordvec", "dim": 32, "layers": 1, "heads": 4, "ff_dim": 64, "max_tokens": 16, "dropout": 0.0}
VOCAB = ["[UNK]", "a", "person", "someone", "jump", "##s", "walk", "wave", "forward", ",", "then", "boxer"]


def write_sentence_vectors(folder: Path, dim: int = 8) -> Path:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    tokenizer = Tokenizer(models.WordPiece({t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    table = torch.randn(len(VOCAB), dim, generator=torch.Generator().manual_seed(3))
    return WordVectors(tokenizer.to_str(), table).save(folder)


@pytest.fixture
def vectors(tmp_path) -> Path:
    return write_sentence_vectors(tmp_path / "sv")


def test_a_gist_is_its_tokens_mean_projected_and_nothing_for_an_empty_prompt(vectors):
    gist = SentenceGist(4, vectors=str(vectors))
    ids, mask = gist.prepare(["Someone JUMPS", ""])
    assert (gist(ids, mask) == 0).all()                     # the projection starts at zero: no effect yet
    torch.nn.init.normal_(gist.project.weight)
    torch.nn.init.normal_(gist.project.bias)
    out = gist(ids, mask)
    table = WordVectors.load(vectors).table.float()
    pieces = [VOCAB.index(t) for t in ("someone", "jump", "##s")]
    expected = gist.project(gist.norm(table[pieces].mean(0)))
    assert torch.allclose(out[0], expected, atol=1e-5)
    assert (out[1] == 0).all()                              # the unconditional input stays what it was


def test_the_wordvec_encoder_carries_a_gist_through_its_config(vectors):
    torch.manual_seed(0)
    plain = build_text_encoder({**SMALL, "vectors": str(WORDS)}).eval()
    torch.manual_seed(0)
    grown = build_text_encoder({**SMALL, "vectors": str(WORDS), "gist_vectors": str(vectors)}).eval()
    config = grown.config()
    assert config["gist"]["vocab_size"] == len(VOCAB) and "gist_vectors" not in config
    rebuilt = build_text_encoder(config).eval()
    rebuilt.load_state_dict(grown.state_dict())
    prompts = ["a person jumps forward", "someone waves, then walks", ""]
    assert len(grown.prepare(prompts)) == 4                 # its own tokens, then the gist's
    with torch.no_grad():
        # same layers, same initialisation; a zero projection changes nothing
        assert torch.equal(plain.encode(prompts)[0], grown.encode(prompts)[0])
        torch.nn.init.normal_(grown.gist.project.weight)
        rebuilt.load_state_dict(grown.state_dict())
        assert not torch.equal(plain.encode(prompts)[0], grown.encode(prompts)[0])
        assert torch.equal(grown.encode(prompts)[0], rebuilt.encode(prompts)[0])


def test_the_gist_table_stays_half_precision_and_frozen(vectors):
    encoder = build_text_encoder({**SMALL, "vectors": str(WORDS), "gist_vectors": str(vectors)}).float()
    assert encoder.gist.table.dtype == torch.float16
    names = {name for name, _ in encoder.named_parameters()}
    assert {"gist.project.weight", "gist.project.bias"} <= names and "gist.table" not in names
    keys = text_tuning.tuned_keys({f"text.{k}": v for k, v in encoder.state_dict().items()})
    assert "text.gist.project.weight" in keys and "text.gist.table" not in keys
    assert "text.gist.tokenizer_json" not in keys


def wordvec_model(tmp_path: Path) -> Path:
    from motion_core.generation.loading import tiny_config
    encoder = build_text_encoder({**SMALL, "vectors": str(WORDS)})
    config = tiny_config()
    config["architecture"]["text"] = encoder.config()
    config["text_encoder_type"] = "wordvec"
    engine = Engine.random(config, seed=0)
    engine.text_encoder.load_state_dict(encoder.state_dict())
    return engine.save(tmp_path / "model")


def test_grafting_keeps_every_encoding_and_the_config_validates(tmp_path, vectors):
    source = wordvec_model(tmp_path)
    out = sentence_gist.graft(source, vectors, tmp_path / "grafted", log=lambda *_: None)
    config, tensors = load_checkpoint(out)
    validate_config(config)
    assert config["architecture"]["text"]["gist"]["dim"] == 8
    assert (tensors["text.gist.project.weight"] == 0).all()
    before, after = Engine.load(source, device="cpu"), Engine.load(out, device="cpu")
    prompts = ["someone jumps forward, then waves", "a boxer walks", "walk"]
    with torch.no_grad():
        assert torch.equal(before.text_encoder.encode(prompts)[0], after.text_encoder.encode(prompts)[0])
    motion = after.generate(["a person walks"], seconds=1.0, steps=2)[0]
    assert motion.num_frames > 0


def test_a_model_exported_from_a_grafted_one_still_names_its_gist(tmp_path, vectors):
    grafted = sentence_gist.graft(wordvec_model(tmp_path), vectors, tmp_path / "grafted", log=lambda *_: None)
    text = load_checkpoint(grafted)[0]["architecture"]["text"]
    assert "sentence gist" in export.encoder_description(text)
    assert "sentence gist" not in export.encoder_description({k: v for k, v in text.items() if k != "gist"})


def test_grafting_twice_or_onto_another_encoder_is_refused(tmp_path, vectors):
    source = wordvec_model(tmp_path)
    once = sentence_gist.graft(source, vectors, tmp_path / "once", log=lambda *_: None)
    with pytest.raises(SystemExit):
        sentence_gist.main(["--checkpoint", str(once), "--sentence-vectors", str(vectors),
                            "--out", str(tmp_path / "twice")])
    offline = Engine.random(seed=0).save(tmp_path / "offline")
    with pytest.raises(ValueError, match="wordvec"):
        sentence_gist.graft(offline, vectors, tmp_path / "x", log=lambda *_: None)


def test_a_config_with_a_bad_gist_is_refused(tmp_path, vectors):
    out = sentence_gist.graft(wordvec_model(tmp_path), vectors, tmp_path / "grafted", log=lambda *_: None)
    config, _ = load_checkpoint(out)
    bad = copy.deepcopy(config)
    bad["architecture"]["text"]["gist"]["colour"] = "blue"
    with pytest.raises(ValueError, match="gist.colour"):
        validate_config(bad)


def test_tuning_gives_the_gist_its_own_learning_rate(vectors):
    encoder = build_text_encoder({**SMALL, "vectors": str(WORDS), "gist_vectors": str(vectors)})
    groups = text_tuning.parameter_groups(encoder, lr=1e-4, gist_lr=1e-3)
    gist = {id(p) for p in encoder.gist.parameters()}
    assert [g["lr"] for g in groups] == [1e-4, 1e-3]
    assert {id(p) for p in groups[1]["params"]} == gist and not gist & {id(p) for p in groups[0]["params"]}
    assert sum(len(g["params"]) for g in groups) == len(list(encoder.parameters()))
    plain = build_text_encoder({**SMALL, "vectors": str(WORDS)})
    assert [g["lr"] for g in text_tuning.parameter_groups(plain, 1e-4, 1e-3)] == [1e-4]   # nothing to single out

"""Text encoders: the offline hashed-n-gram transformer and the optional OpenCLIP tower."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from motion_core.text import TextEncoder, build_text_encoder
from motion_core.text.hash_tokenizer import HashTokenizer, split_words
from motion_core.text.offline import OfflineTextEncoder
from motion_core.text import openclip as oc

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"type": "offline", "dim": 32, "layers": 2, "heads": 4, "ff_dim": 64, "num_buckets": 1024,
         "max_tokens": 16, "dropout": 0.0}


@pytest.fixture
def encoder():
    torch.manual_seed(0)
    return build_text_encoder(SMALL).eval()


def _buckets(tokenizer: HashTokenizer, prompt: str) -> list[list[int]]:
    batch = tokenizer([prompt])
    return [[i for i in row if i] for row in batch.ids[0].tolist()]


# ---------------------------------------------------------------- tokenizer

def test_split_words_normalises_case_accents_and_punctuation():
    assert split_words("A person WALKS, then Café-turns!") == ["a", "person", "walks", ",", "then", "cafe", "-",
                                                              "turns", "!"]
    assert split_words("ｗａｌｋｓ 3.5 steps") == ["walks", "3.5", "steps"]  # full-width letters: NFKC
    assert split_words("the person's arm") == ["the", "person's", "arm"]
    assert split_words("") == []


def test_tokenizer_is_stable_across_processes():
    """Bucket ids must not depend on PYTHONHASHSEED (a salted hash() would change every run)."""
    prompts = ["a man waves his right hand", "jump 3 times"]
    code = ("from motion_core.text.hash_tokenizer import HashTokenizer;"
            f"print(HashTokenizer(4096)({prompts!r}).ids.tolist())")
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"  # differs from this process's seed
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str(HashTokenizer(4096)(prompts).ids.tolist())


def test_char_ngrams_make_inflections_and_typos_share_features():
    tok = HashTokenizer(1 << 16)
    waving = set(_buckets(tok, "waving")[0])
    assert len(waving & set(_buckets(tok, "waves")[0])) >= 2       # <wa, wav
    assert len(waving & set(_buckets(tok, "wavng")[0])) >= 3       # typo keeps <wa, wav, ng>
    assert len(waving & set(_buckets(tok, "jumping")[0])) < len(waving & set(_buckets(tok, "wavng")[0]))


def test_bigram_feature_depends_on_previous_word():
    tok = HashTokenizer(1 << 16)
    left_turn, right_turn = _buckets(tok, "left turn")[1], _buckets(tok, "right turn")[1]
    assert left_turn[0] == right_turn[0]        # same word feature
    assert left_turn[1] != right_turn[1]        # different bigram feature


def test_numbers_get_a_shape_feature():
    tok = HashTokenizer(1 << 16)
    three, seven, half = _buckets(tok, "3")[0], _buckets(tok, "7")[0], _buckets(tok, "2.5")[0]
    assert three[2] == seven[2] != half[2]
    assert three[0] != seven[0]


def test_truncation_is_recorded():
    tok = HashTokenizer(256, max_tokens=5)
    batch = tok(["one two three four five six seven", "short prompt", ""])
    assert batch.truncated == [True, False, False]
    assert batch.ids.shape == (3, 5, tok.slots)
    assert batch.mask.tolist() == [[True] * 5, [True, True, False, False, False], [False] * 5]
    assert int(batch.ids.max()) < 256 and int(batch.ids[~batch.mask].abs().sum()) == 0


def test_tokenizer_rejects_non_lists():
    with pytest.raises(TypeError):
        HashTokenizer()("a single string")
    with pytest.raises(TypeError):
        HashTokenizer()(["ok", 3])


# ---------------------------------------------------------------- offline encoder

def test_offline_encoder_shapes_pooled_token_and_mask(encoder):
    tokens, mask = encoder.encode(["a person walks forward", "", "jumps"])
    assert isinstance(encoder, TextEncoder) and encoder.trainable and encoder.dim == 32
    assert tokens.shape == (3, 5, 32) and tokens.dtype == torch.float32
    assert mask.dtype == torch.bool
    assert mask.tolist() == [[True] * 5, [True] + [False] * 4, [True, True, False, False, False]]
    assert torch.all(tokens[~mask] == 0)
    assert torch.isfinite(tokens).all()


def test_empty_batch_of_empty_prompts(encoder):
    tokens, mask = encoder.encode(["", ""])
    assert tokens.shape == (2, 1, 32) and mask.all()
    assert torch.allclose(tokens[0], tokens[1])


def test_encoding_does_not_depend_on_batch_padding(encoder):
    alone, _ = encoder.encode(["a person waves"])
    batched, mask = encoder.encode(["a person waves", "a person walks in a circle and then sits down"])
    n = alone.shape[1]
    assert torch.allclose(alone[0], batched[0, :n], atol=1e-5)
    assert not mask[0, n:].any()


def test_different_prompts_give_different_embeddings(encoder):
    tokens, _ = encoder.encode(["a person waves", "a person kicks"])
    assert not torch.allclose(tokens[0, 0], tokens[1, 0], atol=1e-4)


def test_long_prompt_is_truncated_and_flagged(encoder):
    tokens, mask = encoder.encode(["walk " * 40, "run"])
    assert tokens.shape[1] == SMALL["max_tokens"] + 1
    assert encoder.last_truncated == [True, False]


def test_offline_encoder_trains(encoder):
    encoder.train()
    tokens, mask = encoder.encode(["a person waves", "a person kicks", ""])
    loss = tokens[mask].pow(2).mean()
    loss.backward()
    assert encoder.embedding.weight.grad is not None and encoder.embedding.weight.grad.abs().sum() > 0
    assert encoder.pooled_token.grad.abs().sum() > 0
    assert all(p.grad is not None for p in encoder.transformer.parameters())


def test_config_round_trip_rebuilds_the_same_encoder(encoder):
    rebuilt = build_text_encoder(encoder.config()).eval()
    assert rebuilt.config() == encoder.config() == {**SMALL, "max_char_ngrams": 16}
    rebuilt.load_state_dict(encoder.state_dict())
    a, _ = encoder.encode(["a person waves"])
    b, _ = rebuilt.encode(["a person waves"])
    assert torch.equal(a, b)


def test_default_offline_encoder_matches_spec():
    enc = OfflineTextEncoder()
    assert enc.dim == 256 and len(enc.transformer.layers) == 2 and enc.tokenizer.max_tokens == 64


def test_build_rejects_unknown_type_and_bad_config():
    with pytest.raises(ValueError, match="unknown text encoder type"):
        build_text_encoder({"type": "bert"})
    with pytest.raises(TypeError):
        build_text_encoder(["offline"])
    with pytest.raises(ValueError, match="divisible"):
        build_text_encoder({"type": "offline", "dim": 30, "heads": 4})


# ---------------------------------------------------------------- OpenCLIP

def test_missing_weights_message_says_which_file_goes_where(tmp_path, monkeypatch):
    monkeypatch.delenv(oc.WEIGHTS_ENV, raising=False)
    monkeypatch.setenv(oc.WEIGHTS_DIR_ENV, str(tmp_path))
    with pytest.raises(oc.OpenCLIPUnavailable) as info:
        oc.resolve_weights_path("ViT-B-32")
    message = str(info.value)
    assert str(tmp_path / "ViT-B-32.safetensors") in message
    assert oc.WEIGHTS_ENV in message and "weights_path" in message
    assert "laion/CLIP-ViT-B-32" in message and "open_clip_model.safetensors" in message


def test_weights_path_resolution_order(tmp_path, monkeypatch):
    from_env, from_config = tmp_path / "env.safetensors", tmp_path / "cfg.safetensors"
    from_env.write_bytes(b"x")
    from_config.write_bytes(b"x")
    monkeypatch.setenv(oc.WEIGHTS_ENV, str(from_env))
    assert oc.resolve_weights_path("ViT-B-32") == from_env
    assert oc.resolve_weights_path("ViT-B-32", str(from_config)) == from_config


@pytest.mark.parametrize("name", ["laion2b_s34b_b79k", "hf-hub:laion/CLIP-ViT-B-32", "openai"])
def test_hub_names_are_refused(name):
    with pytest.raises(oc.OpenCLIPUnavailable, match="never downloads"):
        oc.resolve_weights_path("ViT-B-32", name)


def test_pickled_weights_are_refused(tmp_path):
    weights = tmp_path / "open_clip_pytorch_model.bin"
    weights.write_bytes(b"x")
    with pytest.raises(oc.OpenCLIPUnavailable, match="safetensors"):
        oc.resolve_weights_path("ViT-B-32", str(weights))


def test_openclip_without_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "open_clip", None)  # makes `import open_clip` raise ImportError
    with pytest.raises(oc.OpenCLIPUnavailable, match=r"pip install motion-core\[clip\]"):
        build_text_encoder({"type": "openclip", "model_name": "ViT-B-32"})


def test_openclip_random_init_shapes():
    pytest.importorskip("open_clip")
    enc = build_text_encoder({"type": "openclip", "model_name": "ViT-B-32", "random_init": True})
    tokens, mask = enc.encode(["a person waves", ""])
    assert tokens.shape == (2, 77, 512) and enc.dim == 512 and not enc.trainable
    assert mask[1].sum() == 2 and mask[0].sum() == mask[0][: int(mask[0].sum())].sum()
    assert not any(p.requires_grad for p in enc.parameters())


def test_openclip_loads_local_safetensors_and_matches_open_clip(tmp_path):
    """Our per-token features, pooled at EOT and projected, must equal open_clip's own encode_text."""
    open_clip = pytest.importorskip("open_clip")
    from safetensors.torch import save_file
    torch.manual_seed(0)
    reference = open_clip.create_model("ViT-B-32", pretrained=None).eval()
    save_file({k: v.contiguous().clone() for k, v in reference.state_dict().items()}, tmp_path / "w.safetensors")
    enc = build_text_encoder({"type": "openclip", "model_name": "ViT-B-32",
                              "weights_path": str(tmp_path / "w.safetensors")})
    prompts = ["a person waves", "jumps over a box twice"]
    tokens, mask = enc.encode(prompts)
    ids = open_clip.get_tokenizer("ViT-B-32")(prompts)
    eot = ids.argmax(-1)
    assert mask.sum(1).tolist() == (eot + 1).tolist()
    with torch.no_grad():
        expected = reference.encode_text(ids)
    assert torch.allclose(tokens[torch.arange(2), eot] @ reference.text_projection, expected, atol=1e-4)
    enc.train()
    assert not enc.training


def test_tokenizer_row_cache_is_bounded_and_changes_nothing(monkeypatch):
    import motion_core.text.hash_tokenizer as ht
    monkeypatch.setattr(ht, "_ROW_CACHE_SIZE", 4)
    tokenizer = ht.HashTokenizer(num_buckets=512, max_tokens=16, max_char_ngrams=4)
    prompts = ["alpha beta gamma delta", "epsilon zeta eta theta iota", "alpha beta"]
    batch = tokenizer(prompts)
    assert len(tokenizer._rows) <= 4
    for i, prompt in enumerate(prompts):
        words = ht.split_words(prompt)
        for k, (word, previous) in enumerate(zip(words, ["<s>"] + words[:-1])):
            expected = tokenizer.word_features(word, previous)
            assert batch.ids[i, k, : len(expected)].tolist() == expected
            assert not batch.ids[i, k, len(expected):].any()
        assert batch.mask[i].tolist() == [True] * len(words) + [False] * (batch.ids.shape[1] - len(words))

"""Text tuning (issue 21): training captions said another way from WordNet, and a text encoder taught to read
them as their captions, with the denoiser frozen.

The WordNet here is a tiny hand-written database in WordNet's file format (CI has none); the model is
`Engine.random`'s tiny one.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from train import text_tuning
from train.caption_variants import CaptionVariants, TaggedCaption, gerund, inflected_like, third_person
from train.wordnet import WordNet

# (file, offset, lexfile, lemmas, pointers [(symbol, offset, pos)], gloss)
SYNSETS = [
    ("verb", 100, 38, ["walk"], [("~", 110, "v")], "use one's feet to advance; \"walk, don't run\""),
    ("verb", 110, 38, ["stroll", "saunter"], [("@", 100, "v")], "walk leisurely"),
    ("verb", 200, 29, ["clap", "applaud"], [], "strike the palms together"),
    ("verb", 300, 31, ["jog"], [], "jog the memory: prompt a recollection"),   # verb.cognition: not bodily
    ("noun", 400, 3, ["person", "individual", "someone"], [], "a human being"),
    ("noun", 500, 8, ["hand", "mitt"], [], "the end of the arm"),
    ("adj", 600, 0, ["right", "correct"], [], "free from error"),
]
INDEX = {"walk": {"verb": [100]}, "stroll": {"verb": [110]}, "saunter": {"verb": [110]},
         "clap": {"verb": [200]}, "applaud": {"verb": [200]}, "jog": {"verb": [300]},
         "person": {"noun": [400]}, "individual": {"noun": [400]}, "hand": {"noun": [500]},
         "right": {"adj": [600]}, "correct": {"adj": [600]}}


def write_wordnet(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("noun", "verb", "adj", "adv"):
        lines = ["  1 a test WordNet"]
        for file, offset, lexfile, lemmas, pointers, gloss in SYNSETS:
            if file == name:
                words = " ".join(f"{w} 0" for w in lemmas)
                ptrs = " ".join(f"{sym} {off:08d} {pos} 0000" for sym, off, pos in pointers)
                lines.append(f"{offset:08d} {lexfile:02d} {name[0]} {len(lemmas):02x} {words} {len(pointers):03d} "
                             f"{ptrs} | {gloss}")
        (folder / f"data.{name}").write_text("\n".join(lines) + "\n")
        index = ["  1 header"] + [f"{lemma} {name[0]} {len(kinds[name])} 0 {len(kinds[name])} 0 "
                                  + " ".join(f"{o:08d}" for o in kinds[name])
                                  for lemma, kinds in sorted(INDEX.items()) if name in kinds]
        (folder / f"index.{name}").write_text("\n".join(index) + "\n")
    return folder


@pytest.fixture
def wordnet(tmp_path) -> WordNet:
    return WordNet.load(write_wordnet(tmp_path / "wordnet"))


def test_glosses_topics_and_narrower_words_are_read(wordnet):
    walk = wordnet.lemma_synsets("walk", "v")[0]
    assert walk.gloss == "use one's feet to advance"          # examples after ';' dropped
    assert walk.lexfile == 38
    assert [wordnet.synset(*h).lemmas for h in walk.hyponyms] == [["stroll", "saunter"]]


def test_a_tagged_caption_lines_up_words_and_tags():
    caption = TaggedCaption.parse("A person walks, then claps.#a/DET person/NOUN walk/VERB ,/PUNCT then/ADV "
                                  "clap/VERB ./PUNCT#0.0#0.0")
    assert caption.words == ["A", "person", "walks", "then", "claps"]
    assert caption.lemmas == ["a", "person", "walk", "then", "clap"]
    assert TaggedCaption.parse("a person walks#a/DET walk/VERB#0#0") is None     # tags do not line up
    assert TaggedCaption.parse("#x#0#0") is None


def test_alternatives_are_synonyms_narrower_words_and_definitions_on_bodily_topics(wordnet):
    variants = CaptionVariants(wordnet)
    assert variants.alternatives("walk", "v") == ["stroll", "use their feet to advance"]
    assert variants.alternatives("clap", "v") == ["applaud", "strike the palms together"]
    assert variants.alternatives("jog", "v") == []                 # its only sense is about memory
    assert variants.alternatives("person", "n") == ["individual", "someone"]   # nouns: synonyms only


def test_a_variant_keeps_directions_and_inflections(wordnet):
    caption = TaggedCaption.parse("a person walks to the right#a/DET person/NOUN walk/VERB to/ADP the/DET "
                                  "right/ADJ#0#0")
    seen = {CaptionVariants(wordnet, seed=s, swap_share=1.0).vary(caption) for s in range(20)}
    assert all(v.endswith("to the right") for v in seen)           # "right" is never "correct"
    assert "an individual strolls to the right".split()[1:] == next(
        v for v in seen if "strolls" in v and "individual" in v).split()[1:]
    assert any("uses their feet to advance" in v for v in seen)
    assert CaptionVariants(wordnet).vary(TaggedCaption.parse("the the#the/DET the/DET#0#0")) is None


@pytest.mark.parametrize("verb,s,ing", [("walk", "walks", "walking"), ("touch", "touches", "touching"),
                                        ("carry", "carries", "carrying"), ("move", "moves", "moving"),
                                        ("lie", "lies", "lying"), ("be", "is", "being")])
def test_verbs_inflect(verb, s, ing):
    assert third_person(verb) == s and gerund(verb) == ing


def test_a_replacement_takes_the_words_inflection():
    assert inflected_like("walking", "walk", "VERB", "use their feet") == "using their feet"
    assert inflected_like("walk", "walk", "VERB", "stroll") == "stroll"
    assert inflected_like("hands", "hand", "NOUN", "mitt") == "mitts"


def write_corpus(root: Path) -> Path:
    lines = {"c0": "a person walks#a/DET person/NOUN walk/VERB#0#0\nsomeone claps#someone/PRON clap/VERB#0#0",
             "c1": "a person claps the hands#a/DET person/NOUN clap/VERB the/DET hand/NOUN#0#0",
             "c2": "a person walks to the right#a/DET person/NOUN walk/VERB to/ADP the/DET right/ADJ#0#0"}
    for folder in ("texts", "texts_heldout"):
        (root / folder).mkdir(parents=True)
    for clip, text in lines.items():
        (root / "texts" / f"{clip}.txt").write_text(text + "\n")
        (root / "texts_heldout" / f"{clip}.txt").write_text("a person saunters#a/DET person/NOUN saunter/VERB#0#0\n")
    (root / "train.txt").write_text("c0\nc1\nc2\n")
    return root


def test_only_training_captions_of_the_training_split_are_used(tmp_path):
    root = write_corpus(tmp_path / "corpus")
    texts = {c.text for c in text_tuning.training_captions(root)}
    assert texts == {"a person walks", "someone claps", "a person claps the hands", "a person walks to the right"}
    (root / "train.txt").write_text("nothing\n")
    with pytest.raises(ValueError, match="no tagged training captions"):
        text_tuning.training_captions(root)


def test_tuning_brings_variants_closer_and_writes_a_loadable_model(tmp_path, wordnet):
    from motion_core.engine import Engine
    source = Engine.random(seed=0).save(tmp_path / "model")
    write_wordnet(tmp_path / "wn")
    args = ["--checkpoint", str(source), "--data", str(write_corpus(tmp_path / "corpus")),
            "--wordnet", str(tmp_path / "wn"), "--out", str(tmp_path / "tuned"), "--steps", "40", "--batch", "4",
            "--lr", "3e-3", "--curve", str(tmp_path / "curve.jsonl")]
    assert text_tuning.main(args) == 0
    tuned = Engine.load(tmp_path / "tuned", device="cpu")
    record = tuned.config["training"]["text_tuning"]
    assert record["steps"] == 40 and record["captions"] >= 1
    curve = [json.loads(line) for line in (tmp_path / "curve.jsonl").read_text().splitlines()]
    assert [row["step"] for row in curve] == [1, 40]                # the first step, every 100th, the last
    assert curve[-1]["variant"] < 0.5 * curve[0]["variant"]         # variants learned as their captions
    original = Engine.load(source, device="cpu").text_encoder.state_dict()
    changed = [k for k, v in tuned.text_encoder.state_dict().items() if not torch.equal(v, original[k])]
    assert changed and all(k.startswith(("transformer", "pooled", "position", "final", "token", "word", "project",
                                         "embed", "char", "ngram", "norm", "proj")) for k in changed)
    assert tuned.generate(["an individual strolls"], seconds=1.0, steps=1)[0].joints.shape[0] > 0
    # Tuned again: the record keeps the first tuning.
    assert text_tuning.main(["--checkpoint", str(tmp_path / "tuned"), "--data", str(tmp_path / "corpus"),
                             "--wordnet", str(tmp_path / "wn"), "--out", str(tmp_path / "again"), "--steps", "2",
                             "--batch", "4"]) == 0
    record = Engine.load(tmp_path / "again", device="cpu").config["training"]["text_tuning"]
    assert record["steps"] == 2 and set(record["after"]) == {"variant", "caption"}
    assert [r["steps"] for r in record["earlier"]] == [40] and "after_variant" in record["earlier"][0]
    # And a third time: the record stays within the checkpoint's depth bound, every round kept, oldest first.
    assert text_tuning.main(["--checkpoint", str(tmp_path / "again"), "--data", str(tmp_path / "corpus"),
                             "--wordnet", str(tmp_path / "wn"), "--out", str(tmp_path / "thrice"), "--steps", "3",
                             "--batch", "4"]) == 0
    record = Engine.load(tmp_path / "thrice", device="cpu").config["training"]["text_tuning"]
    assert record["steps"] == 3 and [r["steps"] for r in record["earlier"]] == [40, 2]


def test_a_record_that_cannot_take_another_tuning_fails_before_tuning(tmp_path, monkeypatch, capsys, wordnet):
    from motion_core.engine import Engine
    from motion_core.formats.checkpoint import load_checkpoint, save_checkpoint
    from motion_core.formats.checkpoint_limits import CheckpointError
    config, tensors = load_checkpoint(Engine.random(seed=0).save(tmp_path / "model"))
    for filled in range(4096, 0, -1):   # the largest record the config's bound on free-form data still takes
        config.setdefault("training", {})["notes"] = [0] * filled
        try:
            save_checkpoint(tmp_path / "full", tensors, config)
            break
        except CheckpointError:
            continue
    write_wordnet(tmp_path / "wn")
    monkeypatch.setattr(text_tuning, "tune", lambda *a, **k: pytest.fail("tuned before checking the record"))
    with pytest.raises(SystemExit):
        text_tuning.main(["--checkpoint", str(tmp_path / "full"), "--data", str(write_corpus(tmp_path / "corpus")),
                          "--wordnet", str(tmp_path / "wn"), "--out", str(tmp_path / "out"), "--steps", "2",
                          "--batch", "4"])
    assert "cannot take another tuning" in capsys.readouterr().err


def test_a_frozen_text_encoder_is_refused(tmp_path, monkeypatch, wordnet):
    from motion_core.engine import Engine
    source = Engine.random(seed=0).save(tmp_path / "model")
    write_wordnet(tmp_path / "wn")
    monkeypatch.setattr(type(Engine.load(source, device="cpu").text_encoder), "trainable", False)
    with pytest.raises(SystemExit):
        text_tuning.main(["--checkpoint", str(source), "--data", str(write_corpus(tmp_path / "corpus")),
                          "--wordnet", str(tmp_path / "wn"), "--out", str(tmp_path / "tuned")])


def test_every_attention_that_reads_text_is_matched(tmp_path):
    """A U-Net grown with `text_levels` reads the tokens at those levels too, and one with `text_scan_levels` in
    the summary its scans read: tuning matches those outputs as well, or a variant could read alike at the
    bottleneck and differently everywhere else."""
    from motion_core.engine import Engine
    from motion_core.generation.loading import tiny_config
    config = tiny_config()
    config["architecture"]["denoiser"]["text_levels"] = [0, 1]
    config["architecture"]["denoiser"]["text_scan_levels"] = [1]
    engine = Engine.random(config, seed=0)
    readers = text_tuning.text_readers(engine.denoiser)
    # the bottleneck, then encoder + decoder levels, then the summary the scans of `text_scan_levels` read
    assert len(readers) == len(engine.denoiser.mid) + 2 * 2 + 1
    assert readers[-1][0] is engine.denoiser.summary.attn
    banks = text_tuning.query_bank(engine, ["a person walks", "someone claps"], max_queries=64)
    assert len(banks) == len(readers) and all(len(b) > 0 for b in banks)
    cond = text_tuning.Conditioning(engine, banks)
    tokens, mask = engine.text_encoder.encode(["a person walks"])
    out = cond(tokens, mask, cond.draw_queries(1, torch.Generator().manual_seed(0)))
    assert {f"cross{m}" for m in range(len(readers))} <= set(out)


def test_written_phrasings_are_taught_beside_the_variants_and_checked_apart(tmp_path, wordnet):
    from motion_core.engine import Engine
    source = Engine.random(seed=0).save(tmp_path / "model")
    write_wordnet(tmp_path / "wn")
    bank = tmp_path / "bank.json"
    bank.write_text(json.dumps({"clap": ["brings the palms together loudly", "smacks the hands together",
                                         "claps along to a beat"],
                                "kick": ["snaps the {side} foot out", "boots forward with the {side} leg",
                                         "kicks out hard with the {side} foot"]}))
    common = ["--checkpoint", str(source), "--data", str(write_corpus(tmp_path / "corpus")), "--wordnet",
              str(tmp_path / "wn"), "--steps", "30", "--batch", "8", "--lr", "3e-3"]
    assert text_tuning.main(common + ["--out", str(tmp_path / "tuned"), "--phrasings", str(bank)]) == 0
    record = Engine.load(tmp_path / "tuned", device="cpu").config["training"]["text_tuning"]
    assert record["phrasing_share"] == 0.5 and set(record["after"]) == {"variant", "caption", "phrasing"}
    assert record["after"]["phrasing"] < record["before"]["phrasing"]     # phrasings never trained on, learned
    bank.write_text(json.dumps({"kick": ["kicks high"]}))
    with pytest.raises(SystemExit):
        text_tuning.main(common + ["--out", str(tmp_path / "bad"), "--phrasings", str(bank)])


def test_an_unknown_device_is_refused_before_tuning(tmp_path, monkeypatch, capsys, wordnet):
    from motion_core.engine import Engine
    source = Engine.random(seed=0).save(tmp_path / "model")
    write_wordnet(tmp_path / "wn")
    monkeypatch.setattr(text_tuning, "tune", lambda *a, **k: pytest.fail("tuned on an unknown device"))
    with pytest.raises(SystemExit):
        text_tuning.main(["--checkpoint", str(source), "--data", str(write_corpus(tmp_path / "corpus")),
                          "--wordnet", str(tmp_path / "wn"), "--out", str(tmp_path / "tuned"), "--device", "gpu9"])
    assert "--device" in capsys.readouterr().err


def test_a_grafted_sentence_gist_is_tuned_at_its_own_rate(tmp_path, wordnet):
    from motion_core.engine import Engine
    from tests.test_sentence_gist import wordvec_model, write_sentence_vectors
    from train.sentence_gist import graft
    plain = wordvec_model(tmp_path)
    grafted = graft(plain, write_sentence_vectors(tmp_path / "sv"), tmp_path / "grafted", log=lambda *_: None)
    write_wordnet(tmp_path / "wn")
    common = ["--data", str(write_corpus(tmp_path / "corpus")), "--wordnet", str(tmp_path / "wn"),
              "--steps", "4", "--batch", "8", "--gist-lr", "1e-2"]
    assert text_tuning.main(["--checkpoint", str(grafted), "--out", str(tmp_path / "tuned")] + common) == 0
    tuned = Engine.load(tmp_path / "tuned", device="cpu")
    assert tuned.config["training"]["text_tuning"]["gist_lr"] == 1e-2
    assert tuned.text_encoder.gist.project.weight.abs().max() > 0      # the zero projection moved
    with pytest.raises(SystemExit):                                   # a model without a gist: nothing to rate
        text_tuning.main(["--checkpoint", str(plain), "--out", str(tmp_path / "x")] + common)

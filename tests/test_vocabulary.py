"""Vocabulary warnings (issue 21): prompt words the model never learned are named, with the nearest actions."""
import json
from pathlib import Path

import pytest
import torch

from motion_core.formats.checkpoint import CheckpointError, validate_config
from motion_core.text.vocabulary import (VocabularyCheck, check_for, content_words, forms, vocabulary_from_captions)

FIXTURE = Path(__file__).parent / "data" / "word_vectors_tiny.safetensors"

PAIRS = [("a person jumps in place", ["jump_in_place"]), ("someone hops in place twice", ["jump_in_place"]),
         ("a man walks forward", ["walk"]), ("the woman strolls forward slowly", ["walk"]),
         ("someone runs fast", ["run"]), ("a person spins around", ["spin"]),
         ("someone walks forward, then jumps", ["walk", "jump_in_place"])]


def test_content_words_skip_stop_words_numbers_and_repeats():
    assert content_words("Someone jumps, then jumps 3 times!") == ["jumps"]
    assert content_words("a person does a cartwheel") == ["cartwheel"]


@pytest.mark.parametrize("word, base", [("hops", "hop"), ("hopping", "hop"), ("danced", "dance"),
                                        ("carries", "carry"), ("walks", "walk"), ("quickly", "quick")])
def test_forms_include_the_base(word, base):
    assert base in forms(word)


def test_vocabulary_comes_from_the_captions():
    vocab = vocabulary_from_captions(PAIRS)
    assert {"jumps", "hops", "strolls", "then"} <= set(vocab["words"])
    assert set(vocab["actions"]) == {"jump_in_place", "walk", "run", "spin"}
    assert "strolls" in vocab["actions"]["walk"] and "hops" in vocab["actions"]["jump_in_place"]
    # a multi-action caption describes no single action
    assert "then" not in vocab["actions"]["walk"]


def test_exact_check_names_unknown_words_and_stays_quiet_on_known_ones():
    check = VocabularyCheck(vocabulary_from_captions(PAIRS), model_name="the bundled model")
    assert check.warning("a woman is hopping in place") is None       # inflection of a training word
    assert check.warning("Someone WALKS forward.") is None
    message = check.warning("someone does a cartwheel")
    assert message.startswith("the bundled model has not learned 'cartwheel'")
    assert check.unknown_words("a man climbs a ladder") == ["climbs", "ladder"]


def test_nearest_actions_follow_the_vectors():
    from motion_core.text.word_vectors import WordVectors
    vectors = WordVectors.load(FIXTURE)
    vocab = vocabulary_from_captions([(c, a) for c, a in PAIRS if "hops" not in c])
    check = VocabularyCheck(vocab, vectors.vectors, vectors=True, threshold=0.9)
    # "leap" is no training word: reported, and its nearest action is the jump (cos 0.46), not the walk
    assert check.unknown_words("someone leaps") == ["leaps"]
    assert check.nearest_actions(["leap"], k=1) == ["jump in place"]
    # with a lower threshold a close synonym counts as known
    assert VocabularyCheck(vocab, vectors.vectors, vectors=True, threshold=0.3).warning("someone leaps") is None


def test_vectors_vouch_only_for_dictionary_words_and_their_compounds():
    """A made-up word's vector is the mean of its pieces' (its spelling, not a meaning): even at a threshold every
    vector passes, a word outside the dictionary is reported unless the model trained on it; two dictionary words
    run together are judged by their vectors; a capitalised word outside it is a name and not reported."""
    from motion_core.text.word_vectors import WordVectors
    vectors = WordVectors.load(FIXTURE)
    english = frozenset({"leap", "kick", "boxer", "someone"})
    check = VocabularyCheck(vocabulary_from_captions(PAIRS), vectors.vectors, vectors=True, threshold=-1.0,
                            dictionary=english, incidental=frozenset())
    assert check.unknown_words("someone leaps") == []            # English: its vectors are close enough
    assert check.unknown_words("someone florps") == ["florps"]   # made up: reported whatever its vectors say
    assert check.unknown_words("a kickboxer hops") == []         # kick + boxer
    assert check.unknown_words("a kickbo hops") == ["kickbo"]    # "bo" is no part of three letters or more
    assert check.unknown_words("Liam hops") == [] and check.unknown_words("liam hops") == ["liam"]
    assert check.unknown_words("someone jumps, then Florps") == []   # capitalised: read as a name
    assert check.unknown_words("Zoë hops") == [] and check.unknown_words("McKenzie hops") == []
    assert check.unknown_words("Someone Florps") == ["florps"]    # title case says nothing about names
    # no dictionary (the file missing): every word's vectors count, as before the list existed
    assert VocabularyCheck(vocabulary_from_captions(PAIRS), vectors.vectors, vectors=True, threshold=-1.0,
                           dictionary=frozenset()).unknown_words("someone florps") == []


def test_a_misspelt_word_is_offered_the_training_word_it_looks_like():
    check = VocabularyCheck(vocabulary_from_captions(PAIRS), model_name="the model")
    assert check.warning("someone wlaks forward").startswith("the model has not learned 'wlaks' (did you mean "
                                                              "'walks'?)")
    assert "did you mean" not in check.warning("someone florps")          # made up, like no training word
    assert "did you mean" not in check.warning("someone does a cartwheel")   # a real word, only not learned


@pytest.mark.parametrize("a, b, apart", [
    ("wlaks", "walks", True), ("walsk", "walks", True), ("walk", "walks", True), ("wakls", "walks", True),
    ("waxks", "walks", True), ("criss", "rises", False), ("walks", "walks", False), ("wlkas", "walks", False),
    ("jumps", "walks", False)])
def test_one_typo_apart(a, b, apart):
    from motion_core.text.vocabulary import one_typo_apart
    assert one_typo_apart(a, b) is apart and one_typo_apart(b, a) is apart


def test_the_bundled_dictionary_holds_english_words_and_their_irregular_forms():
    from motion_core.text.vocabulary import dictionary_words
    words = dictionary_words()
    assert {"cartwheel", "stride", "strode", "ran", "leap", "somersault"} <= words and len(words) > 50_000
    assert not {"xyzzy", "florp", "emma", "rosmarus"} & words   # made up; only inside collocations


def test_check_for_uses_the_model_encoder(tmp_path):
    from motion_core.engine import Engine
    engine = Engine.random(seed=0)
    assert check_for(engine.config, engine.text_encoder) is None    # no vocabulary recorded: no check
    config = {**engine.config, "vocabulary": vocabulary_from_captions(PAIRS)}
    check = check_for(config, engine.text_encoder)
    assert check is not None and not check.vectors
    assert len(check.nearest_actions(["cartwheel"])) == 2


def test_config_validation_accepts_vocabulary_and_rejects_junk():
    from motion_core.engine import tiny_config
    config = {**tiny_config(), "vocabulary": vocabulary_from_captions(PAIRS)}
    validate_config(config)
    with pytest.raises(CheckpointError, match="vocabulary"):
        validate_config({**tiny_config(), "vocabulary": {"words": ["x" * 100]}})
    with pytest.raises(CheckpointError, match="vocabulary"):
        validate_config({**tiny_config(), "vocabulary": {"other": []}})


@pytest.fixture
def model_with_vocabulary(tmp_path):
    from motion_core.engine import Engine
    engine = Engine.random(seed=0)
    engine.config = {**engine.config, "vocabulary": vocabulary_from_captions(PAIRS)}
    return engine.save(tmp_path / "model")


def test_engine_records_the_warning_in_meta(model_with_vocabulary):
    from motion_core.engine import Engine
    engine = Engine.load(model_with_vocabulary, device="cpu")
    known, unknown = engine.generate(["someone jumps in place", "someone does a cartwheel"], seconds=1.0, steps=1)
    assert "warnings" not in known.meta
    assert "has not learned 'cartwheel'; nearest:" in unknown.meta["warnings"]
    assert engine.known_actions() == ["jump_in_place", "run", "spin", "walk"]
    assert engine.describe()["actions"].startswith("4: jump in place")
    longer = engine.extend(known, "then swims", seconds=1.0, steps=1)
    assert "'swims'" in longer.meta["warnings"]


def test_cli_prints_the_warning_and_lists_actions(model_with_vocabulary, tmp_path, capsys):
    from motion_core.interfaces.cli import main
    code = main(["generate", "someone does a cartwheel", "--seconds", "1", "--steps", "1", "--checkpoint",
                 str(model_with_vocabulary), "--device", "cpu", "--quiet", "--out", str(tmp_path / "out")])
    assert code == 0
    assert "has not learned 'cartwheel'" in capsys.readouterr().err
    assert main(["vocabulary", "--checkpoint", str(model_with_vocabulary), "--device", "cpu",
                 "someone hops", "a person juggles"]) == 0
    out = capsys.readouterr().out
    assert "4 actions: jump in place, run, spin, walk" in out
    assert "'someone hops': ok" in out and "has not learned 'juggles'" in out


def test_train_vocabulary_reads_a_corpus(tmp_path):
    from train.vocabulary import corpus_vocabulary, record
    root = tmp_path / "corpus"
    (root / "texts").mkdir(parents=True)
    (root / "texts" / "p000000.txt").write_text("a person hops#a/DET person/NOUN hop/VERB#0#0\n")
    (root / "texts" / "p000001.txt").write_text("someone walks forward, then sits#x#0#0\n")
    (root / "train.txt").write_text("p000000\np000001\n")
    (root / "meta.json").write_text(json.dumps({"clips": {"p000000": {"actions": ["jump_in_place"]},
                                                          "p000001": {"actions": ["walk", "sit_down"]}}}))
    vocab = corpus_vocabulary(root, min_clips=1)
    assert set(vocab["actions"]) == {"jump_in_place", "walk", "sit_down"}
    assert "hops" in vocab["actions"]["jump_in_place"] and "sits" in vocab["words"]
    assert corpus_vocabulary(root)["words"] == []      # by default a word must appear in 3 clips to count
    from motion_core.engine import Engine
    model = Engine.random(seed=0).save(tmp_path / "model")
    record(model, vocab)
    assert Engine.load(model, device="cpu").known_actions() == ["jump_in_place", "sit_down", "walk"]


def test_words_seen_in_too_few_clips_do_not_count_as_learned():
    """A typo or a rare word of one mocap description is not learned: it must not silence the warning."""
    pairs = [("a person walks", ["walk"], i) for i in range(5)] + [("a person walks, cartwheel-like", ["walk"], 9)]
    pairs += [("a person walks", ["walk"], "cmu_01_rep1"), ("a person wlaks", ["walk"], 3)]
    vocab = vocabulary_from_captions(pairs, min_clips=3)
    assert "walks" in vocab["words"] and "cartwheel" not in vocab["words"] and "wlaks" not in vocab["words"]
    assert "cartwheel" in vocabulary_from_captions(pairs)["words"]       # min_clips=1: every caption word
    check = VocabularyCheck(vocab, model_name="the model")
    assert "has not learned 'cartwheel'" in check.warning("someone does a cartwheel")


def test_a_checkpoint_records_its_own_threshold():
    from motion_core.text.vocabulary import check_for

    class Vectors:
        def vectors(self, words):
            return torch.nn.functional.normalize(torch.ones(len(words), 4), dim=-1)

    class Encoder(torch.nn.Module):
        def word_vectors(self):
            return Vectors()
    vocab = {**vocabulary_from_captions(PAIRS), "threshold": 0.6}
    assert check_for({"vocabulary": vocab}, Encoder()).threshold == 0.6
    assert check_for({"vocabulary": vocab}, Encoder(), threshold=0.3).threshold == 0.3
    del vocab["threshold"]
    from motion_core.text.vocabulary import DEFAULT_THRESHOLD
    assert check_for({"vocabulary": vocab}, Encoder()).threshold == DEFAULT_THRESHOLD


class _Table:
    """Word vectors by a fixed table (unit rows), for two made-up views."""
    def __init__(self, rows: dict[str, list[float]]):
        self.rows = {w: torch.nn.functional.normalize(torch.tensor(v, dtype=torch.float32), dim=0)
                     for w, v in rows.items()}

    def vectors(self, words):
        return torch.stack([self.rows.get(w, torch.zeros(4)) for w in words])   # other forms: near nothing


def test_with_a_second_view_both_must_put_the_word_near_the_same_known_word():
    """"swims" sits near "swings" in the first view only (shared pieces): unknown; "strolls" near "walks" in
    both: known; "dashes" near "runs" in one view and "walks" in the other: no one word both agree on."""
    vocab = {"words": ["swings", "walks", "runs"], "actions": {"walk": ["walks"], "run": ["runs"]}}
    words = _Table({"swings": [1, 0, 0, 0], "walks": [0, 1, 0, 0], "runs": [0, 0, 1, 0],
                    "swims": [1, 0, 0, 0.1], "strolls": [0, 1, 0, 0.2], "dashes": [0, 0, 1, 0.1]})
    gist = _Table({"swings": [1, 0, 0, 0], "walks": [0, 1, 0, 0], "runs": [0, 0, 1, 0],
                   "swims": [0, 0, 0, 1], "strolls": [0, 1, 0, 0.3], "dashes": [0, 1, 0, 0.1]})
    alone = VocabularyCheck(vocab, words.vectors, vectors=True, threshold=0.5)
    both = VocabularyCheck(vocab, words.vectors, vectors=True, threshold=0.5, also=[gist.vectors])
    assert alone.unknown_words("someone swims, strolls and dashes") == []
    assert both.unknown_words("someone swims, strolls and dashes") == ["swims", "dashes"]
    assert both.closeness("walks") == 1.0 and both.closeness("swims") < 0.5 < both.closeness("strolls")


def test_check_for_adds_the_gist_view_where_the_checkpoint_records_its_threshold():
    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gist = type("Gist", (), {"word_vectors": lambda self: _Table({})})()

        def word_vectors(self):
            return _Table({})
    vocab = {**vocabulary_from_captions(PAIRS), "threshold": 0.45}
    single = check_for({"vocabulary": vocab}, Encoder())
    assert (single.threshold, len(single.views)) == (0.45, 1)
    paired = check_for({"vocabulary": {**vocab, "threshold_with_gist": 0.3}}, Encoder())
    assert (paired.threshold, len(paired.views)) == (0.3, 2)
    from motion_core.engine import tiny_config
    validate_config({**tiny_config(), "vocabulary": {**vocab, "threshold_with_gist": 0.3}})


def test_things_are_the_nouns_a_known_motion_is_done_with_or_at():
    check = VocabularyCheck(vocabulary_from_captions(PAIRS))
    things = lambda prompt: check.motion_and_things(prompt)[1]  # noqa: E731
    assert check.motion_and_things("an old man walks forward to a park bench") == (["walks", "forward"],
                                                                                   {"park", "bench"})
    assert things("someone does a cartwheel") == set()        # a light verb: the noun is the action
    assert things("a man plays the guitar") == set()
    assert things("a goalkeeper dives at the ball") == set()  # no known motion word before the phrase
    assert things("someone spins and grabs the rail") == {"rail"}

    class Readings:   # the engine's word readings: a word read as a trained one is a motion word too
        def reading(self, word):
            return {"hauls": "pulls"}.get(word)
    check.readings = Readings()
    assert check.motion_and_things("someone hauls a crate") == (["pulls"], {"crate"})


def test_a_warning_about_things_only_hints_at_the_motion_it_will_make():
    """'bench' has no nearest action ("nearest: kick" for a bench is noise): the hint comes from the known motion
    words, what the model will make. An unknown motion word keeps its own hint."""
    from motion_core.text.word_vectors import WordVectors
    vectors = WordVectors.load(FIXTURE)
    check = VocabularyCheck(vocabulary_from_captions(PAIRS), vectors.vectors, model_name="the model")
    message = check.warning("a man walks forward to a bench")
    assert message.startswith("the model has not learned 'bench'; nearest: ")
    assert message.split("nearest: ")[1].split(", ") == check.nearest_actions(["walks", "forward"])
    assert "walk" in message.split("nearest: ")[1]
    mixed = check.warning("a man walks forward and climbs a ladder")
    assert mixed.startswith("the model has not learned 'climbs', 'ladder'; nearest: ")
    assert check.nearest_actions(["climbs"]) == mixed.split("nearest: ")[1].split(", ")

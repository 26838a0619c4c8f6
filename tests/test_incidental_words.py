"""Incidental words: who moves, with what or how, never what motion; the vocabulary warning does not report them."""
from __future__ import annotations

from test_word_readings import write_wordnet
from train.incidental_words import incidental_words, write
from train.wordnet import WordNet

from motion_core.text.vocabulary import VocabularyCheck
from motion_core.text.vocabulary import incidental_words as bundled_incidental

# (pos file, offset, ss_type, lemmas, pointers); the topic (lexfile) of each offset below
SYNSETS = [
    ("noun", 100, "n", ["athlete", "jock"], []),        # noun.person
    ("noun", 110, "n", ["kid", "child"], []),           # noun.person, and a verb: to tease
    ("verb", 120, "v", ["kid", "tease"], []),           # verb.communication
    ("noun", 130, "n", ["chin"], []),                   # noun.body, and a verb: to do chin-ups
    ("verb", 140, "v", ["chin"], []),                   # verb.body
    ("adv", 150, "r", ["casually"], []),
    ("adj", 160, "a", ["impatient"], []),
    ("verb", 170, "v", ["swim"], []),                   # verb.motion
    ("noun", 180, "n", ["cartwheel"], []),              # noun.act
    ("noun", 190, "n", ["shelf"], []),                  # noun.artifact: may say what the motion is about
    ("noun", 200, "n", ["audience"], []),               # noun.group
]
TOPICS = {100: 18, 110: 18, 120: 32, 130: 8, 140: 29, 150: 2, 160: 0, 170: 38, 180: 4, 190: 6, 200: 14}
INDEX = {"athlete": {"noun": [100]}, "jock": {"noun": [100]}, "kid": {"noun": [110], "verb": [120]},
         "child": {"noun": [110]}, "tease": {"verb": [120]}, "chin": {"noun": [130], "verb": [140]},
         "casually": {"adv": [150]}, "impatient": {"adj": [160]}, "swim": {"verb": [170]},
         "cartwheel": {"noun": [180]}, "shelf": {"noun": [190]}, "audience": {"noun": [200]}}


def test_people_groups_body_parts_and_manners_are_incidental_motions_are_not(tmp_path):
    words = incidental_words(WordNet.load(write_wordnet(tmp_path, SYNSETS, INDEX, TOPICS)))
    assert {"athlete", "jock", "kid", "child", "casually", "impatient", "audience"} <= set(words)
    # a verb of the body makes "chin" a possible motion (chin-ups); verbs, acts and things are never skipped
    assert not {"chin", "swim", "cartwheel", "shelf", "tease"} & set(words)
    write(words, tmp_path / "incidental.txt")
    lines = (tmp_path / "incidental.txt").read_text().splitlines()
    assert any("WordNet" in line for line in lines if line.startswith("#"))
    assert [w for w in lines if not w.startswith("#")] == words


def test_the_warning_skips_incidental_words_but_not_unknown_motions():
    vocabulary = {"words": ["walks", "shakes", "head", "forward"], "actions": {"walk": ["walks"]}}
    check = VocabularyCheck(vocabulary, incidental=frozenset({"kid", "casually"}))
    assert check.warning("a kid walks forward casually") is None
    assert check.unknown_words("the kids walk forward") == []           # inflections of an incidental word too
    assert check.unknown_words("a kid swims forward") == ["swims"]
    assert VocabularyCheck(vocabulary, incidental=frozenset()).unknown_words("a kid walks") == ["kid"]


def test_the_bundled_list_skips_the_who_and_how_and_keeps_the_what():
    words = bundled_incidental()
    assert {"athlete", "kid", "butler", "audience", "casually", "wildly", "brow"} <= words
    assert not {"swim", "cartwheel", "somersault", "juggle", "climb", "skate", "yoga", "guitar"} & words
    check = VocabularyCheck({"words": ["walks", "forward", "waves"], "actions": {"walk": ["walks"]}})
    assert check.warning("an athlete walks forward casually") is None
    assert "'cartwheel'" in check.warning("an athlete does a cartwheel")


def test_the_bundled_model_warns_about_the_cartwheel_not_about_the_athlete():
    from motion_core.engine import Engine
    check = Engine.load(device="cpu").vocabulary
    assert check.warning("an athlete sprints forward") is None
    assert check.warning("a kid waves both arms wildly over his head") is None
    assert "'cartwheel'" in check.warning("an athlete does a cartwheel")
    # (juggling itself passes since the gist's view joined: "juggles" ~ "stumbles" 0.33 in both views;
    # benchmarks/results/vocabulary_gist_20261207/)
    assert "'swims'" in check.warning("a kid swims across the pool")

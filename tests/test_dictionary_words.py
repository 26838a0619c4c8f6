"""The English word list the vocabulary warning trusts word vectors for (train/dictionary_words.py)."""
from __future__ import annotations

import gzip

from test_incidental_words import INDEX, SYNSETS, TOPICS
from test_word_readings import write_wordnet
from train.dictionary_words import dictionary_words, write
from train.wordnet import WordNet


def test_the_list_holds_single_word_lemmas_and_irregular_forms_not_collocation_parts(tmp_path):
    index = {**INDEX, "emma_goldman": {"noun": [100]}, "hula_hoop": {"noun": [190]}, "a": {"noun": [190]},
             "sit-up": {"noun": [180]}}
    folder = write_wordnet(tmp_path, SYNSETS, index, TOPICS)
    (folder / "verb.exc").write_text("swam swim\n")
    words = dictionary_words(WordNet.load(folder))
    assert {"athlete", "cartwheel", "swim", "swam", "situp"} <= set(words)   # "sit-up" as people type it
    assert not {"emma", "goldman", "hula", "hoop", "a"} & set(words)   # parts of collocations; one letter
    assert words == sorted(words)
    write(words, tmp_path / "words.txt.gz")
    first = (tmp_path / "words.txt.gz").read_bytes()
    lines = gzip.decompress(first).decode().splitlines()
    assert any("WordNet" in line for line in lines if line.startswith("#"))
    assert [w for w in lines if not w.startswith("#")] == words
    write(words, tmp_path / "words.txt.gz")   # the same words, the same bytes: a rerun leaves git nothing to commit
    assert (tmp_path / "words.txt.gz").read_bytes() == first

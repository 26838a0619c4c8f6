"""Reading a prompt in the words the model learned: "a woman leaps forward" is encoded as "a woman jumps forward".

A checkpoint may record word readings (``config["vocabulary"]["readings"]`` for words typed bare,
``["verb_readings"]`` for words typed inflected, built from WordNet by `train.word_readings`): for English
words its training captions never used, the trained word that means (nearly) the same ("leap" -> "jump",
"stroll" -> "walk", "hurl" -> "throw"). The text encoder's word vectors place an unseen word by its spelling
pieces as much as by its meaning ("sips" lands nearest "skips"), so the engine swaps such a word for its reading
before encoding the prompt, and records each swap in the take's ``meta["read_as"]`` so the animator sees how
the prompt was understood. Words the model learned are never touched; words with no reading are left for the
"not learned" warning (`motion_core.text.vocabulary`).

The swap keeps the word's inflection where the captions have it: "leaps" -> "jumps", "leaping" -> "jumping".
Right after a determiner ("the", "a", "their") a word names or describes a thing, so a reading applies there only
if it lands on a trained word that is mostly a noun, adjective or adverb (``["nominal_targets"]``): "a loop" is
read as "a circle", but "springs to the rear" not as "springs to the straighten", nor "on a slant" as "on a lie".
WordNet's notice: motion_core/text/WORDNET_LICENSE.txt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from motion_core.text.hash_tokenizer import normalize_text
from motion_core.text.vocabulary import STOP_WORDS, forms

WORDNET_NOTICE = ("Word readings derived from WordNet 3.0, Copyright 2006 by Princeton University, under the "
                  "WordNet 3.0 license (full text: motion_core/text/WORDNET_LICENSE.txt).")
_WORD = re.compile(r"[A-Za-z]+")
SUFFIXES = ("ing", "ies", "es", "ed", "s")   # longest first: which inflection a word carries
DETERMINERS = frozenset({"a", "an", "the", "this", "that", "these", "those", "his", "her", "their", "its", "my",
                         "your", "our", "each", "every", "another"})


@dataclass
class Reading:
    text: str                                              # what the text encoder reads
    read_as: dict[str, str] = field(default_factory=dict)  # {word as typed (lower case): trained word}


class WordReadings:
    """Swaps a prompt's unseen words for trained ones (see the module docstring)."""

    def __init__(self, readings: dict[str, str], words: list[str], verb_readings: dict[str, str] | None = None,
                 nominal_targets: list[str] | None = None):
        self.readings = {str(k): str(v) for k, v in readings.items()}              # the word typed bare
        self.verb_readings = {str(k): str(v) for k, v in (verb_readings or {}).items()}  # typed inflected
        # what a word right after a determiner may be read as (older checkpoints lack the list: nothing)
        self.nominal_targets = frozenset(str(w) for w in (nominal_targets or ()))
        self.words = sorted({w for w in words if isinstance(w, str)})
        self.known_forms = {f for w in self.words for f in forms(w)}
        self._inflections: dict[str, list[str]] = {}   # trained lemma -> trained words that inflect it
        for word in self.words:
            for base in forms(word):
                self._inflections.setdefault(base, []).append(word)

    def __bool__(self) -> bool:
        return bool(self.readings or self.verb_readings)

    def reading(self, word: str, after_determiner: bool = False) -> str | None:
        """The trained word `word` is read as ("leaps" -> "jumps"), or None (a trained word, or no reading);
        `after_determiner`: the word follows "the", "a", ..., where it is no verb ("the rear")."""
        word = normalize_text(word)
        if word in STOP_WORDS or forms(word) & self.known_forms:
            return None
        # the word itself ("rapidly", "strode"), then its base forms, longest first: a word typed inflected
        # ("leaps") is a verb, and so read ("bounds" is read as a verb, "bound" bare is not read at all)
        target = self.readings.get(word)
        if target is not None:
            return target if self._fits(target, after_determiner) else None
        for base in sorted(forms(word) - {word}, key=len, reverse=True):
            target = self.verb_readings.get(base)
            if target is not None:
                return self._inflected(target, _suffix(word)) if self._fits(target, after_determiner) else None
        return None

    def _fits(self, target: str, after_determiner: bool) -> bool:
        return not after_determiner or target in self.nominal_targets

    def read(self, prompt: str) -> Reading:
        read_as: dict[str, str] = {}
        previous = ""   # the word before, as typed (lower case)

        def swap(match: re.Match) -> str:
            nonlocal previous
            word = match.group(0)
            target = self.reading(word, after_determiner=previous in DETERMINERS)
            previous = word.lower()
            if target is None:
                return word
            read_as[word.lower()] = target
            return target
        return Reading(_WORD.sub(swap, prompt), read_as)

    def _inflected(self, lemma: str, suffix: str) -> str:
        """A trained word for `lemma` carrying `suffix` ("jump", "s" -> "jumps"); the lemma's plainest trained
        form where the captions lack that inflection."""
        candidates = self._inflections.get(lemma, [])
        for word in candidates:
            if word != lemma and _suffix(word) == suffix:
                return word
        if lemma in candidates or not candidates:
            return lemma
        return min(candidates, key=lambda w: (len(w), w))


def _suffix(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return "s" if suffix in ("ies", "es") else suffix
    return ""


def readings_for(config: dict) -> WordReadings | None:
    """The readings a checkpoint records, or None (older checkpoints, models trained without them)."""
    vocabulary = config.get("vocabulary") or {}
    bare, verbs = vocabulary.get("readings"), vocabulary.get("verb_readings")
    if not bare and not verbs:
        return None
    return WordReadings(bare or {}, vocabulary.get("words", []), verbs or {}, vocabulary.get("nominal_targets"))


__all__ = ["WordReadings", "Reading", "readings_for", "WORDNET_NOTICE"]

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
Nor is a noun read there as a word that names another kind of thing (``["thing_nouns"]``): "a puddle" is
no "walk" (the verb "puddle" is to wade), "a backpack" no "walk", "the judge" no "end". A plural right after a
preposition is such a noun too: "weaves through cones" is no "through cutting", "with shins" no "with climbs",
while "of treads" is still "of steps" and "in loops" "in circles".
Plural body parts and measures ("eyes", "heels", "seconds", "degrees": `motion_core.text.counts`) are nouns, never
read as verbs: "for three seconds" was read "for three backs" (the verb "second"), "her eyes" "her looks".
WordNet's notice: motion_core/text/WORDNET_LICENSE.txt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from motion_core.text.counts import NOT_REPEATS as BODY_PARTS_AND_MEASURES
from motion_core.text.hash_tokenizer import normalize_text
from motion_core.text.vocabulary import DETERMINERS, STOP_WORDS, forms

WORDNET_NOTICE = ("Word readings derived from WordNet 3.0, Copyright 2006 by Princeton University, under the "
                  "WordNet 3.0 license (full text: motion_core/text/WORDNET_LICENSE.txt).")
_WORD = re.compile(r"[A-Za-z]+")
# after these a plural is a noun ("over puddles", "between cones"); "to" is left out: "to leap" is a verb
PREPOSITIONS = frozenset("""about above across against along among around at behind below beneath beside between by
for from in into near of off on onto over past through toward towards under upon with within without""".split())
SUFFIXES = ("ing", "ies", "es", "ed", "s")   # longest first: which inflection a word carries


@dataclass
class Reading:
    text: str                                              # what the text encoder reads
    read_as: dict[str, str] = field(default_factory=dict)  # {word as typed (lower case): trained word}


class WordReadings:
    """Swaps a prompt's unseen words for trained ones (see the module docstring)."""

    def __init__(self, readings: dict[str, str], words: list[str], verb_readings: dict[str, str] | None = None,
                 nominal_targets: list[str] | None = None, phrase_readings: dict[str, str] | None = None,
                 thing_nouns: list[str] | None = None):
        self.readings = {str(k): str(v) for k, v in readings.items()}              # the word typed bare
        # phrases ("military greeting", "double over"), as word tuples; their first word may be typed inflected
        self.phrases = {tuple(str(k).split()): str(v) for k, v in (phrase_readings or {}).items()}
        self.longest_phrase = max((len(k) for k in self.phrases), default=0)
        self.verb_readings = {str(k): str(v) for k, v in (verb_readings or {}).items()}  # typed inflected
        # what a word right after a determiner may be read as (older checkpoints lack the list: nothing)
        self.nominal_targets = frozenset(str(w) for w in (nominal_targets or ()))
        # words left unread where they stand as nouns (after a determiner; plural after a preposition): as nouns
        # they name another kind of thing than their reading
        self.thing_nouns = frozenset(str(w) for w in (thing_nouns or ()))
        self.words = sorted({w for w in words if isinstance(w, str)})
        self.known_forms = {f for w in self.words for f in forms(w)}
        self._inflections: dict[str, list[str]] = {}   # trained lemma -> trained words that inflect it
        for word in self.words:
            for base in forms(word):
                self._inflections.setdefault(base, []).append(word)

    def __bool__(self) -> bool:
        return bool(self.readings or self.verb_readings or self.phrases)

    def reading(self, word: str, after_determiner: bool = False, after_preposition: bool = False) -> str | None:
        """The trained word `word` is read as ("leaps" -> "jumps"), or None (a trained word, or no reading);
        `after_determiner`: the word follows "the", "a", ..., where it is no verb ("the rear");
        `after_preposition`: it follows "over", "with", ..., where, typed plural, it is a noun ("over puddles")."""
        word = normalize_text(word)
        plural_noun = after_preposition and _suffix(word) == "s"
        if word in STOP_WORDS or word in BODY_PARTS_AND_MEASURES or forms(word) & self.known_forms:
            return None
        # the word itself ("rapidly", "strode"), then its base forms, longest first: a word typed inflected
        # ("leaps") is a verb, and so read ("bounds" is read as a verb, "bound" bare is not read at all)
        target = self.readings.get(word)
        if target is not None:
            return target if self._fits(word, target, after_determiner, plural_noun) else None
        suffix = _suffix(word)
        if not suffix:
            # no verb inflection: `forms` also strips "-ly", but "shyly" is not the verb "shy" (-> "jump"), nor
            # "secondly" the verb "second" (-> "back")
            return None
        for base in sorted(forms(word) - {word}, key=len, reverse=True):
            target = self.verb_readings.get(base)
            if target is not None:
                fits = self._fits(base, target, after_determiner, plural_noun)
                return self._inflected(target, suffix) if fits else None
        return None

    def _fits(self, word: str, target: str, after_determiner: bool, plural_noun: bool) -> bool:
        """Whether `word` may be read as `target` where it stands: after a determiner it names or describes
        something; `plural_noun` (a plural after a preposition), it names something."""
        if after_determiner:
            return target in self.nominal_targets and word not in self.thing_nouns
        return not plural_noun or word not in self.thing_nouns

    def read(self, prompt: str) -> Reading:
        words = list(_WORD.finditer(prompt))
        normalized = [normalize_text(w.group(0)) for w in words]
        pieces: list[str] = []
        read_as: dict[str, str] = {}
        previous = ""   # the word before, as typed (lower case)
        at, cursor = 0, 0
        while at < len(words):
            span, target = self.phrase_at(prompt, words, normalized, at)   # a phrase first: "doubles over"
            if target is None:
                span, target = 1, self.reading(words[at].group(0), after_determiner=previous in DETERMINERS,
                                               after_preposition=previous in PREPOSITIONS)
            start, end = words[at].start(), words[at + span - 1].end()
            typed = prompt[start:end]
            pieces += [prompt[cursor:start], typed if target is None else target]
            if target is not None:
                read_as[typed.lower()] = target
            previous = words[at + span - 1].group(0).lower()
            at, cursor = at + span, end
        pieces.append(prompt[cursor:])
        return Reading("".join(pieces), read_as)

    def phrase_at(self, prompt: str, words: list[re.Match], normalized: list[str], at: int
                  ) -> tuple[int, str | None]:
        """(words, reading) of the longest phrase with a reading that starts at word `at`, or (1, None). Its words
        must stand apart by spaces only; its first may be inflected ("doubles over" -> "bends"). `normalized`:
        the words as `normalize_text` spells them."""
        for span in range(min(self.longest_phrase, len(words) - at), 1, -1):
            if any(not prompt[words[i].end():words[i + 1].start()].isspace() for i in range(at, at + span - 1)):
                continue
            typed = normalized[at:at + span]
            target = self.phrases.get(tuple(typed))
            if target is not None:
                return span, target
            for base in sorted(forms(typed[0]) - {typed[0]}, key=len, reverse=True):
                target = self.phrases.get((base, *typed[1:]))
                if target is not None:
                    return span, self._inflected(target, _suffix(typed[0]))
        return 1, None

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
    bare, verbs, phrases = (vocabulary.get(k) for k in ("readings", "verb_readings", "phrase_readings"))
    if not bare and not verbs and not phrases:
        return None
    return WordReadings(bare or {}, vocabulary.get("words", []), verbs or {}, vocabulary.get("nominal_targets"),
                        phrases or {}, vocabulary.get("thing_nouns"))


__all__ = ["WordReadings", "Reading", "readings_for", "WORDNET_NOTICE"]

"""Training captions said another way, from a dictionary: words swapped for WordNet synonyms, narrower words or
definitions ("a person walks forward" -> "an individual uses their feet to advance forward").

    variants = CaptionVariants(WordNet.load(DIR), seed=0)
    variants.vary(TaggedCaption.parse("a person walks#a/DET person/NOUN walk/VERB#0#0"))

Animators describe a motion as often as they name it ("strikes the palms together" for "claps"), and a corpus
written from templates names it. WordNet holds, for most words, the words that mean the same (a synset), the
narrower words ("walk" -> "stroll", "amble") and a one-line definition ("crawl": "move forward on the hands and
knees"). `train.text_tuning` shows the text encoder such variants next to the caption they came from.

Only a caption's content words (tagged VERB, NOUN, ADJ or ADV by the corpus) are swapped, each with
`swap_share` probability and at least one per caption; directions, sides and counts never (`KEPT`). A verb is
swapped from the `MAX_SENSES` commonest of its senses on bodily topics, other words from the commonest one:
rarer senses mislead ("bound" as "tie up"). A verb's replacement carries the verb's inflection ("walks" ->
"strolls", "uses their feet to advance"). Only *training* captions are ever varied: held-out phrasings stay
unseen, so they still measure what the model makes of words nobody showed it.
WordNet's notice: motion_core/text/WORDNET_LICENSE.txt.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from motion_core.text.vocabulary import STOP_WORDS
from train import inflection
from train.inflection import gerund
from train.wordnet import Synset, WordNet

TAG_POS = {"VERB": "v", "NOUN": "n", "ADJ": "a", "ADV": "r"}   # corpus tag -> WordNet part of speech
MAX_SENSES = 2
# Senses about bodies and what they do (WordNet's topic files): "jog" as "continue talking in a desultory
# manner" (verb.communication) or "arm" as "weapon" (noun.artifact) would teach the encoder the wrong thing.
# verb: 29 body, 30 change (bend), 32 communication (wave, nod, salute), 33 competition, 35 contact, 38 motion,
# 39 perception (look, gaze); noun: 3 tops (person), 4 act (a kick, a swing), 8 body, 18 person. Only the
# commonest senses are looked at, bodily or not: "ball" as "testis" (noun.body) is its fourth sense.
BODILY_TOPICS = {"v": {29, 30, 32, 33, 35, 38, 39}, "n": {3, 4, 8, 18}}
# Directions, sides and counts carry the motion's geometry, and WordNet's words for them are other senses
# ("right" -> "correct", "forward" -> "forrad"): never swapped.
KEPT = frozenset("left right forward forwards backward backwards back up down sideways side ahead around round "
                 "over clockwise counterclockwise anticlockwise diagonally diagonal straight front behind place "
                 "once twice one two three four five high low in out".split())
MAX_NARROWER = 12          # narrower words per sense: "walk" has dozens, most of them rare
MAX_DEFINITION_WORDS = 12  # longer definitions are explanations, not phrasings
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")


@dataclass
class TaggedCaption:
    text: str
    words: list[str]             # the caption's words, in order
    lemmas: list[str]            # one per word
    tags: list[str]              # one per word (the corpus's universal POS tags)

    @classmethod
    def parse(cls, line: str) -> "TaggedCaption | None":
        """One HumanML3D-style text line ("caption#lemma/TAG lemma/TAG ...#start#end"); None where the tags do
        not line up with the caption's words (punctuation the tagger split differently)."""
        fields = line.strip().split("#")
        if len(fields) < 2 or not fields[0].strip():
            return None
        words = _WORD.findall(fields[0])
        pairs = [token.rsplit("/", 1) for token in fields[1].split() if "/" in token]
        pairs = [(lemma, tag) for lemma, tag in pairs if tag != "PUNCT"]
        if len(pairs) != len(words):
            return None
        return cls(fields[0].strip(), words, [lemma.lower() for lemma, _ in pairs], [tag for _, tag in pairs])


class CaptionVariants:
    """Draws variants of tagged captions; a word's alternatives are looked up once and cached."""

    def __init__(self, wordnet: WordNet, seed: int = 0, swap_share: float = 0.5):
        self.wordnet = wordnet
        self.rng = random.Random(seed)
        self.swap_share = swap_share
        self._cache: dict[tuple[str, str], list[str]] = {}

    def alternatives(self, lemma: str, pos: str) -> list[str]:
        """Other ways to say `lemma` (base form): synonyms, and for verbs narrower words
        and definitions, from the commonest senses on bodily topics (`BODILY_TOPICS`)."""
        key = (lemma, pos)
        if key not in self._cache:
            out: list[str] = []
            senses = self.wordnet.lemma_synsets(lemma, pos)[:MAX_SENSES if pos == "v" else 1]
            for synset in [s for s in senses if pos not in BODILY_TOPICS or s.lexfile in BODILY_TOPICS[pos]]:
                out += [w for w in synset.lemmas if w != lemma]
                if pos == "v":   # narrower nouns are mostly kinds of things ("person" -> "adventurer")
                    for target in synset.hyponyms[:MAX_NARROWER]:
                        out += self.wordnet.synsets[target].lemmas[:1] if target in self.wordnet.synsets else []
                out += _definition(synset, pos)
            self._cache[key] = list(dict.fromkeys(w.replace("_", " ") for w in out if w != lemma))
        return self._cache[key]

    def vary(self, caption: TaggedCaption) -> str | None:
        """A variant of `caption` with at least one word swapped; None where no word has an alternative."""
        choices = []
        for k, (word, lemma, tag) in enumerate(zip(caption.words, caption.lemmas, caption.tags)):
            pos = TAG_POS.get(tag)
            # the subject nouns ("person", "man") are stop words to the vocabulary check, not here: "an
            # individual" or "somebody" is how people start prompts too
            if pos is None or word.lower() in KEPT or lemma in KEPT or (pos != "n" and word.lower() in STOP_WORDS):
                continue
            options = self.alternatives(lemma, pos)
            if options:
                choices.append((k, options))
        if not choices:
            return None
        chosen = [c for c in choices if self.rng.random() < self.swap_share] or [self.rng.choice(choices)]
        words = list(caption.words)
        for k, options in chosen:
            replacement = self.rng.choice(options)
            words[k] = inflected_like(caption.words[k].lower(), caption.lemmas[k], caption.tags[k], replacement)
        return " ".join(words)


def _definition(synset: Synset, pos: str) -> list[str]:
    """The synset's definition as a phrase that can stand where the word stood, or nothing."""
    gloss = synset.gloss.replace("one's", "their").replace("someone's", "a person's")
    if pos != "v" or not gloss or len(gloss.split()) > MAX_DEFINITION_WORDS:
        return []
    return [gloss]


def inflected_like(word: str, lemma: str, tag: str, replacement: str) -> str:
    """`replacement` (a base form or phrase) carrying `word`'s inflection: a verb's first word takes its -s or
    -ing ("walks", "use their feet" -> "uses their feet"), a plural noun's last word its -s."""
    if tag == "VERB" and word != lemma:
        first, _, rest = replacement.partition(" ")
        if word.endswith("ing"):
            first = gerund(first)
        elif word.endswith("s"):
            first = third_person(first)
        return f"{first} {rest}".strip()
    if tag == "NOUN" and word != lemma and word.endswith("s") and " " not in replacement:
        return third_person(replacement)   # same spelling rule as a plural
    return replacement


def third_person(verb: str) -> str:
    """'walk' -> 'walks', 'touch' -> 'touches', 'carry' -> 'carries', 'be' -> 'is' (definitions start with
    "be" and "have": "be seated")."""
    irregular = {"be": "is", "have": "has"}
    return irregular.get(verb) or inflection.third_person(verb)


__all__ = ["CaptionVariants", "TaggedCaption", "inflected_like", "third_person", "gerund"]

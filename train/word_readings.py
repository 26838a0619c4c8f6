"""Word readings: for each English word a model never saw in training, the trained word that means (nearly) it.

    readings = word_readings(vocabulary["words"], WordNet.load(DIR))    # {"leap": "jump", "stroll": "walk", ...}

The model's word vectors know words by their spelling pieces as much as by their meaning: by the cosine of its
mean-of-token vectors (`WordVectors.similarity`), the nearest trained word to "sips" is "skips", to "trunk"
"drunk". WordNet knows that a
leap is a jump and a stroll a walk. A reading is, for an unseen lemma, a trained lemma that is, in one of the
commonest senses of both words (`MAX_SENSES`):
- a synonym (same synset: leap -> jump, applaud -> clap), or
- a broader word of the unseen word's commonest sense, at most `MAX_HOPS` steps up (stroll -> walk,
  hurl -> throw), or for an adjective a similar one (enormous -> big). A broader word must be specific: one
  with more than `VAGUE` narrower synsets ("travel" 525, "move", "touch") would stand in for too much, so
  "swims" (a kind of "travel") has no reading and still gets the "not learned" warning; or
- for an adverb with neither, the adverb of the reading of the adjective it comes from (`adverb_reading`:
  nimbly -> nimble -> quick -> "quickly", laterally -> lateral -> side -> "sideways").
Only verbs, adverbs and adjectives are read (`READ_POS`); a verb is read as a trained word the captions use as a
verb (they have "walks" or "walking", not only "speed" or "clip"). Which part of speech a prompt's word is: an
inflected word ("leaps") a verb, a bare one what WordNet's tagged senses say it mostly is (see `word_readings`).

The engine reads a prompt's unseen words as their readings before encoding it and says so in the take's meta
(`motion_core.text.readings`); `train.vocabulary --wordnet DIR` records the table in a checkpoint.
"""
from __future__ import annotations

from motion_core.text.vocabulary import STOP_WORDS, forms
from train.wordnet import Synset, WordNet

MAX_SENSES = 3    # a lemma's senses beyond its third are rare ("bound" as "tie up"); they would mislead
MAX_HOPS = 2      # stroll -> walk is one step up; two still land on a specific word
VAGUE = 150       # narrower synsets above which a broader word says too little ("travel", "move", "touch")
MIN_LENGTH = 3
MAX_PHRASE_WORDS = 3   # WordNet's longer phrases are names and idioms no prompt types word for word
# A phrase lands on a trained word only in one of that word's two commonest senses: phrases are often idioms whose
# sense is a trained word's rare one. Not all: "square up" (even up edges) is "jog"'s second sense in WordNet 3.0,
# so "squares up like a boxer" still reads as "jogs". One sense only would drop that and 88 other phrase readings
# of the shipped vocabulary's 248, the useful with the wrong ("military greeting" -> "salute", "tap dance" ->
# "dance", "take a breather" -> "pause" against "bar hop" -> "drink", "base on balls" -> "walk"): not measured.
PHRASE_TARGET_SENSES = 2
# Verbs, adverbs, adjectives: what a motion is and how it is done. A prompt's nouns are props and places
# ("mug", "shelf"); read through WordNet they land on trained words of another sense (mug -> "face").
READ_POS = ("v", "r", "a")
ADVERB_ENDINGS = ("ly", "ways", "wise", "wards", "ward")   # "slightly", "sideways", "lengthwise", "upward"
# WordNet's noun topics (lexicographer files) of what a motion is, does or traces: noun.act, noun.body,
# noun.communication, noun.event, noun.shape. Right after a determiner a word is a noun; it is read only as a
# word that names the same kind of thing (`names_a_thing`).
MOTION_TOPICS = frozenset({4, 8, 10, 11, 25})


def known_lemmas(words: list[str], wordnet: WordNet) -> dict[str, set[str]]:
    """{WordNet lemma of a trained content word: parts of speech the captions use it as} ("jumps" -> "jump": v).

    A lemma counts as a trained verb only where the captions inflect it as one ("walks", "walking"); any
    trained lemma may stand for an adjective or adverb."""
    out: dict[str, set[str]] = {}
    for word in words:
        if word in STOP_WORDS or not word.isalpha():
            continue
        for base in forms(word) | wordnet.exceptions.get(word, set()):
            if base not in wordnet.senses or base in STOP_WORDS:
                continue
            uses = out.setdefault(base, {"a", "r"})
            if word != base and (word.endswith("s") or word.endswith("ing")):
                uses.add("v")
    return out


def related(wordnet: WordNet, synset: Synset, max_hops: int = MAX_HOPS):
    """(steps, synset) for `synset` itself, its head adjective (for a satellite: "enormous" -> "large"; never
    the other way, a head's satellites are narrower: "close" -> "walking", as in "walking distance") and its
    specific broader synsets."""
    yield 0, synset
    if synset.satellite:
        for pos, offset in synset.similar:
            yield 1, wordnet.synset(pos, offset)
    frontier = [synset]
    for hops in range(1, max_hops + 1):
        frontier = [wordnet.synset(*h) for s in frontier for h in s.hypernyms]
        for broader in frontier:
            if wordnet.narrower_count(broader) <= VAGUE:
                yield hops, broader


def common_sense(wordnet: WordNet, lemma: str, synset: Synset) -> int | None:
    """Rank of `synset` among `lemma`'s senses of its part of speech if one of the commonest, else None."""
    for rank, mine in enumerate(wordnet.lemma_synsets(lemma, synset.pos)[:MAX_SENSES]):
        if mine is synset:
            return rank
    return None


def reading_of(lemma: str, known: dict[str, set[str]], wordnet: WordNet, parts: tuple[str, ...],
               max_hops: int = MAX_HOPS, their_senses: int = MAX_SENSES) -> str | None:
    """The trained lemma `lemma` is read as when used as one of `parts` (parts of speech), or None.

    Both words must meet in one of their commonest senses: "dash" (run) shares a rare sense with "shoot", which
    the captions use for a basketball shot, so "dash" reads as its broader "run" instead."""
    best = None
    for pos in parts:
        for rank, synset in enumerate(wordnet.lemma_synsets(lemma, pos)[:MAX_SENSES]):
            for hops, other in related(wordnet, synset, max_hops):
                if hops and rank:
                    break   # broader words only of the commonest sense: "dash" is not a kind of "throw"
                for candidate in other.lemmas:
                    if candidate == lemma or pos not in known.get(candidate, ()):
                        continue
                    theirs = common_sense(wordnet, candidate, other)
                    if theirs is None or theirs >= their_senses:
                        continue
                    if best is None or (rank, hops, theirs) < best[0]:
                        best = ((rank, hops, theirs), candidate)
    return None if best is None else best[1]


def adverb_reading(lemma: str, known: dict[str, set[str]], wordnet: WordNet, adverb_for: dict[str, str]
                   ) -> str | None:
    """An adverb read through the adjective WordNet derives it from, as the captions' adverb of that adjective's
    reading (`adverb_for`): "nimbly" -> "nimble" -> "quick" -> "quickly", "laterally" -> "lateral" -> "side" ->
    "sideways".

    WordNet gives adverbs no broader words and their synonyms are rarely trained, so without this route every
    manner adverb the captions lack went unread ("bends laterally" was followed as "bends"). The reading must be
    mostly an adverb itself, so that an adverb still says how: "finally" -> "final" lands on "closing",
    "furtively" -> "furtive" on "sneak" (a sneaking walk), "enormously" -> "enormous" on "big"; none is read."""
    for adjective in wordnet.adjectives_of(lemma, MAX_SENSES):
        target = adjective if adjective in known else reading_of(adjective, known, wordnet, ("a",))
        if target is not None:
            reading = adverb_for.get(target, target)
            if wordnet.parts_of_speech(reading)[0] == "r":
                return reading
    return None


def adverb_forms(words: list[str], wordnet: WordNet) -> dict[str, str]:
    """{word: the trained adverb made from it}: what WordNet derives from an adjective ("quick" -> "quickly"),
    then English's adverb endings on any word ("slight" -> "slightly", "side" -> "sideways"); the shortest
    where several."""
    trained = sorted((w for w in words if w.isalpha() and w not in STOP_WORDS), key=lambda w: (len(w), w))
    out: dict[str, str] = {}
    for word in trained:
        for adjective in wordnet.adjectives_of(word, MAX_SENSES):
            out.setdefault(adjective, word)
    for word in trained:
        for ending in ADVERB_ENDINGS:
            if word.endswith(ending) and len(word) > len(ending) + 2:
                out.setdefault(word[:-len(ending)], word)
    return out


def names_a_thing(lemma: str, target: str, wordnet: WordNet) -> bool:
    """Whether `lemma`, typed as a noun ("a puddle"), names a thing its reading `target` does not: none of its
    commonest noun senses shares a motion topic (`MOTION_TOPICS`) with any noun sense of `target`.

    Its reading may come from a verb sense: "puddle" (to wade) reads "walk", so "jumps over a puddle" was read
    "jumps over a walk"; "a backpack" (to hike) "a walk", "the judge" "the end", "a thread" "a wind". A noun of
    the same kind as its reading's stays read: "a stroll" -> "a walk" (acts), "a curtsy" -> "a bow"
    (communication), "a loop" -> "a circle" (shapes), "the forearm" -> "the arm" (body). A word that is mostly an
    adjective or adverb ("a large step") describes, and names nothing."""
    if wordnet.parts_of_speech(lemma)[:1] in (["a"], ["r"]):
        return False
    mine = {s.lexfile for s in wordnet.lemma_synsets(lemma, "n")[:MAX_SENSES]}
    theirs = {s.lexfile for s in wordnet.lemma_synsets(target, "n")}
    return bool(mine) and not mine & theirs & MOTION_TOPICS


def word_readings(words: list[str], wordnet: WordNet) -> dict[str, dict[str, str] | list[str]]:
    """Readings of every single WordNet word the captions never use, two tables and a list:

    "readings": for the word as typed bare ("leap forward", "rapidly"), read as what it mostly is: its part of
    speech with the most tagged senses. A word that is mostly a noun ("heel", "trunk", "loop") is not read: in
    a prompt it names a thing, and its rarer verb sense ("the ship heels" = leans) would mislead.
    "verb_readings": for the word typed inflected ("leaps", "leaping", "leaped"): a verb.
    Irregular verb forms ("strode") are in both, read as their base lemma is.
    "nominal_targets": the trained words readings land on that are mostly nouns, adjectives or adverbs ("circle",
    "arm", "big"): right after a determiner, where a word names or describes a thing, the engine applies only
    readings onto these ("a loop" -> "a circle", "the forearms" -> "the arms"), never onto a verb ("springs to the
    rear" must not become "to the straighten", "on a slant" not "on a lie").
    "thing_nouns": the words with a reading that, as nouns, name another kind of thing (`names_a_thing`:
    "puddle" -> "walk", "cone" -> "cutting"); the engine leaves them unread where a noun stands: right after a
    determiner, and typed plural right after a preposition ("weaves through cones")."""
    known = known_lemmas(words, wordnet)
    adverb_for = adverb_forms(words, wordnet)
    seen = {f for w in words for f in forms(w)}
    bare: dict[str, str] = {}
    verbs: dict[str, str] = {}
    for lemma in wordnet.senses:
        if (len(lemma) < MIN_LENGTH or not lemma.isalpha() or lemma in seen or lemma in known
                or lemma in STOP_WORDS):
            continue
        dominant = wordnet.parts_of_speech(lemma)[0]
        if dominant in READ_POS:
            target = reading_of(lemma, known, wordnet, (dominant,))
            if target is None and dominant == "r":
                target = adverb_reading(lemma, known, wordnet, adverb_for)
            if target is not None:
                bare[lemma] = target
        target = reading_of(lemma, known, wordnet, ("v",))
        if target is not None:
            verbs[lemma] = target
    for form, bases in wordnet.exceptions.items():
        targets = sorted(verbs[b] for b in bases if b in verbs)
        if form.isalpha() and targets and form not in seen:
            verbs.setdefault(form, targets[0])
            bare.setdefault(form, targets[0])
    targets = set(bare.values()) | set(verbs.values())
    nominal = {t for t in targets if wordnet.parts_of_speech(t)[0] in ("n", "a", "r")}
    things = {w for table in (bare, verbs) for w, t in table.items() if names_a_thing(w, t, wordnet)}
    return {"readings": dict(sorted(bare.items())), "verb_readings": dict(sorted(verbs.items())),
            "nominal_targets": sorted(nominal), "thing_nouns": sorted(things),
            "phrase_readings": phrase_readings(words, wordnet, {**bare, **verbs})}


def phrase_readings(words: list[str], wordnet: WordNet, own: dict[str, str] | None = None) -> dict[str, str]:
    """Readings of WordNet's phrases ("military greeting" -> "salute", "stride along" -> "walk") that hold a word
    the captions never use, each read as one trained word, as single words are (`reading_of`, the phrase's
    dominant part of speech). A phrase of trained words only is left to the model, which reads its words. A noun
    phrase is read only as its own synonym that the captions use as a verb ("a military greeting" -> "a salute":
    the captions have "salutes"): it then names the act; read up to a broader noun it would name a prop or a thing
    as often ("sound wave" -> "wave", "step stool" -> "seat").
    A verb and a particle whose verb has a reading of its own (`own`: the single-word tables) are left to that
    reading: such a pair is an idiom often enough ("leap out" = stand out, "lay off") that reading the verb and
    keeping the particle, which the model knows, is the safer guess ("leaps out" -> "jumps out")."""
    own = own or {}
    known = known_lemmas(words, wordnet)
    as_act = {lemma: {"n"} for lemma, uses in known.items() if "v" in uses}
    seen = {f for w in words for f in forms(w)}
    out: dict[str, str] = {}
    for lemma in wordnet.senses:
        parts = lemma.split("_")
        if not 2 <= len(parts) <= MAX_PHRASE_WORDS or not all(p.isalpha() for p in parts):
            continue
        if all(p in seen or p in STOP_WORDS for p in parts):
            continue
        if len(parts) == 2 and parts[1] in STOP_WORDS and parts[0] in own:
            continue
        dominant = wordnet.parts_of_speech(lemma)[0]
        if dominant == "n":
            target = reading_of(lemma, as_act, wordnet, ("n",), max_hops=0, their_senses=PHRASE_TARGET_SENSES)
        else:
            target = reading_of(lemma, known, wordnet, (dominant,), their_senses=PHRASE_TARGET_SENSES)
        if target is not None:
            out[" ".join(parts)] = target
    return dict(sorted(out.items()))


__all__ = ["word_readings", "phrase_readings", "reading_of", "adverb_reading", "adverb_forms", "known_lemmas",
           "names_a_thing", "MOTION_TOPICS", "MAX_SENSES", "MAX_HOPS", "VAGUE", "READ_POS", "MAX_PHRASE_WORDS"]

"""A prompt that tells actions in order ("jumps over a puddle, then waves") as its clauses, one per action.

The model follows one action per prompt better than several told in one sentence: two actions joined by words the
training captions never used ("and afterwards") come out in order 0.25 of the time as one prompt and 0.75 as a
timeline of their clauses, three joined by "then" 0.38 and 0.75 (`benchmarks/sequence_prompts.py`,
benchmarks/results/sequence_prompts_20261207/). So `Engine.generate` plays such a prompt as a timeline of its
clauses (`motion_core.generation.sequences`), each at its own length.

A clause ends at a sequence connective ("then", "and then", "after that", "afterwards", "subsequently",
"next", "finally", "eventually", "followed by"; also opening a sentence: "He jumps. Then he waves.") or at the end of
a sentence; an opener ("First", "To start") is dropped. "next" is no connective in "the next room", "next to" or
"next door", and no sentence ends at a title ("Mr. Smith bows"). "and", "while" and "as" join actions done
together, or the parts of one action, so they never split. Nor does a connective that goes on with the same
action rather than a new one: one followed by a participle ("ascending then descending"), an adverb or a
direction ("swinging low then forward"), one that undoes the clause before ("bows, then straightens", "kicks,
then puts the foot back down"), or one followed by nothing a motion can be read from ("then the other"). A piece
with no word of its own ("He" of "He then sits down") joins the clause after it.

A later clause without a subject of its own gets one when the first clause has one ("waves" -> "a person
waves", "he waves"): the captions the model learned from all have one, and the length predictor reads a bare
"waves" as a 5-s clip where "a person waves" is 3 s. A clause opened by a name ("then Emma waves") has one; one
opened by how it is done ("then slowly sits down") is a new action that gets the subject ("a person slowly sits
down"). An order ("walk forward, then wave") stays as typed. An extend's clauses go on about whoever its take's
prompt was about: "then jumps, then waves" after "a person walks forward" is told as "a person jumps", "a person
waves" (a bare "jumps" was predicted 4.0 s, "a person jumps" 2.0 s). `as_caption` gives the length predictor any
prompt that names no one as a caption would ("jump" -> "a person jump").
"""
from __future__ import annotations

import re

from motion_core.text.hash_tokenizer import normalize_text
from motion_core.text.vocabulary import (
    STOP_WORDS,
    TYPED_WORD,
    dictionary_words,
    english,
    forms,
    incidental_words,
    is_capitalised,
)

# "next" is no connective in "the next room", "next to the wall" or "next door"
_CONNECTIVE = re.compile(
    r"(?:^|\s*[,;:]\s*|\s+)(?:and\s+)?(?:then|after\s+that|afterwards?|subsequently"
    r"|(?<!the )(?<!this )(?<!a )next(?!\s+(?:to|door)\b)|finally|followed\s+by|eventually)\b\s*,?\s*",
    re.IGNORECASE)
# What opens a sentence as the first of several steps ("First he jumps. Then he waves."): no part of the action.
_OPENER = re.compile(r"^(?:first(?:ly)?|at\s+first|to\s+(?:start|begin)(?:\s+with)?)\b\s*,?\s*", re.IGNORECASE)
# a sentence ends at . ! ? ; but not after a title ("Mr. Smith bows")
_SENTENCE_END = re.compile(r"(?<!\bmr\.)(?<!\bmrs\.)(?<!\bms\.)(?<!\bdr\.)(?<!\bst\.)(?<!\bjr\.)(?<!\bsr\.)"
                           r"(?<=[.!?;])\s+", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")
# What a clause about a new action does not start with: the same action going on ("then back", "then slowly").
_CONTINUATIONS = frozenset("""
forward forwards back backward backwards up down left right sideways around away out in over across aside
again more less higher lower further farther faster slower still other another same rest
""".split())
# Verbs that undo what the clause before did, so that the two are one action told in phases ("bows, then
# straightens", "ascends the stairs, then descends", "kicks, then retracts it"), as are clauses that go "back" or
# do it "again" ("puts the foot back down", "rises again").
_RETURNS = frozenset("""
rise rises straighten straightens return returns recover recovers relax relaxes retract retracts lower lowers
descend descends release releases
""".split())
_SUBJECTS = frozenset("he she they it someone somebody person man woman figure character".split())
_PRONOUNS = frozenset("he she they someone somebody".split())
_ARTICLES = frozenset("a an the this that".split())   # what opens a subject ("the man") past the connective
_DETERMINERS = _ARTICLES | {"one"}                    # what opens the first clause's subject ("one man")


def action_clauses(prompt: str, subject: str | None = None) -> list[str]:
    """The prompt's clauses in the order it tells them (one, the prompt itself, when it tells one action).
    `subject`: who an earlier prompt was about (`subject_of`), for a prompt whose first clause names no one."""
    clauses = _clauses(prompt)
    subject = _subject_of(clauses[0]) or subject
    if subject is None:
        return clauses
    return [c if _names_someone(c, opening=k == 0) else f"{subject} {c}" for k, c in enumerate(clauses)]


def subject_of(prompt: str) -> str | None:
    """Who a prompt is about, as a later clause names them ("a person" for "the woman walks", "he" for "he
    walks"); None for an order ("walk forward") or a prompt that names no one."""
    return _subject_of(_clauses(prompt)[0])


def _clauses(prompt: str) -> list[str]:
    # a connective may open a sentence ("He jumps. Then he waves."), as the first may be opened ("First, ...")
    pieces = [piece for sentence in _SENTENCE_END.split(prompt.strip())
              for piece in _CONNECTIVE.split(_OPENER.sub("", sentence))]
    clauses: list[str] = []
    pending = ""   # a piece with no word of its own, waiting for the clause it belongs to
    for piece in pieces:
        piece = piece.strip(" ,;:.!?")
        if not piece:
            continue
        if not _content_words(piece):
            pending = f"{pending} {piece}".strip()
            continue
        text = f"{pending} {piece}".strip()
        pending = ""
        if clauses and not _starts_an_action(piece):
            clauses[-1] = f"{clauses[-1]} then {text}"   # the same action going on: told as typed
        else:
            clauses.append(text)
    if pending:
        if not clauses:
            return [prompt]
        clauses[-1] = f"{clauses[-1]} {pending}"
    return clauses if len(clauses) > 1 else [prompt]


def as_caption(prompt: str) -> str:
    """The prompt as the training captions tell an action, with someone doing it: "jump" -> "a person jump",
    "jumps" -> "a person jumps"; a prompt that names who moves ("he jumps", "the kid jumps") as it is. For the
    length predictor, which learned from captions: a bare "jump" was read as 4.2 s (three jumps), "a person jump"
    as 2.2 s (one, as "a person jumps")."""
    return prompt if _names_someone(prompt, opening=True) else f"a person {prompt.strip()}"


def _subject_of(clause: str) -> str | None:
    """What stands for the first clause's subject in a later clause: "he" for "he", "a person" for "the woman"
    and for a name ("Liam": the model knows no names), None where it opens with a verb (an order: "walk
    forward")."""
    words = _WORD.findall(clause.lower())
    if not words:
        return None
    if words[0] in _PRONOUNS:
        return words[0]
    return "a person" if words[0] in _DETERMINERS or _opens_with_a_name(clause, opening=True) else None


def _names_someone(clause: str, opening: bool) -> bool:
    """Whether a clause opens with who moves: a pronoun, an article ("the man"), a word naming a person ("kid",
    "athlete": the incidental words, which are also adverbs such as "slowly": no subject is added there) or a
    name (`_opens_with_a_name`)."""
    words = _WORD.findall(clause.lower())
    while words and _manner(words[0]):   # "slowly sits down" names no one; "slowly, he sits down" does
        words = words[1:]
    return bool(words) and (words[0] in _SUBJECTS or words[0] in _DETERMINERS or
                            bool(forms(words[0]) & incidental_words()) or _opens_with_a_name(clause, opening))


def _opens_with_a_name(clause: str, opening: bool) -> bool:
    """A first word typed with a capital, not all in capitals ("Emma waves", "José jumps"): a name where a
    sentence does not begin (after "then"), and where one does (`opening`) if no dictionary holds it ("Liam",
    not "Jump")."""
    typed = TYPED_WORD.findall(clause)
    if not typed or not is_capitalised(typed[0]):
        return False
    return not opening or not english(normalize_text(typed[0]), dictionary_words())


def _manner(word: str) -> bool:
    """An adverb of manner ("slowly", "suddenly"): an -ly word that WordNet's incidental words hold ("fly" is not)."""
    return word.endswith("ly") and bool(forms(word) & incidental_words())


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


def _starts_an_action(clause: str) -> bool:
    """Whether a clause after a connective tells a new action: its first word past a subject is no participle
    ("descending"), adverb ("slowly") or direction ("forward"), and past the subject it says something."""
    words = _WORD.findall(clause.lower())
    while words and (words[0] in _SUBJECTS or words[0] in _ARTICLES or _manner(words[0])):
        words = words[1:]   # past who and how: "then slowly sits down" is a new action, "then slowly" is not
    if not words or not _content_words(" ".join(words)):
        return False
    first = words[0]
    if first in _RETURNS or {"back", "again"} & set(words[:5]):
        return False
    return not (first.endswith("ing") or first.endswith("ly") or first in _CONTINUATIONS)


__all__ = ["action_clauses", "as_caption", "subject_of"]

"""How many times a prompt says its action happens: "twice", "two times", "3 times", "does three squats".

A clip's length follows its count (a hop lasts ~0.7 s; three hops ~2 s), and the denoiser fills a longer clip
with more repeats, so a count read wrongly becomes the wrong number of hops. The text encoder's pooled
features blur the count when the phrasing is new ("two times" where training said "twice"), so the length
predictor also gets the count as read here, one spelling-independent number.

Rules, deliberately narrow (a wrong count is worse than none):
- once / twice / thrice, "a single <noun>", and "<n> times" with n a digit or a number word, or "3x" / "x3"
  (digits past `MAX_COUNT` read as `MAX_COUNT`);
- "<n> <plural noun>" with n from two to ten ("does two squats", "throws 3 punches"), unless the noun is a
  body part ("two hands", "both feet") or a measure ("two meters", "90 degrees", "three seconds"): those say
  how, not how often;
- "one" alone says nothing ("hops on one foot"); vague amounts ("several", "a few") say nothing either.
When a prompt says several counts ("jumps twice, then claps three times") the largest is returned: the
predictor reads one number per prompt.

`without_count` is the prompt with what `spoken_count` read taken out ("hops forward one time" -> "hops forward"):
a length predictor that reads its text features from it gets the count through the number alone, the same for
every spelling of it (`motion_core.models.length_predictor`).
"""
from __future__ import annotations

import re

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "a couple of": 2, "a pair of": 2}
ADVERBS = {"once": 1, "twice": 2, "thrice": 3}
# Plural nouns after a number that are not repetitions of the action.
NOT_REPEATS = frozenset(
    "hands arms legs feet foot knees elbows fingers fists shoulders sides heels toes eyes wrists hips "
    "meters metres meter metre feet inches yards miles kilometers kilometres km m cm degrees degree "
    "seconds second secs minutes minute hours hour beats counts".split())
MAX_COUNT = 20

_NUMBER = r"(\d+|" + "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True)) + ")"
_TIMES = re.compile(_NUMBER + r"\s+(?:more\s+)?times?\b")
# "jumps 3x", "squats x10": how people type a count ("10x faster" is how fast)
_BY = re.compile(r"(?:\b(\d+)\s?x|\bx\s?(\d+))\b(?!\s*(?:faster|slower|more|less|higher|lower|longer|shorter)\b)")
_NOUNS = re.compile(_NUMBER + r"\s+(?:[a-z]+\s+)?([a-z]+s)\b")
_WORD = re.compile(r"[a-z]+")


def _number(text: str) -> int | None:
    value = int(text) if text.isdigit() else NUMBER_WORDS.get(text)
    return value if value is not None and 1 <= value <= MAX_COUNT else None


def _many(text: str) -> int | None:
    """MAX_COUNT for a digit count past it ("100"), else None."""
    return MAX_COUNT if text.isdigit() and int(text) > MAX_COUNT else None


def _times(text: str) -> int | None:
    """The count of "<n> times" or "<n>x": n as read, a digit count past MAX_COUNT as MAX_COUNT."""
    return _number(text) or _many(text)


def spoken_count(prompt: str) -> int | None:
    """The number of repetitions `prompt` says, or None when it says none (see the module's rules)."""
    counts = [count for count, _ in _spoken(_normalized(prompt))]
    return max(counts) if counts else None


def without_count(prompt: str) -> str:
    """`prompt` (lower case, hyphens as spaces) with the words `spoken_count` reads as a count taken out: "jumps
    twice" -> "jumps", "does three squats" -> "does squats", "a single hop" -> "a hop"."""
    text = _normalized(prompt)
    spans = sorted(span for _, span in _spoken(text))
    kept, cursor = [], 0
    for start, end in spans:   # spans may overlap ("single" inside "a single time"): each word goes once
        kept.append(text[cursor:max(start, cursor)])
        cursor = max(cursor, end)
    kept.append(text[cursor:])
    return re.sub(r"\s+([,.;!?])", r"\1", " ".join("".join(kept).split()))


def _normalized(prompt: str) -> str:
    return " ".join(prompt.lower().replace("-", " ").split())


def _spoken(text: str) -> list[tuple[int, tuple[int, int]]]:
    """(count, (start, end) of the words that say it) for every count in normalized `text`."""
    found = [(ADVERBS[m.group(0)], m.span()) for m in _WORD.finditer(text) if m.group(0) in ADVERBS]
    found += [(1, m.span(1)) for m in re.finditer(r"\ba (single)\b", text)]
    found += [(1, m.span()) for m in re.finditer(r"\b(?:one|a single) time\b", text)]
    # "<n> times" is a count however large: past MAX_COUNT it is read as MAX_COUNT, whose length is already more
    # than a clip holds (the take then says it holds fewer repeats); "jumps 100 times" read no count at all and
    # made a 2-s take without a word
    found += [(n, m.span()) for m in _TIMES.finditer(text)
              if (n := _times(m.group(1))) is not None]
    found += [(n, m.span()) for m in _BY.finditer(text)
              if (n := _times(m.group(1) or m.group(2))) is not None]
    for match in _NOUNS.finditer(text):
        number, noun = _number(match.group(1)), match.group(2)
        if number is not None and number >= 2 and noun not in NOT_REPEATS and noun != "times":
            found.append((number, match.span(1)))
    return found


__all__ = ["spoken_count", "without_count"]

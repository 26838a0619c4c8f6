"""How many times a prompt says its action happens: "twice", "two times", "3 times", "does three squats".

A clip's length follows its count (a hop lasts ~0.7 s; three hops ~2 s), and the denoiser fills a longer clip
with more repeats, so a count read wrongly becomes the wrong number of hops. The text encoder's pooled
features blur the count when the phrasing is new ("two times" where training said "twice"), so the length
predictor also gets the count as read here, one spelling-independent number.

Rules, deliberately narrow (a wrong count is worse than none):
- once / twice / thrice, "a single <noun>", and "<n> times" with n a digit or a number word;
- "<n> <plural noun>" with n from two to ten ("does two squats", "throws 3 punches"), unless the noun is a
  body part ("two hands", "both feet") or a measure ("two meters", "90 degrees", "three seconds"): those say
  how, not how often;
- "one" alone says nothing ("hops on one foot"); vague amounts ("several", "a few") say nothing either.
When a prompt says several counts ("jumps twice, then claps three times") the largest is returned: the
predictor reads one number per prompt.
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
_NOUNS = re.compile(_NUMBER + r"\s+(?:[a-z]+\s+)?([a-z]+s)\b")
_WORD = re.compile(r"[a-z]+")


def _number(text: str) -> int | None:
    value = int(text) if text.isdigit() else NUMBER_WORDS.get(text)
    return value if value is not None and 1 <= value <= MAX_COUNT else None


def spoken_count(prompt: str) -> int | None:
    """The number of repetitions `prompt` says, or None when it says none (see the module's rules)."""
    text = " ".join(prompt.lower().replace("-", " ").split())
    counts = [ADVERBS[w] for w in _WORD.findall(text) if w in ADVERBS]
    if re.search(r"\ba single\b", text) or re.search(r"\bone time\b", text):
        counts.append(1)
    counts += [n for match in _TIMES.finditer(text) if (n := _number(match.group(1))) is not None]
    for match in _NOUNS.finditer(text):
        number, noun = _number(match.group(1)), match.group(2)
        if number is not None and number >= 2 and noun not in NOT_REPEATS and noun != "times":
            counts.append(number)
    return max(counts) if counts else None


__all__ = ["spoken_count"]

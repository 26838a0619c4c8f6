"""Held-out synonyms: words the training captions never use, kept for measuring generalisation.

`HELDOUT_SYNONYMS` maps a word the training captions do use to synonyms reserved for evaluation. The corpus
writes, for each clip whose training captions contain such a word, the same captions with the word swapped
for a held-out synonym into texts_heldout_synonyms/. Import `HELDOUT_WORDS` wherever a vocabulary check must
treat these words as known (they are deliberately absent from training text, not unknown actions).

"hops" is not held out: hopping on one foot is its own action ("hop_left"/"hop_right").
"""
from __future__ import annotations

import re

HELDOUT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "walks": ("strolls", "saunters"),
    "walking": ("strolling",),
    "jumps": ("leaps",),
    "runs": ("dashes",),
    "spins": ("twirls",),
    "claps": ("applauds",),
    "throws": ("tosses", "hurls"),
    "picks": ("scoops",),
    "climbs": ("scales",),
}
HELDOUT_WORDS: frozenset[str] = frozenset(w for group in HELDOUT_SYNONYMS.values() for w in group)
TEXTS_DIR = "texts_heldout_synonyms"

_PATTERN = re.compile(r"\b(" + "|".join(sorted(HELDOUT_SYNONYMS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def swap_synonyms(caption: str, rng) -> str | None:
    """`caption` with every trained word that has held-out synonyms replaced by one; None if it has none."""
    if not _PATTERN.search(caption):
        return None

    def replace(match: re.Match) -> str:
        word = match.group(0)
        choice = str(rng.choice(HELDOUT_SYNONYMS[word.lower()]))
        return choice.capitalize() if word[0].isupper() else choice
    return _PATTERN.sub(replace, caption)

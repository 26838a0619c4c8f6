"""The per-action benchmark's "unseen" phrasings really are unseen: no caption the corpus can write says them."""
import re
import sys
from pathlib import Path

from train.procedural import captions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from action_checks import PROMPTS, UNSEEN_PROMPTS  # noqa: E402


def _strings(table) -> list[str]:
    if isinstance(table, str):
        return [table]
    if not isinstance(table, (dict, list, tuple)):
        return []
    values = table.values() if isinstance(table, dict) else table
    return [s for value in values for s in _strings(value)]


def corpus_phrases() -> set[str]:
    """Every training and held-out phrase of the caption tables, with each slot filled every way."""
    tables = [value for name, value in vars(captions).items()
              if name.startswith("_") and not name.startswith("__") and isinstance(value, dict)
              and not name.startswith("_LEXICON")]
    out = set()
    for phrase in (s for table in tables for s in _strings(table)):
        for side in ("left", "right", ""):
            for times in list(captions.TIMES.values()) + [""]:
                out.add(_normal(phrase.format(side=side, times=times)))
    return out


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]", " ", text.lower())).strip()


def predicate(prompt: str) -> str:
    text = _normal(prompt)
    for subject in captions.SUBJECTS + captions.HELDOUT_SUBJECTS:
        if text.startswith(subject + " "):
            return text[len(subject) + 1:]
    return text


def test_the_phrase_tables_are_found():
    phrases = corpus_phrases()
    assert len(phrases) > 200 and "walks forward" in phrases and "kicks with the right leg" in phrases
    assert all(predicate(p) in phrases for p in PROMPTS.values())   # the training-style prompts are in them


def test_unseen_prompts_are_no_corpus_caption():
    phrases = corpus_phrases()
    assert set(UNSEEN_PROMPTS) == set(PROMPTS)
    for label, prompts in UNSEEN_PROMPTS.items():
        assert len(prompts) == 2 and len(set(prompts)) == 2
        for prompt in prompts:
            assert predicate(prompt) not in phrases, f"{label}: {prompt!r} is a corpus caption"

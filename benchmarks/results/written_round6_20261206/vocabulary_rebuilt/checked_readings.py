"""A copy of a model whose WordNet readings are checked against its training data: a reading k -> t is dropped
when the written phrasings use k (in at least MIN_CLIPS clips) for other actions than the core captions use t for
(histogram intersection of the two clip-action distributions under AGREE), and k then counts as a learned word.
The held-out synonyms' readings (`heldout_words`) are never dropped. MIN_CLIPS and AGREE were fixed before any
result (10 and 0.25), not chosen on held-out figures.

    python checked_readings.py MODEL OUT MIN_CLIPS AGREE      # e.g. v14 /tmp/v14_checked 10 0.25
"""
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rebuild_vocabulary import corpus_captions  # noqa: E402

from motion_core.text.hash_tokenizer import normalize_text  # noqa: E402
from motion_core.text.vocabulary import forms  # noqa: E402
from train.procedural.heldout_words import HELDOUT_WORDS  # noqa: E402
from train.vocabulary import record  # noqa: E402

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
RESERVED = {f for w in HELDOUT_WORDS for f in forms(w) | {w}}
SECTIONS = ("readings", "verb_readings", "phrase_readings")


def usage(pairs: list) -> dict:
    """Each word form and lemma (and two- and three-word phrase, first word in any form) -> [actions of its clips
    (Counter, once per clip), the clips]."""
    found: dict = {}
    for caption, actions, clip in pairs:
        words = [normalize_text(w) for w in WORD.findall(caption.lower())]
        keys = set()
        for i, word in enumerate(words):
            for form in forms(word) | {word}:
                keys.add(form)
                if i + 1 < len(words):
                    keys.add((form, words[i + 1]))
                if i + 2 < len(words):
                    keys.add((form, words[i + 1], words[i + 2]))
        for key in keys:
            entry = found.setdefault(key, [Counter(), set()])
            if clip not in entry[1]:
                entry[1].add(clip)
                entry[0].update(set(actions))
    return found


def agreement(a: Counter, b: Counter) -> float:
    na, nb = sum(a.values()), sum(b.values())
    return sum(min(a[x] / na, b[x] / nb) for x in a) if na and nb else 0.0


def main() -> None:
    model, out, min_clips, agree = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    core, written = corpus_captions(20000)
    said, meant = usage(written), usage(core)
    vocabulary = json.loads((Path(model) / "config.json").read_text())["vocabulary"]
    dropped = {}
    for section in SECTIONS:
        kept = {}
        for word, target in vocabulary[section].items():
            key = tuple(word.split()) if section == "phrase_readings" else word
            if word not in RESERVED and key in said and len(said[key][1]) >= min_clips:
                score = agreement(said[key][0], meant.get(target, [Counter()])[0])
                if score < agree:
                    dropped[f"{section}:{word}"] = [target, len(said[key][1]), round(score, 3)]
                    continue
            kept[word] = target
        vocabulary[section] = kept
    learned = {key.split(":", 1)[1] for key in dropped if not key.startswith("phrase_readings")}
    vocabulary["words"] = sorted(set(vocabulary["words"]) | learned)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(model, out)
    record(out, vocabulary)
    Path(out + "_dropped.json").write_text(json.dumps(dropped, indent=1))
    print(f"{out}: {len(dropped)} readings dropped ({out}_dropped.json)")


if __name__ == "__main__":
    main()

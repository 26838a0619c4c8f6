"""Words that say who moves, with what body part or how, never what motion: the vocabulary warning skips them.

    python -m train.incidental_words --wordnet WN_DICT_DIR    # writes motion_core/text/incidental_words.txt

Measured on prompts people type for actions the model knows (benchmarks/vocabulary_warnings.py --prompt-set),
the warning spoke on a quarter of them, mostly about the subject ("a kid shakes his head", "athlete sprints"), a
manner ("strolls ahead casually") or a body part ("hand to the brow"): the model makes the motion all the same,
and the warning told the animator something false. An out-of-corpus prompt's tell is its verb or activity noun
("swims", "does a cartwheel"), which these never are.

From WordNet (`train.wordnet`), a single word is incidental when
- its most used part of speech is adjective or adverb ("impatient", "casually"), or
- its commonest noun sense is a person, group or body part (noun.person, noun.group, noun.body: "athlete",
  "audience", "brow"), whatever its part of speech ("kid" is a verb too: to tease),
and none of its verb senses is a bodily action (`MOTION_VERB_TOPICS`: "chin" has chin-ups, "back" backs up), so
a word that may be the motion is still checked. The list is English, not a model's: one file serves every
checkpoint, and the engine needs no WordNet (its notice: motion_core/text/WORDNET_LICENSE.txt).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from train.wordnet import WordNet

OUT = Path(__file__).resolve().parents[1] / "motion_core" / "text" / "incidental_words.txt"
NOUN_TOPICS = {8: "noun.body", 14: "noun.group", 18: "noun.person"}
# verb.body, verb.competition, verb.consumption, verb.contact, verb.creation, verb.motion
MOTION_VERB_TOPICS = {29, 33, 34, 35, 36, 38}
_WORD = re.compile(r"[a-z]+")


def is_incidental(wordnet: WordNet, lemma: str) -> bool:
    kinds = wordnet.parts_of_speech(lemma)
    if not kinds or any(s.lexfile in MOTION_VERB_TOPICS for s in wordnet.lemma_synsets(lemma, "v")):
        return False
    if kinds[0] in ("a", "r"):
        return True
    nouns = wordnet.lemma_synsets(lemma, "n")
    return bool(nouns) and nouns[0].lexfile in NOUN_TOPICS


def incidental_words(wordnet: WordNet) -> list[str]:
    """Every single-word WordNet lemma that `is_incidental`, sorted."""
    return sorted(w for w in wordnet.senses if _WORD.fullmatch(w) and is_incidental(wordnet, w))


def write(words: list[str], out: Path) -> None:
    header = ("# Words that say who moves, with what body part or how, never what motion (train/incidental_words.py)."
              "\n# Derived from WordNet 3.0, Copyright 2006 by Princeton University, under the WordNet 3.0 license"
              "\n# (full text: motion_core/text/WORDNET_LICENSE.txt). One word per line.\n")
    out.write_text(header + "\n".join(words) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet", required=True, type=Path, help="a WordNet dict folder (see train/wordnet.py)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT}")
    args = parser.parse_args(argv)
    words = incidental_words(WordNet.load(args.wordnet))
    write(words, args.out)
    print(f"wrote {len(words)} incidental words to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

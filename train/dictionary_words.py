"""English words, from WordNet: the vocabulary warning trusts word vectors only for words a dictionary holds.

    python -m train.dictionary_words --wordnet WN_DICT_DIR    # writes motion_core/text/dictionary_words.txt.gz

Why: an unseen word counts as known when its word vectors sit near a training word, and both tables build a
word's vector from its word pieces. For an English word the pieces carry its meaning; for a made-up one they
carry only its spelling: "xyzzy" sat at cosine 0.40 of a training word and "glorps" at 0.56, above the shipped
0.30, so "a person florps" made an arbitrary motion without a word. A word no dictionary holds (in any of its
inflections, `motion_core.text.vocabulary.forms`) is therefore reported unless the model trained on it
(benchmarks/vocabulary_warnings.py, set "made_up").

The list: every single-word WordNet lemma and irregular form ("strode", "ran") and every hyphenated lemma run
together ("situp" for "sit-up", as people type it), two letters or more. The words
found only inside collocations are left out: they are mostly people's names and Latin ("emma" of "emma_goldman",
"rosmarus"), and a name is who moves, not what motion (the check skips capitalised words no dictionary holds).
English, not a model's: one file serves every checkpoint, and the engine needs no WordNet (its notice:
motion_core/text/WORDNET_LICENSE.txt).
"""
from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

from train.wordnet import WordNet

OUT = Path(__file__).resolve().parents[1] / "motion_core" / "text" / "dictionary_words.txt.gz"
_WORD = re.compile(r"[a-z]+")
HEADER = ("# English words (train/dictionary_words.py): WordNet's single-word lemmas and irregular forms.\n"
          "# Derived from WordNet 3.0, Copyright 2006 by Princeton University, under the WordNet 3.0 license\n"
          "# (full text: motion_core/text/WORDNET_LICENSE.txt). One word per line.\n")


def dictionary_words(wordnet: WordNet) -> list[str]:
    """Every single-word lemma and irregular form, and every hyphenated one run together ("sit-up" -> "situp":
    how people type them), sorted, two letters or more."""
    lemmas = {*wordnet.senses, *wordnet.exceptions}
    joined = {w.replace("-", "") for w in lemmas if "-" in w and _WORD.fullmatch(w.replace("-", ""))}
    return sorted(w for w in lemmas | joined if len(w) > 1 and _WORD.fullmatch(w))


def write(words: list[str], out: Path) -> None:
    # mtime=0: the same words give the same bytes, so a rerun leaves git nothing to commit
    out.write_bytes(gzip.compress((HEADER + "\n".join(words) + "\n").encode("utf-8"), compresslevel=9, mtime=0))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet", required=True, type=Path, help="a WordNet dict folder (see train/wordnet.py)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT}")
    args = parser.parse_args(argv)
    words = dictionary_words(WordNet.load(args.wordnet))
    write(words, args.out)
    print(f"wrote {len(words)} dictionary words to {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A copy of a model with its vocabulary section (words, WordNet readings) rebuilt on its whole training corpus's
captions, written phrasings included, for each --min-clips given. Texts only: each clip's sequence is sampled as
the corpus samples it (seed 0), its written captions drawn from their own generator exactly as the corpus's, its
core captions from the same sequence (their wording may differ from the corpus's files; the words are the same).

    python rebuild_vocabulary.py MODEL NUM_CLIPS WORDNET_DICT OUT_PREFIX MIN_CLIPS... (e.g. v14 20000 WN /tmp/vw 3 30)
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from motion_core.text.vocabulary import vocabulary_from_captions  # noqa: E402
from train.procedural.captions import describe, describe_written  # noqa: E402
from train.procedural.generate import sample_sequence, segment_actions  # noqa: E402
from train.vocabulary import add_readings, record  # noqa: E402


def corpus_captions(num: int, written: int = 2) -> tuple[list, list]:
    """(core, written) captions of the first `num` clips, each as (caption, actions, clip)."""
    core, said = [], []
    for index in range(num):
        rng = np.random.default_rng([0, index])
        segments = sample_sequence(rng)
        actions = segment_actions(segments)
        core += [(caption, actions, index) for caption in describe(rng, segments, 3)]
        written_rng = np.random.default_rng([0, index, 1])
        said += [(caption, actions, index) for caption in describe_written(written_rng, segments, written)]
    return core, said


def main() -> None:
    model, num, wordnet, prefix, *min_clips = sys.argv[1:]
    core, said = corpus_captions(int(num))
    pairs = core + said
    shipped = json.loads((Path(model) / "config.json").read_text())["vocabulary"]
    for least in map(int, min_clips):
        vocabulary = vocabulary_from_captions(pairs, min_clips=least)
        vocabulary["threshold"] = shipped["threshold"]
        vocabulary = add_readings(vocabulary, wordnet)
        out = f"{prefix}{least}"
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(model, out)
        record(out, vocabulary)
        print(f"{out}: {len(vocabulary['words'])} words (shipped {len(shipped['words'])}), "
              f"{len(vocabulary['readings'])} readings (shipped {len(shipped['readings'])})")


if __name__ == "__main__":
    main()

"""The training vocabulary a checkpoint records: caption words and actions, taken from the corpus itself.

    python -m train.vocabulary --data CORPUS --checkpoint MODEL_DIR     # record CORPUS's vocabulary in MODEL_DIR
    python -m train.vocabulary --procedural 3000 --checkpoint MODEL_DIR # from 3000 procedural clips, in memory
    ... --wordnet WN_DICT_DIR     # also record word readings ("leaps" read as "jumps"; train.word_readings)

The denoiser stage records it when it exports (see `train.stages.DenoiserStage.export`); this command adds it to
a checkpoint exported before that existed (the bundled default model). The engine uses it to warn about prompt
words the model never learned (`motion_core.text.vocabulary`). Nothing here is a hard-coded list: the words come from
the corpus's training captions (texts/), the actions from its meta.json (procedural corpora) or, for the
procedural generator, from the clips it generates.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import re

from motion_core.text.vocabulary import vocabulary_from_captions

# A caption word counts as learned once the corpus shows it in this many different clips (see
# vocabulary_from_captions): rare words of a few mocap descriptions would otherwise silence the warning.
MIN_CLIPS = 3
_REPEAT = re.compile(r"_rep\d+$")   # a clip repeated to weigh more in training is still one clip


def corpus_vocabulary(root: str | Path, texts_dir: str = "texts", split: str | None = "train",
                      min_clips: int = MIN_CLIPS) -> dict:
    """Vocabulary of a corpus in HumanML3D layout: its `split`'s captions, and the actions of its meta.json."""
    from train.data.texts import parse_caption_line
    root = Path(root)
    ids = None
    if split is not None and (root / f"{split}.txt").is_file():
        ids = [line.strip() for line in (root / f"{split}.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    clips = {}
    if (root / "meta.json").is_file():
        clips = json.loads((root / "meta.json").read_text(encoding="utf-8")).get("clips", {})
    files = [root / texts_dir / f"{i}.txt" for i in ids] if ids is not None else sorted((root / texts_dir).glob("*.txt"))
    pairs = []
    for file in files:
        if not file.is_file():
            continue
        actions = list(clips.get(file.stem, {}).get("actions", []))
        for line in file.read_text(encoding="utf-8").splitlines():
            try:
                pairs.append((parse_caption_line(line).caption, actions, _REPEAT.sub("", file.stem)))
            except ValueError:
                continue
    return vocabulary_from_captions(pairs, min_clips=min_clips)


def procedural_vocabulary(num: int, seed: int = 0, min_clips: int = MIN_CLIPS) -> dict:
    """Vocabulary of the first `num` clips the procedural generator makes for `seed` (training captions only)."""
    from train.procedural.generate import generate_clip
    pairs = []
    for index in range(num):
        clip = generate_clip(seed, index)
        pairs.extend((line.caption, list(clip.meta["actions"]), index) for line in clip.captions)
    return vocabulary_from_captions(pairs, min_clips=min_clips)


def add_readings(vocabulary: dict, wordnet_dir: str | Path) -> dict:
    """`vocabulary` with ``readings`` and ``verb_readings`` ({unseen word: trained word}, from WordNet; see
    `train.word_readings`), ``nominal_targets``, ``thing_nouns`` and WordNet's notice."""
    from motion_core.text.readings import WORDNET_NOTICE
    from train.word_readings import word_readings
    from train.wordnet import WordNet
    vocabulary.update(word_readings(vocabulary["words"], WordNet.load(wordnet_dir)))
    vocabulary["readings_notice"] = WORDNET_NOTICE
    return vocabulary


def record(checkpoint: str | Path, vocabulary: dict) -> Path:
    """Write `vocabulary` into a checkpoint's config.json (validated; the tensors are untouched)."""
    from motion_core.formats.checkpoint import CONFIG_NAME, read_config, validate_config
    path = Path(checkpoint)
    config = read_config(path)
    config["vocabulary"] = vocabulary
    validate_config(config)
    tmp = path / (CONFIG_NAME + ".tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path / CONFIG_NAME)
    return path


def stored_vocabulary(parser: argparse.ArgumentParser, checkpoint: Path | None) -> dict:
    from motion_core.formats.checkpoint import read_config
    if checkpoint is None:
        parser.error("--stored needs --checkpoint")
    vocabulary = read_config(checkpoint).get("vocabulary")
    if not vocabulary or "words" not in vocabulary:
        parser.error(f"{checkpoint} records no vocabulary: build one with --data or --procedural")
    return dict(vocabulary)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.vocabulary", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="corpus in HumanML3D layout (texts/, train.txt, meta.json)")
    source.add_argument("--procedural", type=int, metavar="N", help="generate N procedural clips in memory")
    source.add_argument("--stored", action="store_true", help="the vocabulary --checkpoint records already (to "
                        "add or renew its word readings with --wordnet without the corpus)")
    parser.add_argument("--seed", type=int, default=0, help="procedural seed (default 0, as the shipped corpus)")
    parser.add_argument("--texts-dir", default="texts")
    parser.add_argument("--checkpoint", type=Path, help="record the vocabulary in this checkpoint's config.json")
    parser.add_argument("--threshold", type=float, help="word-vector closeness at which an unseen word counts as "
                        "known, measured for this vocabulary (benchmarks/vocabulary_warnings.py --checkpoint); "
                        "recorded with it (default: motion_core.text.vocabulary.DEFAULT_THRESHOLD)")
    parser.add_argument("--min-clips", type=int, default=MIN_CLIPS,
                        help=f"clips a caption word must appear in to count as learned (default {MIN_CLIPS})")
    parser.add_argument("--wordnet", type=Path, help="a WordNet dict folder (see train/wordnet.py for where to get "
                        "one): also record word readings, the trained word each unseen English word is read as")
    args = parser.parse_args(argv)
    if args.stored:
        vocabulary = stored_vocabulary(parser, args.checkpoint)
    elif args.data is not None:
        vocabulary = corpus_vocabulary(args.data, args.texts_dir, min_clips=args.min_clips)
    else:
        vocabulary = procedural_vocabulary(args.procedural, args.seed, min_clips=args.min_clips)
    if args.threshold is not None:
        if not 0.0 < args.threshold <= 1.0:
            raise SystemExit(f"--threshold must be in (0, 1], got {args.threshold}")
        vocabulary["threshold"] = args.threshold
    if args.wordnet is not None:
        add_readings(vocabulary, args.wordnet)
    print(f"{len(vocabulary['words'])} words, {len(vocabulary['actions'])} actions: "
          f"{', '.join(vocabulary['actions'])}")
    if "readings" in vocabulary:
        print(f"{len(vocabulary['readings'])} word readings ({len(vocabulary['verb_readings'])} as verbs) and "
              f"{len(vocabulary.get('phrase_readings', {}))} phrase readings from WordNet")
    if args.checkpoint is not None:
        record(args.checkpoint, vocabulary)
        print(f"recorded in {args.checkpoint / 'config.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Length predictors side by side: their error on a corpus split, and the lengths they give counted prompts.

    python benchmarks/length_predictors.py --data CORPUS --checkpoints A B [--split val] [--from-clip 3000]

`--from-clip N` scores only procedural clips p{N:06d} and later: with `--num 12000`, clips the 3,000-clip
corpus never had, so neither predictor trained on them whichever corpus each was fitted on. The counted prompts
matter because the denoiser fills a longer clip with more repeats: "a person hops forward twice" at 80 frames
hops three times.

The respelled view takes the split's captions that say a count and spells it as training never did ("twice" ->
"two times", "three times" -> "3 times", "once" -> "one time"): a predictor that reads counts, not spellings,
keeps its error there.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.engine import Engine  # noqa: E402
from motion_core.generation.lengths import predict_frames  # noqa: E402
from motion_core.interfaces.bench_report import stamp_and_save  # noqa: E402
from train.length import CaptionSet, caption_lengths, embed, evaluate  # noqa: E402

COUNTED = ["someone hops forward twice", "a person hops forward twice", "someone hops forward two times",
           "a person hops once on the left foot", "a person hops three times on the right foot",
           "a person jumps forward twice", "a person jumps forward three times", "someone claps twice",
           "a person does three squats", "someone punches twice with the left fist"]

RESPELLINGS = {"once": "one time", "twice": "two times", "three times": "3 times", "four times": "4 times"}
_COUNT = re.compile(r"\b(" + "|".join(RESPELLINGS) + r")\b")


def respelled(data: CaptionSet) -> tuple[CaptionSet, CaptionSet]:
    """(the pairs whose caption says a count, the same pairs with the count respelled: see the module doc)."""
    keep = [i for i, caption in enumerate(data.captions) if _COUNT.search(caption)]
    remap = {old: new for new, old in enumerate(keep)}
    pairs = [k for k, i in enumerate(data.index) if int(i) in remap]
    index = np.asarray([remap[int(data.index[k])] for k in pairs], dtype=np.int64)
    frames = data.frames[pairs]
    captions = [data.captions[i] for i in keep]
    again = [_COUNT.sub(lambda m: RESPELLINGS[m.group(1)], caption) for caption in captions]
    return CaptionSet(captions, index, frames), CaptionSet(again, index, frames)


def split_view(data: Path, split: str, from_clip: int | None, folder: Path) -> Path:
    """`data` itself, or `folder` made a view of it (links) whose `split` list keeps procedural clips from
    `from_clip` on."""
    if from_clip is None:
        return data
    view = Path(folder)
    for item in data.iterdir():
        if item.name != f"{split}.txt":
            (view / item.name).symlink_to(item.resolve())
    ids = (data / f"{split}.txt").read_text().split()
    kept = [i for i in ids if i.startswith("p") and i[1:].isdigit() and int(i[1:]) >= from_clip]
    (view / f"{split}.txt").write_text("\n".join(kept) + "\n")
    return view


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--checkpoints", nargs="+", required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--from-clip", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="length_split_") as folder:
        data = caption_lengths(split_view(args.data, args.split, args.from_clip, Path(folder)), args.split)
    views = respelled(data)
    result = {"pairs": len(data), "counted_pairs": len(views[0]), "models": {}}
    for checkpoint in args.checkpoints:
        engine = Engine.load(checkpoint, device="cpu")
        if engine.length_predictor is None:
            parser.error(f"{checkpoint} has no length predictor")
        scores = evaluate(engine.length_predictor, embed(engine, data.captions), data)
        counted = dict(zip(COUNTED, predict_frames(engine, COUNTED)))
        said, respelt = (evaluate(engine.length_predictor, embed(engine, view.captions), view) for view in views)
        result["models"][checkpoint] = {**scores, "counted_prompts_frames": counted,
                                        "counted_captions": said, "counted_captions_respelled": respelt}
        print(f"{checkpoint}: MAE {scores['mae_frames']:.1f} frames, bin accuracy {scores['accuracy']:.3f}, "
              f"within one bin {scores['within_one_bin']:.3f} on {len(data)} caption/length pairs")
        print(f"    captions that say a count ({len(views[0])} pairs): MAE {said['mae_frames']:.1f} frames as "
              f"written, {respelt['mae_frames']:.1f} with the count respelled")
        for prompt, frames in counted.items():
            print(f"    {frames:4d}  {prompt}")
    return stamp_and_save(result, "length_predictors", started, args.out, args)


if __name__ == "__main__":
    main()

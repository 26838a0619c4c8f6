"""Graft a sentence gist onto a trained wordvec model: the same model, until text tuning teaches it to use the gist.

    python -m train.sentence_gist --checkpoint motion_core/default_model --sentence-vectors SV --out M2
    python -m train.text_tuning --checkpoint M2 ...        # then tune: the gist's projection is trained with the rest

Adds the ``text.gist.*`` tensors (`motion_core.text.sentence_gist`: the frozen sentence vectors and tokenizer of
``python -m train.sentence_vectors``, and a projection that starts at zero) and the gist's sizes to the config's
``architecture.text``. A zero projection adds nothing to any position, so the grafted model encodes every prompt
exactly as the original does; that is checked on a few prompts before the model is written.
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch

CHECK_PROMPTS = ("a person walks forward", "someone squares up like a prizefighter, then waves", "")


def graft(checkpoint: str | Path, vectors: str | Path, out: str | Path, log=print) -> Path:
    from motion_core.engine import Engine
    from motion_core.formats.checkpoint import load_checkpoint, save_checkpoint
    from motion_core.text.sentence_gist import SentenceGist
    config, tensors = load_checkpoint(checkpoint)
    text = config["architecture"]["text"]
    if text.get("type") != "wordvec":
        raise ValueError(f"{checkpoint}: a sentence gist goes on a wordvec text encoder, not {text.get('type')!r}")
    if "gist" in text:
        raise ValueError(f"{checkpoint}: its text encoder has a sentence gist already")
    gist = SentenceGist(text["dim"], vectors=str(vectors))
    grafted = copy.deepcopy(config)
    grafted["architecture"]["text"]["gist"] = gist.config()
    for name, tensor in gist.state_dict().items():
        tensors[f"text.gist.{name}"] = tensor.detach().clone().contiguous()
    path = save_checkpoint(out, tensors, grafted)
    before, after = Engine.load(checkpoint, device="cpu"), Engine.load(path, device="cpu")
    with torch.no_grad():
        old, _ = before.text_encoder.encode(list(CHECK_PROMPTS))
        new, _ = after.text_encoder.encode(list(CHECK_PROMPTS))
    if not torch.equal(old, new):
        raise RuntimeError(f"the grafted model encodes prompts differently from {checkpoint} (it must not)")
    log(f"wrote {path}: {gist.config()['vocab_size']} sentence-vector tokens x {gist.config()['dim']} grafted on "
        f"{checkpoint}; encodings unchanged")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.sentence_gist", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a trained model with a wordvec text encoder")
    parser.add_argument("--sentence-vectors", required=True, help="python -m train.sentence_vectors' output")
    parser.add_argument("--out", required=True, help="where to write the grafted model")
    args = parser.parse_args(argv)
    try:
        graft(args.checkpoint, args.sentence_vectors, args.out)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

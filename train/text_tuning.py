"""Teaching a trained model's text encoder to read descriptions, with the denoiser untouched (CPU or GPU).

    python -m train.text_tuning --checkpoint motion_core/default_model --data CORPUS --wordnet DIR --out M2 \
        [--steps 1500] [--batch 64] [--lr 1e-4] [--phrasings [FILE]] [--phrasing-share 0.5] [--device cuda] \
        [--gist-lr 1e-3]                          # a model with a sentence gist (train.sentence_gist)

Why: the encoder learned the corpus's phrasings, and a prompt in other words ("strikes the palms together" for
"claps") conditions the denoiser on something it never met. Here the encoder (the student) is shown training
captions said another way (`train.caption_variants`: WordNet synonyms, narrower words, definitions; with
`--phrasings`, also the written phrasings of `train.procedural.written_phrasings` via `train.phrasing_pairs`, a
`--phrasing-share` of each batch) and taught that each conditions the denoiser as its caption does under the
encoder as trained (the teacher, frozen).

What the student must reproduce, for a variant against its caption's teacher encoding:
- the pooled text vector the denoiser's text adapter makes: it modulates every block of the denoiser;
- the output of every attention that reads the text tokens (`text_readers`: the bottleneck's cross-attention and,
  in a U-Net grown with `text_levels`, each level's) for real queries (`query_bank`: captured while sampling
  training captions), so the tokens the denoiser attends to say the same thing whatever their number;
- the length predictor's distribution over lengths.
And for the caption itself, token by token, what the teacher gives (an anchor: what the model followed, it
keeps following). Matching these instead of the denoiser's output needs no pass through the Mamba U-Net, so a
step costs a few text-encoder passes: 2,500 steps take ~40 minutes on two CPU cores, nearly all of it the
encoder's matrix products, hence `--device cuda`: ~4 minutes on one H100 (five tunings sharing it, 2026-12-06).

Prompts go through `Engine.read` as the engine reads them (unseen words swapped for trained ones), and only the
corpus's training split and *training* captions are used: held-out phrasings stay unseen. The written model
is the checkpoint with the tuned encoder weights, in the checkpoint's dtypes, and records the tuning in
``config["training"]["text_tuning"]``.
"""
from __future__ import annotations

import argparse
import copy
import math
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from motion_core.models.denoiser import TextCrossAttention
from train.caption_variants import CaptionVariants, TaggedCaption
from train.phrasing_pairs import PhrasingPairs
from train.procedural.written_phrasings import load_bank
from train.training_record import record_round
from train.wordnet import WordNet

# the frozen tables and tokenizers (word vectors; the sentence gist's): not tuned, not rewritten
FROZEN_BUFFERS = ("table", "tokenizer_json", "gist.table", "gist.tokenizer_json")


def training_captions(corpus: str | Path, split: str = "train") -> list[TaggedCaption]:
    """The tagged training captions of a corpus split's clips (`texts/`, never the held-out folders), unique."""
    root = Path(corpus)
    ids = (root / f"{split}.txt").read_text().split()
    seen: dict[str, TaggedCaption] = {}
    for clip in ids:
        path = root / "texts" / f"{clip}.txt"
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            caption = TaggedCaption.parse(line)
            if caption is not None:
                seen.setdefault(caption.text.lower(), caption)
    if not seen:
        raise ValueError(f"{root} has no tagged training captions for split {split!r}")
    return list(seen.values())


def text_readers(denoiser: torch.nn.Module) -> list[tuple[torch.nn.Module, torch.Tensor]]:
    """(attention, gate) of every place the denoiser reads the text tokens; gate * attention(queries, tokens) is
    what each adds to its stream: the bottleneck mixers' cross-attention, then any level's `TextCrossAttention`,
    then the summary its scans read first (`text_scan_levels`; ungated: its learned queries plus this)."""
    readers = [(mixer.cross_attn, mixer.cross_gate) for mixer in denoiser.mid]
    readers += [(m.attn, m.gate) for m in denoiser.modules() if isinstance(m, TextCrossAttention)]
    summary = getattr(denoiser, "summary", None)
    if summary is not None:
        readers.append((summary.attn, torch.ones_like(summary.queries[0])))
    return readers


def query_bank(engine, prompts: list[str], seed: int = 0, max_queries: int = 8192) -> list[torch.Tensor]:
    """Per text reader (`text_readers`), (Q, width) queries its attention saw while sampling `prompts`."""
    readers = text_readers(engine.denoiser)
    captured: list[list[torch.Tensor]] = [[] for _ in readers]
    hooks = [attention.register_forward_pre_hook(
        lambda module, args, k=k: captured[k].append(args[0].detach().reshape(-1, args[0].shape[-1])))
        for k, (attention, _) in enumerate(readers)]
    try:
        engine.generate(prompts, seed=seed, foot_cleanup=False)
    finally:
        for hook in hooks:
            hook.remove()
    generator = torch.Generator().manual_seed(seed)
    banks = []
    for chunks in captured:
        queries = torch.cat(chunks).float()
        pick = torch.randperm(len(queries), generator=generator)[:max_queries]
        banks.append(queries[pick])
    return banks


class Conditioning:
    """What the frozen denoiser and length predictor make of an encoding, for the losses."""

    def __init__(self, engine, banks: list[torch.Tensor], queries_per_prompt: int = 32, length_weight: float = 1.0):
        self.adapter = engine.denoiser.text
        self.readers = text_readers(engine.denoiser)
        self.length = engine.length_predictor
        self.banks = banks
        self.k = queries_per_prompt
        self.length_weight = length_weight

    def __call__(self, tokens, mask, queries: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        text, text_mask, pooled = self.adapter(tokens, mask)
        out = {"pooled": pooled}
        for m, ((attention, gate), q) in enumerate(zip(self.readers, queries)):
            out[f"cross{m}"] = gate * attention(q, text, key_mask=text_mask)
        # No count input: a variant keeps its caption's count, so both read alike. A count-free predictor reads
        # the text without the count when generating; here it reads the whole caption, which still asks a variant
        # to be read as its caption is.
        if self.length is not None:
            out["length"] = self.length(tokens, mask)
        return out

    def draw_queries(self, batch: int, generator: torch.Generator) -> list[torch.Tensor]:
        return [bank[torch.randint(len(bank), (batch, self.k), generator=generator)] for bank in self.banks]


def conditioning_loss(student: dict, teacher: dict, scales: dict, length_weight: float = 1.0) -> torch.Tensor:
    """Mean squared differences, each over the teacher's own spread (so the terms weigh alike); the length
    distribution by KL divergence, `length_weight` times (its median is the clip's length: a small shift of a
    broad distribution moves it, and a longer clip repeats a counted action: "hops twice" hopped three times)."""
    total = torch.zeros(())
    for key, target in teacher.items():
        if key == "length":
            total = total + length_weight * F.kl_div(F.log_softmax(student[key], -1), F.log_softmax(target, -1),
                                                     log_target=True, reduction="batchmean")
        else:
            total = total + F.mse_loss(student[key], target) / scales[key]
    return total


def tune(engine, captions: list[TaggedCaption], variants: CaptionVariants, steps: int = 1500, batch: int = 64,
         lr: float = 1e-4, anchor_weight: float = 1.0, seed: int = 0, bank_prompts: int = 48,
         length_weight: float = 1.0, phrasings: PhrasingPairs | None = None, phrasing_share: float = 0.5,
         gist_lr: float | None = None, log=print) -> dict:
    """Tune `engine.text_encoder` in place; returns the run's record (losses before and after, timings).

    With `phrasings`, `phrasing_share` of each batch are written-phrasing pairs, and the record's losses gain a
    "phrasing" part: the check pairs' variant loss (phrasings never trained on)."""
    started = time.time()
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    for module in (engine.denoiser, engine.length_predictor):
        if module is not None:
            module.eval().requires_grad_(False)
    teacher = copy.deepcopy(engine.text_encoder).eval().requires_grad_(False)
    student = engine.text_encoder.train()
    trainable = list(student.parameters())   # the word table and tokenizer are buffers, never parameters
    for p in trainable:
        p.requires_grad_(True)
    rng.shuffle(captions)
    held = captions[: max(1, len(captions) // 20)]   # variants of these are never trained on: the check
    train = captions[len(held):]
    log(f"text tuning: {len(train)} captions to vary, {len(held)} kept for checking; "
        "capturing the text attentions' queries")
    banks = query_bank(engine, [c.text for c in rng.sample(train, min(bank_prompts, len(train)))], seed)
    cond = Conditioning(engine, banks, length_weight=length_weight)
    check = [(c.text, variants.vary(c)) for c in held]
    check = [(c, v) for c, v in check if v is not None]
    phrasing_check = phrasings.check_pairs(seed) if phrasings is not None else []
    scales = _scales(engine, teacher, cond, [c for c, _ in check], generator)
    before = evaluate(engine, student, teacher, cond, check, scales, seed, phrasing_check)
    log(f"before: {_losses(before)}")
    optimiser = torch.optim.AdamW(parameter_groups(student, lr, gist_lr), weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    curve = []
    for step in range(1, steps + 1):
        written = sum(rng.random() < phrasing_share for _ in range(batch)) if phrasings is not None else 0
        pairs = [(c.text, variants.vary(c)) for c in rng.choices(train, k=batch - written)]
        pairs = [(c, v) for c, v in pairs if v is not None] + [phrasings.draw(rng) for _ in range(written)]
        loss, parts = pair_loss(engine, student, teacher, cond, pairs, scales, generator, anchor_weight)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimiser.step()
        schedule.step()
        if step == 1 or step % 100 == 0 or step == steps:
            curve.append({"step": step, **parts})
            log(f"step {step}/{steps}: variant {parts['variant']:.4f} caption {parts['caption']:.4f} "
                f"({time.time() - started:.0f} s)")
    student.eval().requires_grad_(False)
    after = evaluate(engine, student, teacher, cond, check, scales, seed, phrasing_check)
    log(f"after: {_losses(after)}")
    record = tuning_record(steps, batch, lr, anchor_weight, length_weight, seed, captions=len(train),
                           check_captions=len(check), before=before, after=after, curve=curve,
                           seconds=round(time.time() - started, 1))
    if phrasings is not None:
        record["phrasing_share"] = phrasing_share
    if gist_lr is not None:
        record["gist_lr"] = gist_lr
    return record


def parameter_groups(student, lr: float, gist_lr: float | None) -> list[dict]:
    """The optimiser's groups: a sentence gist's projection at `gist_lr` (default `lr`), the rest at `lr`.

    Why its own rate: the projection starts at zero on an encoder that already fits its captions, and at the
    encoder's rate it barely moves (measured: after 1,200 steps at 1e-4 its largest weight was 0.007)."""
    gist = [p for name, p in student.named_parameters() if name.startswith("gist.")]
    rest = [p for name, p in student.named_parameters() if not name.startswith("gist.")]
    groups = [{"params": rest, "lr": lr}]
    if gist:
        groups.append({"params": gist, "lr": lr if gist_lr is None else gist_lr})
    return groups


def _losses(losses: dict) -> str:
    return ", ".join(f"{key} loss {value:.4f}" for key, value in losses.items())


def tuning_record(steps: int, batch: int, lr: float, anchor_weight: float, length_weight: float, seed: int,
                  captions: int = 0, check_captions: int = 0, before: dict | None = None, after: dict | None = None,
                  curve: list | None = None, seconds: float = 0.0) -> dict:
    """What a tuning run records (`tune` returns it; its "curve" is left out of the written checkpoint)."""
    unmeasured = {"variant": 0.0, "caption": 0.0}
    return {"steps": steps, "batch": batch, "lr": lr, "anchor_weight": anchor_weight,
            "length_weight": length_weight, "seed": seed, "captions": captions, "check_captions": check_captions,
            "before": before or unmeasured, "after": after or unmeasured, "curve": curve or [], "seconds": seconds}


def pair_loss(engine, student, teacher, cond, pairs, scales, generator, anchor_weight):
    """(loss, {"variant": float, "caption": float}) of a batch of (caption, variant) text pairs."""
    texts = [engine.read(c).text for c, _ in pairs]
    varied = [engine.read(v).text for _, v in pairs]
    queries = cond.draw_queries(len(pairs), generator)
    with torch.no_grad():
        t_tokens, t_mask = teacher.encode(texts)
        target = cond(t_tokens, t_mask, queries)
    s_tokens, s_mask = student.encode(varied)
    variant = conditioning_loss(cond(s_tokens, s_mask, queries), target, scales, cond.length_weight)
    c_tokens, c_mask = student.encode(texts)
    caption = F.mse_loss(c_tokens[c_mask], t_tokens[t_mask]) / scales["tokens"]
    caption = caption + conditioning_loss(cond(c_tokens, c_mask, queries), target, scales, cond.length_weight)
    return variant + anchor_weight * caption, {"variant": variant.item(), "caption": caption.item()}


def evaluate(engine, student, teacher, cond, check, scales, seed, phrasing_check=()) -> dict:
    """Mean losses on the held-aside captions and their (fixed) variants, without training; with
    `phrasing_check` pairs, their variant loss as "phrasing"."""
    def mean_losses(pairs):
        generator = torch.Generator().manual_seed(seed + 1)
        losses = [pair_loss(engine, student, teacher, cond, pairs[i:i + 64], scales, generator, 1.0)[1]
                  for i in range(0, len(pairs), 64)]
        return {key: float(sum(x[key] for x in losses) / len(losses)) for key in ("variant", "caption")}
    was_training = student.training
    student.eval()
    with torch.no_grad():
        out = mean_losses(check)
        if phrasing_check:
            out["phrasing"] = mean_losses(list(phrasing_check))["variant"]
    student.train(was_training)
    return out


def _scales(engine, teacher, cond, captions, generator) -> dict:
    """Each matched quantity's variance over the teacher's encodings of `captions` (the loss's yardstick)."""
    with torch.no_grad():
        texts = [engine.read(c).text for c in captions[:256]]
        tokens, mask = teacher.encode(texts)
        out = cond(tokens, mask, cond.draw_queries(len(texts), generator))
    scales = {key: float(value.var().clamp(min=1e-8)) for key, value in out.items() if key != "length"}
    scales["tokens"] = float(tokens[mask].var().clamp(min=1e-8))
    return scales


def tuned_config(config: dict, record: dict) -> dict:
    """`config` with `record` as its newest text tuning (earlier tunings kept; `save_checkpoint` validates it)."""
    record_round(config.setdefault("training", {}), "text_tuning", {k: v for k, v in record.items() if k != "curve"})
    return config


def check_record_fits(source: str | Path, args) -> None:
    """Fail now, not after the tuning's half hour, if the model's record could not take one more tuning."""
    from motion_core.formats.checkpoint import read_config, validate_config
    probe = {**tuning_record(args.steps, args.batch, args.lr, args.anchor_weight, args.length_weight, args.seed),
             "data": str(args.data)}
    validate_config(tuned_config(copy.deepcopy(read_config(source)), probe))


def tuned_keys(tensors: dict) -> list[str]:
    """The checkpoint tensors tuning changes: every text-encoder tensor but the frozen buffers, sorted."""
    frozen = {f"text.{name}" for name in FROZEN_BUFFERS}
    return sorted(k for k in tensors if k.startswith("text.") and k not in frozen)


def write(engine, source: str | Path, out: str | Path, record: dict) -> Path:
    """The checkpoint at `source` with the tuned encoder's weights (in the stored dtypes), at `out`."""
    from motion_core.engine import Engine
    from motion_core.formats.checkpoint import load_checkpoint, save_checkpoint
    config, tensors = load_checkpoint(source)
    state = engine.text_encoder.state_dict()
    for key in tuned_keys(tensors):
        tensors[key] = state[key.removeprefix("text.")].detach().cpu().to(tensors[key].dtype)
    path = save_checkpoint(out, tensors, tuned_config(config, record))
    Engine.load(path, device="cpu")   # it must load as the engine will
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.text_tuning", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="the model to tune (a checkpoint folder)")
    parser.add_argument("--data", required=True, help="its training corpus (HumanML3D layout with texts/)")
    parser.add_argument("--wordnet", required=True, help="a WordNet dict folder (see train/wordnet.py)")
    parser.add_argument("--out", required=True, help="where to write the tuned model")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--anchor-weight", type=float, default=1.0)
    parser.add_argument("--length-weight", type=float, default=1.0,
                        help="weight of the length distribution's match (default 1)")
    parser.add_argument("--phrasings", nargs="?", const="bundled", default=None,
                        help="also teach written phrasings (train/procedural/written_phrasings.json, or this file)")
    parser.add_argument("--phrasing-share", type=float, default=0.5,
                        help="with --phrasings: the share of each batch that is written-phrasing pairs (default 0.5)")
    parser.add_argument("--gist-lr", type=float, default=None,
                        help="learning rate of a sentence gist's projection (train.sentence_gist; default --lr)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu", help="where to tune (cpu, cuda, ...; default cpu)")
    parser.add_argument("--curve", default=None, help="write the loss curve (JSON lines) here")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch < 2:
        parser.error("--steps must be >= 1 and --batch >= 2")
    if not 0.0 <= args.phrasing_share < 1.0:
        parser.error("--phrasing-share must be in [0, 1)")
    try:
        phrasings = None if args.phrasings is None else PhrasingPairs(
            load_bank(None if args.phrasings == "bundled" else args.phrasings), seed=args.seed)
    except (OSError, ValueError) as error:
        parser.error(f"--phrasings: {error}")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    from motion_core.engine import Engine
    from motion_core.runtime.device import DeviceError
    try:
        engine = Engine.load(args.checkpoint, device=args.device, cuda_graphs=False)
    except DeviceError as error:
        parser.error(f"--device: {error}")
    if not getattr(engine.text_encoder, "trainable", False):
        parser.error(f"{args.checkpoint}'s text encoder is frozen (OpenCLIP): there is nothing to tune")
    if args.gist_lr is not None and getattr(engine.text_encoder, "gist", None) is None:
        parser.error(f"--gist-lr: {args.checkpoint} has no sentence gist (graft one: python -m train.sentence_gist)")
    try:
        check_record_fits(args.checkpoint, args)
    except ValueError as error:   # CheckpointError included
        parser.error(f"{args.checkpoint}'s training record cannot take another tuning: {error}")
    captions = training_captions(args.data)
    variants = CaptionVariants(WordNet.load(args.wordnet), seed=args.seed)
    with torch.enable_grad():
        record = tune(engine, captions, variants, args.steps, args.batch, args.lr, args.anchor_weight, args.seed,
                      length_weight=args.length_weight, phrasings=phrasings, phrasing_share=args.phrasing_share,
                      gist_lr=args.gist_lr)
    record["data"] = str(args.data)
    if args.curve:
        import json
        Path(args.curve).write_text("".join(json.dumps(row) + "\n" for row in record["curve"]))
    print(f"wrote {write(engine, args.checkpoint, args.out, record)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

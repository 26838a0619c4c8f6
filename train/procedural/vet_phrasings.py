"""Vetting newly written phrasings before they join the bank (`written_phrasings.json`).

    python -m train.procedural.vet_phrasings NEW.json [NEW2.json ...] [--bank BANK] [--out OUT] [--report R]

Writers see only training phrasings and the bank, yet their English can still meet the held-out evaluation's:
the same synonym, a phrase holding a held-out paraphrase, or a near copy ("creeps along on the balls of the
feet"). Each such phrasing would teach the model an answer it is later graded on, so it is dropped here, with
its reason, and everything else joins the bank after the bank's own phrasings (which stay as they are).

Dropped: what `written_phrasings.problems` refuses (unknown action, bad slots or sides, held-out synonyms); a
phrasing that holds, or is held in, a held-out phrase; one equal to a training phrase or already in the bank
(or written twice); one sharing `NGRAM` consecutive words with a held-out phrase.
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from train.procedural.written_phrasings import BANK_FILE, load_bank, problems

NGRAM = 5    # five shared words in a row is a copied phrase, not a shared idiom ("the left arm")
SLOT_FILLS = [{"side": s, "times": t} for s in ("left", "right") for t in ("once", "twice", "three times", "")]


def filled(phrasing: str) -> list[str]:
    """A phrasing as captions say it: every side and count filled in, spaces collapsed (ValueError on a stray
    brace)."""
    return sorted({" ".join(phrasing.format(**fill).split()) for fill in SLOT_FILLS})


def ngrams(text: str, n: int = NGRAM) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


class Vetter:
    """Checks phrasings against the corpus's training and held-out phrases and a bank; `reason` says why one
    cannot join (None: it can)."""

    def __init__(self, bank: dict[str, list[str]], training: set[str], heldout: set[str]):
        self.seen = {key: {" ".join(p.split()) for p in written} for key, written in bank.items()}
        self.training = set(training)
        self.heldout = set(heldout)
        self.heldout_ngrams = set().union(*(ngrams(h) for h in heldout))

    def reason(self, key: str, phrasing: str) -> str | None:
        found = problems({key: [phrasing]})
        if found:
            return "refused by the bank's checks: " + found[0]
        said = " ".join(phrasing.split())
        try:   # compared in lower case, as the held-out phrases are written
            forms = filled(said.lower())
        except (ValueError, IndexError, KeyError):
            return "has a brace that is not a {side} or {times} slot"
        if any(h in f or f in h for f in forms for h in self.heldout):
            return "holds or is held in a held-out phrase"
        if any(f in self.training for f in forms):
            return "is a training phrase"
        if said in self.seen.get(key, ()):
            return "is already in the bank"
        if any(ngrams(f) & self.heldout_ngrams for f in forms):
            return f"shares {NGRAM} words in a row with a held-out phrase"
        return None

    def admit(self, key: str, phrasing: str) -> str | None:
        """`reason`, and when there is none, remember the phrasing (a second copy is then refused)."""
        why = self.reason(key, phrasing)
        if why is None:
            self.seen.setdefault(key, set()).add(" ".join(phrasing.split()))
        return why


def merge(bank: dict[str, list[str]], new: dict[str, list[str]], vetter: Vetter) -> tuple[dict, list[dict]]:
    """(the bank with every admitted phrasing appended to its key, the dropped ones with their reasons)."""
    merged = {key: list(written) for key, written in bank.items()}
    dropped = []
    for key, written in new.items():
        if not isinstance(written, list):
            dropped.append({"key": key, "phrasing": repr(written), "reason": "not a list of phrasings"})
            continue
        for phrasing in written:
            if not isinstance(phrasing, str) or not phrasing.strip():
                dropped.append({"key": key, "phrasing": repr(phrasing), "reason": "not a phrasing"})
                continue
            said = " ".join(phrasing.split())
            why = vetter.admit(key, said)
            if why:
                dropped.append({"key": key, "phrasing": phrasing, "reason": why})
            else:
                merged.setdefault(key, []).append(said)
    return merged, dropped


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.procedural.vet_phrasings",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("new", nargs="+", type=Path, help="JSON files of newly written phrasings: key -> list")
    parser.add_argument("--bank", type=Path, default=BANK_FILE, help="the bank to add to (default: the bundled one)")
    parser.add_argument("--out", type=Path, default=None, help="where to write the merged bank (default: --bank)")
    parser.add_argument("--report", type=Path, default=None, help="write the dropped phrasings and counts here")
    args = parser.parse_args(argv)
    try:
        bank = load_bank(args.bank)
        written = [json.loads(path.read_text(encoding="utf-8")) for path in args.new]
    except (OSError, ValueError) as error:
        parser.error(str(error))
    if not all(isinstance(w, dict) for w in written):
        parser.error("each new file must be a JSON object: action key -> list of phrasings")
    from train.procedural.phrase_sets import all_phrases
    training, heldout = all_phrases()
    vetter = Vetter(bank, training, heldout)
    before = sum(len(v) for v in bank.values())
    dropped = []
    for new in written:
        bank, out = merge(bank, new, vetter)
        dropped += out
    after = sum(len(v) for v in bank.values())
    reasons = Counter(d["reason"].split(":")[0] for d in dropped)
    out_path = args.out or args.bank
    out_path.write_text(json.dumps(bank, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    load_bank(out_path)          # what was written must load as the corpus generator will read it
    summary = {"bank_before": before, "bank_after": after, "admitted": after - before, "dropped": len(dropped),
               "reasons": dict(reasons)}
    print(json.dumps(summary))
    if args.report:
        args.report.write_text(json.dumps({**summary, "dropped_phrasings": dropped}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""More ways to say each corpus action, written apart from the phrasebook's templates.

The phrasebook (`captions`, `phrasebook`) names each action in about eight templates; people say it in many more
ways ("snaps the left foot out in front" for a kick, "does star jumps" for jumping jacks). `written_phrasings.json`
holds about twenty-five more per base action (an action without its side: "kick" for kick_left and kick_right), with
the phrasebook's "{side}" and "{times}" slots. A key may pin a parameter its phrasings state:
"turn@angle_deg=180" holds the half turns ("makes an about-turn to the {side}"); a plain "turn" is a quarter turn;
"hop@distance>0" holds hops that travel ("hops forward"), so a hop on the spot is never captioned by them.

Who wrote it, and what they saw: three writer sessions (December 2026), each given only its actions' training
phrasings, nothing held out: not the held-out paraphrases, not the held-out synonyms (`heldout_words`, which the
bank never uses), not the prompt sets in benchmarks/prompt_sets/ (written by a fourth session, which saw neither).
Of what they wrote, the 20 phrasings that equalled or held a held-out paraphrase or a training phrasing were
dropped (tests/test_written_phrasings.py keeps the bank free of held-out paraphrases). A second round (2026-12-06,
four more writer sessions, each given its actions' training phrasings and the bank so far; nothing held out, nor
the prompt sets) added 1,519 phrasings, about half of them describing what the body does rather than naming the
action ("dips the chin and lifts it again"): of the 1,610 written, 37 used held-out synonyms, 16 held or were held
in a held-out phrase, one repeated a training phrasing, and 37 more shared five consecutive words with a held-out
phrase (most were common phrases, "the balls of the feet", but one was a near copy) and were dropped too. A third
round (2026-12-06, four writer sessions given the same kind of input for the 35 keys of the 34 actions model v10
followed worst: held-out paraphrase pass or training pass under 0.75) wrote 700 and `vet_phrasings` admitted 668
(dropped: 12 refused by `problems`, mostly held-out synonyms; 6 holding or held in a held-out phrase; 6 training
phrases; 8 sharing five words in a row with a held-out phrase). So the held-out rates still measure words nobody
showed the model; they do now favour actions chosen by those rates, which the prompt sets written apart
(benchmarks/prompt_sets/) check.

`train.text_tuning --phrasings` teaches a trained encoder these phrasings (`train.phrasing_pairs`).
"""
from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from train.procedural.actions import ACTIONS
from train.procedural.heldout_words import HELDOUT_WORDS

BANK_FILE = Path(__file__).with_name("written_phrasings.json")
# What a written phrasing never says: a clip with a style, size or overlay, or a curved path, is not what it says.
UNSAID = ("style", "size", "overlay")
_SLOT = re.compile(r"\{([^{}]*)\}")
_SIDE_WORD = re.compile(r"\b(left|right)\b")
_PIN = re.compile(r"^([a-z_]+)(=|>|<)(.+)$")
_RELATIONS = {"=": operator.eq, ">": operator.gt, "<": operator.lt}


@dataclass(frozen=True)
class Pin:
    """What a bank key's phrasings state about one parameter: equal to, above or below a number."""
    relation: str          # "=", ">" or "<"
    value: float

    def holds(self, value) -> bool:
        return value is not None and _RELATIONS[self.relation](float(value), self.value)


DEFAULT_PINS = {"turn": {"angle_deg": Pin("=", 90.0)}}   # an unpinned "turn" key holds quarter turns


def side_of(label: str) -> str | None:
    for side in ("left", "right"):
        if label.endswith("_" + side):
            return side
    return None


def base_of(label: str) -> str:
    """The action without its side: "kick_left" -> "kick"."""
    side = side_of(label)
    return label[: -len(side) - 1] if side else label


def split_key(key: str) -> tuple[str, dict[str, Pin]]:
    """A bank key's base action and pinned parameters: "turn@angle_deg=180" -> ("turn", {"angle_deg": =180}),
    "hop@distance>0" -> ("hop", {"distance": >0})."""
    base, *pins = key.split("@")
    pinned = {}
    for pin in pins:
        match = _PIN.match(pin)
        try:
            name, relation, value = match.groups() if match else ("", "", "")
            pinned[name] = Pin(relation, float(value))
        except ValueError:
            raise ValueError(f"bank key {key!r}: a pin is name=number, name>number or name<number, "
                             f"got {pin!r}") from None
    return base, pinned


def pins_of(key: str) -> dict[str, Pin]:
    """The parameters a bank key's phrasings state: its own pins, else its base's default ("turn": 90 degrees)."""
    base, pinned = split_key(key)
    return pinned or dict(DEFAULT_PINS.get(base, {}))


def pins_hold(key: str, params: dict) -> bool:
    """Whether `params` meets every pin of bank `key` (`pins_of`)."""
    return all(pin.holds(params.get(name)) for name, pin in pins_of(key).items())


def keys_saying(label: str, params: dict, bank: dict) -> list[str]:
    """The bank keys whose phrasings say `label` with `params`: none for a clip with something they never say
    (`UNSAID`, a curve), else those of its base whose pins `params` meets."""
    if any(k in params for k in UNSAID) or params.get("curve", 0.0) != 0.0:
        return []
    base = base_of(label)
    return [key for key in bank if split_key(key)[0] == base and pins_hold(key, params)]


def bases() -> dict[str, bool]:
    """Every base action of the corpus's registry -> whether it is sided."""
    out: dict[str, bool] = {}
    for label in ACTIONS:
        out[base_of(label)] = out.get(base_of(label), False) or side_of(label) is not None
    return out


def problems(bank: dict) -> list[str]:
    """What is wrong with a bank (empty when it is fine): unknown actions, bad pins, bad slots, a sided action's
    phrasing that does not say "{side}" (or names a side itself), words kept for the held-out synonym set."""
    known = bases()
    out = []
    if not isinstance(bank, dict):
        return ["a phrasing bank is a JSON object: base action -> list of phrasings"]
    for key, written in bank.items():
        try:
            base = split_key(key)[0]
        except ValueError as error:
            out.append(str(error))
            continue
        if base not in known:
            out.append(f"{base!r} is not a corpus action")
            continue
        if not isinstance(written, list) or not written or not all(isinstance(p, str) and p.strip() for p in written):
            out.append(f"{base}: needs a non-empty list of phrasings")
            continue
        for phrasing in written:
            slots = set(_SLOT.findall(phrasing))
            if slots - {"side", "times"}:
                out.append(f"{base}: {phrasing!r} has slots other than {{side}} and {{times}}")
            if known[base] and ("side" not in slots or _SIDE_WORD.search(phrasing.lower())):
                out.append(f"{base}: {phrasing!r} must name its side as {{side}}, and only so")
            reserved = set(re.findall(r"[a-z]+", phrasing.lower())) & HELDOUT_WORDS
            if reserved:
                out.append(f"{base}: {phrasing!r} uses held-out synonyms {sorted(reserved)}")
    return out


def load_bank(path: str | Path | None = None) -> dict[str, list[str]]:
    """The bank at `path` (default: the one beside this module), key -> phrasings, checked (`problems`);
    ValueError if it is not fine (or not JSON)."""
    path = Path(path or BANK_FILE)
    try:
        bank = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error})") from None
    found = problems(bank)
    if found:
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise ValueError(f"{path}: " + "; ".join(found[:5]) + more)
    return {key: [p.strip() for p in written] for key, written in bank.items()}


@lru_cache(maxsize=1)
def _bundled() -> dict[str, tuple[str, ...]]:
    return {key: tuple(written) for key, written in load_bank().items()}


def bundled_bank() -> dict[str, tuple[str, ...]]:
    """The bank beside this module, read once per process (the corpus generator asks for it per clip)."""
    return _bundled()

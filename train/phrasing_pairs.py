"""Training captions next to the same motion said in a written phrasing, for `train.text_tuning`.

A pair is (caption, variant): the caption in the corpus's training phrasings ("a man kicks with the left leg"), the
variant the same subject and action in a phrasing of `train.procedural.written_phrasings` ("a man snaps the left
foot out in front"). Text tuning teaches the encoder that the variant conditions the denoiser as the caption does,
so the phrasing need not occur in the corpus the denoiser learned from. A quarter of the pairs chain two actions
("..., then ...") so the phrasings are met inside longer prompts as well.

Both sides are built from the same parameters, so sides and counts agree ("{side}", "{times}"). Parameters that
pick among phrasings the written bank does not tell apart are pinned: no style, size, overlay or curve, a turn is a
quarter turn unless its bank key pins another angle ("turn@angle_deg=180"), a hop travels where its key says so
("hop@distance>0": parameters are drawn again until they do). A few phrasings of each bank key
(`check_per_action`) are kept out of training, the same ones whatever the seed (so a second tuning round keeps
out what the first did): `check_pairs` builds the tuning's check from them.
"""
from __future__ import annotations

import random
import re

import numpy as np

from train.procedural.actions import ACTIONS
from train.procedural.captions import CONNECTORS, SUBJECTS, phrases, say_written
from train.procedural.written_phrasings import UNSAID, base_of, pins_hold, pins_of, split_key

TWO_ACTION_SHARE = 0.25
CHECK_SPLIT_SEED = 0


def plain_params(params: dict, key: str) -> dict | None:
    """`params` made what bank `key`'s phrasings say (see the module docstring): nothing `UNSAID`, no curve, the
    key's "=" pins; None if they miss one of its ">"/"<" pins (no value can be made up for those: draw again)."""
    params = {k: v for k, v in params.items() if k not in UNSAID}
    if "curve" in params:
        params["curve"] = 0.0
    pins = pins_of(key)
    params.update({name: pin.value for name, pin in pins.items() if pin.relation == "="})
    return params if pins_hold(key, params) else None


_COUNT = re.compile(r"\b(once|twice|times|one|two|three|four|single|couple|few|several)\b")


def _same_count_said(captions: list[str], written_says_count: bool) -> list[str]:
    """The captions that say a count as the written phrasing does (all of them if none does): a variant silent on
    the count should not be taught the encoding of "three times"."""
    same = [c for c in captions if bool(_COUNT.search(c)) == written_says_count]
    return same or captions


class PhrasingPairs:
    """Draws (caption, variant) pairs; the bank is {key: phrasings} (`written_phrasings.load_bank`)."""

    def __init__(self, bank: dict[str, list[str]], seed: int = 0, check_per_action: int = 2,
                 two_action_share: float = TWO_ACTION_SHARE):
        # (label, bank key) for every action a key covers: "kick" covers kick_left and kick_right
        self.entries = [(label, key) for key in bank for label in ACTIONS if base_of(label) == split_key(key)[0]]
        if not self.entries:
            raise ValueError("the phrasing bank names none of the corpus's actions")
        # The check split does not follow `seed`: a model tuned again with another seed keeps the same phrasings
        # out, so its check still measures phrasings it never met.
        order = random.Random(CHECK_SPLIT_SEED)
        self.train: dict[str, list[str]] = {}
        self.check: dict[str, list[str]] = {}
        for key, written in bank.items():
            written = list(written)
            order.shuffle(written)
            kept = min(check_per_action, len(written) - 1)     # at least one phrasing left to train on
            self.check[key], self.train[key] = written[:kept], written[kept:]
        self.param_rng = np.random.default_rng(seed)   # action parameters, apart from the phrasing picks
        self.two_action_share = two_action_share

    def draw(self, rng: random.Random) -> tuple[str, str]:
        """One training pair: one action, or two chained."""
        count = 2 if rng.random() < self.two_action_share else 1
        return self._pair(rng, [(*rng.choice(self.entries), self.train) for _ in range(count)])

    def check_pairs(self, seed: int = 0) -> list[tuple[str, str]]:
        """One fixed pair per action and check phrasing (phrasings never drawn for training)."""
        rng = random.Random(seed)
        return [self._pair(rng, [(label, key, {key: [phrasing]})])
                for label, key in self.entries for phrasing in self.check[key]]

    def _pair(self, rng: random.Random, segments: list[tuple[str, str, dict]]) -> tuple[str, str]:
        """The caption and its variant of (label, bank key, phrasing pool) segments, chained."""
        subject, connector = rng.choice(SUBJECTS), rng.choice(CONNECTORS)
        captions, variants = [], []
        for label, key, pool in segments:
            params = self._params_saying(label, key)
            written = rng.choice(pool[key])
            captions.append(rng.choice(_same_count_said(phrases(label, params)[0], "{times}" in written)))
            variants.append(say_written(written, label, params))
        return f"{subject} {connector.join(captions)}", f"{subject} {connector.join(variants)}"

    def _params_saying(self, label: str, key: str, tries: int = 100) -> dict:
        """Parameters of `label` drawn from its sampler and made what bank `key` says (`plain_params`)."""
        for _ in range(tries):
            params = plain_params(ACTIONS[label].sample(self.param_rng), key)
            if params is not None:
                return params
        raise ValueError(f"{label}: {tries} draws of its parameters, none meets bank key {key!r}'s pins")

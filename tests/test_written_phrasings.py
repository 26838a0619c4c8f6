"""The written phrasing bank (train/procedural/written_phrasings.json) and the pairs text tuning learns from it."""
from __future__ import annotations

import json
import random
import re

import pytest

from train.phrasing_pairs import PhrasingPairs, plain_params
from train.procedural.captions import CONNECTORS, SUBJECTS, _TURN
from train.procedural.heldout_words import HELDOUT_WORDS
from train.procedural.phrase_sets import all_phrases
from train.procedural.vet_phrasings import filled
from train.procedural.written_phrasings import Pin, base_of, bases, keys_saying, load_bank, problems, split_key


def test_the_bundled_bank_covers_the_corpus_and_passes_its_own_checks():
    bank = load_bank()
    covered = {split_key(key)[0] for key in bank}
    assert covered == set(bases())                        # every base action of the registry has phrasings
    assert sum(len(v) for v in bank.values()) >= 10 * len(covered)
    assert problems(json.loads(json.dumps(bank))) == []


def test_no_written_phrasing_gives_away_a_held_out_one():
    """The held-out paraphrases and synonyms must stay unseen: no written phrasing holds, or is held in, one."""
    train, held = all_phrases()
    leaks = [(key, p) for key, written in load_bank().items() for p in written for f in filled(p)
             if any(h in f or f in h for h in held)]
    assert not leaks
    words = {w for written in load_bank().values() for p in written for w in re.findall(r"[a-z]+", p)}
    assert not words & HELDOUT_WORDS


@pytest.mark.parametrize("bank, says", [
    ({"moonwalk": ["glides backward"]}, "not a corpus action"),
    ({"kick": ["kicks high"]}, "must name its side"),
    ({"kick": ["kicks with the left leg {side}"]}, "must name its side"),
    ({"kick": ["Kicks with the {side} leg, Left first"]}, "must name its side"),
    ({"walk": ["walks {fast}"]}, "slots other than"),
    ({"walk": ["saunters ahead"]}, "held-out synonyms"),
    ({"turn@angle_deg=half": ["turns {side}"]}, "a pin is name=number"),
    ({"hop@distance>>0": ["hops ahead on the {side} foot"]}, "a pin is name=number, name>number or name<number"),
    ({"walk": []}, "non-empty list"),
])
def test_a_bad_bank_is_refused_with_the_reason(tmp_path, bank, says):
    assert any(says in p for p in problems(bank))
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(bank))
    with pytest.raises(ValueError, match=re.escape(says)):
        load_bank(path)


def test_pairs_keep_subject_side_and_count_and_chain_actions():
    pairs = PhrasingPairs(load_bank(), seed=0)
    rng = random.Random(0)
    drawn = [pairs.draw(rng) for _ in range(400)]
    for caption, variant in drawn:
        subject = next(s for s in sorted(SUBJECTS, key=len, reverse=True) if caption.startswith(s + " "))
        assert variant.startswith(subject + " ") and "  " not in variant
        sides = [set(re.findall(r"\b(left|right)\b", text)) for text in (caption, variant)]
        if not any(c in caption for c in CONNECTORS) and all(len(named) == 1 for named in sides):
            assert sides[0] == sides[1]                    # one sided action: the same side in both
    assert sum(any(c in caption for c in CONNECTORS) for caption, _ in drawn) > 50   # some chain two actions


def test_check_phrasings_are_never_drawn_for_training():
    bank = {"clap": [f"claps clapvariant{k}" for k in range(6)],
            "kick": [f"kicks kickvariant{k} {{side}}" for k in range(6)]}
    pairs = PhrasingPairs(bank, seed=3, check_per_action=2)
    checked = {p for key in bank for p in pairs.check[key]}
    assert len(checked) == 4
    rng = random.Random(0)
    seen = {m for _ in range(300) for m in re.findall(r"[a-z]+variant\d", pairs.draw(rng)[1])}
    assert seen and not {re.search(r"[a-z]+variant\d", p).group(0) for p in checked} & seen
    check = pairs.check_pairs()
    assert len(check) == 2 + 2 * 2          # clap's two, and kick's two on each side
    assert {re.search(r"[a-z]+variant\d", v).group(0) for _, v in check} == {re.search(r"[a-z]+variant\d", p).group(0)
                                                                        for p in checked}


def test_a_pinned_turn_pairs_with_captions_of_its_angle():
    pairs = PhrasingPairs({"turn@angle_deg=180": ["swings all the way round by the {side}"],
                           "turn": ["veers {side}"]}, seed=0, check_per_action=0)
    rng = random.Random(0)
    half = {p.format(side=s) for p in _TURN[180.0][0] for s in ("left", "right")}
    quarter = {p.format(side=s) for p in _TURN[90.0][0] for s in ("left", "right")}
    for caption, variant in (pairs.draw(rng) for _ in range(60)):
        if any(c in caption for c in CONNECTORS):
            continue
        subject = next(s for s in sorted(SUBJECTS, key=len, reverse=True) if caption.startswith(s + " "))
        assert caption[len(subject) + 1:] in (half if "all the way round" in variant else quarter)
    assert plain_params({"angle_deg": 45.0}, "turn") == {"angle_deg": 90.0}
    assert plain_params({"angle_deg": 45.0}, "turn@angle_deg=180") == {"angle_deg": 180.0}
    assert plain_params({"curve": 0.4, "style": "happy", "speed": 1.0}, "walk") == {"curve": 0.0, "speed": 1.0}
    assert base_of("kick_left") == "kick" and split_key("turn@angle_deg=180") == ("turn", {"angle_deg": Pin("=", 180)})


def test_a_corpus_with_written_captions_keeps_every_clip_and_caption_it_had():
    import numpy as np

    from train.procedural.actions import ACTIONS
    from train.procedural.generate import generate_clip, render_sequence
    for index in range(6):
        plain, written = generate_clip(5, index), generate_clip(5, index, written_per_clip=1)
        assert np.array_equal(plain.joints, written.joints)
        assert written.captions[:len(plain.captions)] == plain.captions          # the extra ones come after
        assert written.heldout_captions == plain.heldout_captions
        assert len(written.captions) - len(plain.captions) <= 1
    with pytest.raises(ValueError, match="own generator"):
        render_sequence([("clap", ACTIONS["clap"].sample(np.random.default_rng(0)))], np.random.default_rng(0),
                        written_per_clip=1)


def test_written_captions_say_only_what_a_phrasing_fits():
    import numpy as np

    from train.procedural.captions import describe_written
    from train.procedural.written_phrasings import bundled_bank, keys_saying
    bank = bundled_bank()
    rng = np.random.default_rng(0)
    assert describe_written(rng, [("walk", {"speed": 1.2, "curve": 0.5})]) == []        # a curve: unsaid
    assert describe_written(rng, [("walk", {"speed": 1.2, "curve": 0.0, "style": "happy"})]) == []
    both = {"turn": ["veers {side}"], "turn@angle_deg=180": ["turns all the way round by the {side}"]}
    assert keys_saying("turn_left", {"angle_deg": 90.0}, both) == ["turn"]          # unpinned: a quarter turn
    assert keys_saying("turn_right", {"angle_deg": 180.0}, both) == ["turn@angle_deg=180"]
    assert keys_saying("turn_right", {"angle_deg": 45.0}, both) == []
    half = {" ".join(p.format(side="right").split()) for p in bank["turn@angle_deg=180"]}
    for caption in describe_written(rng, [("turn_right", {"angle_deg": 180.0})], count=4):
        assert any(h in caption.lower() for h in half) or caption != caption.lower()   # a typo may hide one
    mixed = describe_written(rng, [("walk", {"speed": 1.2, "curve": 0.5}), ("clap", {})], count=2)
    assert mixed and all(any(c in m for c in CONNECTORS) for m in mixed)   # the curved walk in a training phrasing


def test_the_generator_cli_writes_written_captions_when_asked(tmp_path):
    from train.procedural.__main__ import main
    main(["--out", str(tmp_path / "c"), "--num", "3", "--seed", "2", "--workers", "1", "--written-phrasings", "1"])
    meta = json.loads((tmp_path / "c" / "meta.json").read_text())
    assert meta["written_per_clip"] == 1
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "d"), "--num", "1", "--written-phrasings", "-1"])


def test_the_check_split_is_the_same_whatever_the_seed():
    """A model tuned twice with different seeds must keep the same phrasings out, or the second round's check
    would hold phrasings the first round trained on."""
    bank = load_bank()
    assert PhrasingPairs(bank, seed=1).check == PhrasingPairs(bank, seed=2).check


def test_forward_hop_phrasings_caption_only_hops_that_travel():
    # The bank's hop phrasings all say "forward"/"ahead": half the corpus's hops stay on the spot.
    bank = load_bank()
    assert split_key("hop@distance>0@count>1") == ("hop", {"distance": Pin(">", 0), "count": Pin(">", 1)})
    assert keys_saying("hop_left", {"count": 2, "distance": 0.0}, bank) == []
    assert keys_saying("hop_left", {"count": 2}, bank) == []
    assert keys_saying("hop_right", {"count": 1, "distance": 0.3}, bank) == ["hop@distance>0"]  # no plural "hops"
    assert keys_saying("hop_right", {"count": 3, "distance": 0.3}, bank) == ["hop@distance>0", "hop@distance>0@count>1"]
    pairs = PhrasingPairs({"hop@distance>0": ["hops ahead {times} on the {side} foot"]}, seed=0, check_per_action=0)
    rng = random.Random(0)
    drawn = [pairs.draw(rng) for _ in range(80)]
    single = [(c, v) for c, v in drawn if not any(k in c for k in CONNECTORS)]
    assert len(single) > 30
    for caption, variant in single:
        assert re.search(r"\b(forward|ahead)\b", caption), caption         # paired with a travelling hop's caption
        assert re.search(r"\b(once|twice|three times|four times)\b", variant), variant   # every count is said
    assert any("four times" in v for _, v in single)
    assert plain_params({"count": 2, "distance": 0.0}, "hop@distance>0") is None
    assert plain_params({"count": 2, "distance": 0.2}, "hop@distance>0") == {"count": 2, "distance": 0.2}

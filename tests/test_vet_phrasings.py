"""Vetting new written phrasings: what could give away a held-out phrase is dropped, with its reason."""
from __future__ import annotations

import json

import pytest

from train.procedural.heldout_words import HELDOUT_WORDS
from train.procedural.phrase_sets import all_phrases
from train.procedural.vet_phrasings import NGRAM, Vetter, main, merge
from train.procedural.written_phrasings import load_bank


@pytest.fixture(scope="module")
def phrase_sets():
    return all_phrases()


@pytest.fixture(scope="module")
def vetter_parts(phrase_sets):
    train, held = phrase_sets
    return {"walk": ["strolls ahead"]}, train, held


def _long_heldout(held) -> str:
    """A held-out phrase of more than NGRAM words without a side (so it fits an unsided action)."""
    return next(h for h in sorted(held) if len(h.split()) > NGRAM + 1 and "left" not in h and "right" not in h)


def test_a_fresh_phrasing_joins_and_a_second_copy_does_not(vetter_parts):
    vetter = Vetter(*vetter_parts)
    merged, dropped = merge({"walk": ["strolls ahead"]}, {"walk": ["plods ahead in boots", "plods  ahead in boots"]},
                            vetter)
    assert merged["walk"] == ["strolls ahead", "plods ahead in boots"]
    assert [d["reason"] for d in dropped] == ["is already in the bank"]


def test_what_could_give_away_the_held_out_evaluation_is_dropped(vetter_parts, phrase_sets):
    train, held = phrase_sets
    vetter = Vetter(*vetter_parts)
    long_held = _long_heldout(held)
    # a near copy: five words in a row of a held-out phrase, though no held-out phrase is in it or holds it
    copied = next(c for h in sorted(held) if len(h.split()) > NGRAM
                  for c in ["slowly " + " ".join(h.split()[:NGRAM]) + " and grins"]
                  if not any(x in c or c in x for x in held) and "left" not in c and "right" not in c)
    synonym = sorted(HELDOUT_WORDS)[0]
    cases = {
        long_held: "holds or is held in a held-out phrase",
        "then " + long_held + " again": "holds or is held in a held-out phrase",
        sorted(t for t in train if "left" not in t and "right" not in t)[0]: "is a training phrase",
        copied: f"shares {NGRAM} words in a row with a held-out phrase",
        f"walks {synonym}": "refused by the bank's checks",
        long_held.capitalize(): "holds or is held in a held-out phrase",      # capitals hide nothing
        "walks ahead {": "has a brace",
    }
    for phrasing, says in cases.items():
        assert vetter.reason("walk", phrasing).startswith(says), phrasing
    assert vetter.reason("walk", "ambles about on the lawn") is None


def test_a_sided_action_keeps_the_side_slot_rule(vetter_parts):
    vetter = Vetter(*vetter_parts)
    assert "must name its side" in vetter.reason("kick", "kicks high with the left leg")
    assert vetter.reason("kick", "boots an imaginary can with the {side} foot") is None


def test_the_cli_writes_a_bank_that_loads_and_reports_each_drop(tmp_path, phrase_sets):
    _, held = phrase_sets
    bank = tmp_path / "bank.json"
    bank.write_text(json.dumps(load_bank()))
    new = tmp_path / "new.json"
    new.write_text(json.dumps({"walk": ["ambles about on the lawn", _long_heldout(held)],
                               "kick": ["boots an imaginary can with the {side} foot"]}))
    out, report = tmp_path / "merged.json", tmp_path / "report.json"
    assert main([str(new), "--bank", str(bank), "--out", str(out), "--report", str(report)]) == 0
    merged, before = load_bank(out), load_bank(bank)
    assert merged["walk"][-1] == "ambles about on the lawn" and merged["walk"][:-1] == before["walk"]
    assert sum(map(len, merged.values())) == sum(map(len, before.values())) + 2
    got = json.loads(report.read_text())
    assert got["admitted"] == 2 and got["dropped"] == 1
    assert got["dropped_phrasings"][0]["reason"] == "holds or is held in a held-out phrase"


def test_the_cli_refuses_a_file_that_is_not_a_bank(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(SystemExit):
        main([str(bad), "--bank", str(tmp_path / "missing.json")])

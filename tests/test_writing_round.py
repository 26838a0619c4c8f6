"""train.procedural.writing_round: the weakest actions picked from a model report, and writer briefs that hold
training phrasings and the bank only, never held-out text."""
from __future__ import annotations

import json

import pytest

from train.procedural import writing_round
from train.procedural.phrase_sets import all_phrases
from train.procedural.written_phrasings import load_bank


def report(rows: dict) -> dict:
    return {"per_action": {label: {"paraphrase_pass_rate": p, "training_pass_rate": t}
                           for label, (p, t) in rows.items()}}


def test_bases_are_picked_by_their_lower_rate_with_sides_pooled():
    rows = {"kick_left": (0.5, 1.0), "kick_right": (1.0, 1.0),      # pooled paraphrases 0.75: not under 0.75
            "nod": (1.0, 0.5), "jump": (1.0, 1.0), "look_up": (None, 0.25), "clap": (0.7, 1.0)}
    assert writing_round.weak_bases(report(rows), below=0.75) == {"nod": 0.5, "look_up": 0.25, "clap": 0.7}
    assert writing_round.weak_bases(report(rows), below=0.8) == {"kick": 0.75, "nod": 0.5, "look_up": 0.25,
                                                                  "clap": 0.7}


def test_briefs_hold_training_phrasings_and_the_bank_but_no_held_out_phrase():
    bank = load_bank()
    picked = {"nod": 0.0, "side_kick": 0.4, "hop": 0.5}
    items = writing_round.writer_items(picked, bank)
    keys = [item["key"] for item in items]
    assert keys[0] == "nod" and keys[1] == "side_kick" and all(k.startswith("hop") for k in keys[2:])
    assert len(keys) == 2 + sum(1 for k in bank if k.split("@")[0] == "hop")
    training, held = all_phrases()
    for item in items:
        assert item["bank_phrasings"] == bank[item["key"]]
        assert item["training_phrasings"] and set(item["training_phrasings"]) <= training
        assert not set(item["training_phrasings"]) & held
    sided = {item["key"]: item["sided"] for item in items}
    assert sided["side_kick"] and not sided["nod"]


def test_the_cli_deals_every_key_to_some_writer(tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report({"nod": (0.0, 1.0), "catch": (0.25, 1.0), "clap": (0.5, 1.0),
                                       "jump": (1.0, 1.0)})))
    assert writing_round.main(["--report", str(path), "--out", str(tmp_path / "round"), "--writers", "2"]) == 0
    assert json.loads((tmp_path / "round" / "targeted_bases.json").read_text()) == ["catch", "clap", "nod"]
    shares = [json.loads((tmp_path / "round" / f"writer_in_{n}.json").read_text()) for n in range(2)]
    assert [i["key"] for i in shares[0]] == ["nod", "clap"] and [i["key"] for i in shares[1]] == ["catch"]


def test_a_bad_report_is_refused(tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text("{}")
    with pytest.raises(SystemExit):
        writing_round.main(["--report", str(path), "--out", str(tmp_path / "round")])
    assert "cannot read the report" in capsys.readouterr().err

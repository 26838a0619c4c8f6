"""benchmarks/stubborn_prompts.py: which labels it picks, what it asks, and how it reads the three rates."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.stubborn_prompts import bank_prompts, main, prompts_of, verdict, weak_labels  # noqa: E402


def test_weak_labels_are_those_under_the_bar_weakest_first():
    report = {"per_action": {"catch": {"paraphrase_pass_rate": 0.0}, "nod": {"paraphrase_pass_rate": 0.5},
                             "walk": {"paraphrase_pass_rate": 1.0}, "sway": {"paraphrase_pass_rate": 0.25},
                             "clap": {"paraphrase_pass_rate": None}}}
    assert weak_labels(report, 0.6) == ["catch", "sway", "nod"]
    assert weak_labels(report, 0.25) == ["catch"]


def test_bank_prompts_fill_the_side_and_drop_the_count():
    prompts = bank_prompts("side_kick_left", 5)
    assert 0 < len(prompts) <= 5
    for prompt in prompts:
        assert prompt.startswith("a person ") and "{" not in prompt and "  " not in prompt
        assert "right" not in prompt.split()


def test_each_label_is_asked_three_ways():
    kinds = [kind for kind, _ in prompts_of("catch", 2)]
    assert kinds == ["heldout", "heldout", "training", "bank", "bank"]


@pytest.mark.parametrize("rates, expected", [
    ({"heldout": 0.0, "training": 0.25, "bank": 1.0}, "motion"),
    ({"heldout": 0.0, "training": 1.0, "bank": 0.25}, "bank words not learned"),
    ({"heldout": 0.0, "training": 1.0, "bank": 1.0}, "words"),
    ({"heldout": 0.75, "training": 1.0, "bank": None}, "follows"),
])
def test_verdict_reads_the_rates(rates, expected):
    assert verdict(rates) == expected


def test_unknown_labels_are_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--checkpoint", "x", "--labels", "no_such_action"])
    assert "no check for ['no_such_action']" in capsys.readouterr().err

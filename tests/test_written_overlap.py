"""benchmarks/written_overlap.py: held-out paraphrases split by whether the written bank shares a new word."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import written_overlap  # noqa: E402


def test_shared_words_are_new_to_training_and_in_the_bank():
    shared = written_overlap.shared_new_words()
    trained = written_overlap.training_words()
    assert set(shared) == set(written_overlap.corpus_actions())
    assert all(not set(words) & trained for words in shared.values())
    assert "prone" in shared["lie_down_stomach"]      # "goes prone on the ground"; the bank: "lies down prone"


def test_rates_split_by_sharing():
    report = {"per_action": {"a": {"paraphrase_pass_rate": 1.0}, "b": {"paraphrase_pass_rate": 0.0},
                             "c": {"paraphrase_pass_rate": 0.5}, "d": {"paraphrase_pass_rate": None}}}
    rates = written_overlap.split_rates(report, {"a": ["x"], "b": [], "c": ["y"], "d": ["z"]})
    assert rates["sharing"] == {"actions": 2, "paraphrase_pass_rate": 0.75}
    assert rates["not_sharing"] == {"actions": 1, "paraphrase_pass_rate": 0.0}


def test_since_counts_only_what_the_later_bank_brought():
    everything = written_overlap.shared_new_words()
    bank = written_overlap.load_bank()
    earlier = {key: [p for p in written if "prone" not in written_overlap.words(p)] for key, written in bank.items()}
    earlier = {key: written for key, written in earlier.items() if written}
    newer = written_overlap.shared_new_words(since=earlier)
    assert "prone" in newer["lie_down_stomach"]                    # only the dropped phrasings said it
    assert newer.keys() == everything.keys()
    assert all(set(newer[k]) <= set(everything[k]) for k in newer)
    assert not any(written_overlap.shared_new_words(since=bank).values())   # nothing is new since itself

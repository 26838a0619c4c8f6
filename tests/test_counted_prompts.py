"""benchmarks/counted_prompts.py: which prompts it asks and how it scores them by count."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.counted_prompts import ACTIONS, SPELLINGS, TRAINED, main, prompts  # noqa: E402
from motion_core.engine import Engine, tiny_config  # noqa: E402
from motion_core.text.counts import spoken_count  # noqa: E402


def test_every_prompt_says_its_count_as_the_count_reader_reads_it():
    for counts in ((1, 2, 3), (4, 5), (6,)):
        asked = prompts(counts)
        assert len(asked) == len(ACTIONS) * sum(len(SPELLINGS[c]) for c in counts)
        for _, count, _, prompt in asked:
            assert count in counts and spoken_count(prompt) == count


def test_the_default_asks_counts_one_to_three_in_trained_and_new_spellings():
    asked = prompts()
    assert {count for _, count, _, _ in asked} == {1, 2, 3}
    spellings = {spelling for _, _, spelling, _ in asked}
    assert spellings & TRAINED and spellings - TRAINED


def test_counts_four_and_five_are_scored_apart(tmp_path):
    checkpoint = Engine.random(tiny_config(), seed=0).save(tmp_path / "tiny")
    out = tmp_path / "counted.json"
    main(["--checkpoints", str(checkpoint), "--seeds", "1", "--counts", "4", "5", "--out", str(out)])
    scores = json.loads(out.read_text())["models"][str(checkpoint)]
    assert set(scores["pass_rate_by_count"]) == {"4", "5"}
    assert scores["clips"] == len(ACTIONS) * (len(SPELLINGS[4]) + len(SPELLINGS[5]))

"""benchmarks/counted_prompts.py: which prompts it asks and how it scores them by count."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.counted_prompts import ACTIONS, DEFAULT_ACTIONS, SPELLINGS, TRAINED, main, prompts, squats  # noqa: E402
from motion_core.engine import Engine, tiny_config  # noqa: E402
from motion_core.text.counts import spoken_count  # noqa: E402


def test_every_prompt_says_its_count_as_the_count_reader_reads_it():
    for counts in ((1, 2, 3), (4, 5), (6,)):
        asked = prompts(counts, tuple(ACTIONS))
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
    assert scores["clips"] == len(DEFAULT_ACTIONS) * (len(SPELLINGS[4]) + len(SPELLINGS[5]))


def test_squats_are_counted_as_pelvis_dips_on_the_corpus_own_clips():
    """The procedural squat of 1-3 repetitions (the counts its captions say) scores as that many, at any depth."""
    from train.procedural import ACTIONS as PROCEDURAL
    from train.procedural.generate import render_sequence
    for count in (1, 2, 3):
        for seed in range(3):
            rng = np.random.default_rng([seed, count])
            params = {**PROCEDURAL["squat"].sample(rng), "count": count}
            params["frames"] = count * 40 + 4
            assert squats(render_sequence([("squat", params)], rng).joints) == count


def test_squats_are_asked_only_on_request(tmp_path):
    assert "squat" not in DEFAULT_ACTIONS and all(action != "squat" for action, *_ in prompts())
    checkpoint = Engine.random(tiny_config(), seed=0).save(tmp_path / "tiny")
    out = tmp_path / "counted.json"
    main(["--checkpoints", str(checkpoint), "--seeds", "1", "--counts", "2", "--actions", "squat", "--out", str(out)])
    rows = json.loads(out.read_text())["models"][str(checkpoint)]["rows"]
    assert {row["action"] for row in rows} == {"squat"} and len(rows) == len(SPELLINGS[2])

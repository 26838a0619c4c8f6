"""benchmarks/model_report.py end to end on a tiny untrained model: the plumbing, not the figures."""
import json
import sys
from pathlib import Path

import pytest

from motion_core.engine import Engine, tiny_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import model_report  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny_model")
    Engine.random(tiny_config("mamba_unet"), seed=0).save(directory)
    return directory


def test_report_on_a_tiny_model(checkpoint, tmp_path):
    out = tmp_path / "report.json"
    result = model_report.main(["--checkpoint", str(checkpoint), "--only", "walk", "jump_in_place",
                                "--seeds", "2", "--steps", "2", "--gt-clips", "2", "--batch", "3",
                                "--threads", "1", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["overall"]["actions"] == 2 and saved["overall"]["clips"] == result["overall"]["clips"]
    walk, jump = saved["per_action"]["walk"], saved["per_action"]["jump_in_place"]
    assert walk["ground_truth"]["pass_rate"] == 1.0 and jump["ground_truth"]["pass_rate"] == 1.0
    assert walk["n"] == 2 * len(walk["prompts"]) and walk["synonym_pass_rate"] is not None   # "walks" has synonyms
    assert "jump_peak" in jump and "jump_peak" not in walk and jump["ground_truth"]["jump_peak"] > 0.1
    assert 0.0 <= saved["overall"]["skating"] <= 1.0 and saved["overall"]["penetration"] >= 0.0


def test_jobs_get_their_own_seeds_whatever_the_batch():
    jobs = model_report.plan(["clap", "bow"], seeds=3, paraphrases=2, synonyms=1)
    assert [j["seed"] for j in jobs] == list(range(len(jobs)))
    assert {j["kind"] for j in jobs if j["label"] == "clap"} == {"paraphrase", "synonym"}   # "claps" -> applauds
    assert {j["kind"] for j in jobs if j["label"] == "bow"} == {"paraphrase"}


def test_training_phrasings_are_a_calibration_apart_from_the_pass_rate(checkpoint):
    held = model_report.plan(["clap", "bow"], seeds=2, paraphrases=2, synonyms=1)
    both = model_report.plan(["clap", "bow"], seeds=2, paraphrases=2, synonyms=1, training=2)
    assert both[:len(held)] == held                       # adding them leaves the held-out jobs' seeds alone
    assert {j["kind"] for j in both[len(held):]} == {"training"} and len(both) == len(held) + 8
    result = model_report.main(["--checkpoint", str(checkpoint), "--only", "clap", "--seeds", "1", "--steps", "2",
                                "--gt-clips", "1", "--batch", "4", "--threads", "1", "--training", "2"])
    clap = result["per_action"]["clap"]
    assert clap["training_pass_rate"] is not None and result["overall"]["training_pass_rate"] is not None
    assert clap["n"] == len(clap["prompts"])              # the held-out clips only: one seed per prompt
    assert not set(clap["prompts"]) & set(model_report.training_prompts("clap", 2))


def test_unknown_action_is_refused(checkpoint):
    with pytest.raises(SystemExit):
        model_report.main(["--checkpoint", str(checkpoint), "--only", "moonwalk"])


def test_the_jump_peak_of_passing_clips_is_compared_on_the_same_actions():
    """A jump prompt not followed lowers the mean rise; the passing clips' rise is set against ground truth's
    of the actions that had some."""
    def row(peak, passing, truth):
        return {"pass_rate": 0.5, "paraphrase_pass_rate": 0.0, "synonym_pass_rate": 1.0, "skating": 0.0,
                "contact_steps": 1, "penetration": 0.0, "jump_peak": peak, "jump_peak_passing": passing,
                "ground_truth": {"pass_rate": 1.0, "skating": 0.0, "contact_steps": 1, "penetration": 0.0,
                                 "jump_peak": truth}}
    rows = {"jump_in_place": row(0.2, 0.34, 0.35), "hop_left": row(0.03, None, 0.15)}
    o = model_report.overall(rows, jobs=[{}] * 4)
    assert o["jump_peak"] == pytest.approx(0.115) and o["ground_truth_jump_peak"] == pytest.approx(0.25)
    assert o["jump_peak_passing"] == pytest.approx(0.34) and o["ground_truth_jump_peak_passing"] == pytest.approx(0.35)


def test_a_prompt_set_is_reported_apart_and_alone(checkpoint, tmp_path):
    prompts = tmp_path / "set.json"
    prompts.write_text(json.dumps({"clap": ["the dancer gives a big round of applause"], "bow": ["she bows low"]}))
    held = model_report.plan(["clap", "bow"], seeds=2, paraphrases=2, synonyms=1)
    both = model_report.plan(["clap", "bow"], seeds=2, paraphrases=2, synonyms=1,
                             prompt_set=model_report.read_prompt_set(prompts))
    assert both[:len(held)] == held and {j["kind"] for j in both[len(held):]} == {"prompt_set"}
    result = model_report.main(["--checkpoint", str(checkpoint), "--only", "clap", "bow", "--seeds", "1",
                                "--steps", "2", "--gt-clips", "1", "--batch", "4", "--threads", "1",
                                "--paraphrases", "0", "--synonyms", "0", "--prompt-set", str(prompts)])
    clap = result["per_action"]["clap"]
    assert clap["pass_rate"] is None and clap["n"] == 0          # no held-out clips were asked for
    assert clap["prompt_set_pass_rate"] in (0.0, 1.0) and result["overall"]["prompt_set_pass_rate"] is not None
    assert result["overall"]["clips"] == 2


@pytest.mark.parametrize("content, says", [("[1, 2]", "JSON object"), ('{"moonwalk": ["x"]}', "moonwalk"),
                                           ('{"clap": [""]}', "non-empty"), ("{", "cannot read")])
def test_a_bad_prompt_set_is_refused_with_the_reason(checkpoint, tmp_path, capsys, content, says):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(SystemExit):
        model_report.main(["--checkpoint", str(checkpoint), "--prompt-set", str(bad)])
    assert says in capsys.readouterr().err

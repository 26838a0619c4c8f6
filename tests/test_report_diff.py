"""benchmarks/report_diff.py: paired per-action differences between two model reports."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report_diff import main  # noqa: E402


def report(rates: dict[str, tuple[float, float | None]], prompts: str = "p") -> dict:
    """rates: action -> (pass rate, paraphrase rate or None)."""
    return {"per_action": {action: {"pass_rate": p, "paraphrase_pass_rate": q, "prompts": [f"{prompts} {action}"]}
                           for action, (p, q) in rates.items()}}


def write(path: Path, data: dict) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_paired_difference_counts_and_interval(tmp_path):
    new = write(tmp_path / "new.json", report({"a": (1.0, 1.0), "b": (0.5, None), "c": (0.75, 0.5), "d": (0.5, 0.5)}))
    old = write(tmp_path / "old.json", report({"a": (0.5, 0.5), "b": (0.5, None), "c": (1.0, 0.5), "e": (0.0, 0.0)}))
    result = main([new, old, "--out", str(tmp_path / "diff.json")])
    row = result["rates"]["pass_rate"]
    assert row["actions"] == 3                                   # d and e are in one report only
    assert row["mean_difference"] == pytest.approx((0.5 + 0.0 - 0.25) / 3)
    assert (row["up"], row["down"]) == (1, 1)
    assert row["changed"] == {"a": 0.5, "c": -0.25}
    low, high = row["interval_95"]
    assert -0.25 <= low <= row["mean_difference"] <= high <= 0.5
    assert result["rates"]["paraphrase_pass_rate"]["actions"] == 2  # b has no paraphrase rate
    assert "synonym_pass_rate" not in result["rates"]
    assert json.loads((tmp_path / "diff.json").read_text())["rates"]["pass_rate"]["up"] == 1


def test_reports_of_different_prompts_are_refused(tmp_path):
    new = write(tmp_path / "new.json", report({"a": (1.0, 1.0)}, prompts="one"))
    old = write(tmp_path / "old.json", report({"a": (0.5, 0.5)}, prompts="other"))
    with pytest.raises(SystemExit, match="different prompts"):
        main([new, old])


def test_bases_are_compared_apart_from_the_rest(tmp_path):
    new = write(tmp_path / "new.json", report({"kick_left": (1.0, 0.5), "kick_right": (0.5, 0.0), "wave": (0.5, 0.5)}))
    old = write(tmp_path / "old.json", report({"kick_left": (0.5, 0.0), "kick_right": (0.5, 0.0), "wave": (1.0, 1.0)}))
    bases = tmp_path / "bases.json"
    bases.write_text(json.dumps(["kick"]))
    result = main([new, old, "--bases", str(bases)])
    kicks, rest = result["by_bases"]["in_bases"], result["by_bases"]["others"]
    assert kicks["paraphrase_pass_rate"]["actions"] == 2              # both sides of the kick
    assert kicks["paraphrase_pass_rate"]["mean_difference"] == pytest.approx(0.25)
    assert kicks["paraphrase_pass_rate"]["at_zero"] == [1, 2]
    assert rest["pass_rate"]["actions"] == 1 and rest["pass_rate"]["mean_difference"] == pytest.approx(-0.5)
    assert "by_bases" not in main([new, old])

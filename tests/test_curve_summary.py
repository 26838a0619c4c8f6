"""benchmarks/curve_summary.py gathers per-checkpoint evaluation files into one ordered table."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import curve_summary  # noqa: E402


def _metrics(r1: float) -> dict:
    return {"metrics": {"model": {"fid": 0.1, "r_precision_top1": r1, "r_precision_top3": 0.9, "mm_dist": 1.0,
                                  "diversity": 1.2, "multimodality": 0.5}}}


def test_rows_follow_the_steps_and_carry_every_measurement(tmp_path, capsys):
    for name, total, r1 in (("shipped", 30, 0.3), ("2000", 49, 0.5), ("500", 40, 0.4)):
        (tmp_path / f"action_checks_unseen_{name}.json").write_text(json.dumps({"alone": {"total": total, "runs": 96}}))
        (tmp_path / f"eval_texts_{name}.json").write_text(json.dumps(_metrics(r1)))
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps({"step": s, "loss": 0.1 / s}) for s in (500, 1000, 2000)))
    base = tmp_path / "base.jsonl"
    base.write_text(json.dumps({"step": 3400, "loss": 0.03}))
    rows = curve_summary.main([str(tmp_path), "--loss-log", str(log), "--base-steps", "3400",
                               "--base-loss-log", str(base)])
    assert [r["checkpoint"] for r in rows] == ["shipped", "500", "2000"]
    assert [r["total_steps"] for r in rows] == [3400, 3900, 5400]
    assert [r["loss"] for r in rows] == [0.03, 0.1 / 500, 0.1 / 2000]
    assert rows[2]["actions_unseen"] == "49/96" and rows[2]["texts"]["r_precision_top1"] == 0.5
    assert "heldout" not in rows[0] and "actions_train" not in rows[0]
    assert json.loads((tmp_path / "summary.json").read_text())["rows"] == rows
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 5 and table[2].startswith("| shipped | 3400 | 0.0300 | – | 30/96 |")

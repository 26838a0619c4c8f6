"""benchmarks/compare_denoisers.py on two fabricated runs: the verdict both ways, and unequal steps."""
import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "compare_denoisers", Path(__file__).resolve().parents[1] / "benchmarks" / "compare_denoisers.py")
cd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cd)

TINY_ARCH = {"type": "transformer", "latent_dim": 4, "text_dim": 8, "width": 16, "num_layers": 2, "num_heads": 2}


def make_run(folder: Path, pass_rate: float, steps: int = 100, r3: float | None = None, width: int = 16) -> Path:
    overall = {"actions": 10, "clips": 40, "pass_rate": pass_rate, "paraphrase_pass_rate": pass_rate / 2,
               "synonym_pass_rate": None, "skating": 0.01, "penetration": 0.001, "jump_peak": 0.2,
               "ground_truth_jump_peak": 0.28}
    (folder / "model").mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps({"overall": overall, "model": folder.name}))
    (folder / "model" / "config.json").write_text(json.dumps(
        {"training": {"steps": steps}, "architecture": {"denoiser": {**TINY_ARCH, "width": width}}}))
    if r3 is not None:
        (folder / "eval.json").write_text(json.dumps({"metrics": {"model": {"r_precision_top3": r3, "fid": 1.0}}}))
    return folder


def row(result, metric):
    return next(r for r in result["rows"] if r["metric"] == metric)


@pytest.mark.parametrize("mamba_pass, transformer_pass, mamba_wins", [(0.6, 0.4, True), (0.3, 0.5, False)])
def test_verdict_both_directions(tmp_path, capsys, mamba_pass, transformer_pass, mamba_wins):
    a = make_run(tmp_path / "m", mamba_pass, r3=0.5, width=16)
    b = make_run(tmp_path / "t", transformer_pass, r3=0.4, width=32)
    out = tmp_path / "summary.json"
    assert cd.main(["--mamba", str(a), "--transformer", str(b), "--out", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["valid"] and summary["mamba_at_least_as_good"] is mamba_wins
    winner = "mamba_unet" if mamba_wins else "transformer"
    assert summary["verdict"].startswith(winner)
    assert row(summary, "pass_rate")["better"] == winner
    assert row(summary, "R@3")["better"] == "mamba_unet"          # R@3 read from eval.json
    assert row(summary, "skating")["better"] == "tie"
    assert row(summary, "synonym_pass_rate")["better"] is None     # missing on both: not compared
    assert row(summary, "jump_peak_error")["mamba_unet"] == pytest.approx(0.08)
    params = row(summary, "params")
    assert 0 < params["mamba_unet"] < params["transformer"]         # counted from the architecture
    assert "pass_rate" in capsys.readouterr().out


def test_equal_pass_rate_is_at_least_as_good(tmp_path):
    runs = {"mamba_unet": cd.load_run(make_run(tmp_path / "m", 0.5)),
            "transformer": cd.load_run(make_run(tmp_path / "t", 0.5))}
    result = cd.compare(runs)
    assert result["valid"] and result["mamba_at_least_as_good"] and result["within_noise"]


def test_unequal_steps_is_invalid(tmp_path):
    a = make_run(tmp_path / "m", 0.9, steps=800)
    b = make_run(tmp_path / "t", 0.1, steps=650)
    assert cd.main(["--mamba", str(a), "--transformer", str(b), "--out", str(tmp_path / "s.json")]) == 2
    summary = json.loads((tmp_path / "s.json").read_text())
    assert not summary["valid"] and summary["verdict"].startswith("INVALID")
    assert "mamba_at_least_as_good" not in summary


def test_float_noise_is_a_tie(tmp_path):
    runs = {n: cd.load_run(make_run(tmp_path / n, 0.5)) for n in cd.NAMES}
    runs["transformer"]["report"]["overall"]["penetration"] *= 1 + 1e-9
    assert row(cd.compare(runs), "penetration")["better"] == "tie"


def test_configs_differ_only_in_the_denoiser_and_match_in_size():
    root = Path(__file__).resolve().parents[1] / "train" / "configs"
    mamba, transformer = (json.loads((root / f"compare_{n}.json").read_text()) for n in ("mamba", "transformer"))
    models = mamba["denoiser"].pop("model"), transformer["denoiser"].pop("model")
    mamba.pop("name"), transformer.pop("name")
    assert mamba == transformer                                 # same data, optimiser, text encoder, seed
    assert [m["type"] for m in models] == ["mamba_unet", "transformer"]
    sizes = [cd.denoiser_params({**m, "latent_dim": 32, "text_dim": mamba["denoiser"]["text"]["dim"]})
             for m in models]
    assert abs(sizes[0] - sizes[1]) < 0.01 * sizes[0]           # parameter-matched within 1 %

"""Evaluation: metrics on synthetic embeddings, per-action checks on synthetic joints, the contrastive
evaluator, the official-evaluator adapter's error, and `python -m train.evaluate` end to end on tiny models."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from motion_core.kinematics.skeleton import HUMANML3D
from train.evaluation import actions, metrics

# ---- metrics -----------------------------------------------------------------------------------------------


def gaussian(n=2000, d=8, seed=0, shift=0.0):
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


def test_fid_of_identical_sets_is_zero_and_of_a_shift_is_its_square():
    x = gaussian()
    assert metrics.fid(x, x) == pytest.approx(0.0, abs=1e-8)
    shift = np.zeros(8)
    shift[0] = 3.0
    assert metrics.fid(x + shift, x) == pytest.approx(9.0, rel=1e-6)  # same covariance: only the means differ


def test_frechet_distance_matches_closed_form_for_diagonal_covariances():
    c1, c2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 1.0])
    mu1, mu2 = np.array([0.0, 1.0, 0.0]), np.array([1.0, 1.0, 2.0])
    expected = 5.0 + sum((np.sqrt(a) - np.sqrt(b)) ** 2 for a, b in [(1, 4), (4, 1), (9, 1)])
    assert metrics.frechet_distance(mu1, c1, mu2, c2) == pytest.approx(expected)


def test_fid_grows_with_distribution_mismatch():
    real = gaussian(seed=1)
    assert metrics.fid(gaussian(seed=2), real) < metrics.fid(gaussian(seed=2) * 2.0, real)


def test_r_precision_of_a_perfect_and_a_useless_evaluator():
    motions = gaussian(n=320, d=16)
    assert metrics.r_precision(motions, motions.copy()).tolist() == [1.0, 1.0, 1.0]
    useless = metrics.r_precision(motions, gaussian(n=320, d=16, seed=5))
    assert useless[0] < 0.15 and useless[2] < 0.3          # chance is 1/32, 3/32
    assert np.all(np.diff(useless) >= 0)
    with pytest.raises(ValueError, match="at least 32"):
        metrics.r_precision(motions[:31], motions[:31])


def test_r_precision_counts_rank_within_a_batch():
    # 1-D embeddings; the own caption of motion i is the (rank_i + 1)-th closest: ranks 0, 1, 2, 0
    motions = np.array([[0.0], [10.0], [20.0], [30.0]])
    texts = np.array([[0.0], [16.0], [13.0], [25.0]])
    assert metrics.r_precision(motions, texts, batch_size=4).tolist() == [0.5, 0.75, 1.0]


def test_mm_dist_diversity_multimodality():
    a = np.zeros((40, 4))
    b = np.ones((40, 4))
    assert metrics.mm_dist(a, b) == pytest.approx(2.0)
    two_points = np.array([[0.0, 0.0]] * 50 + [[3.0, 4.0]] * 50)
    d = metrics.diversity(two_points, pairs=300, seed=1)
    assert 1.5 < d < 3.5                                     # half the pairs straddle: ~2.5
    same = np.repeat(gaussian(n=10, d=4)[:, None], 5, axis=1)
    assert metrics.multimodality(same) == 0.0                # identical generations per text
    spread = same + np.arange(5)[None, :, None]
    assert metrics.multimodality(spread) > 1.0               # never a generation paired with itself
    with pytest.raises(ValueError):
        metrics.multimodality(same[:, :1])


# ---- per-action checks -------------------------------------------------------------------------------------

def rest_clip(frames: int = 60) -> np.ndarray:
    rest = HUMANML3D.rest_positions()
    rest = rest - np.array([0.0, rest[:, 1].min(), 0.0])
    return np.repeat(rest[None], frames, axis=0).astype(np.float64)


def yaw(joints: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate each frame about the vertical through its pelvis; positive turns +z towards +x (left)."""
    out = joints.copy()
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    rel = joints - joints[:, :1]
    out[..., 0] = joints[:, :1, 0] + c * rel[..., 0] + s * rel[..., 2]
    out[..., 2] = joints[:, :1, 2] - s * rel[..., 0] + c * rel[..., 2]
    return out


def test_rest_pose_faces_forward_and_stands_still():
    j = rest_clip()
    assert np.allclose(actions.facing(j)[0], [0, 0, 1], atol=1e-6)
    assert actions.displacement(j) == pytest.approx((0.0, 0.0), abs=1e-9)
    for label in ("walk", "walk_backward", "jump_in_place", "turn_left", "wave_left", "squat"):
        assert actions.check_action(label, j) is False
    assert actions.check_action("moonwalk", j) is None


def test_locomotion_checks_follow_the_initial_facing():
    j = rest_clip()
    travel = np.linspace(0, 1.0, len(j))[:, None]
    forward, backward, left = j.copy(), j.copy(), j.copy()
    forward[..., 2] += travel
    backward[..., 2] -= travel
    left[..., 0] += travel * 0.5
    assert actions.check_action("walk", forward) and not actions.check_action("walk", backward)
    assert actions.check_action("walk_backward", backward) and not actions.check_action("walk_backward", forward)
    assert actions.check_action("sidestep_left", left) and not actions.check_action("sidestep_right", left)
    # facing +x (turned left by 90 degrees) and walking along +x is still "forward"
    turned = yaw(j, np.full(len(j), np.pi / 2))
    assert np.allclose(actions.facing(turned)[0], [1, 0, 0], atol=1e-6)
    turned[..., 0] += travel
    assert actions.check_action("walk", turned) and not actions.check_action("sidestep_left", turned)


def test_turn_jump_wave_squat_checks():
    j = rest_clip()
    assert actions.check_action("turn_left", yaw(j, np.linspace(0, np.pi / 2, len(j))))
    assert actions.check_action("turn_right", yaw(j, np.linspace(0, -np.pi / 2, len(j))))
    assert not actions.check_action("turn_right", yaw(j, np.linspace(0, np.pi / 2, len(j))))
    assert actions.check_action("spin", yaw(j, np.linspace(0, 2 * np.pi, len(j))))
    jump = j.copy()
    jump[25:35, :, 1] += 0.3
    assert actions.check_action("jump_in_place", jump)
    step_forward = j.copy()
    step_forward[..., 2] += np.linspace(0, 0.5, len(j))[:, None]
    leap_forward = step_forward.copy()
    leap_forward[25:35, :, 1] += 0.3
    assert actions.check_action("jump_forward", leap_forward)
    assert not actions.check_action("jump_forward", step_forward)   # travel without leaving the ground
    assert not actions.check_action("jump_forward", jump)           # a jump that goes nowhere
    wave = j.copy()
    wave[10:50, actions.L_WRIST, 1] = wave[10:50, actions.HEAD, 1] + 0.1
    assert actions.check_action("wave_left", wave) and not actions.check_action("wave_right", wave)
    assert not actions.check_action("wave_both", wave)
    squat = j.copy()
    squat[20:40, :, 1] -= 0.3
    assert actions.check_action("squat", squat) and not actions.check_action("stand_up", squat)
    with pytest.raises(ValueError, match="joints"):
        actions.check_action("walk", j[:, :5])


def test_window_labels_and_pass_rates():
    clip = {"segments": [{"action": "walk", "start_frame": 2, "end_frame": 60,
                          "params": {"overlay": {"action": "wave_left", "params": {}}}},
                         {"action": "jump_in_place", "start_frame": 60, "end_frame": 100, "params": {}}]}
    assert actions.window_labels(clip, 2, 60) == ["walk", "wave_left"]
    assert actions.window_labels(clip, 60, 100) == ["jump_in_place"]
    assert actions.window_labels(clip, 0, 100) == []          # two actions: skipped
    table = actions.pass_rates([("walk", True), ("walk", False), ("jump", True)])
    assert table == {"jump": {"n": 1, "pass_rate": 1.0}, "walk": {"n": 2, "pass_rate": 0.5}}


# ---- evaluator -------------------------------------------------------------------------------------------------

def tiny_evaluator(seed=0):
    from motion_core.generation.normalization import FeatureNormalizer
    from train.evaluation.evaluator import EvaluatorConfig, TextMotionEvaluator
    torch.manual_seed(seed)
    config = EvaluatorConfig(width=32, embed_dim=16, text={"type": "offline", "dim": 32, "layers": 1, "heads": 2,
                                                            "ff_dim": 64, "num_buckets": 256})
    return TextMotionEvaluator(config, FeatureNormalizer(np.zeros(263), np.ones(263))).eval()


def test_evaluator_embeddings_are_unit_padding_free_and_round_trip(tmp_path):
    from train.evaluation.evaluator import TextMotionEvaluator
    model = tiny_evaluator()
    x = torch.randn(2, 48, 263)
    lengths = torch.tensor([48, 32])
    with torch.no_grad():
        batch = model.embed_motion(x, lengths)
        alone = model.embed_motion(x[1:, :32], lengths[1:])
        garbage = x.clone()
        garbage[1, 32:] = 100.0
        padded_garbage = model.embed_motion(garbage, lengths)
        texts = model.embed_text(["a person walks", "someone jumps"])
    assert torch.allclose(batch.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(batch[1], alone[0], atol=1e-5)
    assert torch.allclose(batch, padded_garbage, atol=1e-5)
    assert texts.shape == (2, 16)
    loaded = TextMotionEvaluator.load(model.save(tmp_path / "ev"))
    with torch.no_grad():
        assert torch.allclose(loaded.embed_motion(x, lengths), batch, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="fit_evaluator"):
        TextMotionEvaluator.load(tmp_path / "nothing")


def test_info_nce_ignores_duplicate_captions_as_negatives():
    from train.evaluation.fit_evaluator import info_nce
    emb = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    scale = torch.tensor(0.0)
    distinct = info_nce(emb, emb, scale, ["a", "b", "c", "d"])
    duplicated = info_nce(emb, emb, scale, ["a", "a", "c", "d"])
    assert duplicated < distinct


def test_fit_evaluator_time_limit_stops_early_and_still_saves(tmp_path):
    from test_training import write_synthetic_dataset
    from train.data.writer import write_mean_std
    from train.evaluation.evaluator import TextMotionEvaluator
    from train.evaluation.fit_evaluator import train_evaluator
    data = write_synthetic_dataset(tmp_path / "data", clips=20)
    write_mean_std(data, np.zeros(263, np.float32), np.ones(263, np.float32))
    out = train_evaluator(data, tmp_path / "ev", steps=50, batch_size=8, config=tiny_evaluator().config,
                          time_limit=0.0)
    assert json.loads((out / "fit.json").read_text())["steps_done"] == 1
    TextMotionEvaluator.load(out)


def test_official_adapter_explains_missing_files(tmp_path):
    from train.evaluation.official import OfficialT2MEvaluator
    with pytest.raises(FileNotFoundError, match="finest.tar"):
        OfficialT2MEvaluator.load(tmp_path)


# ---- end to end --------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_evaluate_cli_end_to_end(tmp_path):
    from test_training import tiny_config, write_synthetic_dataset
    from train.evaluate import main as evaluate_main
    from train.fit import main as fit_main
    data = write_synthetic_dataset(tmp_path / "data", clips=60, frames=(40, 70))
    (tmp_path / "data" / "test.txt").write_text("".join(f"{i:06d}\n" for i in range(40)))
    run = tmp_path / "run"
    assert fit_main(["--config", str(tiny_config(tmp_path, max_steps=2)), "--data", str(data),
                     "--out", str(run)]) == 0
    tiny_evaluator().save(tmp_path / "ev")
    out = tmp_path / "results.json"
    assert evaluate_main(["--checkpoint", str(run / "denoiser" / "model"), "--data", str(data),
                          "--evaluator", str(tmp_path / "ev"), "--out", str(out), "--mm-texts", "3",
                          "--mm-repeats", "2", "--steps", "2", "--device", "cpu"]) == 0
    results = json.loads(out.read_text())
    assert set(results["metrics"]) == {"ground_truth", "split_noise", "model", "untrained"}
    for row in results["metrics"].values():
        assert np.isfinite(row["fid"]) and 0 <= row["r_precision_top1"] <= row["r_precision_top3"] <= 1
    assert results["metrics"]["ground_truth"]["fid"] < results["metrics"]["untrained"]["fid"]
    assert results["samples"] == 40 and results["actions"] == {}   # no meta.json: no action checks


@pytest.mark.slow
def test_evaluate_scores_synonym_captions_only_and_skips_clips_without_them(tmp_path, monkeypatch):
    """--captions synonyms scores texts_heldout_synonyms/ and nothing else: clips without a synonym caption are
    skipped (never scored with their training captions), the output says how many were scored, and the
    split_noise row (another split's real motions) and --literal's Engine.load keyword are there."""
    import train.evaluate as evaluate_module
    from motion_core.engine import Engine, tiny_config as tiny_engine_config
    from test_training import write_synthetic_dataset
    from train.data.writer import CaptionLine, write_captions
    from train.procedural.heldout_words import TEXTS_DIR
    data = write_synthetic_dataset(tmp_path / "data", clips=120, frames=(40, 70))
    ids = [f"{i:06d}" for i in range(120)]
    (data / "train.txt").write_text("".join(f"{i}\n" for i in ids[:40]))
    (data / "val.txt").write_text("".join(f"{i}\n" for i in ids[40:80]))
    (data / "test.txt").write_text("".join(f"{i}\n" for i in ids[80:]))
    (data / TEXTS_DIR).mkdir()
    for motion_id in ids[:-5]:   # the last 5 test clips have no synonym caption
        write_captions(data, motion_id, [CaptionLine(f"synonym caption {motion_id}")], texts_dir=TEXTS_DIR)
    Engine.random(tiny_engine_config(), seed=0).save(tmp_path / "model")
    tiny_evaluator().save(tmp_path / "ev")
    scored: list[str] = []
    real_load = evaluate_module.load_evaluator

    def recording_evaluator(args):
        evaluator = real_load(args)
        embed_text = evaluator.embed_text

        def record(captions):
            scored.extend(captions)
            return embed_text(captions)
        evaluator.embed_text = record
        return evaluator
    monkeypatch.setattr(evaluate_module, "load_evaluator", recording_evaluator)
    out = tmp_path / "results.json"
    common = ["--checkpoint", str(tmp_path / "model"), "--data", str(data), "--evaluator", str(tmp_path / "ev"),
              "--mm-texts", "0", "--steps", "2", "--no-untrained", "--device", "cpu"]
    assert evaluate_module.main(common + ["--captions", "synonyms", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert scored and all(c.startswith("synonym caption ") for c in scored)
    test_scored = {c.split()[-1] for c in scored} & set(ids[80:])
    assert test_scored == set(ids[80:-5])                  # every test clip with a synonym, none without
    assert results["samples"] == 35 and results["clips_without_captions"] == 5
    assert results["captions_dir"] == TEXTS_DIR and results["literal"] is False
    noise = results["metrics"]["split_noise"]
    assert noise["split"] == "val" and noise["samples"] == 35 and np.isfinite(noise["fid"])
    assert results["fid_target"]["fid_max"] == pytest.approx(2 * noise["fid"])

    loaded = []
    monkeypatch.setattr(Engine, "load", classmethod(lambda cls, path, device="auto", **options:
                                                    loaded.append(options) or Engine.random(tiny_engine_config())))
    assert evaluate_module.main(common + ["--captions", "synonyms", "--literal", "--noise-split", "none",
                                          "--out", str(out)]) == 0
    assert loaded == [{"read_words": False}] and json.loads(out.read_text())["literal"] is True
    assert evaluate_module.main(common + ["--noise-split", "none", "--out", str(out)]) == 0
    assert loaded[-1] == {}                                 # without --literal the keyword is not passed


def test_batch_generator_samples_with_the_engines_sampler():
    from motion_core.engine import Engine, tiny_config as tiny_engine_config
    from train.evaluation.generation import BatchGenerator
    generator = BatchGenerator(Engine.random(tiny_engine_config(), seed=0, device="cpu"))
    drawn = {}
    for sampler in ("ddim", "dpm_solver_pp"):
        generator.engine.sampler = sampler
        # 4 steps: at 3 DPM-Solver++ takes no second-order step (its last update is first order), as DDIM
        drawn[sampler] = generator.generate(["a person walks"], [20], seed=3, steps=4, guidance=2.0)[0]
    assert drawn["ddim"].shape == drawn["dpm_solver_pp"].shape == (20, 263)
    assert not np.allclose(drawn["ddim"], drawn["dpm_solver_pp"])   # sweeps of sampler settings are real

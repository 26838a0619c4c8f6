"""Length predictor: fitting on a corpus, checkpoint storage, and how `Engine.generate` uses it.

A tiny untrained engine's frozen text encoder is enough: the predictor must still learn from the words that
"long" captions come with long clips and "short" ones with short clips, on verbs it never saw in training.
"""
import json

import numpy as np
import pytest
import torch

from motion_core.engine import DEFAULT_SECONDS, Engine, InputError, tiny_config
from motion_core.formats.checkpoint import CheckpointError, save_checkpoint
from motion_core.models.length_predictor import LengthPredictor, LengthPredictorConfig
from train import length as length_training

STEPS = 2
TRAIN_VERBS = ["walks", "dances", "jogs", "waves", "stretches", "spins", "crawls", "sways", "marches", "kicks"]
VAL_VERBS = ["skips", "bows", "claps"]
LONG, SHORT = (100, 124), (40, 52)


def _write_corpus(root, seed=0):
    """A HumanML3D-layout corpus: '... for a long time' clips last 100-124 frames, '... short ...' 40-52."""
    rng = np.random.default_rng(seed)
    for folder in ("new_joint_vecs", "texts"):
        (root / folder).mkdir(parents=True)
    splits = {"train": [], "val": []}
    for split, verbs, copies in (("train", TRAIN_VERBS, 4), ("val", VAL_VERBS, 2)):
        for verb in verbs:
            for kind, (low, high) in (("long", LONG), ("short", SHORT)):
                for copy in range(copies):
                    motion_id = f"{split}{len(splits[split]):04d}"
                    splits[split].append(motion_id)
                    frames = int(rng.integers(low, high + 1))
                    np.save(root / "new_joint_vecs" / f"{motion_id}.npy", np.zeros((frames, 263), np.float32))
                    lines = [f"a person {verb} for a {kind} time#a/DET person/NOUN#0.0#0.0",
                             f"someone {verb} for a {kind} while#someone/PRON#0.0#0.0"]
                    (root / "texts" / f"{motion_id}.txt").write_text("\n".join(lines) + "\n")
    for split, ids in splits.items():
        (root / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return _write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def fitted(corpus):
    engine = Engine.random(tiny_config(), seed=0)
    predictor, metrics = length_training.train_length_predictor(engine, corpus, steps=300, hidden_dim=64,
                                                                log=lambda message: None)
    engine.set_length_predictor(predictor, metrics)
    return engine, metrics


def test_caption_lengths_reads_every_caption_line(corpus):
    data = length_training.caption_lengths(corpus, "train")
    assert len(data) == 2 * 4 * 2 * len(TRAIN_VERBS)          # 2 lines x 4 copies x 2 kinds x verbs
    assert len(data.captions) == 2 * 2 * len(TRAIN_VERBS)     # each distinct caption stored once
    longs = [f for i, f in zip(data.index, data.frames) if "long" in data.captions[i]]
    assert min(longs) >= LONG[0] and max(longs) <= LONG[1]


def test_learns_long_and_short_on_unseen_verbs(fitted):
    engine, metrics = fitted
    assert metrics["val_mae_frames"] < 0.5 * metrics["baseline_val_mae_frames"], metrics
    long_frames = engine.predict_frames([f"a person {v} for a long time" for v in VAL_VERBS])
    short_frames = engine.predict_frames([f"someone {v} for a short while" for v in VAL_VERBS])
    assert min(long_frames) >= 88 and max(short_frames) <= 64, (long_frames, short_frames)
    assert all(f % 4 == 0 for f in long_frames + short_frames)


def test_predictions_are_deterministic_and_clamped(fitted):
    engine, _ = fitted
    prompts = ["a person walks for a long time", "someone kicks for a short while"]
    assert engine.predict_frames(prompts) == engine.predict_frames(prompts)
    predictor = engine.length_predictor
    extreme = torch.full((1, predictor.config.num_bins), -50.0)
    extreme[0, 0] = 50.0
    assert predictor.frames_from_logits(extreme).item() == predictor.config.min_frames
    extreme = extreme.flip(-1)
    assert predictor.frames_from_logits(extreme).item() == predictor.config.max_frames <= engine.max_frames
    with pytest.raises(InputError):
        engine.predict_frames([""])


def test_median_and_mode_estimates():
    predictor = LengthPredictor(LengthPredictorConfig(text_dim=8, hidden_dim=8, min_frames=4, max_frames=40))
    probabilities = torch.zeros(1, predictor.config.num_bins)
    probabilities[0, 2], probabilities[0, 5], probabilities[0, 6] = 0.4, 0.3, 0.3   # mode bin 2, median bin 5
    logits = probabilities.clamp(min=1e-9).log()
    assert predictor.frames_from_logits(logits, "mode").item() == 8
    assert predictor.frames_from_logits(logits, "median").item() == 20


def test_save_load_round_trip_keeps_predictions(fitted, tmp_path):
    engine, metrics = fitted
    prompts = ["a person dances for a long time", "someone spins for a short while", "a person bows"]
    engine.save(tmp_path / "ckpt")
    loaded = Engine.load(tmp_path / "ckpt", device="cpu")
    assert loaded.has_length_predictor
    assert loaded.predict_frames(prompts) == engine.predict_frames(prompts)
    stored = json.loads((tmp_path / "ckpt" / "config.json").read_text())["length_predictor"]
    assert stored["metrics"]["val_mae_frames"] == metrics["val_mae_frames"]
    assert "predicted from the prompt" in loaded.describe()["default_length"]


def test_cli_trains_into_a_checkpoint_copy(corpus, tmp_path):
    source = Engine.random(tiny_config(), seed=1).save(tmp_path / "source")
    before = (source / "model.safetensors").read_bytes()
    assert length_training.main(["--checkpoint", str(source), "--data", str(corpus),
                                 "--out", str(tmp_path / "out"), "--steps", "200"]) == 0
    assert (source / "model.safetensors").read_bytes() == before     # --out leaves the source alone
    loaded = Engine.load(tmp_path / "out", device="cpu")
    (long_frames, short_frames) = loaded.predict_frames(["a person skips for a long time",
                                                         "someone skips for a short while"])
    assert long_frames > short_frames


def test_checkpoint_without_predictor_keeps_the_default(tmp_path):
    Engine.random(tiny_config(), seed=0).save(tmp_path / "old")
    assert "length_predictor" not in json.loads((tmp_path / "old" / "config.json").read_text())
    engine = Engine.load(tmp_path / "old", device="cpu")
    default = round(DEFAULT_SECONDS * engine.fps)
    assert not engine.has_length_predictor and engine.predict_frames(["a", "b"]) == [default, default]
    (motion,) = engine.generate(["a person jumps"], steps=STEPS)
    assert motion.num_frames == default and motion.meta["length_source"] == "default"
    assert "no length predictor" in engine.describe()["default_length"]


def test_length_tensors_need_a_config_entry(tmp_path):
    engine = Engine.random(tiny_config(), seed=0)
    engine.save(tmp_path / "a")
    from motion_core.formats.checkpoint import load_checkpoint
    config, tensors = load_checkpoint(tmp_path / "a")
    tensors["length.net.0.weight"] = torch.ones(64)
    with pytest.raises(CheckpointError, match="length_predictor"):
        save_checkpoint(tmp_path / "b", tensors, config)
    config["length_predictor"] = {"architecture": {"text_dim": 32, "hidden_dim": 0}}
    with pytest.raises(CheckpointError, match="hidden_dim"):
        save_checkpoint(tmp_path / "b", tensors, config)


def test_mixed_predicted_lengths_keep_order_and_seeds(fitted):
    engine, _ = fitted
    prompts = ["a person walks for a long time", "someone kicks for a short while"]
    frames = engine.predict_frames(prompts)
    assert len(set(frames)) > 1, frames
    motions = engine.generate(prompts, seed=7, steps=STEPS)
    for k, (prompt, motion) in enumerate(zip(prompts, motions)):
        assert motion.meta["prompt"] == prompt and motion.meta["seed"] == 7 + k
        assert motion.num_frames == frames[k] and motion.meta["length_source"] == "predicted"
        (alone,) = engine.generate([prompt], frames=frames[k], seed=7 + k, steps=STEPS)
        assert alone.meta["length_source"] == "requested"
        np.testing.assert_allclose(motion.joints, alone.joints, atol=1e-4)


def test_an_explicit_length_overrides_the_predictor(fitted):
    engine, _ = fitted
    motions = engine.generate(["a person walks for a long time", "someone kicks for a short while"], seconds=1.0,
                              steps=STEPS)
    assert [m.num_frames for m in motions] == [20, 20]
    assert all(m.meta["length_source"] == "requested" for m in motions)


def test_a_count_reading_predictor_follows_the_count_in_spellings_it_never_saw():
    """Identical text features for every caption, so only the spoken count can tell the lengths apart: trained
    on 'once' / 'twice' / 'three times', it must give 'one time' / 'two times' / '3 times' the same lengths."""
    captions = ["hops once", "hops twice", "hops three times", "hops forward"]
    frames = [40, 80, 120, 60]
    data = length_training.CaptionSet(captions, np.repeat(np.arange(4), 8), np.repeat(frames, 8))
    features = torch.zeros(4, 2 * 8)
    config = LengthPredictorConfig(text_dim=8, hidden_dim=32, count_classes=6, dropout=0.0)
    predictor = length_training.fit(features, data, config, steps=300)
    respelt = ["hops one time", "hops two times", "hops 3 times", "hops forward"]
    logits = predictor.logits_from_pooled(features, predictor.count_inputs(respelt))
    assert predictor.frames_from_logits(logits).tolist() == frames


def test_count_inputs_cap_at_the_last_class():
    predictor = LengthPredictor(LengthPredictorConfig(text_dim=8, count_classes=4))
    assert predictor.count_inputs(["walks", "jumps once", "claps twice", "hops 3 times", "hops ten times"]).tolist() \
        == [0, 1, 2, 3, 3]
    blind = LengthPredictor(LengthPredictorConfig(text_dim=8))
    assert blind.count_inputs(["hops twice"]).tolist() == [0]


def _count_only_predictor(dim, count_classes=4, per_class_bins=10, **fields) -> LengthPredictor:
    """A predictor that reads only the count class k: bin 10 + per_class_bins * k (40 frames for no count)."""
    predictor = LengthPredictor(LengthPredictorConfig(text_dim=dim, hidden_dim=8, count_classes=count_classes,
                                                      dropout=0.0, **fields))
    with torch.no_grad():
        for p in predictor.net.parameters():
            p.zero_()
        predictor.net[0].weight.fill_(1.0)
        last = predictor.net[-1]
        last.bias[10] = 5.0
        for k in range(1, count_classes):
            predictor.net[1].weight[k, 2 * dim + k] = 1.0
            last.weight[10 + per_class_bins * k, k] = 50.0
    return predictor


@pytest.mark.parametrize("count_free_text", [False, True])
def test_the_engine_passes_the_prompt_count_to_its_predictor(tmp_path, count_free_text):
    """Saved and loaded with count classes, the engine's predicted lengths follow the count as written, also
    when the text features are read without it."""
    engine = Engine.random(tiny_config(), seed=0)
    predictor = _count_only_predictor(engine.text_encoder.dim, count_free_text=count_free_text)
    engine.set_length_predictor(predictor, {})
    engine.save(tmp_path / "ckpt")
    loaded = Engine.load(tmp_path / "ckpt", device="cpu")
    assert loaded.length_predictor.config.count_classes == 4
    assert loaded.length_predictor.config.count_free_text is count_free_text
    assert loaded.predict_frames(["walks", "hops once", "hops two times", "hops 3 times"]) == [40, 80, 120, 160]


def test_a_count_free_predictor_gives_every_spelling_of_a_count_one_length(fitted, tmp_path):
    """Read from the whole prompt, "one time" and "once" reach the MLP as different text features; read without
    the count, as one."""
    engine, metrics = fitted
    spellings = ["someone skips for a long time once", "someone skips for a long time one time",
                 "someone skips for a long time 1 time"]
    assert engine.length_predictor.config.count_free_text    # train_length_predictor's default
    assert engine.length_predictor.text_inputs(spellings) == ["someone skips for a long time"] * 3
    assert len(set(engine.predict_frames(spellings))) == 1
    whole = LengthPredictor(LengthPredictorConfig.from_dict(
        {**engine.length_predictor.config.to_dict(), "count_free_text": False, "extrapolate_counts_above": 0}))
    assert whole.text_inputs(spellings) == spellings


@pytest.mark.parametrize("fields, message", [({"count_free_text": True, "count_classes": 0}, "needs count_classes"),
                                             ({"count_free_text": "yes", "count_classes": 6}, "true or false")])
def test_count_free_text_is_checked(fields, message):
    with pytest.raises(Exception, match=message):
        LengthPredictorConfig(text_dim=8, **fields)


def test_cli_refuses_count_free_text_without_count_classes(corpus, tmp_path):
    source = Engine.random(tiny_config(), seed=1).save(tmp_path / "source")
    with pytest.raises(SystemExit):
        length_training.main(["--checkpoint", str(source), "--data", str(corpus), "--count-classes", "0"])


def test_counts_above_the_last_trusted_one_get_one_more_repeat_each(tmp_path):
    """Fitted lengths 60 / 80 / 100 frames for counts 1-3 (one repeat = 20 frames): four and five get 120 and 140,
    where the capped class alone gave 100; a count past the longest clip stops there. Saved and loaded."""
    engine = Engine.random(tiny_config(), seed=0)
    prompts = ["walks", "hops once", "hops twice", "hops 3 times", "hops four times", "hops 5 times",
               "hops 12 times"]
    longest = min(LengthPredictorConfig().max_frames, engine.max_frames)
    for top, expected in ((0, [40, 60, 80, 100, 100, 100, 100]), (3, [40, 60, 80, 100, 120, 140, longest])):
        predictor = _count_only_predictor(engine.text_encoder.dim, per_class_bins=5, count_free_text=True,
                                          extrapolate_counts_above=top)
        engine.set_length_predictor(predictor, {})
        loaded = Engine.load(engine.save(tmp_path / f"ckpt{top}"), device="cpu")
        assert loaded.length_predictor.config.extrapolate_counts_above == top
        assert loaded.predict_frames(prompts) == expected


def test_extrapolation_never_shortens_a_fitted_length():
    """A predictor that gives counts 2 and 3 one length says nothing about one more repeat: four keeps its own."""
    predictor = _count_only_predictor(8, count_classes=6, per_class_bins=0, count_free_text=True,
                                      extrapolate_counts_above=3)
    with torch.no_grad():
        predictor.net[-1].weight[30, 4] = 80.0   # class 4 alone: bin 30 = 120 frames
    tokens, mask = torch.zeros(2, 3, 8), torch.ones(2, 3, dtype=torch.bool)
    assert predictor.prompt_frames(tokens, mask, ["hops four times", "hops three times"]).tolist() == [120, 40]


@pytest.mark.parametrize("fields, message", [
    ({"count_classes": 6, "count_free_text": False, "extrapolate_counts_above": 3}, "count_free_text"),
    ({"count_classes": 4, "count_free_text": True, "extrapolate_counts_above": 4}, "< count_classes"),
    ({"count_classes": 6, "count_free_text": True, "extrapolate_counts_above": 1}, "2 <= it")])
def test_count_extrapolation_is_checked(fields, message):
    with pytest.raises(Exception, match=message):
        LengthPredictorConfig(text_dim=8, **fields)


def test_fitting_extends_counts_above_three_by_default(fitted, corpus, tmp_path):
    engine, _ = fitted
    assert engine.length_predictor.config.extrapolate_counts_above == 3
    assert length_training.default_extrapolation(6, False) == 0
    source = Engine.random(tiny_config(), seed=1).save(tmp_path / "source")
    with pytest.raises(SystemExit):
        length_training.main(["--checkpoint", str(source), "--data", str(corpus), "--extrapolate-counts-above", "6"])


def test_a_count_past_the_longest_clip_is_made_as_long_as_it_can_be_and_says_so(tmp_path):
    engine = Engine.random(tiny_config(), seed=0)
    engine.set_length_predictor(_count_only_predictor(engine.text_encoder.dim, per_class_bins=5, count_free_text=True,
                                                      extrapolate_counts_above=3), {})
    short, long = engine.generate(["hops twice", "hops 12 times"], steps=STEPS)
    assert (short.num_frames, long.num_frames) == (80, engine.max_frames)
    assert "warnings" not in short.meta
    assert "holds fewer repeats" in long.meta["warnings"] and "continue with extend" in long.meta["warnings"]
    assert "warnings" not in engine.generate(["hops 12 times"], frames=60, steps=STEPS)[0].meta   # asked: as asked
    # a count past the largest the reader reads ("100 times") is at least as long: it said nothing before
    (many,) = engine.generate(["hops 100 times"], steps=STEPS)
    assert many.num_frames == engine.max_frames and "needs at least" in many.meta["warnings"]


def test_a_fitted_length_past_the_window_is_cut_without_a_count_warning():
    """A predictor fitted for longer clips than this model makes (300 frames for every prompt) is cut to the
    model's window, and no count is blamed."""
    engine = Engine.random(tiny_config(), seed=0)
    predictor = LengthPredictor(LengthPredictorConfig(text_dim=engine.text_encoder.dim, hidden_dim=8, max_frames=400,
                                                      count_classes=6, count_free_text=True,
                                                      extrapolate_counts_above=3, dropout=0.0))
    with torch.no_grad():
        for p in predictor.net.parameters():
            p.zero_()
        predictor.net[-1].bias[75] = 5.0
    engine.set_length_predictor(predictor, {})
    assert engine.predict_frames(["walks", "hops twice"]) == [engine.max_frames] * 2
    motion = engine.generate(["hops twice"], steps=STEPS)[0]
    assert motion.num_frames == engine.max_frames and "warnings" not in motion.meta

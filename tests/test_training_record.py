"""Rounds of a repeatable training step stay on a model's record, flat, however many there are."""
from motion_core.formats.checkpoint import validate_config
from train.training_record import earlier_rounds, flat, record_round


def test_each_round_keeps_the_ones_before_it_oldest_first():
    training = {}
    for round_ in range(1, 6):
        record_round(training, "text_tuning", {"steps": round_, "after": {"variant": 1.0 / round_}})
    record = training["text_tuning"]
    assert record["steps"] == 5 and record["after"] == {"variant": 0.2}
    assert [r["steps"] for r in record["earlier"]] == [1, 2, 3, 4]
    assert record["earlier"][0] == {"steps": 1, "after_variant": 1.0}


def test_many_rounds_stay_within_the_checkpoint_configs_depth_bound():
    from motion_core.engine import Engine
    config = Engine.random(seed=0).config
    for round_ in range(12):
        record_round(config.setdefault("training", {}), "text_tuning",
                     {"steps": round_, "before": {"variant": 1.0}, "after": {"variant": 0.5, "caption": 0.1}})
    validate_config(config)   # raises past the bound


def test_a_record_nested_the_old_way_is_unrolled():
    # model v6 was written with each replaced record nested inside the next
    old = {"steps": 3, "after": {"variant": 0.7}, "earlier": {"steps": 2, "earlier": {"steps": 1}}}
    assert [r["steps"] for r in earlier_rounds(old)] == [1, 2, 3]
    training = {"vae_decoder_refinement": old}
    record_round(training, "vae_decoder_refinement", {"steps": 4})
    assert [r["steps"] for r in training["vae_decoder_refinement"]["earlier"]] == [1, 2, 3]
    assert training["vae_decoder_refinement"]["earlier"][-1]["after_variant"] == 0.7


def test_flat_spells_out_nested_keys_and_keeps_lists_as_text():
    assert flat({"a": {"b": {"c": 1}}, "d": [1, 2], "e": "x"}) == {"a_b_c": 1, "d": "[1, 2]", "e": "x"}

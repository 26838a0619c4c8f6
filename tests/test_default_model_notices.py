"""The bundled model carries pretrained tables from three sources; each must ship with its notice and licence."""
import json
import re
from pathlib import Path

from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "motion_core" / "default_model"


def config() -> dict:
    return json.loads((MODEL / "config.json").read_text(encoding="utf-8"))


def licence_named_in(notice: str) -> Path:
    match = re.search(r"full text: (motion_core/text/\w+\.txt)", notice)
    assert match, f"no licence file named in {notice!r}"
    return ROOT / match.group(1)


def test_every_notice_names_a_licence_file_that_ships():
    model = config()
    text = model["architecture"]["text"]
    notices = {"word vectors": text["notice"], "readings": model["vocabulary"]["readings_notice"]}
    if "gist" in text:
        notices["sentence gist"] = text["gist"]["notice"]
    for source, notice in notices.items():
        path = licence_named_in(notice)
        assert path.is_file() and path.stat().st_size > 500, f"{source}: {path} missing"


def test_the_sentence_gist_table_matches_its_recorded_size_and_licence():
    gist = config()["architecture"]["text"].get("gist")
    assert gist is not None, "the bundled model (v12 on) carries a sentence gist"
    assert "Apache" in gist["notice"] and "all-MiniLM-L6-v2" in gist["notice"]
    assert "Apache License" in licence_named_in(gist["notice"]).read_text(encoding="utf-8")
    with safe_open(str(MODEL / "model.safetensors"), framework="pt") as f:
        names = {n for n in f.keys() if n.startswith("text.gist.")}
        table = f.get_slice("text.gist.table").get_shape()
        tokenizer = f.get_slice("text.gist.tokenizer_json").get_shape()
    assert table == [gist["vocab_size"], gist["dim"]]
    assert tokenizer == [gist["tokenizer_bytes"]]
    assert {"text.gist.project.weight", "text.gist.project.bias"} <= names

"""What a model understands of a prompt: its training vocabulary (for the "not learned" warning) and its word
readings (unseen words read as trained ones), each made once per engine from its checkpoint config (issue 21)."""
from __future__ import annotations

from pathlib import Path

from motion_core.generation.loading import DEFAULT_MODEL_DIR
from motion_core.text.readings import Reading, WordReadings, readings_for
from motion_core.text.vocabulary import VocabularyCheck, check_for


def readings_of(engine) -> WordReadings | None:
    """The checkpoint's word readings; None where it records none or `engine.read_words` is off."""
    if not engine.read_words:
        return None
    if "readings" not in engine.understanding:
        engine.understanding["readings"] = readings_for(engine.config)
    return engine.understanding["readings"]


def vocabulary_of(engine) -> VocabularyCheck | None:
    """The check that names prompt words the model never learned and cannot read (None: no vocabulary recorded)."""
    key = ("vocabulary", engine.read_words)
    if key not in engine.understanding:
        bundled = engine.source is not None and Path(engine.source).resolve() == DEFAULT_MODEL_DIR.resolve()
        engine.understanding[key] = check_for(engine.config, engine.text_encoder, readings=readings_of(engine),
                                              model_name="the bundled model" if bundled else "the model")
    return engine.understanding[key]


def read(engine, prompt: str) -> Reading:
    """`prompt` as the text encoder will read it, with what was swapped ("leaps" -> "jumps")."""
    readings = readings_of(engine)
    return Reading(prompt) if readings is None else readings.read(prompt)

"""Rounds of a repeatable training step on a model's record (a decoder refined again, a text encoder tuned again).

The newest round sits at ``training[key]``; the rounds it replaced form a flat list ``earlier`` inside it, oldest
first, each flattened to scalars (``after.variant`` -> ``after_variant``). Why flat: a checkpoint's free-form
``training`` JSON is bounded in depth (`motion_core.formats.config_schema.JsonData`), and a chain of records
nested one inside the other would cross that bound at the third round, after the round's work was done.
Here the depth stays ``training > key > earlier > round > scalar`` however many rounds a model goes through.
"""
from __future__ import annotations

import json


def record_round(training: dict, key: str, record: dict) -> dict:
    """`training` with `record` as the newest round of `key`, the rounds it replaces kept under its `earlier`."""
    replaced = training.get(key)
    earlier = earlier_rounds(replaced) if isinstance(replaced, dict) else []
    fresh = {k: v for k, v in record.items() if k != "earlier"}
    training[key] = {**fresh, **({"earlier": earlier} if earlier else {})}
    return training


def earlier_rounds(record: dict) -> list[dict]:
    """`record` and every round it keeps, oldest first, each one flat."""
    kept = record.get("earlier")
    if isinstance(kept, dict):   # written before rounds were a list (model v6): a chain of records nested inside
        rounds = earlier_rounds(kept)
    else:
        rounds = [flat(r) for r in kept or [] if isinstance(r, dict)]
    return rounds + [flat({k: v for k, v in record.items() if k != "earlier"})]


def flat(record: dict, prefix: str = "") -> dict:
    """`record` with nested dicts spelled out as ``outer_inner`` keys and lists as JSON text."""
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, f"{name}_"))
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out

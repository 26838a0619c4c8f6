"""English verb spelling for captions written from lemmas: "walk" -> "walks" / "walking".

Shared by the mocap captioner (`train.mocap.captions`) and the caption variants (`train.caption_variants`).
"""
from __future__ import annotations

_SIBILANT = ("s", "sh", "ch", "x", "z", "o")


def third_person(verb: str) -> str:
    """The regular third person singular: 'walk' -> 'walks', 'reach' -> 'reaches', 'carry' -> 'carries'."""
    if verb.endswith(_SIBILANT):
        return verb + "es"
    if len(verb) > 2 and verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def gerund(verb: str) -> str:
    """'walk' -> 'walking', 'move' -> 'moving', 'lie' -> 'lying', 'see' -> 'seeing'."""
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")) and len(verb) > 2:
        return verb[:-1] + "ing"
    return verb + "ing"


__all__ = ["third_person", "gerund"]

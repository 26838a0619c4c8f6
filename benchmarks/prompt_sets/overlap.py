"""How many prompts of a prompt set hold a training phrasing of the corpus (two words or more), verbatim.

    python benchmarks/prompt_sets/overlap.py [benchmarks/prompt_sets/fresh_phrasings.json]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from train.procedural.captions import training_phrasings  # noqa: E402


def main(argv=None) -> dict:
    path = Path((argv or sys.argv[1:] or [str(Path(__file__).with_name("fresh_phrasings.json"))])[0])
    prompts = [p.lower() for ps in json.loads(path.read_text()).values() for p in ps]
    known = [t for t in training_phrasings() if len(t.split()) >= 2]
    holding = [p for p in prompts if any(t in p for t in known)]
    print(f"{len(holding)} of {len(prompts)} prompts hold a training phrasing of two words or more")
    return {"prompts": len(prompts), "holding_a_training_phrasing": len(holding)}


if __name__ == "__main__":
    main()

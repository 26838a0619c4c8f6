"""benchmarks/schedule_fit.py: where a learning rate lies on the cosine, and both arms run end to end."""
from __future__ import annotations

import json

import pytest

from benchmarks.schedule_fit import cosine_progress, main
from tests.test_training import TINY_CONFIG, write_synthetic_dataset


def test_cosine_progress_reads_the_learning_rate_back():
    assert cosine_progress(1e-3, 1e-3, 0.05) == 0.0        # at the peak
    assert cosine_progress(5e-5, 1e-3, 0.05) == 1.0        # at the floor
    assert cosine_progress(0.525e-3, 1e-3, 0.05) == 0.5    # halfway between: halfway down the cosine


@pytest.mark.slow
def test_only_the_fitted_arm_ends_at_the_floor(tmp_path):
    data = write_synthetic_dataset(tmp_path / "data")
    out = tmp_path / "result.json"
    main(["--config", str(TINY_CONFIG), "--data", str(data), "--time-limit", "3", "--max-steps", "100000",
          "--log-every", "2", "--out", str(out)])   # many logs: the fit needs two, even on a loaded machine
    result = json.loads(out.read_text())
    assert result["plain"]["cosine_progress"] < 0.5          # cut off near the top of its long schedule
    # at the floor, or a step or two short when the time guard fires first on a loaded machine
    assert result["fitted"]["cosine_progress"] > 0.95
    assert result["fitted"]["seconds"] < 3 + 1.0             # inside the limit (a log step's grace)

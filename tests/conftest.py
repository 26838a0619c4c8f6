import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# One real HumanML3D pair (MIT licence, see its README) ships with the tests, so a fresh clone runs them all.
SAMPLE_DIR = ROOT / "tests" / "data" / "humanml3d_sample"


@pytest.fixture(scope="session")
def humanml3d_sample():
    """(features (T, 263), joints (T, 22, 3)) of the real HumanML3D pair in tests/data."""
    import numpy as np
    feats = SAMPLE_DIR / "new_joint_vecs_012314.npy"
    joints = SAMPLE_DIR / "new_joints_012314.npy"
    return np.load(feats, allow_pickle=False), np.load(joints, allow_pickle=False)


@pytest.fixture(scope="session", autouse=True)
def _temp_files_inside_pytest_basetemp(tmp_path_factory):
    """Point TMPDIR (this process and the workers/CLIs it spawns) into pytest's own temp tree.

    The worker writes results to a fresh temp directory when a job names no output folder, which is
    right for a user but left thousands of directories in /tmp across test runs. pytest prunes its
    basetemp to the last three runs, so everything a run makes is now cleaned up with it."""
    import tempfile
    scratch = tmp_path_factory.mktemp("tmpdir")
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(scratch)
    tempfile.tempdir = None  # re-read TMPDIR on next use
    yield scratch
    if previous is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = previous
    tempfile.tempdir = None

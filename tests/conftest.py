import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The team's shared data sits beside the checkout (../shared); CI lays a copy there too.
SHARED = Path(os.environ.get("MOTION_SHARED", ROOT.parent / "shared"))
SAMPLE_DIR = SHARED / "data" / "humanml3d_sample"


@pytest.fixture(scope="session")
def humanml3d_sample():
    """(features (T, 263), joints (T, 22, 3)) of the real HumanML3D pair in ../shared."""
    import numpy as np
    feats = SAMPLE_DIR / "new_joint_vecs_012314.npy"
    joints = SAMPLE_DIR / "new_joints_012314.npy"
    if not feats.exists():
        pytest.skip(f"shared HumanML3D sample not found at {SAMPLE_DIR}")
    return np.load(feats, allow_pickle=False), np.load(joints, allow_pickle=False)

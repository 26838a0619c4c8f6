"""Same seeds, same motions: the engine's output is unchanged by refactoring (issue 19).

The stored arrays were made before `motion_core/` was split into sub-packages. On the machine that wrote them
the comparison is exact (max difference 0.0); the tolerance of a micrometre only absorbs the last-bit
differences another CPU's vector units may give, far below anything a behaviour change produces.
"""
import numpy as np
import pytest

from reference_motion import REFERENCE, make_motions


@pytest.fixture(scope="module")
def motions():
    return make_motions()


def test_reference_motions_are_reproduced(motions):
    stored = np.load(REFERENCE)
    assert sorted(stored.files) == sorted(motions)
    for name in stored.files:
        assert motions[name].shape == stored[name].shape, name
        np.testing.assert_allclose(motions[name], stored[name], rtol=0, atol=1e-6, err_msg=name)


def test_reference_motions_move(motions):
    # A reference of motionless clips would prove nothing: the stored motions do move.
    for name in ("walk", "wave", "extended", "timeline"):
        joints = motions[f"{name}_joints"]
        assert np.abs(np.diff(joints, axis=0)).max() > 1e-4, name

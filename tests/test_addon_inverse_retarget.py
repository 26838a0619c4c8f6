"""The inverse retarget's math without Blender (issue 23): armature space <-> engine coordinates is the exact
inverse of the forward retarget's placement, joints a rig lacks are filled in, a rig's motion is rebuilt on the
engine's body, the issue-23 params are checked, and an engine's refusal of them is explained."""
import numpy as np
import pytest

from addon import continuation, inverse_retarget as inv, retarget
from addon.skeleton_data import humanml3d

H = humanml3d()


def _smpl_rig(scale=1.0, turn=0.0):
    """A RigRest of the SMPL body itself (bones at the engine's rest joints, Blender axes), scaled and turned."""
    pos = H.rest_positions() @ retarget.MOTION_TO_BLENDER.T * scale
    rest = np.tile(np.eye(4), (22, 1, 1))
    rest[:, :3, 3] = pos
    rot = retarget.qmath.axis_angle_to_matrix([0, 0, 1], turn)
    return retarget.RigRest(list(H.joint_names), list(H.parents), rest, rot), {j: j for j in H.joint_names}


def test_fit_is_the_exact_inverse_of_the_forward_placement():
    rig, mapping = _smpl_rig(scale=100.0, turn=0.7)       # centimetres, object turned
    fit = inv.body_fit(rig, mapping, H)
    assert fit.scale == pytest.approx(100.0)
    assert fit.standing == pytest.approx(-H.rest_positions()[:, 1].min())
    points = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(fit.to_engine(fit.to_armature(points)), points, atol=1e-9)
    # The forward retarget's root offset for origin (0, 0) and this scale lands where fit.to_armature says.
    src = inv.engine_body(H)
    src.root_translation = np.array([[0.3, 0.8, -0.4]])
    opts = retarget.RetargetOptions(scale=fit.scale, origin=(0.0, 0.0))
    targets = retarget.pose_targets(src, rig, mapping, opts)
    np.testing.assert_allclose(fit.hips_rest + targets.hips_offset[0], fit.to_armature(src.root_translation[0]),
                               atol=1e-9)


def test_missing_spine_and_toe_are_filled_from_their_neighbours():
    truth = H.rest_positions()[None] + np.array([0.0, 0.9, 0.0])
    holes = truth.copy()
    names = list(H.joint_names)
    for joint in ("spine2", "left_foot", "head"):
        holes[:, names.index(joint)] = np.nan
    filled = inv.fill_missing(holes, H)
    assert np.isfinite(filled).all()
    # At rest the interpolated spine and the carried toe and head come back where they are.
    np.testing.assert_allclose(filled, truth, atol=1e-6)


def test_rig_proportions_are_rebuilt_on_the_engine_body():
    rest = H.rest_positions()
    stretched = rest * np.array([1.3, 0.9, 1.1])          # another body: wider, shorter, deeper
    out = inv.on_engine_body(stretched[None], stretched, H)[0]
    np.testing.assert_allclose(out, rest, atol=1e-6)      # at rest: exactly the engine's rest body


def test_engine_frames_and_context_times():
    np.testing.assert_allclose(inv.engine_frames([1, 25, 49], 1, 24.0), [0, 20, 40])
    times = inv.context_times(41, 24.0, 4)
    np.testing.assert_allclose(times, [41 - 4.8, 41 - 3.6, 41 - 2.4, 41 - 1.2])


def test_pins_are_checked():
    good = {"frame": 10, "joints": np.zeros((22, 3)).tolist()}
    assert continuation.check_pin(good) == good
    for bad in ({"frame": -1, "joints": good["joints"]}, {"frame": 1.5, "joints": good["joints"]},
                {"frame": 3, "joints": [[0, 0, 0]] * 21}, {"frame": True, "joints": good["joints"]}):
        with pytest.raises(ValueError):
            continuation.check_pin(bad)


@pytest.mark.parametrize("error", [
    "invalid_params: unknown generate params ['path', 'pins']",
    "TypeError: Engine.generate() got an unexpected keyword argument 'path'",
])
def test_an_engine_refusing_guides_gets_a_clear_message(error):
    message = continuation.unsupported_explainer({"path": {}, "pins": []})(error)
    assert "does not support path" in message and "update motion-core" in message and error in message


def test_other_errors_pass_through_unchanged():
    explain = continuation.unsupported_explainer({"pins": []})
    for error in ("invalid_params: params.motion_path '/x' does not exist", "out_of_memory: CUDA",
                  "invalid_params: unknown generate params ['loop']"):
        assert explain(error) == error
    assert continuation.unsupported_explainer({})("unexpected keyword argument 'path'") == \
        "unexpected keyword argument 'path'"

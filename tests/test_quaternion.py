"""Quaternion helpers checked against independent formulations (Rodrigues matrices, matrix products)."""
import numpy as np
import pytest
import torch

from motion_core.kinematics import quaternion as Q

RNG = np.random.default_rng(0)


def rodrigues(axis, angle):
    """Rotation matrix by Rodrigues' formula, written independently of the quaternion code."""
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    k = np.zeros(axis.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2] = -axis[..., 2], axis[..., 1]
    k[..., 1, 0], k[..., 1, 2] = axis[..., 2], -axis[..., 0]
    k[..., 2, 0], k[..., 2, 1] = -axis[..., 1], axis[..., 0]
    a = np.asarray(angle)[..., None, None]
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * (k @ k)


def random_axis_angle(n):
    return RNG.normal(size=(n, 3)), RNG.uniform(-np.pi, np.pi, size=n)


def same_rotation(q1, q2, atol=1e-10):
    """q and -q are the same rotation."""
    return np.allclose(np.abs((q1 * q2).sum(-1)), 1.0, atol=atol)


def test_axis_angle_matches_rodrigues():
    axis, angle = random_axis_angle(200)
    assert np.allclose(Q.qto_matrix(Q.qfrom_axis_angle(axis, angle)), rodrigues(axis, angle), atol=1e-12)


def test_qrot_matches_matrix_and_preserves_length():
    axis, angle = random_axis_angle(200)
    v = RNG.normal(size=(200, 3))
    got = Q.qrot(Q.qfrom_axis_angle(axis, angle), v)
    assert np.allclose(got, np.einsum("nij,nj->ni", rodrigues(axis, angle), v), atol=1e-12)
    assert np.allclose(np.linalg.norm(got, axis=-1), np.linalg.norm(v, axis=-1))


def test_qmul_is_matrix_composition_and_qinv_inverts():
    a = Q.qfrom_axis_angle(*random_axis_angle(100))
    b = Q.qfrom_axis_angle(*random_axis_angle(100))
    assert np.allclose(Q.qto_matrix(Q.qmul(a, b)), Q.qto_matrix(a) @ Q.qto_matrix(b), atol=1e-12)
    ident = Q.qmul(a, Q.qinv(a))
    assert np.allclose(ident, Q.qidentity((100,), like=a), atol=1e-12)
    assert np.allclose(Q.qto_matrix(Q.qinv(a)), np.swapaxes(Q.qto_matrix(a), -1, -2), atol=1e-12)


def test_qmul_broadcasts_leading_shapes():
    a = Q.qnormalize(RNG.normal(size=(5, 1, 4)))
    b = Q.qnormalize(RNG.normal(size=(1, 7, 4)))
    out = Q.qmul(a, b)
    assert out.shape == (5, 7, 4)
    assert np.allclose(out[2, 3], Q.qmul(a[2, 0], b[0, 3]))


def test_qfrom_matrix_round_trip_covers_every_branch():
    axis, angle = random_axis_angle(500)
    # Half turns about each axis force the x, y and z branches (w = 0); a small angle forces the w branch.
    special_axes = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 2, 3], [0, 0, 1]], float)
    special_angles = np.array([np.pi, np.pi, np.pi, np.pi, -np.pi, np.pi, 1e-9])
    axis = np.concatenate([axis, special_axes])
    angle = np.concatenate([angle, special_angles])
    mats = rodrigues(axis, angle)
    q = Q.qfrom_matrix(mats)
    assert np.allclose(np.linalg.norm(q, axis=-1), 1.0)
    assert (q[:, 0] >= 0).all()
    assert np.allclose(Q.qto_matrix(q), mats, atol=1e-12)
    assert same_rotation(q, Q.qfrom_axis_angle(axis, angle))


def test_qbetween_maps_u_onto_v_including_antiparallel():
    u = RNG.normal(size=(300, 3))
    v = RNG.normal(size=(300, 3))
    v[:3] = -u[:3] * np.array([[2.0], [0.5], [1.0]])          # exactly opposite
    v[3] = np.array([-1.0, 0, 0]); u[3] = np.array([1.0, 0, 0])  # opposite along an axis
    v[4] = u[4] * 3.0                                         # parallel: identity
    q = Q.qbetween(u, v)
    assert np.allclose(np.linalg.norm(q, axis=-1), 1.0)
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)
    assert np.allclose(unit(Q.qrot(q, u)), unit(v), atol=1e-9)
    assert same_rotation(q[4:5], np.array([[1.0, 0, 0, 0]]))
    # Shortest arc: the rotation angle equals the angle between the vectors.
    angle = 2 * np.arccos(np.clip(np.abs(q[:, 0]), 0, 1))
    between = np.arccos(np.clip((unit(u) * unit(v)).sum(-1), -1, 1))
    assert np.allclose(angle, between, atol=1e-6)


def test_cont6d_is_first_two_columns_and_round_trips():
    q = Q.qfrom_axis_angle(*random_axis_angle(100))
    mat = Q.qto_matrix(q)
    c = Q.qto_cont6d(q)
    assert np.allclose(c[:, :3], mat[:, :, 0]) and np.allclose(c[:, 3:], mat[:, :, 1])
    assert np.allclose(Q.cont6d_to_matrix(c), mat, atol=1e-12)
    # Gram-Schmidt repairs a perturbed, unnormalised 6D vector into a proper rotation.
    noisy = Q.cont6d_to_matrix(c * 3.0 + 0.01 * RNG.normal(size=c.shape))
    assert np.allclose(noisy @ np.swapaxes(noisy, -1, -2), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(noisy), 1.0)


def test_qslerp_follows_the_geodesic():
    axis, angle = random_axis_angle(50)
    angle = angle * 0.99
    base = Q.qfrom_axis_angle(*random_axis_angle(50))
    end = Q.qmul(Q.qfrom_axis_angle(axis, angle), base)
    for t in (0.0, 0.25, 0.5, 1.0):
        expected = Q.qmul(Q.qfrom_axis_angle(axis, t * angle), base)
        assert same_rotation(Q.qslerp(base, end, t), expected, atol=1e-9)
    # Takes the short way even when the endpoint's sign is flipped, and handles equal endpoints.
    assert same_rotation(Q.qslerp(base, -end, 0.5), Q.qslerp(base, end, 0.5), atol=1e-9)
    assert np.allclose(Q.qslerp(base, base, 0.3), base)
    ts = np.linspace(0, 1, 50)
    assert Q.qslerp(base, end, ts).shape == (50, 4)


def test_numpy_and_torch_agree_and_keep_their_type():
    q = Q.qnormalize(RNG.normal(size=(10, 4)).astype(np.float32))
    v = RNG.normal(size=(10, 3)).astype(np.float32)
    out_np = Q.qrot(q, v)
    assert isinstance(out_np, np.ndarray) and out_np.dtype == np.float32
    out_t = Q.qrot(torch.from_numpy(q), torch.from_numpy(v))
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float32
    assert np.allclose(out_np, out_t.numpy(), atol=1e-6)
    # Mixed inputs follow the tensor.
    mixed = Q.qmul(torch.from_numpy(q).double(), q)
    assert isinstance(mixed, torch.Tensor) and mixed.dtype == torch.float64
    assert Q.qidentity((2, 3)).shape == (2, 3, 4)
    assert isinstance(Q.qidentity(2, like=v), np.ndarray)


def test_functions_are_differentiable():
    u = torch.randn(20, 3, dtype=torch.float64, requires_grad=True)
    v = torch.randn(20, 3, dtype=torch.float64)
    m = Q.qto_matrix(Q.qbetween(u, v))
    q = Q.qfrom_matrix(Q.cont6d_to_matrix(Q.qto_cont6d(Q.qnormalize(torch.cat([m[..., 0], u[..., :1]], -1)))))
    (q.sum() + m.sum()).backward()
    assert torch.isfinite(u.grad).all() and u.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(lambda x: Q.qrot(Q.qnormalize(x), v[:3]), torch.randn(3, 4, dtype=torch.float64,
                                                                                     requires_grad=True))


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match="last dimension 4"):
        Q.qmul(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        Q.qfrom_matrix(np.zeros((3, 4)))

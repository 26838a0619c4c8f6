"""motion_core.ssm on CPU: the PyTorch selective scan and the Mamba layer against float64
references written here from mamba_ssm's published semantics (selective_scan_ref, mamba_simple),
state-dict compatibility, chunked/stateful inference, gradients and backend selection."""
import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from motion_core.ssm import Mamba, MambaState, available_backends, selective_scan
from motion_core.ssm.backends import ENV_VAR, resolve_backend
from motion_core.ssm.scan_torch import initial_state_contribution, selective_scan_torch


# ----------------------------------------------------------------------------- references
def _per_step(M, t, dim):
    """B or C at step t, broadcastable to (batch, dim, N), for every layout mamba_ssm allows."""
    if M.dim() == 2:                                   # (dim, N), time-invariant
        return M[None]
    if M.dim() == 3:                                   # (batch, N, L)
        return M[:, None, :, t]
    return M[:, :, :, t].repeat_interleave(dim // M.shape[1], dim=1)   # (batch, G, N, L)


def ref_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
             initial_state=None):
    """float64 step-by-step selective_scan_ref: returns (out, last_state)."""
    u, delta, A, B, C = (t.double() for t in (u, delta, A, B, C))
    if delta_bias is not None:
        delta = delta + delta_bias.double()[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, length = u.shape
    h = (torch.zeros(batch, dim, A.shape[1], dtype=torch.float64) if initial_state is None
         else initial_state.double())
    ys = []
    for t in range(length):
        h = (torch.exp(delta[:, :, t, None] * A) * h
             + (delta[:, :, t] * u[:, :, t])[..., None] * _per_step(B, t, dim))
        ys.append((h * _per_step(C, t, dim)).sum(-1))
    out = torch.stack(ys, -1)
    if D is not None:
        out = out + u * D.double()[:, None]
    if z is not None:
        out = out * F.silu(z.double())
    return out, h


def ref_mamba(m, x, params=None):
    """float64 Mamba forward (mamba_simple's slow path) from `params` (default: m's)."""
    p = params or {k: v.detach().double() for k, v in m.state_dict().items()}
    x = x.double()
    length = x.shape[1]
    xz = x @ p["in_proj.weight"].t()
    if "in_proj.bias" in p:
        xz = xz + p["in_proj.bias"]
    xs, z = xz.transpose(1, 2).chunk(2, dim=1)
    xs = F.pad(xs, (m.d_conv - 1, 0))
    xs = F.silu(F.conv1d(xs, p["conv1d.weight"], p.get("conv1d.bias"), groups=m.d_inner))
    x_dbl = xs.transpose(1, 2) @ p["x_proj.weight"].t()
    dt, B, C = torch.split(x_dbl, [m.dt_rank, m.d_state, m.d_state], dim=-1)
    dt = (dt @ p["dt_proj.weight"].t()).transpose(1, 2)
    y, _ = ref_scan(xs, dt, -torch.exp(p["A_log"]), B.transpose(1, 2), C.transpose(1, 2),
                    p["D"], z, p["dt_proj.bias"], delta_softplus=True)
    out = y.transpose(1, 2) @ p["out_proj.weight"].t()
    if "out_proj.bias" in p:
        out = out + p["out_proj.bias"]
    assert out.shape[1] == length
    return out


def rel_err(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm()).item()


def scan_inputs(batch=2, dim=24, n=16, length=64, seed=0, bc="variable", steep=None):
    """Mamba-like random inputs: raw dt + bias through softplus, A = -exp(A_log)."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)
    A = -torch.arange(1, n + 1.0).repeat(dim, 1) * torch.exp(0.3 * r(dim, n))
    shapes = {"variable": (batch, n, length), "invariant": (dim, n),
              "grouped": (batch, 4, n, length)}
    log_dt = torch.rand(dim, generator=g) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)
    dt = torch.exp(log_dt)
    inputs = dict(u=r(batch, dim, length), delta=0.5 * r(batch, dim, length), A=A,
                  B=r(*shapes[bc]), C=r(*shapes[bc]), D=r(dim), z=r(batch, dim, length),
                  delta_bias=dt + torch.log(-torch.expm1(-dt)))
    if steep:   # per-step log-decays down to ~-100 in every channel ("all") or every other one
        rows = slice(None) if steep == "all" else slice(None, None, 2)
        inputs["delta_bias"][rows] += 3.0 * torch.rand(dim, generator=g)[rows]
        inputs["delta"][:, rows] += 2.0 * r(batch, dim, length)[:, rows].abs()
    return inputs


# ----------------------------------------------------------------------------- the scan
@pytest.mark.parametrize("length", [1, 7, 64, 200, 1000])
@pytest.mark.parametrize("use_z,use_d,use_bias", [(True, True, True), (False, False, False),
                                                  (True, False, True), (False, True, False)])
def test_scan_matches_float64_reference(length, use_z, use_d, use_bias):
    inp = scan_inputs(length=length, seed=length)
    if not use_z:
        inp["z"] = None
    if not use_d:
        inp["D"] = None
    if not use_bias:
        inp["delta_bias"] = None
    out, last = selective_scan_torch(**inp, delta_softplus=True, return_last_state=True)
    ref, ref_last = ref_scan(**inp, delta_softplus=True)
    assert out.dtype == torch.float32 and last.dtype == torch.float32
    assert rel_err(out, ref) < 1e-5
    assert rel_err(last, ref_last) < 1e-5


@pytest.mark.parametrize("bc", ["invariant", "grouped"])
def test_scan_other_b_c_layouts(bc):
    inp = scan_inputs(length=150, bc=bc, seed=3)
    out = selective_scan_torch(**inp, delta_softplus=True)
    assert rel_err(out, ref_scan(**inp, delta_softplus=True)[0]) < 1e-5


def test_scan_without_softplus_uses_delta_as_given():
    inp = scan_inputs(length=90, seed=4)
    inp["delta"] = inp["delta"].abs() * 0.1
    inp["delta_bias"] = None
    out = selective_scan_torch(**inp, delta_softplus=False)
    assert rel_err(out, ref_scan(**inp)[0]) < 1e-5


@pytest.mark.parametrize("steep", ["some", "all"])
def test_scan_steep_decays_are_exact_and_finite(steep):
    """Decays far beyond float32's exp range: those rows (or whole chunks) take the doubling
    scan, states underflow to zero as in the plain recurrence, nothing becomes inf or NaN."""
    inp = scan_inputs(length=300, seed=5, steep=steep)
    out, last = selective_scan_torch(**inp, delta_softplus=True, return_last_state=True)
    ref, ref_last = ref_scan(**inp, delta_softplus=True)
    assert torch.isfinite(out).all()
    assert rel_err(out, ref) < 1e-5 and rel_err(last, ref_last) < 1e-5


@pytest.mark.parametrize("steep", [None, "some", "all"])
@pytest.mark.parametrize("method", ["chunked", "doubling", "sequential"])
def test_algorithms_are_exact_in_float64(method, steep):
    """Run in float64, each method equals the reference to rounding: the closed form, its
    chunk-centred normalisation and the doubling fallback are exact rewrites, not approximations."""
    inp = {k: v.double() for k, v in scan_inputs(length=200, seed=11, steep=steep).items()}
    out, last = selective_scan_torch(**inp, delta_softplus=True, return_last_state=True,
                                     method=method, compute_dtype=torch.float64)
    ref, ref_last = ref_scan(**inp, delta_softplus=True)
    assert rel_err(out, ref) < 1e-12 and rel_err(last, ref_last) < 1e-12


@pytest.mark.parametrize("chunk_len", [1, 5, 64, 1000])
def test_chunk_length_and_sequential_method_agree(chunk_len):
    inp = scan_inputs(length=333, seed=6)
    ref = ref_scan(**inp, delta_softplus=True)[0]
    out = selective_scan_torch(**inp, delta_softplus=True, chunk_len=chunk_len)
    assert rel_err(out, ref) < 1e-5
    for method in ("sequential", "doubling"):
        other = selective_scan_torch(**inp, delta_softplus=True, method=method,
                                     chunk_len=chunk_len)
        assert rel_err(other, ref) < 1e-5, method


def test_scan_keeps_input_dtype_and_upcasts_inside():
    inp = scan_inputs(length=50, seed=7)
    half = {k: (v.bfloat16() if k in ("u", "delta", "B", "C", "z") else v) for k, v in inp.items()}
    out = selective_scan_torch(**half, delta_softplus=True)
    assert out.dtype == torch.bfloat16
    ref = ref_scan(**half, delta_softplus=True)[0]
    assert rel_err(out, ref) < 4e-3          # only the final rounding to bf16


def test_initial_state_and_split_sequence_equal_one_pass():
    inp = scan_inputs(length=240, seed=8)
    full, full_last = selective_scan_torch(**inp, delta_softplus=True, return_last_state=True)
    cut = 97
    first = {k: (v[..., :cut] if k in ("u", "delta", "z", "B", "C") else v) for k, v in inp.items()}
    second = {k: (v[..., cut:] if k in ("u", "delta", "z", "B", "C") else v) for k, v in inp.items()}
    y1, h = selective_scan_torch(**first, delta_softplus=True, return_last_state=True)
    y2, last = selective_scan_torch(**second, delta_softplus=True, return_last_state=True,
                                    initial_state=h)
    assert rel_err(torch.cat([y1, y2], -1), full) < 1e-6 and rel_err(last, full_last) < 1e-6
    h0 = torch.randn_like(h)
    ref, ref_last = ref_scan(**second, delta_softplus=True, initial_state=h0)
    out, last = selective_scan_torch(**second, delta_softplus=True, return_last_state=True,
                                     initial_state=h0)
    assert rel_err(out, ref) < 1e-5 and rel_err(last, ref_last) < 1e-5


def test_initial_state_contribution_is_the_cuda_paths_correction():
    """The CUDA backend runs the kernel from a zero state and adds this term; check the algebra."""
    inp = scan_inputs(length=120, seed=9)
    inp.update(z=None, D=None)
    h0 = torch.randn(2, 24, 16)
    with_state, last = selective_scan_torch(**inp, delta_softplus=True, return_last_state=True,
                                            initial_state=h0)
    zero, zero_last = selective_scan_torch(**inp, delta_softplus=True, return_last_state=True)
    dt = F.softplus(inp["delta"] + inp["delta_bias"][:, None])
    extra_y, extra_last = initial_state_contribution(dt, inp["A"], inp["C"], h0)
    assert rel_err(zero + extra_y, with_state) < 1e-5
    assert rel_err(zero_last + extra_last, last) < 1e-5


@pytest.mark.parametrize("steep", [None, "some"])
def test_scan_gradients_match_float64_reference(steep):
    inp = scan_inputs(length=150, seed=10, steep=steep)
    names = ["u", "delta", "A", "B", "C", "D", "z", "delta_bias"]
    ours = {k: inp[k].clone().requires_grad_() for k in names}
    theirs = {k: inp[k].double().requires_grad_() for k in names}
    weight = torch.randn(2, 24, 150)
    (selective_scan_torch(**ours, delta_softplus=True) * weight).sum().backward()
    (ref_scan(**theirs, delta_softplus=True)[0] * weight.double()).sum().backward()
    for k in names:
        assert rel_err(ours[k].grad, theirs[k].grad) < 1e-4, k


@pytest.mark.parametrize("bad", [
    dict(u=torch.zeros(2, 24)), dict(A=torch.zeros(23, 16)), dict(B=torch.zeros(2, 16, 63)),
    dict(B=torch.zeros(2, 5, 16, 64)), dict(D=torch.zeros(3)), dict(z=torch.zeros(1, 24, 64)),
    dict(initial_state=torch.zeros(2, 24, 15)), dict(A=torch.zeros(24, 16, dtype=torch.cfloat))])
def test_scan_rejects_bad_shapes(bad):
    inp = scan_inputs(length=64)
    inp.update(bad)
    with pytest.raises((ValueError, NotImplementedError)):
        selective_scan_torch(**inp)


# ----------------------------------------------------------------------------- the layer
def _trained_looking(m, seed=0):
    """Perturb the mamba_ssm initialisation so every parameter matters (D=1, conv bias...)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return m


@pytest.mark.parametrize("bias,conv_bias", [(False, True), (True, False)])
def test_mamba_matches_float64_reference(bias, conv_bias):
    torch.manual_seed(0)
    m = _trained_looking(Mamba(32, bias=bias, conv_bias=conv_bias))
    x = torch.randn(2, 300, 32)
    assert rel_err(m(x), ref_mamba(m, x)) < 1e-5


def test_mamba_gradients_match_float64_reference():
    torch.manual_seed(1)
    m = _trained_looking(Mamba(16, d_state=8))
    x = torch.randn(2, 80, 16)
    weight = torch.randn(2, 80, 16)
    (m(x) * weight).sum().backward()
    params = {k: v.detach().double().requires_grad_() for k, v in m.state_dict().items()}
    (ref_mamba(m, x, params) * weight.double()).sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert rel_err(p.grad, params[name].grad) < 1e-4, name


# Facts from mamba_ssm.modules.mamba_simple.Mamba.__init__ (v1.x / v2.x): parameters are
# registered as in_proj, conv1d, x_proj, dt_proj, A_log, D, out_proj, with d_inner = expand *
# d_model, dt_rank = ceil(d_model / 16), in_proj/out_proj bias = `bias`, conv1d bias = `conv_bias`,
# x_proj without bias, dt_proj with bias.  For d_model=64, d_state=16, d_conv=4, expand=2:
MAMBA_SSM_KEYS_64 = {
    "A_log": (128, 16),
    "D": (128,),
    "in_proj.weight": (256, 64),
    "conv1d.weight": (128, 1, 4),
    "conv1d.bias": (128,),
    "x_proj.weight": (36, 128),          # dt_rank 4 + 2 * d_state
    "dt_proj.weight": (128, 4),
    "dt_proj.bias": (128,),
    "out_proj.weight": (64, 128),
}


def test_state_dict_matches_mamba_ssm():
    sd = Mamba(64, d_state=16, d_conv=4, expand=2).state_dict()
    assert list(sd) == list(MAMBA_SSM_KEYS_64)            # same registration order too
    assert {k: tuple(v.shape) for k, v in sd.items()} == MAMBA_SSM_KEYS_64
    with_bias = Mamba(64, bias=True, conv_bias=False).state_dict()
    assert set(with_bias) == set(MAMBA_SSM_KEYS_64) - {"conv1d.bias"} | {"in_proj.bias",
                                                                         "out_proj.bias"}
    assert tuple(with_bias["in_proj.bias"].shape) == (256,)
    assert tuple(with_bias["out_proj.bias"].shape) == (64,)
    odd = Mamba(40, d_state=8, d_conv=3, expand=1.5, dt_rank=7).state_dict()
    assert tuple(odd["x_proj.weight"].shape) == (7 + 16, 60)
    assert tuple(odd["conv1d.weight"].shape) == (60, 1, 3)


def test_checkpoint_round_trip_is_strict():
    """A mamba_ssm-shaped checkpoint (arbitrary values) loads strictly and reproduces outputs."""
    g = torch.Generator().manual_seed(0)
    ckpt = {k: 0.1 * torch.randn(shape, generator=g) for k, shape in MAMBA_SSM_KEYS_64.items()}
    a, b = Mamba(64), Mamba(64)
    a.load_state_dict(ckpt, strict=True)
    b.load_state_dict(a.state_dict(), strict=True)
    x = torch.randn(1, 20, 64)
    assert torch.equal(a(x), b(x))


def test_initialisation_semantics():
    torch.manual_seed(0)
    m = Mamba(64, d_state=16, dt_min=0.002, dt_max=0.05, dt_init_floor=1e-4, dt_scale=2.0)
    assert torch.equal(m.A_log, torch.log(torch.arange(1, 17.0)).repeat(128, 1))
    assert torch.equal(m.D, torch.ones(128))
    assert m.A_log._no_weight_decay and m.D._no_weight_decay and m.dt_proj.bias._no_reinit
    dt = F.softplus(m.dt_proj.bias)
    assert dt.min() >= 0.002 * (1 - 1e-5) and dt.max() <= 0.05 * (1 + 1e-5)
    assert dt.max() / dt.min() > 5                       # spread log-uniformly, not constant
    bound = 2.0 * m.dt_rank ** -0.5
    assert m.dt_proj.weight.abs().max() <= bound and m.dt_proj.weight.std() > bound / 4
    constant = Mamba(64, dt_init="constant")
    assert torch.equal(constant.dt_proj.weight, torch.full((128, 4), 4 ** -0.5))
    floored = Mamba(64, dt_min=1e-6, dt_max=2e-6, dt_init_floor=1e-3)
    assert torch.allclose(F.softplus(floored.dt_proj.bias), torch.full((128,), 1e-3))
    half = Mamba(64, dtype=torch.float16)
    assert half.in_proj.weight.dtype == torch.float16 and half.A_log.dtype == torch.float32


@pytest.mark.parametrize("chunk_len", [1, 2, 5, 59, 60])
def test_forward_chunked_equals_one_pass(chunk_len):
    torch.manual_seed(2)
    m = _trained_looking(Mamba(32, d_conv=4))
    x = torch.randn(2, 60, 32)
    with torch.no_grad():
        full, state = m(x, return_state=True)
        chunked, chunked_state = m.forward_chunked(x, chunk_len, return_state=True)
    assert rel_err(chunked, full) < 1e-5
    assert rel_err(chunked_state.ssm_state, state.ssm_state) < 1e-5
    assert rel_err(chunked_state.conv_state, state.conv_state) < 1e-6   # GEMM shapes differ
    assert torch.equal(state.conv_state, m._in_projection(x)[:, :m.d_inner, -3:])


def test_stateful_forward_continues_a_sequence():
    torch.manual_seed(3)
    m = _trained_looking(Mamba(16, d_state=8))
    x = torch.randn(3, 50, 16)
    out1, state = m(x[:, :20], return_state=True)
    assert isinstance(state, MambaState)
    out2 = m(x[:, 20:], state=state)
    assert rel_err(torch.cat([out1, out2], 1), ref_mamba(m, x)) < 1e-5
    with pytest.raises(ValueError, match="state shapes"):
        m(x, state=MambaState(state.conv_state[:1], state.ssm_state[:1]))


def test_layer_backward_through_chunked_forward():
    torch.manual_seed(4)
    m = Mamba(16, d_state=8)
    x = torch.randn(2, 40, 16, requires_grad=True)
    m.forward_chunked(x, 7).square().mean().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())


def test_layer_under_cpu_bf16_autocast():
    torch.manual_seed(5)
    m = _trained_looking(Mamba(32))
    x = torch.randn(2, 100, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(x)
    assert out.dtype == torch.bfloat16
    assert rel_err(out, ref_mamba(m, x)) < 3e-2          # bf16 GEMMs: ~2^-8 per rounding


@pytest.mark.parametrize("kwargs", [dict(d_model=0), dict(d_model=8, dt_rank=0),
                                    dict(d_model=8, dt_min=0.2, dt_max=0.1),
                                    dict(d_model=8, dt_init="normal")])
def test_bad_config_raises(kwargs):
    with pytest.raises(ValueError):
        Mamba(**kwargs)


def test_bad_input_raises():
    m = Mamba(8)
    for bad in (torch.zeros(2, 5, 9), torch.zeros(5, 8), torch.zeros(2, 0, 8)):
        with pytest.raises(ValueError):
            m(bad)
    with pytest.raises(ValueError, match="chunk_len"):
        m.forward_chunked(torch.zeros(1, 5, 8), 0)


# ----------------------------------------------------------------------------- backends
def test_backend_selection(monkeypatch):
    assert "torch" in available_backends()
    if not torch.cuda.is_available():
        assert available_backends() == ["torch"]
    cpu = torch.device("cpu")
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_backend(cpu) == "torch"
    monkeypatch.setenv(ENV_VAR, "torch")
    assert resolve_backend(cpu) == "torch"
    monkeypatch.setenv(ENV_VAR, "cuda")
    with pytest.raises(RuntimeError, match="cuda"):
        resolve_backend(cpu)
    with pytest.raises(RuntimeError, match="cuda"):
        Mamba(8)(torch.zeros(1, 3, 8))
    assert resolve_backend(cpu, "torch") == "torch"       # explicit argument beats the env
    monkeypatch.setenv(ENV_VAR, "triton")
    with pytest.raises(ValueError, match="triton"):
        resolve_backend(cpu)


def test_public_selective_scan_dispatches_to_torch_on_cpu():
    inp = scan_inputs(length=30)
    out, last = selective_scan(**inp, delta_softplus=True, return_last_state=True)
    ref, ref_last = ref_scan(**inp, delta_softplus=True)
    assert rel_err(out, ref) < 1e-5 and rel_err(last, ref_last) < 1e-5


def test_import_does_not_touch_mamba_ssm():
    code = ("import sys, torch, motion_core.ssm as s; s.available_backends(); "
            "m = s.Mamba(8); m(torch.zeros(1, 3, 8)); "
            "assert torch.cuda.is_available() or 'mamba_ssm' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_wrapper_initial_state_logic_with_a_stand_in_kernel(monkeypatch, dtype):
    """The CUDA branch's initial-state handling (kernel from zero state, linear correction, then
    z gating) checked on CPU by standing the torch scan in for mamba_ssm's selective_scan_fn,
    with the kernel's dtype contract (u, delta, B, C, z share a dtype) enforced."""
    import motion_core.ssm.backends as backends

    def kernel(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
               return_last_state=False):
        assert len({t.dtype for t in (u, delta, B, C) + ((z,) if z is not None else ())}) == 1
        return selective_scan_torch(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                    return_last_state)

    monkeypatch.setattr(backends, "cuda_ops", lambda: backends.CudaOps(kernel, None, None))
    inp = scan_inputs(length=90, seed=12)
    inp.update({k: inp[k].to(dtype) for k in ("u", "delta", "B", "C", "z")})
    h0 = torch.randn(2, 24, 16)
    out, last = backends._selective_scan_cuda(**inp, delta_softplus=True, return_last_state=True,
                                              initial_state=h0)
    ref, ref_last = ref_scan(**inp, delta_softplus=True, initial_state=h0)
    assert out.dtype == dtype
    assert rel_err(out, ref) < (1e-5 if dtype == torch.float32 else 4e-3)
    assert rel_err(last, ref_last) < 1e-5


def test_short_sequences_on_the_step_by_step_scan_match_the_closed_form():
    """Length <= SHORT_SEQUENCE runs step by step on a GPU; on any device it is the same recurrence."""
    from motion_core.ssm.scan_torch import SHORT_SEQUENCE
    torch.manual_seed(1)
    b, d, n, length = 64, 6, 4, SHORT_SEQUENCE // 2
    u, delta = torch.randn(b, d, length), torch.rand(b, d, length)
    A, B, C = -torch.rand(d, n) * 3, torch.randn(b, n, length), torch.randn(b, n, length)
    closed = selective_scan_torch(u, delta, A, B, C, delta_softplus=True)
    stepped = selective_scan_torch(u, delta, A, B, C, delta_softplus=True, method="sequential")
    assert torch.allclose(stepped, closed, atol=1e-5)


# ----------------------------------------------------------------------------- packing short sequences
def test_pack_lays_sequences_end_to_end_after_separators_and_unpack_inverts_it():
    from motion_core.ssm.packing import pack, unpack
    x = torch.arange(5 * 2 * 3, dtype=torch.float32).view(5, 2, 3) + 1     # 5 sequences, 2 channels, 3 steps
    packed = pack(x, per_row=2, separator=-7.0)
    assert packed.shape == (3, 2, 2 * 4)                                   # rows filled up to 6 sequences
    # row 0, channel 1: [sep, seq0 ch1, sep, seq1 ch1]
    assert packed[0, 1].tolist() == [-7.0, *x[0, 1].tolist(), -7.0, *x[1, 1].tolist()]
    assert (packed[2, :, 4:] == -7.0).all()                                # the filler sequence
    assert torch.equal(unpack(packed, 5, 3), x)


def test_packing_applies_only_to_short_sequences_that_fit_a_row_twice():
    from motion_core.ssm.packing import MAX_PACKED_SEQUENCE, MIN_PACKED_SEQUENCES, applies
    many = MIN_PACKED_SEQUENCES
    assert applies(8, 128, many) and applies(MAX_PACKED_SEQUENCE, 128, many)
    assert not applies(MAX_PACKED_SEQUENCE + 1, 128, many)
    assert not applies(8, 0, many)            # switched off
    assert not applies(8, 17, many)           # one sequence per row gains nothing
    assert not applies(8, 128, many - 1)      # too few sequences: they fill the GPU unpacked


def _kernel_stand_in(calls):
    """mamba_ssm's selective_scan_fn stood in by the float64 step-by-step scan (like the kernel, it forms
    exp(delta * A) per step: no cumulative sums for the separators' huge delta to swamp)."""
    def kernel(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
               return_last_state=False):
        calls.append(tuple(u.shape))
        return selective_scan_torch(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state,
                                    method="sequential", compute_dtype=torch.float64)
    return kernel


@pytest.mark.parametrize("length,count", [(1, 9), (8, 37), (16, 5)])
def test_packed_scan_equals_the_plain_scan_forward_and_backward(monkeypatch, length, count):
    """Each packed sequence starts from rest: outputs and every gradient match the reference scan."""
    import motion_core.ssm.backends as backends
    monkeypatch.setattr(backends.packing, "MIN_PACKED_SEQUENCES", 1)   # small counts keep the test fast
    calls = []
    monkeypatch.setattr(backends, "cuda_ops", lambda: backends.CudaOps(_kernel_stand_in(calls), None, None))
    inp = {k: v.double().requires_grad_() for k, v in scan_inputs(batch=count, length=length, seed=5).items()}
    out = backends._selective_scan_cuda(**inp, delta_softplus=True, return_last_state=False,
                                        initial_state=None, packed_length=64)
    per_row = 64 // (length + 1)
    assert calls == [(-(-count // per_row), inp["u"].shape[1], per_row * (length + 1))]
    ref, _ = ref_scan(**inp, delta_softplus=True)
    assert (out - ref).abs().max() < 1e-12
    weights = torch.randn_like(ref)
    got = torch.autograd.grad((out * weights).sum(), list(inp.values()))
    want = torch.autograd.grad((ref * weights).sum(), list(inp.values()))
    for name, g, w in zip(inp, got, want):
        assert (g - w).abs().max() < 1e-10 * max(1.0, w.abs().max().item()), name


@pytest.mark.parametrize("length,packed_length,state,count", [(17, 128, False, 3), (8, 0, False, 3),
                                                             (8, 128, True, 3), (8, 128, False, 2)])
def test_long_sequences_unpacked_settings_stateful_scans_and_few_sequences_are_not_packed(
        monkeypatch, length, packed_length, state, count):
    import motion_core.ssm.backends as backends
    monkeypatch.setattr(backends.packing, "MIN_PACKED_SEQUENCES", 3)
    calls = []
    monkeypatch.setattr(backends, "cuda_ops", lambda: backends.CudaOps(_kernel_stand_in(calls), None, None))
    inp = scan_inputs(batch=count, length=length, seed=6)
    backends._selective_scan_cuda(**inp, delta_softplus=True, return_last_state=state, initial_state=None,
                                  packed_length=packed_length)
    assert calls == [tuple(inp["u"].shape)]

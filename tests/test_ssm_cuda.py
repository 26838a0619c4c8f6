"""CUDA backend (mamba_ssm's fused kernels) against the PyTorch backend, on one GPU.

Self-contained; run on a machine with an NVIDIA GPU and `pip install 'motion-core[cuda]'`:
    python -m pytest -q tests/test_ssm_cuda.py
Skips cleanly without a GPU or without mamba_ssm.  Both backends run on the same CUDA tensors
and weights; the torch backend is forced with MOTION_SSM_BACKEND=torch.  TF32 is switched off so
float32 means float32 (cuDNN would otherwise round convolution inputs to 10-bit mantissas).
"""
import math

import pytest
import torch

from motion_core.ssm import Mamba, available_backends, selective_scan
from motion_core.ssm.backends import ENV_VAR

pytestmark = pytest.mark.cuda
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)
if "cuda" not in available_backends():
    pytest.skip("mamba_ssm's CUDA kernels are not importable", allow_module_level=True)

DEV = torch.device("cuda")
# Tolerances (relative error in norm): float32 kernels vs float32 PyTorch ops; in 16-bit both
# backends compute the scan in float32 and round the same intermediates.
FP32_TOL, HALF_TOL = 1e-5, 1e-3
# A whole layer under autocast also rounds every 16-bit GEMM/conv output; a one-ulp flip there
# (2^-8 for bf16) propagates, so allow a little more than the scan alone.
LAYER_HALF_TOL = {torch.float16: 1e-3, torch.bfloat16: 3e-3}


@pytest.fixture(autouse=True)
def no_tf32():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def rel_err(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm()).item()


def scan_inputs(batch=2, dim=64, n=16, length=256, seed=0, dtype=torch.float32):
    """Mamba-like scan inputs on the GPU; activations in `dtype`, A/D/bias float32 as in Mamba."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)
    dt = torch.exp(torch.rand(dim, generator=g) * (math.log(0.1) - math.log(1e-3))
                   + math.log(1e-3))
    act = dict(u=r(batch, dim, length), delta=0.5 * r(batch, dim, length),
               B=r(batch, n, length), C=r(batch, n, length), z=r(batch, dim, length))
    params = dict(A=-torch.arange(1, n + 1.0).repeat(dim, 1) * torch.exp(0.3 * r(dim, n)),
                  D=r(dim), delta_bias=dt + torch.log(-torch.expm1(-dt)))
    out = {k: v.to(DEV, dtype) for k, v in act.items()}
    out.update({k: v.to(DEV) for k, v in params.items()})
    return out


def both_backends(inputs, **kwargs):
    cuda = selective_scan(**inputs, **kwargs, backend="cuda")
    torch_ = selective_scan(**inputs, **kwargs, backend="torch")
    return cuda, torch_


@pytest.mark.parametrize("length", [1, 64, 1000, 3000])
@pytest.mark.parametrize("use_z,use_d,use_bias", [(True, True, True), (False, False, False)])
def test_scan_fp32(length, use_z, use_d, use_bias):
    inp = scan_inputs(length=length, seed=length)
    for key, used in (("z", use_z), ("D", use_d), ("delta_bias", use_bias)):
        if not used:
            inp[key] = None
    (yc, hc), (yt, ht) = both_backends(inp, delta_softplus=True, return_last_state=True)
    assert rel_err(yc, yt) < FP32_TOL and rel_err(hc, ht) < FP32_TOL


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_scan_half(dtype):
    inp = scan_inputs(length=500, dtype=dtype)
    yc, yt = both_backends(inp, delta_softplus=True)
    assert yc.dtype == yt.dtype == dtype
    assert rel_err(yc, yt) < HALF_TOL


@pytest.mark.parametrize("dtype,tol", [(torch.float32, FP32_TOL), (torch.bfloat16, HALF_TOL)])
def test_scan_initial_state(dtype, tol):
    """The CUDA path adds a non-zero initial state by linearity (the kernel has no such input)."""
    inp = scan_inputs(length=300, dtype=dtype, seed=1)
    h0 = torch.randn(2, 64, 16, device=DEV)
    (yc, hc), (yt, ht) = both_backends(inp, delta_softplus=True, return_last_state=True,
                                       initial_state=h0)
    assert rel_err(yc, yt) < tol and rel_err(hc, ht) < FP32_TOL


def test_scan_gradients():
    base = scan_inputs(length=200, seed=2)
    grads = []
    for backend in ("cuda", "torch"):
        inp = {k: v.clone().requires_grad_() for k, v in base.items()}
        out = selective_scan(**inp, delta_softplus=True, backend=backend)
        (out * torch.linspace(-1, 1, out.numel(), device=DEV).view_as(out)).sum().backward()
        grads.append({k: v.grad for k, v in inp.items()})
    for k in base:
        assert rel_err(grads[0][k], grads[1][k]) < 1e-4, k


def make_layer(seed=0, **kwargs):
    torch.manual_seed(seed)
    m = Mamba(64, **kwargs).to(DEV)
    with torch.no_grad():                   # move off the init so D, conv bias... all matter
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m


def run_layer(m, x, monkeypatch, backend, **kwargs):
    monkeypatch.setenv(ENV_VAR, backend)
    return m(x, **kwargs)


@pytest.mark.parametrize("use_fast_path", [True, False])
def test_layer_fp32_forward_and_backward(use_fast_path, monkeypatch):
    m = make_layer(use_fast_path=use_fast_path)
    x = torch.randn(2, 700, 64, device=DEV)
    grads = []
    outs = []
    for backend in ("cuda", "torch"):
        m.zero_grad()
        out = run_layer(m, x, monkeypatch, backend)
        out.square().mean().backward()
        outs.append(out.detach())
        grads.append({n: p.grad.clone() for n, p in m.named_parameters()})
    assert rel_err(outs[0], outs[1]) < FP32_TOL
    for name in grads[0]:
        assert rel_err(grads[0][name], grads[1][name]) < 1e-4, name


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_layer_autocast(dtype, monkeypatch):
    m = make_layer(seed=1)
    x = torch.randn(2, 500, 64, device=DEV)
    with torch.autocast("cuda", dtype=dtype):
        out_cuda = run_layer(m, x, monkeypatch, "cuda")
        out_torch = run_layer(m, x, monkeypatch, "torch")
    assert out_cuda.dtype == out_torch.dtype == dtype
    assert rel_err(out_cuda, out_torch) < LAYER_HALF_TOL[dtype]


def test_layer_chunked_on_cuda_equals_one_pass(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cuda")
    m = make_layer(seed=2)
    x = torch.randn(2, 1000, 64, device=DEV)
    with torch.no_grad():
        full = m(x)                                        # fused mamba_inner_fn
        chunked, state = m.forward_chunked(x, 173, return_state=True)
        monkeypatch.setenv(ENV_VAR, "torch")
        _, state_torch = m(x, return_state=True)
    assert rel_err(chunked, full) < FP32_TOL
    assert rel_err(state.ssm_state, state_torch.ssm_state) < FP32_TOL
    assert rel_err(state.conv_state, state_torch.conv_state) < FP32_TOL   # GEMM shapes differ


def test_checkpoints_interchange_with_mamba_ssm():
    """Our layer and mamba_ssm's Mamba load each other's state_dict strictly and agree."""
    from mamba_ssm.modules.mamba_simple import Mamba as Reference
    torch.manual_seed(3)
    theirs = Reference(d_model=64, d_state=16, d_conv=4, expand=2).to(DEV)
    ours = Mamba(64, d_state=16, d_conv=4, expand=2).to(DEV)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 300, 64, device=DEV)
    with torch.no_grad():
        assert rel_err(ours(x), theirs(x)) < FP32_TOL
    fresh = Reference(d_model=64, d_state=16, d_conv=4, expand=2).to(DEV)
    fresh.load_state_dict(ours.state_dict(), strict=True)
    with torch.no_grad():
        assert rel_err(fresh(x), theirs(x)) < FP32_TOL


@pytest.mark.parametrize("dtype,tol,grad_tol", [(torch.float32, FP32_TOL, 1e-5), (torch.bfloat16, HALF_TOL, 3e-3)])
def test_packed_short_sequences_equal_one_by_one(dtype, tol, grad_tol):
    """The kernel on packed 8-step sequences (ssm/packing.py) gives the unpacked kernel's outputs and
    gradients: the separators reset the state exactly and contribute nothing to any gradient."""
    base = scan_inputs(batch=2000, dim=32, n=8, length=8, seed=3, dtype=dtype)   # >= MIN_PACKED_SEQUENCES
    results = []
    for packed_length in (0, 128, 512):
        inp = {k: v.clone().requires_grad_() for k, v in base.items()}
        out = selective_scan(**inp, delta_softplus=True, backend="cuda", packed_length=packed_length)
        weights = torch.linspace(-1, 1, out.numel(), device=DEV).view_as(out)
        grads = torch.autograd.grad((out.float() * weights).sum(), list(inp.values()))
        results.append((out, grads))
    (ref, ref_grads), *packed = results
    for out, grads in packed:
        assert rel_err(out, ref) < tol
        for name, g, w in zip(base, grads, ref_grads):
            # the kernel combines a packed row's steps in another order: rounding-level differences
            assert rel_err(g, w) < grad_tol, name


@pytest.mark.parametrize("autocast,tol,grad_tol", [(False, FP32_TOL, 1e-4), (True, LAYER_HALF_TOL[torch.bfloat16], 1e-2)])
def test_spatial_sized_layer_packed_equals_unpacked(autocast, tol, grad_tol):
    torch.manual_seed(4)
    m = Mamba(32, d_state=8, expand=1).to(DEV)
    x = torch.randn(4096, 8, 32, device=DEV)
    results = []
    for packed_length in (0, 128):
        m.zero_grad()
        m.packed_length = packed_length
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            out = m(x)
        out.float().square().mean().backward()
        results.append((out.detach(), {n: p.grad.clone() for n, p in m.named_parameters()}))
    (ref, ref_grads), (out, grads) = results
    assert rel_err(out, ref) < tol
    for name in grads:
        assert rel_err(grads[name], ref_grads[name]) < grad_tol, name


@pytest.mark.parametrize("autocast,tol,grad_tol", [(False, 1e-4, 1e-3), (True, 2e-2, 5e-2)])
def test_fused_temporal_scans_equal_per_scan(autocast, tol, grad_tol):
    """HierarchicalTemporalMamba's grouped selective scan (one kernel call, grouped B/C, separators between
    interleaved subsequences) against its per-scan path, both on mamba_ssm's kernels: padded batch, long rows."""
    from motion_core.models.layers import lengths_to_mask
    from motion_core.models.mamba_blocks import HierarchicalTemporalMamba
    torch.manual_seed(5)
    htm = HierarchicalTemporalMamba(64, ("fwd", "rev", "fwd_s2"), 8, 4, 1).to(DEV)
    torch.nn.init.normal_(htm.gate.weight)
    x = torch.randn(2, 3001, 64, device=DEV)
    mask = lengths_to_mask(torch.tensor([3001, 2100]), 3001).to(DEV)
    results = []
    for fused in (False, True):
        htm.fused = fused
        htm.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            out = htm(x, mask)
        out.float().square().mean().backward()
        results.append((out.detach(), {n: p.grad.clone() for n, p in htm.named_parameters()}))
    (ref, ref_grads), (out, grads) = results
    assert rel_err(out, ref) < tol
    for name in grads:
        assert rel_err(grads[name], ref_grads[name]) < grad_tol, name

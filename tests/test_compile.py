"""What `torch.compile` needs from the model code, checked on the CPU: the selective scan as one custom
operator (ssm/scan_op.py), a denoiser and an IK that trace as one graph each (no graph break), with the
eager results; and the bookkeeping of the per-shape CUDA graphs (motion_core.runtime.shape_graphs) that needs no GPU.

The tests trace with the "eager"/"aot_eager" backends: they check what TorchDynamo and AOTAutograd see
without paying for code generation (minutes on two cores); the compiled kernels are checked on a GPU
(`tests/test_graph_sampler.py`, marked cuda).
"""
import functools

import numpy as np
import pytest
import torch

from motion_core.engine import Engine, tiny_config
from motion_core.generation import decoding, sampling
from motion_core.kinematics.ik_graph import features_to_rotations_fn
from motion_core.runtime.shape_graphs import CAPTURE_AFTER, ShapeGraphs
from motion_core.kinematics.representation import features_to_joints, joints_to_features
from motion_core.kinematics.rotations import joints_to_rotations
from motion_core.kinematics.skeleton import HUMANML3D
from motion_core.ssm.backends import selective_scan
from motion_core.ssm.scan_op import selective_scan_op


def _scan_inputs(batch=2, dim=6, state=4, length=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    return (r(batch, dim, length), r(batch, dim, length), -torch.rand(dim, state, generator=g) - 0.5,
            r(batch, state, length), r(batch, state, length), r(dim), r(batch, dim, length), r(dim))


def test_scan_operator_is_the_scan():
    u, delta, A, B, C, D, z, bias = _scan_inputs()
    want = selective_scan(u, delta, A, B, C, D, z, bias, True)
    got = selective_scan_op(u, delta, A, B, C, D, z, bias, True, 128)
    torch.testing.assert_close(got, want)
    assert torch.equal(selective_scan_op(u, delta, A, B, C, None, None, None, False, 0, "torch"),
                       selective_scan(u, delta, A, B, C, None, None, None, False, backend="torch"))


def test_scan_operator_passes_torch_library_checks():
    # schema, fake (meta) implementation and the dispatcher agree: what torch.compile relies on
    torch.library.opcheck(selective_scan_op, _scan_inputs(length=5) + (True, 128, ""),
                          test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_static"))


@pytest.mark.parametrize("denoiser", ["mamba_unet", "transformer"])
def test_denoiser_traces_as_one_graph_with_eager_results(denoiser):
    model = Engine.random(tiny_config(denoiser), seed=0).denoiser
    z, t = torch.randn(2, 11, model.config.latent_dim), torch.tensor([10, 700])
    tokens, mask = torch.randn(2, 5, model.config.text_dim), torch.tensor([[True] * 5, [True] * 2 + [False] * 3])
    with torch.no_grad():
        want = model(z, t, tokens, mask, None)
        torch._dynamo.reset()
        got = torch.compile(model, backend="aot_eager", fullgraph=True, dynamic=False)(z, t, tokens, mask, None)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def _clip(frames=12):
    g = np.random.default_rng(3)
    rest = HUMANML3D.rest_positions()
    wobble = 0.02 * g.standard_normal((frames, *rest.shape))
    return torch.tensor(rest[None] + wobble + np.linspace(0, 1, frames)[:, None, None] * [0.0, 0.0, 1.0])[None]


def test_ik_solver_traces_as_one_graph_with_numpy_results():
    """What the IK graphs capture (features -> joints -> rotations) traces whole and gives the host's answer."""
    features = torch.from_numpy(joints_to_features(_clip()[0].numpy()))[None]
    torch._dynamo.reset()
    solver = features_to_rotations_fn(HUMANML3D, torch.device("cpu"))
    solved = torch.compile(solver, backend="eager", fullgraph=True)(features)
    joints = features_to_joints(features[0].numpy())
    want = (joints, *joints_to_rotations(joints, HUMANML3D))
    for got, expected in zip(solved, want):
        np.testing.assert_allclose(got[0].numpy(), expected, atol=1e-9)


def test_shape_graphs_capture_a_shape_on_its_second_use():
    graphs = ShapeGraphs(torch.neg, torch.device("cpu"), "test")
    x = torch.zeros(1, 196, 3)
    assert CAPTURE_AFTER == 2
    assert not graphs.due(x)                       # first use: computed the usual way
    assert graphs.run(x) is None
    assert not graphs.due(torch.zeros(2, 196, 3)) and not graphs.due(x.double())   # shapes, dtypes count apart
    assert not graphs.due(x, frames=7)             # and so do static arguments
    assert graphs.key(x) == graphs.key((x.shape, x.dtype))
    assert graphs.due(x)                           # second use: a graph from now on
    graphs.disabled_reason = "capture failed"
    assert not graphs.due(x) and graphs.run(x) is None
    with pytest.raises(ValueError, match="max_graphs"):
        ShapeGraphs(torch.neg, torch.device("cpu"), "test", max_graphs=0)


def test_engine_solves_small_passes_on_the_host_without_a_gpu():
    engine = Engine.random(tiny_config(), seed=0)
    assert not engine.ik_graphs and not engine.compile
    assert decoding.ik_stage_graphs(engine) is None and decoding.decoder_graphs(engine) is None
    assert not decoding.ik_on_device(engine, 1, 196)


def test_traceable_mamba_forward_is_the_eager_forward():
    """The convolution written out tap by tap (what torch.compile sees) equals PyTorch's convolution."""
    from motion_core.ssm import Mamba
    torch.manual_seed(0)
    layer = Mamba(16, d_state=4, d_conv=4, expand=2)
    x = torch.randn(3, 13, 16)
    with torch.no_grad():
        torch.testing.assert_close(layer._traceable_forward(x), layer(x), atol=1e-5, rtol=1e-5)
        x_inner = torch.randn(3, layer.d_inner, 13)
        want, _ = layer._causal_conv(x_inner, None, None)
        torch.testing.assert_close(layer._causal_conv_taps(x_inner), want, atol=1e-6, rtol=1e-6)


def test_decoder_traces_as_one_graph():
    """What the decoder's graphs capture (VAE decode, de-normalisation) traces whole, as Engine(compile=True) needs."""
    engine = Engine.random(tiny_config(), seed=0)
    latents = torch.randn(1, 5, engine.vae.config.latent_dim)
    with torch.inference_mode():
        want = decoding.decoded_features(engine, latents, 20)
        torch._dynamo.reset()
        decode = functools.partial(decoding.decoded_features, engine)
        got = torch.compile(decode, backend="eager", fullgraph=True)(latents, 20)
    torch.testing.assert_close(got, want)


def test_text_encoders_split_encode_into_host_and_device_halves():
    """What the text graphs capture is `forward_prepared`: with `prepare` it is `encode`, and it traces whole."""
    encoder = Engine.random(tiny_config(), seed=0).text_encoder
    assert encoder.splits_encoding
    prompts = ["a person waves", "someone jumps over a puddle, then waves"]
    with torch.inference_mode():
        want = encoder.encode(prompts)
        inputs = encoder.prepare(prompts)
        torch._dynamo.reset()
        got = torch.compile(encoder.forward_prepared, backend="eager", fullgraph=True)(*inputs)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)


def test_engine_uses_text_graphs_only_for_encoders_that_split():
    from motion_core.text import TextEncoder

    class Whole(TextEncoder):          # implements encode only, as third-party encoders may
        dim, trainable = 4, False

        def encode(self, prompts):
            return torch.zeros(len(prompts), 1, 4), torch.ones(len(prompts), 1, dtype=torch.bool)
    assert not Whole().splits_encoding
    engine = Engine.random(tiny_config(), seed=0)
    engine.cuda_graphs = True          # still no graphs without a CUDA device
    assert sampling.text_graphs(engine) is None


def test_a_failed_compiled_capture_falls_back_to_the_plain_function_once(monkeypatch, caplog):
    """CompiledForCapture (shared by the sampler's and ShapeGraphs' caches), with capture stood in on the CPU:
    a compiled capture that fails warns once and captures the plain function; out-of-memory propagates."""
    import logging

    from motion_core.runtime import graph_sampler

    def compiled(x):
        return x
    monkeypatch.setattr(graph_sampler, "compile_for_capture", lambda fn, max_graphs, freezing: compiled)

    def fake_capture(run, device):
        if run.uses is compiled:
            raise RuntimeError(run.error)
        return "graph", run()

    def run_with(error):
        def build(fn):
            def run():
                return fn(torch.ones(2))
            run.uses, run.error = fn, error
            return run
        return build
    monkeypatch.setattr(graph_sampler, "capture", fake_capture)
    target = graph_sampler.CompiledForCapture(torch.neg, "negation", max_graphs=8, compile=True)
    assert target.requested and target.active and target.function() is compiled
    with caplog.at_level(logging.WARNING, logger="motion_core.runtime.graph_sampler"):
        graph, out = target.capture(run_with("inductor failed"), torch.device("cpu"))
    assert graph == "graph" and torch.equal(out, -torch.ones(2))
    assert target.requested and not target.active and target.function() is torch.neg
    assert sum("compiling negation failed" in r.message for r in caplog.records) == 1
    oom = graph_sampler.CompiledForCapture(torch.neg, "negation", max_graphs=8, compile=True)
    with pytest.raises(RuntimeError, match="out of memory"):
        oom.capture(run_with("CUDA out of memory"), torch.device("cpu"))
    assert oom.active

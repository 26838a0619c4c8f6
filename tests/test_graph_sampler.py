"""motion_core.runtime.graph_sampler: whole-loop CUDA-graph sampling and the engine's use of it.

The CPU tests check what needs no GPU: token padding and shape keys, that the captured loop's computation
(guidance inside the model call, padded tokens, static buffers) equals the samplers' own, the engine's
fallback to eager sampling when capture fails, and the empty-prompt cache. The tests marked `cuda` capture
real graphs and compare them with eager sampling; they skip without a GPU.
"""
import logging

import numpy as np
import pytest
import torch

from motion_core.runtime import graph_sampler
from motion_core.generation.diffusion import ddim_sample, draw_inpainting_noise, dpm_solver_pp_sample
from motion_core.engine import Engine, tiny_config
from motion_core.generation import decoding, sampling
from motion_core.generation.progress import Progress
from motion_core.generation.sampling import sample_latents, unconditional
from motion_core.runtime.graph_sampler import GraphSampler, _CapturedLoop, pad_tokens

PROMPTS = ["a person walks forward", "a person jumps twice"]


@pytest.fixture(scope="module")
def engine():
    return Engine.random(tiny_config(), seed=0)


def _latents(engine, prompts=PROMPTS, frames=40, guidance=3.0, steps=4, seed=0):
    seeds = [seed + i for i in range(len(prompts))]
    return sample_latents(engine, list(prompts), seeds, frames, guidance, steps, Progress(None), None)


# ---- CPU ------------------------------------------------------------------------------------------------

def test_pad_tokens_appends_masked_zeros():
    tokens, mask = torch.randn(2, 3, 4), torch.tensor([[True, True, False], [True, True, True]])
    padded, padded_mask = pad_tokens(tokens, mask, 8)
    assert padded.shape == (2, 8, 4) and padded_mask.shape == (2, 8)
    assert torch.equal(padded[:, :3], tokens) and not padded[:, 3:].any()
    assert torch.equal(padded_mask[:, :3], mask) and not padded_mask[:, 3:].any()
    with pytest.raises(ValueError, match="cannot pad"):
        pad_tokens(tokens, mask, 2)


def test_keys_bucket_token_lengths_and_separate_shapes(engine):
    sampler = GraphSampler(engine.denoiser, engine.schedule, torch.device("cpu"))
    x = torch.zeros(2, 10, 8)
    cond3 = (torch.zeros(2, 3, 32), torch.ones(2, 3, dtype=torch.bool))
    cond7 = (torch.zeros(2, 7, 32), torch.ones(2, 7, dtype=torch.bool))
    cond9 = (torch.zeros(2, 9, 32), torch.ones(2, 9, dtype=torch.bool))
    uncond = (torch.zeros(2, 1, 32), torch.ones(2, 1, dtype=torch.bool))
    key = sampler.key(ddim_sample, x, cond3, uncond, 20, 7.5)
    assert key == sampler.key(ddim_sample, x, cond7, uncond, 20, 2.0)        # same bucket, any guidance
    assert key.tokens == graph_sampler.TOKEN_BUCKET and key.guided
    assert sampler.key(ddim_sample, x, cond9, uncond, 20, 7.5).tokens == 16
    others = [sampler.key(dpm_solver_pp_sample, x, cond3, uncond, 20, 7.5),
              sampler.key(ddim_sample, torch.zeros(1, 10, 8), cond3, uncond, 20, 7.5),
              sampler.key(ddim_sample, x, cond3, uncond, 10, 7.5),
              sampler.key(ddim_sample, x, cond3, None, 20, 1.0)]
    assert len({key, *others}) == 5
    with pytest.raises(ValueError, match="uncond"):
        sampler.key(ddim_sample, x, cond3, None, 20, 7.5)


@pytest.mark.parametrize("sample_fn", [ddim_sample, dpm_solver_pp_sample])
@pytest.mark.parametrize("guidance", [1.0, 4.0])
def test_captured_loop_computes_what_the_sampler_computes(engine, sample_fn, guidance):
    """The loop a graph records (guidance applied in the model call, tokens padded) equals eager sampling."""
    torch.manual_seed(0)
    x_T = torch.randn(2, 10, 8)
    with torch.inference_mode():
        cond = engine.text_encoder.encode(PROMPTS)
        uncond = unconditional(engine, 2)
        sampler = GraphSampler(engine.denoiser, engine.schedule, torch.device("cpu"), dtype=torch.float32)
        key = sampler.key(sample_fn, x_T, cond, uncond, 5, guidance)
        assert key.tokens > cond[0].shape[1]            # the loop really runs on padded tokens
        loop = _CapturedLoop(key, torch.device("cpu"))
        loop.load(x_T, cond, uncond, guidance)
        graphed = sampler._loop_runner(key, sample_fn, loop)()

        def model_fn(x, t, condition, mask):
            return engine.denoiser(x, t, condition[0], condition[1], mask)
        eager = sample_fn(engine.schedule, model_fn, x_T.shape, cond, uncond, steps=5, guidance=guidance, x_T=x_T)
    torch.testing.assert_close(graphed, eager, rtol=1e-4, atol=1e-5)


def _inpainting(shape, steps, seed=3):
    known = torch.zeros(shape)
    known[:, :4] = torch.randn(shape[0], 4, shape[2], generator=torch.Generator().manual_seed(seed + 1))
    known_mask = torch.zeros(shape[:2], dtype=torch.bool)
    known_mask[:, :4] = True
    return known, known_mask


@pytest.mark.parametrize("sample_fn", [ddim_sample, dpm_solver_pp_sample])
def test_inpainting_noise_drawn_up_front_gives_the_generators_sample(engine, sample_fn):
    """`draw_inpainting_noise` draws what the samplers would draw step by step, so extend and timelines keep
    their seeded results when their RePaint noise becomes a static graph buffer."""
    shape, steps = (1, 10, 8), 5
    known, known_mask = _inpainting(shape, steps)
    x_T = torch.randn(shape, generator=torch.Generator().manual_seed(0))

    def model_fn(x, t, condition, mask):
        return engine.denoiser(x, t, condition[0], condition[1], mask)
    with torch.inference_mode():
        cond = engine.text_encoder.encode(PROMPTS[:1])
        common = dict(steps=steps, guidance=1.0, x_T=x_T, known=known, known_mask=known_mask)
        drawn = sample_fn(engine.schedule, model_fn, shape, cond, None,
                          generator=torch.Generator().manual_seed(7), **common)
        noise = draw_inpainting_noise(steps, shape, torch.Generator().manual_seed(7), "cpu")
        given = sample_fn(engine.schedule, model_fn, shape, cond, None, known_noise=noise, **common)
        other = sample_fn(engine.schedule, model_fn, shape, cond, None, known_noise=torch.randn_like(noise), **common)
    torch.testing.assert_close(given, drawn, rtol=0, atol=0)
    assert not torch.equal(other, drawn)                      # the noise really is used
    torch.testing.assert_close(given[:, :4], known[:, :4])    # the known latents come out as given
    with pytest.raises(ValueError, match="known_noise"):
        sample_fn(engine.schedule, model_fn, shape, cond, None, known_noise=noise[:, :, :3], **common)
    with pytest.raises(ValueError, match="more"):
        sample_fn(engine.schedule, model_fn, shape, cond, None, known_noise=noise[:2], **common)


@pytest.mark.parametrize("sample_fn", [ddim_sample, dpm_solver_pp_sample])
def test_captured_loop_inpaints_like_the_sampler(engine, sample_fn):
    """The loop a graph records for extend and timeline windows: known latents, mask and noise as buffers."""
    shape, steps, guidance = (1, 10, 8), 4, 3.0
    known, known_mask = _inpainting(shape, steps)
    noise = draw_inpainting_noise(steps, shape, torch.Generator().manual_seed(2), "cpu")
    inpaint = {"known": known, "known_mask": known_mask, "known_noise": noise}
    x_T = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        cond = engine.text_encoder.encode(PROMPTS[:1])
        uncond = unconditional(engine, 1)
        sampler = GraphSampler(engine.denoiser, engine.schedule, torch.device("cpu"), dtype=torch.float32)
        key = sampler.key(sample_fn, x_T, cond, uncond, steps, guidance, inpaint=True)
        assert key != sampler.key(sample_fn, x_T, cond, uncond, steps, guidance)   # its own graph
        loop = _CapturedLoop(key, torch.device("cpu"))
        loop.load(x_T, cond, uncond, guidance, inpaint)
        graphed = sampler._loop_runner(key, sample_fn, loop)()

        def model_fn(x, t, condition, mask):
            return engine.denoiser(x, t, condition[0], condition[1], mask)
        eager = sample_fn(engine.schedule, model_fn, shape, cond, uncond, steps=steps, guidance=guidance, x_T=x_T,
                          **inpaint)
    torch.testing.assert_close(graphed, eager, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="known_mask"):
        sampler.sample(sample_fn, x_T, cond, uncond, steps, guidance, known=known)


def test_graphs_are_not_used_on_the_cpu(engine):
    forced = Engine.random(tiny_config(), seed=0, cuda_graphs=True)
    assert forced.cuda_graphs and not engine.cuda_graphs
    torch.testing.assert_close(_latents(forced), _latents(engine), rtol=0, atol=0)
    assert forced.graphs.sampler is None


def test_capture_failure_falls_back_to_eager_with_one_warning(monkeypatch, caplog):
    engine = Engine.random(tiny_config(), seed=0, cuda_graphs=True)
    expected = _latents(Engine.random(tiny_config(), seed=0))
    attempts = []

    def failing_capture(self, *args, **kwargs):
        attempts.append(args[0])
        raise RuntimeError("operation not permitted when stream is capturing")
    monkeypatch.setattr(sampling, "graphs_supported", lambda device: True)   # as if on CUDA
    monkeypatch.setattr(GraphSampler, "_capture", failing_capture)
    with caplog.at_level(logging.WARNING, logger="motion_core.runtime.graph_sampler"):
        first = _latents(engine)
        second = _latents(engine)
    torch.testing.assert_close(first, expected, rtol=0, atol=0)
    torch.testing.assert_close(second, expected, rtol=0, atol=0)
    assert len(attempts) == 1                                  # disabled after the first failure
    assert "not permitted" in engine.graphs.sampler.disabled_reason
    sampler_warnings = [r for r in caplog.records if r.name == "motion_core.runtime.graph_sampler"]
    assert sum("falling back" in r.message or "eagerly" in r.message for r in sampler_warnings) == 1


@pytest.mark.parametrize("error", [torch.cuda.OutOfMemoryError("CUDA out of memory"), MemoryError(),
                                   RuntimeError("DefaultCPUAllocator: can't allocate memory")])
def test_out_of_memory_during_capture_propagates(engine, error):
    """Whatever the engine's batch halving counts as out-of-memory (device.is_out_of_memory) reaches it."""
    sampler = GraphSampler(engine.denoiser, engine.schedule, torch.device("cpu"))

    def oom(*args, **kwargs):
        raise error
    sampler._capture = oom
    cond = (torch.zeros(1, 2, 32), torch.ones(1, 2, dtype=torch.bool))
    with pytest.raises(type(error)):
        sampler.try_sample(ddim_sample, torch.zeros(1, 10, 8), cond, None, 4, 1.0)
    assert sampler.disabled_reason is None


def test_other_capture_errors_turn_graphs_off(engine):
    sampler = GraphSampler(engine.denoiser, engine.schedule, torch.device("cpu"))

    def broken(*args, **kwargs):
        raise ValueError("capture of an unsupported operator")
    sampler._capture = broken
    cond = (torch.zeros(1, 2, 32), torch.ones(1, 2, dtype=torch.bool))
    assert sampler.try_sample(ddim_sample, torch.zeros(1, 10, 8), cond, None, 4, 1.0) is None
    assert "unsupported operator" in sampler.disabled_reason


def test_engine_rejects_unknown_precision():
    with pytest.raises(ValueError, match="precision"):
        Engine.random(tiny_config(), precision="fp8")


def test_empty_prompt_is_encoded_once_and_refreshed_after_training(engine, monkeypatch):
    calls = []
    encode = engine.text_encoder.encode
    monkeypatch.setattr(engine.text_encoder, "encode", lambda prompts: calls.append(list(prompts)) or encode(prompts))
    engine.graphs.empty_prompt = None
    with torch.inference_mode():
        tokens, mask = unconditional(engine, 3)
        again, _ = unconditional(engine, 5)
    assert calls == [[""]]
    reference, reference_mask = encode(["", "", ""])
    torch.testing.assert_close(tokens, reference)
    assert torch.equal(mask, reference_mask) and again.shape[0] == 5
    with torch.no_grad():                                     # an optimiser step changes weights in place
        next(engine.text_encoder.parameters()).add_(0.0)
    with torch.inference_mode():
        unconditional(engine, 1)
    assert calls == [[""], [""]]


# ---- CUDA -------------------------------------------------------------------------------------------------

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def cuda_engines():
    graphed = Engine.random(tiny_config(), seed=0, device="cuda", precision="bf16", cuda_graphs=True)
    eager = Engine.random(tiny_config(), seed=0, device="cuda", precision="bf16", cuda_graphs=False)
    eager32 = Engine.random(tiny_config(), seed=0, device="cuda", precision="fp32", cuda_graphs=False)
    return graphed, eager, eager32


def _rel(a, b):
    return float((a - b).norm() / b.norm().clamp_min(1e-12))


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("sampler", ["ddim", "dpm_solver_pp"])
def test_cuda_graph_matches_eager_within_bf16_tolerance(cuda_engines, sampler):
    graphed, eager, eager32 = cuda_engines
    for e in cuda_engines:
        e.sampler = sampler
    got = _latents(graphed, steps=10)
    assert graphed.graphs.sampler is not None and graphed.graphs.sampler.disabled_reason is None
    assert _rel(got, _latents(eager, steps=10)) < 2e-2      # same precision, same kernels up to padding
    assert _rel(got, _latents(eager32, steps=10)) < 1e-1    # bf16 vs fp32 over ten steps


@pytest.mark.cuda
@cuda
def test_cuda_graph_is_reused_for_new_prompts_seeds_and_guidance(cuda_engines):
    graphed, eager, _ = cuda_engines
    graphed.sampler = eager.sampler = "ddim"
    _latents(graphed, steps=6)
    captures = graphed.graphs.sampler.captures
    got = _latents(graphed, prompts=["someone crawls", "a dancer spins"], guidance=5.0, steps=6, seed=9)
    assert graphed.graphs.sampler.captures == captures
    want = _latents(eager, prompts=["someone crawls", "a dancer spins"], guidance=5.0, steps=6, seed=9)
    assert _rel(got, want) < 2e-2
    _latents(graphed, prompts=["one prompt"], steps=6)     # a new batch size is a new shape
    assert graphed.graphs.sampler.captures == captures + 1


@pytest.mark.cuda
@cuda
def test_cuda_generate_end_to_end_with_graphs(cuda_engines):
    graphed, _, _ = cuda_engines
    motions = graphed.generate(["a person waves"], seconds=2.0, steps=6)
    assert motions[0].joints.shape == (40, 22, 3)
    extended = graphed.extend(motions[0], "then sits down", seconds=1.0, steps=4)
    assert extended.num_frames == 60


@pytest.mark.cuda
@cuda
def test_cuda_inpainting_is_captured_and_matches_eager(cuda_engines):
    """extend and timeline windows (inpainting) replay a captured loop and give what eager sampling gives."""
    graphed, eager, _ = cuda_engines
    graphed.sampler = eager.sampler = "ddim"
    segments = [("a person walks forward", 6.0), ("a person waves", 6.0)]
    want = eager.generate_timeline(segments, steps=6, seed=4)
    captures = graphed.graphs.sampler.captures if graphed.graphs.sampler is not None else 0
    got = graphed.generate_timeline(segments, steps=6, seed=4)
    assert graphed.graphs.sampler.disabled_reason is None
    assert graphed.graphs.sampler.captures > captures
    assert any(key.inpaint for key in graphed.graphs.sampler._cache)
    again = graphed.generate_timeline(segments, steps=6, seed=4)
    np.testing.assert_allclose(again.joints, got.joints, atol=1e-5)     # replays are deterministic
    error = np.abs(got.joints - want.joints).mean() / np.abs(want.joints).mean()
    assert error < 5e-2                                                 # bf16 graph vs bf16 eager


@pytest.mark.cuda
@cuda
def test_cuda_generate_solves_the_ik_on_the_gpu_like_the_host(cuda_engines, monkeypatch):
    """On CUDA the engine keeps decoded features of big passes on the GPU and solves features -> rotations
    there (rotations_torch); the motions must be those of the host's numpy IK on the same features."""
    graphed, _, _ = cuda_engines
    monkeypatch.setattr(graphed, "ik_graphs", False)    # eager GPU kernels only (graphs: the next test)
    assert graphed.gpu_ik and decoding.ik_on_device(graphed, 1, decoding.GPU_IK_MIN_FRAMES)
    assert not decoding.ik_on_device(graphed, 1, decoding.GPU_IK_MIN_FRAMES - 1)
    monkeypatch.setattr(decoding, "GPU_IK_MIN_FRAMES", 1)    # this test's small pass too
    prompts = ["a person waves", "someone jumps"]
    on_gpu = graphed.generate(prompts, seconds=2.0, steps=6, seed=3)
    graphed.gpu_ik = False
    try:
        on_host = graphed.generate(prompts, seconds=2.0, steps=6, seed=3)
    finally:
        graphed.gpu_ik = True
    for a, b in zip(on_host, on_gpu):
        for name in ("joints", "rotations", "root_translation", "offsets"):
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=1e-5, err_msg=name)


def _assert_same_motions(got, want, atol=1e-5):
    for a, b in zip(want, got):
        for name in ("joints", "rotations", "root_translation", "offsets"):
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=atol, err_msg=name)


@pytest.mark.cuda
@cuda
def test_cuda_small_passes_replay_text_decoder_and_ik_as_graphs_from_their_second_use(cuda_engines, monkeypatch):
    graphed, _, _ = cuda_engines
    monkeypatch.setattr(graphed, "ik_graphs", True)
    monkeypatch.setattr(graphed.graphs, "stages", {})
    prompts = ["a person waves"]
    first = graphed.generate(prompts, seconds=2.0, steps=6, seed=5)       # eager text, decoder; host IK; counted
    assert all(g.captures == 0 for g in graphed.graphs.stages.values())
    second = graphed.generate(prompts, seconds=2.0, steps=6, seed=5)      # captured, replayed
    third = graphed.generate(prompts, seconds=2.0, steps=6, seed=5)       # replayed
    for stage in ("text", "decode", "ik"):
        graphs = graphed.graphs.stages[stage]
        assert graphs.captures == 1 and graphs.disabled_reason is None, stage
    _assert_same_motions(second, first)
    _assert_same_motions(third, first)


@pytest.mark.cuda
@cuda
def test_cuda_compiled_engine_matches_the_uncompiled_one():
    """torch.compile under every graph (sampling, decoder, IK): same motions within bf16 rounding, no fallback."""
    compiled = Engine.random(tiny_config(), seed=0, device="cuda", precision="bf16", cuda_graphs=True, compile=True)
    plain = Engine.random(tiny_config(), seed=0, device="cuda", precision="bf16", cuda_graphs=True)
    assert _rel(_latents(compiled, steps=6), _latents(plain, steps=6)) < 2e-2
    assert compiled.graphs.sampler.compile and compiled.graphs.sampler.disabled_reason is None
    prompts = ["a person waves"]
    runs = [compiled.generate(prompts, seconds=2.0, steps=6, seed=1) for _ in range(3)]
    for stage in ("text", "decode", "ik"):
        graphs = compiled.graphs.stages[stage]
        assert graphs.compile and graphs.captures == 1 and graphs.disabled_reason is None, stage
    _assert_same_motions(runs[2], runs[0], atol=1e-5)   # compiled graphs vs eager decoder and the host's IK

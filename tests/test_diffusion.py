"""Noise schedules, the DDPM training loss, and the DDIM / DPM-Solver++ samplers."""
import math

import pytest
import torch

from motion_core.generation.diffusion import (BETA_SCHEDULES, PREDICTIONS, Cancelled, NoiseSchedule, concat_conditions,
                                   ddim_sample, dpm_solver_pp_sample, sampling_timesteps, training_loss)

SAMPLERS = [ddim_sample, dpm_solver_pp_sample]
SHAPE = (2, 6, 4)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def oracle_for(schedule: NoiseSchedule, x0: torch.Tensor):
    """A perfect denoiser for data that is always exactly `x0`, in the schedule's prediction type."""
    def model(x, t, cond, mask):
        a = schedule.alphas_cumprod[t].to(x.dtype).view(-1, 1, 1)
        target = x0.repeat(x.shape[0] // x0.shape[0], 1, 1)
        eps = (x - a.sqrt() * target) / (1 - a).sqrt()
        return {"epsilon": eps, "sample": target, "v": a.sqrt() * eps - (1 - a).sqrt() * target}[schedule.prediction]
    return model


def gaussian_oracle(schedule, mu, sd):
    """Exact noise prediction for data ~ N(mu, sd^2) per coordinate (epsilon prediction)."""
    def model(x, t, cond, mask):
        a = schedule.alphas_cumprod.to(x.dtype)[t].view(-1, 1, 1)
        x0_mean = mu + (a.sqrt() * sd ** 2 / (a * sd ** 2 + 1 - a)) * (x - a.sqrt() * mu)
        return (x - a.sqrt() * x0_mean) / (1 - a).sqrt()
    return model


class Recorder:
    """A conditional toy model that records the batches it was called with."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, t, cond, mask):
        self.calls.append((x.shape[0], t.clone(), cond, mask))
        scale = cond.view(-1, 1, 1) if cond is not None else 1.0
        return 0.1 * x * scale + 0.05


# ---------------------------------------------------------------- schedule

@pytest.mark.parametrize("beta_schedule", BETA_SCHEDULES)
def test_schedule_is_monotone_and_bounded(beta_schedule):
    s = NoiseSchedule(1000, beta_schedule)
    ab = s.alphas_cumprod
    assert ab.shape == (1000,) and ab.dtype == torch.float64
    assert torch.all(ab[1:] < ab[:-1])
    assert 0 < ab[-1] < 0.01 and 0.99 < ab[0] < 1
    assert torch.all((s.betas > 0) & (s.betas < 1))


def test_scaled_linear_betas_follow_the_formula():
    s = NoiseSchedule(10, "scaled_linear", beta_start=0.001, beta_end=0.02)
    assert math.isclose(float(s.betas[0]), 0.001, rel_tol=1e-12)
    assert math.isclose(float(s.betas[-1]), 0.02, rel_tol=1e-12)
    mid = (math.sqrt(0.001) + 5 / 9 * (math.sqrt(0.02) - math.sqrt(0.001))) ** 2
    assert math.isclose(float(s.betas[5]), mid, rel_tol=1e-9)


def test_schedule_config_round_trip_and_validation():
    s = NoiseSchedule(500, "cosine", "v")
    assert NoiseSchedule.from_config(s.config()).config() == s.config()
    assert torch.equal(NoiseSchedule.from_config(s.config()).alphas_cumprod, s.alphas_cumprod)
    for bad in [dict(num_train_steps=1), dict(beta_schedule="quadratic"), dict(prediction="x"),
                dict(beta_start=0.1, beta_end=0.01)]:
        with pytest.raises(ValueError):
            NoiseSchedule(**bad)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_split_prediction_inverts_the_training_target(prediction):
    s = NoiseSchedule(prediction=prediction)
    x0, noise = torch.randn(SHAPE, generator=_gen(1)), torch.randn(SHAPE, generator=_gen(2))
    t = torch.tensor([10, 700])
    x_t = s.q_sample(x0, t, noise)
    x0_hat, eps_hat = s.split_prediction(s.training_target(x0, noise, t), x_t, t)
    assert torch.allclose(x0_hat, x0, atol=1e-4) and torch.allclose(eps_hat, noise, atol=1e-3)


def test_sampling_timesteps():
    s = NoiseSchedule(1000)
    steps = sampling_timesteps(s, 20)
    assert len(steps) == 20 and steps[0] == 999 and steps[-1] == 0
    assert all(a > b for a, b in zip(steps, steps[1:]))
    assert sampling_timesteps(s, 1000) == list(range(999, -1, -1))
    with pytest.raises(ValueError):
        sampling_timesteps(s, 0)


# ---------------------------------------------------------------- training loss

def test_training_loss_is_zero_for_the_oracle_and_positive_otherwise():
    for prediction in PREDICTIONS:
        s = NoiseSchedule(prediction=prediction)
        x0 = torch.randn(SHAPE, generator=_gen(3))
        assert training_loss(s, oracle_for(s, x0), x0, generator=_gen(4)) < 1e-6
        assert training_loss(s, lambda x, t, c, m: torch.zeros_like(x), x0, generator=_gen(4)) > 0.1


def test_training_loss_ignores_masked_frames_and_is_seeded():
    s = NoiseSchedule()
    x0 = torch.randn(SHAPE, generator=_gen(5))
    mask = torch.ones(SHAPE[:2], dtype=torch.bool)
    mask[0, 3:] = False

    def model(garbage):
        def fn(x, t, cond, m):
            out = torch.zeros_like(x)
            out[~m] = garbage  # only padded positions differ between the two models
            return out
        return fn

    a = training_loss(s, model(0.0), x0, mask=mask, generator=_gen(6))
    b = training_loss(s, model(1e3), x0, mask=mask, generator=_gen(6))
    assert torch.equal(a, b)
    assert not torch.equal(a, training_loss(s, model(0.0), x0, mask=mask, generator=_gen(7)))


def test_training_loss_masked_mean_matches_manual_computation():
    s = NoiseSchedule()
    x0 = torch.randn(SHAPE, generator=_gen(8))
    noise = torch.randn(SHAPE, generator=_gen(9))
    t = torch.tensor([5, 900])
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    loss = training_loss(s, lambda x, t_, c, m: torch.zeros_like(x), x0, mask=mask, t=t, noise=noise)
    assert torch.allclose(loss, noise[mask].pow(2).mean())


def test_training_loss_passes_condition_and_checks_shapes():
    s = NoiseSchedule()
    x0 = torch.zeros(SHAPE)
    seen = []
    training_loss(s, lambda x, t, c, m: seen.append(c) or torch.zeros_like(x), x0, cond="text", generator=_gen())
    assert seen == ["text"]
    with pytest.raises(ValueError, match="shape"):
        training_loss(s, lambda x, t, c, m: x[:, :1], x0, generator=_gen())
    with pytest.raises(ValueError, match="mask"):
        training_loss(s, lambda x, t, c, m: x, x0, mask=torch.ones(2, 6), generator=_gen())


def test_training_loss_gradients_reach_the_model():
    s = NoiseSchedule()
    layer = torch.nn.Linear(4, 4)
    loss = training_loss(s, lambda x, t, c, m: layer(x), torch.randn(SHAPE, generator=_gen()), generator=_gen())
    loss.backward()
    assert layer.weight.grad.abs().sum() > 0


# ---------------------------------------------------------------- samplers

@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("prediction", PREDICTIONS)
@pytest.mark.parametrize("beta_schedule", BETA_SCHEDULES)
def test_perfect_oracle_recovers_x0(sampler, prediction, beta_schedule):
    s = NoiseSchedule(beta_schedule=beta_schedule, prediction=prediction)
    x0 = torch.randn(SHAPE, generator=_gen(10))
    out = sampler(s, oracle_for(s, x0), SHAPE, steps=10, generator=_gen(11))
    assert torch.allclose(out, x0, atol=1e-4)


def test_ddim_with_eta_recovers_x0_too():
    s = NoiseSchedule()
    x0 = torch.randn(SHAPE, generator=_gen(12))
    assert torch.allclose(ddim_sample(s, oracle_for(s, x0), SHAPE, steps=15, eta=1.0, generator=_gen()), x0,
                          atol=1e-4)


def test_samplers_follow_the_probability_flow_ode():
    """On Gaussian data the ODE maps x_T to mu + sd * z_T exactly; DPM-Solver++ gets closer in few steps."""
    s = NoiseSchedule()
    mu, sd = 0.7, 0.3
    model = gaussian_oracle(s, mu, sd)
    x_T = torch.randn(4, 16, 3, generator=_gen(13), dtype=torch.float64)
    a_T = s.alpha_bar(999)
    exact = mu + sd * (x_T - math.sqrt(a_T) * mu) / math.sqrt(a_T * sd ** 2 + 1 - a_T)

    def error(sampler, steps):
        out = sampler(s, model, x_T.shape, steps=steps, x_T=x_T, dtype=torch.float64)
        return (out - exact).abs().mean().item()

    assert error(ddim_sample, 1000) < 5e-3 and error(dpm_solver_pp_sample, 1000) < 5e-3
    assert error(dpm_solver_pp_sample, 10) < 0.5 * error(ddim_sample, 10)


def test_dpm_solver_takes_a_first_order_last_update_when_steps_are_few():
    """Under `LOWER_ORDER_FINAL_BELOW` steps the update before the final jump is first order (at 5 steps the
    second-order one broke bodies of model v17): 3 steps are then DDIM's, step for step; from 8 steps it is second
    order again, and closer to the exact flow than DDIM."""
    from motion_core.generation.diffusion import LOWER_ORDER_FINAL_BELOW
    s = NoiseSchedule()
    model = gaussian_oracle(s, 0.7, 0.3)
    x_T = torch.randn(4, 16, 3, generator=_gen(14), dtype=torch.float64)
    same = [torch.allclose(dpm_solver_pp_sample(s, model, x_T.shape, steps=n, x_T=x_T, dtype=torch.float64),
                           ddim_sample(s, model, x_T.shape, steps=n, x_T=x_T, dtype=torch.float64))
            for n in (3, LOWER_ORDER_FINAL_BELOW)]
    assert same == [True, False]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_sampling_is_deterministic_under_a_seed(sampler):
    s = NoiseSchedule()
    model = Recorder()
    kwargs = dict(steps=8, guidance=3.0, cond=torch.ones(2), uncond=torch.zeros(2))
    a = sampler(s, model, SHAPE, generator=_gen(42), **kwargs)
    b = sampler(s, model, SHAPE, generator=_gen(42), **kwargs)
    c = sampler(s, model, SHAPE, generator=_gen(43), **kwargs)
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_ddim_eta_noise_also_comes_from_the_generator():
    s = NoiseSchedule()
    a = ddim_sample(s, Recorder(), SHAPE, steps=5, eta=0.5, generator=_gen(1))
    b = ddim_sample(s, Recorder(), SHAPE, steps=5, eta=0.5, generator=_gen(1))
    assert torch.equal(a, b)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_guidance_is_one_batched_pass_with_the_cfg_formula(sampler):
    s = NoiseSchedule()
    model = Recorder()
    cond, uncond = torch.full((2,), 2.0), torch.full((2,), 0.5)
    out = sampler(s, model, SHAPE, cond, uncond, steps=4, guidance=3.0, generator=_gen(0))
    assert len(model.calls) == 4
    assert all(batch == 4 for batch, *_ in model.calls)
    assert torch.equal(model.calls[0][2], torch.tensor([2.0, 2.0, 0.5, 0.5]))

    def guided(x, t, c, m):  # the same guidance applied by hand, one call per half
        return (1 - 3.0) * Recorder()(x, t, uncond, m) + 3.0 * Recorder()(x, t, cond, m)

    manual = sampler(s, guided, SHAPE, steps=4, generator=_gen(0))
    assert torch.allclose(out, manual, atol=1e-5)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_guidance_one_equals_conditional_only(sampler):
    s = NoiseSchedule()
    cond = torch.full((2,), 2.0)
    guided_model, plain_model = Recorder(), Recorder()
    guided = sampler(s, guided_model, SHAPE, cond, torch.zeros(2), steps=5, guidance=1.0, generator=_gen(3))
    plain = sampler(s, plain_model, SHAPE, cond, steps=5, generator=_gen(3))
    assert torch.equal(guided, plain)
    assert all(batch == 2 for batch, *_ in guided_model.calls)


def test_guidance_without_uncond_is_an_error():
    with pytest.raises(ValueError, match="uncond"):
        ddim_sample(NoiseSchedule(), Recorder(), SHAPE, torch.ones(2), steps=2, guidance=2.0)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_cancel_raises_and_stops_calling_the_model(sampler):
    model = Recorder()
    polls = []

    def should_cancel():
        polls.append(1)
        return len(polls) > 3

    with pytest.raises(Cancelled):
        sampler(NoiseSchedule(), model, SHAPE, steps=10, generator=_gen(), should_cancel=should_cancel)
    assert len(model.calls) == 3


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_progress_is_called_once_per_step(sampler):
    seen = []
    sampler(NoiseSchedule(), Recorder(), SHAPE, steps=7, generator=_gen(), progress=lambda i, n: seen.append((i, n)))
    assert seen == [(i, 7) for i in range(1, 8)]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_frame_mask_is_passed_doubled_and_padding_stays_zero(sampler):
    mask = torch.ones(SHAPE[:2], dtype=torch.bool)
    mask[1, 4:] = False
    model = Recorder()
    out = sampler(NoiseSchedule(), model, SHAPE, torch.ones(2), torch.zeros(2), steps=3, guidance=2.0,
                  generator=_gen(), mask=mask)
    assert torch.all(out[1, 4:] == 0) and torch.all(out[mask] != 0)
    assert all(torch.equal(m, torch.cat([mask, mask])) for *_, m in model.calls)
    with pytest.raises(ValueError, match="mask"):
        sampler(NoiseSchedule(), model, SHAPE, steps=2, mask=mask[:, :3])


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_inpainting_keeps_known_frames_and_informs_the_rest(sampler):
    s = NoiseSchedule()
    known = torch.randn(SHAPE, generator=_gen(20))
    known_mask = torch.zeros(SHAPE[:2], dtype=torch.bool)
    known_mask[:, :3] = True
    seen_inputs = []

    def model(x, t, cond, mask):
        seen_inputs.append(x.clone())
        return torch.zeros_like(x)

    out = sampler(s, model, SHAPE, steps=6, generator=_gen(21), known=known, known_mask=known_mask)
    assert torch.equal(out[:, :3], known[:, :3])
    # At the last model call (t = 0) the known frames are almost clean: the model sees the known content.
    assert torch.allclose(seen_inputs[-1][:, :3], known[:, :3], atol=0.15)
    with pytest.raises(ValueError, match="known"):
        sampler(s, model, SHAPE, steps=2, known=known)


def test_concat_conditions_pads_sequences_and_masks():
    tokens_c, mask_c = torch.ones(2, 5, 3), torch.ones(2, 5, dtype=torch.bool)
    tokens_u, mask_u = torch.ones(2, 1, 3), torch.ones(2, 1, dtype=torch.bool)
    tokens, mask = concat_conditions((tokens_c, mask_c), (tokens_u, mask_u))
    assert tokens.shape == (4, 5, 3) and mask.shape == (4, 5)
    assert mask[2:, 1:].any().item() is False and mask[2:, 0].all() and mask[:2].all()
    assert torch.all(tokens[2:, 1:] == 0)
    both = concat_conditions({"a": torch.zeros(1, 2), "b": None}, {"a": torch.ones(1, 2), "b": None})
    assert both["b"] is None and both["a"].tolist() == [[0, 0], [1, 1]]
    with pytest.raises(TypeError):
        concat_conditions(torch.zeros(1), {"a": torch.zeros(1)})

"""Gaussian diffusion over motion latents: noise schedule, training objective and samplers.

Tensors are (B, L, C): batch, latent length, channels. A frame `mask` (B, L) bool marks real positions (True)
versus padding; padded positions are excluded from the loss and kept at zero while sampling.

The denoiser is any callable ``model_fn(x_t, t, cond, mask) -> out`` with ``t`` a (B,) long tensor of training
step indices. What ``out`` means is the schedule's `prediction` ("epsilon": the noise, "v": the velocity
sqrt(a) * eps - sqrt(1 - a) * x0, "sample": x0 itself). ``cond`` is opaque to this module (e.g. the text
encoder's (tokens, mask) pair); classifier-free guidance concatenates ``cond`` and ``uncond`` along the batch once
and evaluates the model on the doubled batch in a single pass per step.

Samplers: DDIM (`ddim_sample`, eta=0 is deterministic) and DPM-Solver++(2M) (`dpm_solver_pp_sample`, good
quality in 10-20 steps). Both support RePaint-style inpainting of known latent positions, progress callbacks,
cancellation and seeded determinism through a `torch.Generator`, and an optional `guide` that steers each
step's predicted clean sample (x0) before the step uses it.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

import torch

PREDICTIONS = ("epsilon", "v", "sample")
BETA_SCHEDULES = ("scaled_linear", "linear", "cosine")
# (beta_start, beta_end): Stable Diffusion / MLD's latent range, and the original DDPM pixel-space range.
_DEFAULT_BETA_RANGE = {"scaled_linear": (0.00085, 0.012), "linear": (1e-4, 0.02)}

ModelFn = Callable[[torch.Tensor, torch.Tensor, Any, Optional[torch.Tensor]], torch.Tensor]
# ``guide(x0, step, steps) -> x0``: called on each step's predicted clean sample (`generation.guidance`).
Guide = Callable[[torch.Tensor, int, int], torch.Tensor]


class Cancelled(Exception):
    """Raised by a sampler when its `should_cancel()` callback returns True."""


class NoiseSchedule:
    """Discrete variance schedule: betas, cumulative alphas, and conversions between model outputs."""

    def __init__(self, num_train_steps: int = 1000, beta_schedule: str = "scaled_linear",
                 prediction: str = "epsilon", beta_start: float | None = None, beta_end: float | None = None):
        if not isinstance(num_train_steps, int) or num_train_steps < 2:
            raise ValueError(f"num_train_steps must be an int >= 2, got {num_train_steps!r}")
        if beta_schedule not in BETA_SCHEDULES:
            raise ValueError(f"beta_schedule must be one of {BETA_SCHEDULES}, got {beta_schedule!r}")
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        self.num_train_steps = num_train_steps
        self.beta_schedule = beta_schedule
        self.prediction = prediction
        default_start, default_end = _DEFAULT_BETA_RANGE.get(beta_schedule, (None, None))
        self.beta_start = default_start if beta_start is None else float(beta_start)
        self.beta_end = default_end if beta_end is None else float(beta_end)
        self.betas = self._make_betas()
        # float64 on the CPU: products of 1000 factors near 1 lose precision in float32.
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        self._table_cache: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def _make_betas(self) -> torch.Tensor:
        n = self.num_train_steps
        if self.beta_schedule == "cosine":
            # Nichol & Dhariwal (2021): alpha_bar(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2), s = 0.008.
            s = 0.008
            steps = torch.arange(n + 1, dtype=torch.float64) / n
            alpha_bar = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
            return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
        if not (0 < self.beta_start < self.beta_end < 1):
            raise ValueError(f"need 0 < beta_start < beta_end < 1, got {self.beta_start}, {self.beta_end}")
        if self.beta_schedule == "scaled_linear":
            return torch.linspace(self.beta_start ** 0.5, self.beta_end ** 0.5, n, dtype=torch.float64) ** 2
        return torch.linspace(self.beta_start, self.beta_end, n, dtype=torch.float64)

    def config(self) -> dict:
        config = {"num_train_steps": self.num_train_steps, "beta_schedule": self.beta_schedule,
                  "prediction": self.prediction}
        if self.beta_schedule != "cosine":
            config.update(beta_start=self.beta_start, beta_end=self.beta_end)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "NoiseSchedule":
        keys = ("num_train_steps", "beta_schedule", "prediction", "beta_start", "beta_end")
        return cls(**{k: config[k] for k in keys if k in config})

    def alpha_bar(self, t: int) -> float:
        """Cumulative alpha at step t; t = -1 means "no noise" (1.0), the end point of sampling."""
        return 1.0 if t < 0 else float(self.alphas_cumprod[t])

    def _coefficients(self, t: torch.Tensor | int, like: torch.Tensor) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """(sqrt(alpha_bar), sqrt(1 - alpha_bar)) at t, shaped to broadcast against `like` (B, ...)."""
        if isinstance(t, int):
            # Python floats, not tensors: a scalar operand needs no host-to-device copy, which a CUDA graph
            # capture of the sampling loop forbids.
            a = self.alpha_bar(t)
            return math.sqrt(a), math.sqrt(1 - a)
        sqrt_a, sqrt_1ma = self._tables(t.device)
        shape = (-1, *([1] * (like.dim() - 1)))
        return sqrt_a[t].reshape(shape).to(like.dtype), sqrt_1ma[t].reshape(shape).to(like.dtype)

    def _tables(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """sqrt(alpha_bar) and sqrt(1 - alpha_bar) as float32 on `device`, computed once in float64.

        float32 because some accelerators (Apple MPS) have no float64; cached so training steps copy nothing.
        """
        if device not in self._table_cache:
            self._table_cache[device] = (self.alphas_cumprod.sqrt().float().to(device),
                                         (1 - self.alphas_cumprod).sqrt().float().to(device))
        return self._table_cache[device]

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor | int, noise: torch.Tensor) -> torch.Tensor:
        """Draw x_t ~ q(x_t | x0) given the noise: sqrt(a) x0 + sqrt(1 - a) noise."""
        sa, s1a = self._coefficients(t, x0)
        return sa * x0 + s1a * noise

    def training_target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.prediction == "epsilon":
            return noise
        if self.prediction == "sample":
            return x0
        sa, s1a = self._coefficients(t, x0)
        return sa * noise - s1a * x0

    def split_prediction(self, out: torch.Tensor, x_t: torch.Tensor,
                         t: torch.Tensor | int) -> tuple[torch.Tensor, torch.Tensor]:
        """Model output at x_t -> (predicted x0, predicted noise), whatever the prediction type."""
        sa, s1a = self._coefficients(t, x_t)
        if self.prediction == "epsilon":
            return (x_t - s1a * out) / sa, out
        if self.prediction == "v":
            return sa * x_t - s1a * out, s1a * x_t + sa * out
        # x0-prediction: the implied noise is undefined at alpha_bar = 1; the clamp only matters there.
        floor = s1a.clamp(min=1e-8) if isinstance(s1a, torch.Tensor) else max(s1a, 1e-8)
        return out, (x_t - sa * out) / floor


def training_loss(schedule: NoiseSchedule, model_fn: ModelFn, x0: torch.Tensor, cond: Any = None,
                  mask: torch.Tensor | None = None, generator: torch.Generator | None = None,
                  t: torch.Tensor | None = None, noise: torch.Tensor | None = None) -> torch.Tensor:
    """DDPM objective: mean squared error between model output and the schedule's target, at random steps.

    `t` (B,) and `noise` (like x0) are drawn from `generator` unless given. With a frame `mask` (B, L), the
    mean runs over real positions only, so padding never pulls the model towards anything.
    """
    _check_mask(mask, x0.shape)
    if t is None:
        t = torch.randint(0, schedule.num_train_steps, (x0.shape[0],), generator=generator, device=x0.device)
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    out = model_fn(schedule.q_sample(x0, t, noise), t, cond, mask)
    if out.shape != x0.shape:
        raise ValueError(f"model output shape {tuple(out.shape)} != input shape {tuple(x0.shape)}")
    error = (out - schedule.training_target(x0, noise, t)).pow(2)
    if mask is None:
        return error.mean()
    weights = mask.to(error.dtype).unsqueeze(-1)
    return (error * weights).sum() / (weights.sum() * error.shape[-1]).clamp(min=1)


def concat_conditions(cond: Any, uncond: Any) -> Any:
    """Concatenate two conditioning structures along the batch (dim 0).

    Works on tensors, tuples/lists and dicts of tensors, and None. Tensors whose dim 1 differ (token sequences of
    different lengths, e.g. a prompt and the empty prompt) are right-padded with zeros, which is False for bool
    masks, so padded tokens stay masked out.
    """
    if cond is None and uncond is None:
        return None
    if isinstance(cond, torch.Tensor) and isinstance(uncond, torch.Tensor):
        if cond.dim() >= 2 and cond.shape[1] != uncond.shape[1]:
            length = max(cond.shape[1], uncond.shape[1])
            cond, uncond = _pad_dim1(cond, length), _pad_dim1(uncond, length)
        return torch.cat([cond, uncond], dim=0)
    if isinstance(cond, (tuple, list)) and isinstance(uncond, (tuple, list)) and len(cond) == len(uncond):
        return type(cond)(concat_conditions(c, u) for c, u in zip(cond, uncond))
    if isinstance(cond, dict) and isinstance(uncond, dict) and cond.keys() == uncond.keys():
        return {k: concat_conditions(cond[k], uncond[k]) for k in cond}
    raise TypeError(f"cond and uncond must have the same structure, got {type(cond).__name__} and "
                    f"{type(uncond).__name__}")


def _pad_dim1(x: torch.Tensor, length: int) -> torch.Tensor:
    pad = x.new_zeros((x.shape[0], length - x.shape[1], *x.shape[2:]))
    return torch.cat([x, pad], dim=1)


def sampling_timesteps(schedule: NoiseSchedule, steps: int) -> list[int]:
    """`steps` training indices evenly spaced from T - 1 (the noisiest, where sampling starts) down to 0."""
    if not isinstance(steps, int) or not 1 <= steps <= schedule.num_train_steps:
        raise ValueError(f"steps must be an int in [1, {schedule.num_train_steps}], got {steps!r}")
    if steps == 1:
        return [schedule.num_train_steps - 1]
    grid = torch.linspace(schedule.num_train_steps - 1, 0, steps, dtype=torch.float64).round().long()
    return grid.tolist()


def draw_inpainting_noise(steps: int, shape: tuple[int, int, int], generator: torch.Generator | None,
                          device: Any, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(steps, *shape): the inpainting noise both samplers would draw from `generator` (one noising of the
    known latents per step: the start, then after every step but the last, which keeps them clean), drawn in
    the same order, so passing it as `known_noise` gives the sample a generator would have given (with no
    other draws between: DDIM at eta 0, DPM-Solver++)."""
    return torch.stack([torch.randn(shape, generator=generator, device=device, dtype=dtype) for _ in range(steps)])


class _SamplingContext:
    """What both samplers share: guided model evaluation, masks, inpainting, progress and cancellation."""

    def __init__(self, schedule, model_fn, shape, cond, uncond, guidance, generator, mask, known, known_mask,
                 progress, should_cancel, device, dtype, known_noise=None):
        self.schedule, self.model_fn, self.guidance = schedule, model_fn, float(guidance)
        self.generator, self.progress, self.should_cancel = generator, progress, should_cancel
        self.device = torch.device(device) if device is not None else (
            generator.device if generator is not None else torch.device("cpu"))
        self.shape, self.dtype = tuple(shape), dtype
        if len(self.shape) != 3:
            raise ValueError(f"shape must be (B, L, C), got {self.shape}")
        _check_mask(mask, self.shape)
        self.frame_mask = None if mask is None else mask.to(self.device)
        self.cond, self.model_mask = cond, self.frame_mask
        # Classifier-free guidance at scale 1 is exactly the conditional model: skip the unconditional half.
        self.use_guidance = self.guidance != 1.0
        if self.use_guidance:
            if uncond is None:
                raise ValueError("guidance != 1 needs `uncond` (e.g. the encoding of the empty prompt)")
            self.cond = concat_conditions(cond, uncond)
            if self.frame_mask is not None:
                self.model_mask = torch.cat([self.frame_mask, self.frame_mask])
        self.known, self.known_mask = self._check_known(known, known_mask)
        self.known_noise, self._noise_drawn = self._check_known_noise(known_noise), 0

    def _check_known(self, known, known_mask):
        if known is None and known_mask is None:
            return None, None
        if known is None or known_mask is None:
            raise ValueError("inpainting needs both `known` (B, L, C) and `known_mask` (B, L)")
        if tuple(known.shape) != self.shape or tuple(known_mask.shape) != self.shape[:2]:
            raise ValueError(f"known {tuple(known.shape)} / known_mask {tuple(known_mask.shape)} do not match "
                             f"the sample shape {self.shape}")
        return known.to(self.device, self.dtype), known_mask.to(self.device, torch.bool).unsqueeze(-1)

    def _check_known_noise(self, known_noise):
        if known_noise is None:
            return None
        if self.known is None:
            raise ValueError("known_noise is only used with `known` (inpainting)")
        if known_noise.dim() != 4 or tuple(known_noise.shape[1:]) != self.shape:
            raise ValueError(f"known_noise must be (steps, *{self.shape}), got {tuple(known_noise.shape)}")
        return known_noise.to(self.device, self.dtype)

    def inpainting_noise(self) -> torch.Tensor:
        """The noise that puts the known latents at the next step's level: the next slice of `known_noise`
        when given (a captured CUDA graph cannot draw from a seeded generator), else a draw from `generator`."""
        if self.known_noise is None:
            return self.randn()
        if self._noise_drawn >= self.known_noise.shape[0]:
            raise ValueError(f"known_noise has {self.known_noise.shape[0]} slices; this sampler needs more")
        self._noise_drawn += 1
        return self.known_noise[self._noise_drawn - 1]

    def randn(self) -> torch.Tensor:
        return torch.randn(self.shape, generator=self.generator, device=self.device, dtype=self.dtype)

    def initial(self, x_T: torch.Tensor | None, t_first: int) -> torch.Tensor:
        x = self.randn() if x_T is None else x_T.to(self.device, self.dtype)
        return self.constrain(x, t_first)

    def constrain(self, x: torch.Tensor, t: int) -> torch.Tensor:
        """Put the known positions at their noise level t (RePaint) and zero the padding."""
        if self.known is not None:
            known_t = self.known if t < 0 else self.schedule.q_sample(self.known, t, self.inpainting_noise())
            x = torch.where(self.known_mask, known_t, x)
        if self.frame_mask is not None:
            x = x * self.frame_mask.unsqueeze(-1).to(x.dtype)
        return x

    def predict(self, x: torch.Tensor, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(x0, eps) predicted at x, with classifier-free guidance as one doubled-batch model call."""
        t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=self.device)
        if self.use_guidance:
            out = self.model_fn(torch.cat([x, x]), torch.cat([t_batch, t_batch]), self.cond, self.model_mask)
            out_cond, out_uncond = out.chunk(2)
            out = out_uncond + self.guidance * (out_cond - out_uncond)
        else:
            out = self.model_fn(x, t_batch, self.cond, self.model_mask)
        if out.shape != x.shape:
            raise ValueError(f"model output shape {tuple(out.shape)} != sample shape {tuple(x.shape)}")
        return self.schedule.split_prediction(out, x, t)

    def check_cancel(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled("sampling cancelled")

    def report(self, step: int, total: int) -> None:
        if self.progress is not None:
            self.progress(step, total)


@torch.no_grad()
def ddim_sample(schedule: NoiseSchedule, model_fn: ModelFn, shape: tuple[int, int, int], cond: Any = None,
                uncond: Any = None, *, steps: int = 20, guidance: float = 1.0, eta: float = 0.0,
                generator: torch.Generator | None = None, mask: torch.Tensor | None = None,
                known: torch.Tensor | None = None, known_mask: torch.Tensor | None = None,
                known_noise: torch.Tensor | None = None,
                progress: Callable[[int, int], None] | None = None,
                should_cancel: Callable[[], bool] | None = None, device: Any = None,
                dtype: torch.dtype = torch.float32, x_T: torch.Tensor | None = None,
                guide: Guide | None = None) -> torch.Tensor:
    """DDIM (Song et al. 2021). eta=0: deterministic given x_T; eta=1: DDPM-like ancestral noise.

    Randomness (x_T, eta noise, inpainting noise) comes only from `generator`, so a seed reproduces a sample on
    a given device. `known_noise` (steps, B, L, C), when given, is the inpainting noise instead: slice k for
    the k-th noising of the known latents (`draw_inpainting_noise` draws them), as a captured graph needs.
    `progress(step, total)` is called after each of the `steps` model evaluations; `should_cancel()` is polled
    before each and raises `Cancelled` when it returns True.
    """
    ctx = _SamplingContext(schedule, model_fn, shape, cond, uncond, guidance, generator, mask, known, known_mask,
                          progress, should_cancel, device, dtype, known_noise)
    timesteps = sampling_timesteps(schedule, steps)
    x = ctx.initial(x_T, timesteps[0])
    for i, t in enumerate(timesteps):
        ctx.check_cancel()
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        x0, eps = ctx.predict(x, t)
        if guide is not None:   # the clean estimate steered (e.g. towards a path); the noise direction is kept
            x0 = guide(x0, i, len(timesteps))
        a, a_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
        sigma = eta * math.sqrt(max((1 - a_prev) / (1 - a) * (1 - a / a_prev), 0.0))
        x = math.sqrt(a_prev) * x0 + math.sqrt(max(1 - a_prev - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * ctx.randn()
        x = ctx.constrain(x, t_prev)
        ctx.report(i + 1, len(timesteps))
    return x


# Under this many steps the last update before the final jump is first order: with so few steps the log-SNR gaps
# differ so much that the second-order extrapolation overshoots (at 5 steps and guidance 7.5, a quarter of model
# v17's clips decoded to broken bodies, arms 1.5 m long; DPM-Solver's "lower order final"). From 8 steps none broke
# without it (benchmarks/sampler_bodies.py), and there the second order keeps its accuracy.
LOWER_ORDER_FINAL_BELOW = 8


@torch.no_grad()
def dpm_solver_pp_sample(schedule: NoiseSchedule, model_fn: ModelFn, shape: tuple[int, int, int],
                         cond: Any = None, uncond: Any = None, *, steps: int = 10, guidance: float = 1.0,
                         generator: torch.Generator | None = None, mask: torch.Tensor | None = None,
                         known: torch.Tensor | None = None, known_mask: torch.Tensor | None = None,
                         known_noise: torch.Tensor | None = None,
                         progress: Callable[[int, int], None] | None = None,
                         should_cancel: Callable[[], bool] | None = None, device: Any = None,
                         dtype: torch.dtype = torch.float32, x_T: torch.Tensor | None = None,
                         guide: Guide | None = None) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022): second-order multistep in log-SNR, data prediction.

    With lambda = log(alpha / sigma) and h = lambda_next - lambda_cur, one step is
    x_next = (sigma_next / sigma_cur) x - alpha_next (exp(-h) - 1) D, where D is the x0 prediction (first step)
    or its linear extrapolation from the previous one (not on the last update under `LOWER_ORDER_FINAL_BELOW`
    steps). The final step jumps to the predicted x0. Same arguments and guarantees as `ddim_sample`
    (deterministic: no eta).
    """
    ctx = _SamplingContext(schedule, model_fn, shape, cond, uncond, guidance, generator, mask, known, known_mask,
                          progress, should_cancel, device, dtype, known_noise)
    timesteps = sampling_timesteps(schedule, steps)
    x = ctx.initial(x_T, timesteps[0])
    previous_x0, previous_h = None, None
    for i, t in enumerate(timesteps):
        ctx.check_cancel()
        t_next = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        x0, _ = ctx.predict(x, t)
        if guide is not None:
            x0 = guide(x0, i, len(timesteps))
        if t_next < 0:
            x = x0
        else:
            lam, lam_next = _log_snr(schedule.alpha_bar(t)), _log_snr(schedule.alpha_bar(t_next))
            h = lam_next - lam
            d = x0
            last_update = t_next == timesteps[-1]
            if previous_x0 is not None and not (last_update and len(timesteps) < LOWER_ORDER_FINAL_BELOW):
                r = previous_h / h
                d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * previous_x0
            a_next = schedule.alpha_bar(t_next)
            sigma_ratio = math.sqrt((1 - a_next) / (1 - schedule.alpha_bar(t)))
            x = sigma_ratio * x - math.sqrt(a_next) * math.expm1(-h) * d
            previous_x0, previous_h = x0, h
        x = ctx.constrain(x, t_next)
        ctx.report(i + 1, len(timesteps))
    return x


# The samplers by the names configs and the engine use ("sampler" in a checkpoint's diffusion section).
SAMPLERS = {"ddim": ddim_sample, "dpm_solver_pp": dpm_solver_pp_sample}


def _log_snr(alpha_bar: float) -> float:
    """lambda = log(alpha / sigma) = 0.5 * log(alpha_bar / (1 - alpha_bar))."""
    return 0.5 * (math.log(alpha_bar) - math.log1p(-alpha_bar))


def _check_mask(mask: torch.Tensor | None, shape) -> None:
    if mask is None:
        return
    if mask.dtype != torch.bool or tuple(mask.shape) != tuple(shape[:2]):
        raise ValueError(f"mask must be a bool tensor of shape {tuple(shape[:2])}, got {mask.dtype} "
                         f"{tuple(mask.shape)}")

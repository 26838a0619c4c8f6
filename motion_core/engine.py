"""The inference engine: prompts in, `Motion`s out.

    prompt -> text encoder -> latent diffusion (Motion Mamba denoiser, classifier-free guidance)
           -> VAE decode -> de-normalised HumanML3D features -> joints -> rotations (Motion)

`Engine.load()` reads a checkpoint directory (``config.json`` + ``model.safetensors``, see
`motion_core.checkpoint`); with no path it loads the model bundled in ``motion_core/default_model/``.
`Engine.random(config)` builds an untrained engine, which is what tests use.

Checkpoint keys the engine reads besides the architecture (all optional, in ``config["training"]``):
``max_frames`` (longest clip the model was trained on; default 196 = 9.8 s at 20 fps), ``latent_scale`` (the
diffusion model works on ``vae_mu * latent_scale``; default 1.0) and ``extend_context_frames`` (frames of an
existing motion shown to `extend`; default 40).

Length policy: `generate` refuses lengths beyond the model's training window (``max_seconds``) instead of
silently producing degraded motion; longer takes are made by chaining `extend`, whose new part must fit in
the window next to its context (``max_seconds - context``). When the caller gives no length, a checkpoint with a
length predictor (``config["length_predictor"]``, `motion_core.models.length_predictor`) picks one per prompt
from its text (a jump ~2 s, a walk-turn-sit ~8 s: the durations the model saw such prompts at); checkpoints
without one use `DEFAULT_SECONDS`. ``meta["length_source"]`` says which: "requested", "predicted" or "default".

Prompt policy: any Unicode text works ("une personne saute", "人が歩く", emoji). Empty or whitespace-only prompts
are refused (they would silently give the unconditional motion), and so are prompts over `MAX_PROMPT_CHARS`
characters (nothing sensible is that long; refusing keeps a pasted document from costing memory). A prompt
within the limit but longer than the text encoder's token window is read up to that window: the motion's
``meta["warnings"]`` says so, and progress reports it.

Memory policy: when sampling a batch runs out of (GPU) memory, `generate` retries it in halves down to one
prompt per pass, then finishes the call on the CPU (and moves back afterwards). Each fallback is reported
through progress and recorded in ``meta["warnings"]`` of the motions it produced.

Determinism: prompt i of a call uses seed ``seed + i``, and its starting noise is drawn on the CPU from its own
generator, so a (prompt, seed) pair gives the same motion whatever else is in the batch up to float rounding
(batched kernels sum in another order, and the text encoder pads to the batch's longest prompt): on the CPU,
with the bundled model, up to 3.8e-5 m in joint positions (`benchmarks/batch_independence.py`). With
``max_batch = 1`` every prompt is sampled alone and the result is bit-identical to generating it by itself, at
some speed cost. It gets the same starting noise on every device. DDIM runs with eta = 0, so the starting
noise is the only randomness of `generate`.
"""
from __future__ import annotations

import collections
import math
import secrets
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from motion_core import __version__
from motion_core.device import DeviceError, best_device, is_out_of_memory
from motion_core.diffusion import SAMPLERS, Cancelled, NoiseSchedule, ddim_sample
from motion_core.motion import Motion
from motion_core.normalization import FeatureNormalizer
from motion_core.skeleton import Skeleton, get_skeleton

__all__ = ["Engine", "InputError", "ModelNotFoundError", "Cancelled", "DeviceError", "DEFAULT_MODEL_DIR",
           "tiny_config"]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"
MAX_STEPS = 1000
GUIDANCE_RANGE = (0.0, 30.0)
MIN_SECONDS = 0.5                 # shorter clips are below anything the model saw in training
DEFAULT_SECONDS = 4.0
DEFAULT_GUIDANCE = 7.5           # sampling settings for checkpoints that recommend none
DEFAULT_STEPS = 20
DEFAULT_MAX_FRAMES = 196
DEFAULT_CONTEXT_FRAMES = 40
BLEND_SECONDS = 0.5               # extend fades the seam's pose mismatch out over this long
MAX_SEED = 2 ** 62
MAX_PROMPT_CHARS = 1000           # longer prompts are refused (see "Prompt policy" above)
PRECISIONS = ("auto", "fp32", "bf16")   # denoiser precision while sampling ("auto": bf16 on CUDA, else fp32)

ProgressFn = Callable[[float, str], None]


class InputError(ValueError):
    """An argument the caller can fix (empty prompt list, length out of range, ...)."""


class ModelNotFoundError(FileNotFoundError):
    """No checkpoint at the requested path, or no default model installed."""


def tiny_config(denoiser_type: str = "mamba_unet") -> dict:
    """A checkpoint config for a very small model: fast enough for tests on two CPU cores."""
    denoisers = {
        "mamba_unet": {"type": "mamba_unet", "latent_dim": 8, "text_dim": 32, "width": 32,
                       "scan_kinds": [["fwd", "rev"], ["fwd"]], "spatial_groups": 4, "d_state": 4,
                       "expand": 1, "num_heads": 2, "ffn_mult": 1, "num_mid_layers": 1},
        "transformer": {"type": "transformer", "latent_dim": 8, "text_dim": 32, "width": 32, "num_layers": 2,
                        "num_heads": 2, "ffn_mult": 2},
    }
    return {
        "format_version": 1,
        "name": f"tiny-random-{denoiser_type}",
        "architecture": {
            "vae": {"feature_dim": 263, "latent_dim": 8, "width": 32, "num_down": 2, "res_blocks": 1},
            "denoiser": denoisers[denoiser_type],
            "text": {"type": "offline", "dim": 32, "layers": 1, "heads": 2, "ff_dim": 64, "num_buckets": 1024,
                     "max_tokens": 16, "max_char_ngrams": 8, "dropout": 0.0},
        },
        "text_encoder_type": "offline",
        # x0-prediction keeps an untrained model's latents at the scale of its outputs (epsilon-prediction
        # would divide by sqrt(alpha_bar) ~ 0.07 at the first step and blow them up).
        "diffusion": {"num_train_steps": 1000, "beta_schedule": "scaled_linear", "prediction": "sample"},
        "fps": 20.0,
        "skeleton": "humanml3d",
        "feature_dim": 263,
        "training": {"max_frames": DEFAULT_MAX_FRAMES, "latent_scale": 1.0},
    }


# The torch IK issues ~2,700 small kernels per call whatever the batch: ~31 ms on an H100 for 1 to 256 clips of
# 196 frames, while the host's numpy IK takes ~8 ms for one clip, 16 ms for 4 and 47 ms for 16 (benchmarks/
# bench_ik.py, 2026-11-26). The GPU wins from about 8 such clips on: this many frames in one pass.
GPU_IK_MIN_FRAMES = 8 * 196


class Engine:
    """A loaded model on one device. Thread-compatible: use one engine from one thread at a time."""

    def __init__(self, vae: torch.nn.Module, denoiser: torch.nn.Module, text_encoder: torch.nn.Module,
                 normalizer: FeatureNormalizer, schedule: NoiseSchedule, config: dict,
                 device: str | torch.device = "cpu", source: str | None = None,
                 cuda_graphs: bool | None = None, precision: str = "auto",
                 length_predictor: torch.nn.Module | None = None, compile: bool = False):
        self.device = best_device(device)
        self.vae = vae.to(self.device, torch.float32).eval()
        self.denoiser = denoiser.to(self.device, torch.float32).eval()
        self.text_encoder = text_encoder.to(self.device, torch.float32).eval()
        for module in (self.vae, self.denoiser, self.text_encoder):
            module.requires_grad_(False)
        self.length_predictor = None
        if length_predictor is not None:
            self.length_predictor = length_predictor.to(self.device, torch.float32).eval().requires_grad_(False)
        self.normalizer = normalizer
        self.schedule = schedule
        self.config = config
        self.source = source
        self.skeleton: Skeleton = get_skeleton(config.get("skeleton", "humanml3d"))
        self.fps = float(config.get("fps", self.skeleton.fps))
        training = config.get("training") or {}
        self.max_frames = int(training.get("max_frames", DEFAULT_MAX_FRAMES))
        self.latent_scale = float(training.get("latent_scale", 1.0))
        self.context_frames = int(training.get("extend_context_frames", DEFAULT_CONTEXT_FRAMES))
        diffusion = config.get("diffusion") or {}
        self.sampler = diffusion.get("sampler", "ddim")
        # The checkpoint's recommended sampling settings fill in what a caller leaves as None: a model trained for
        # few solver steps or a different guidance scale should not be sampled with another model's numbers.
        self.default_guidance = float(diffusion.get("guidance", DEFAULT_GUIDANCE))
        self.default_steps = int(diffusion.get("sample_steps", DEFAULT_STEPS))
        self.max_batch = 64 if self.device.type == "cuda" else 16  # prompts per sampling pass
        # Speed settings, plain attributes so benchmarks can flip them. On CUDA the sampling loop is replayed as
        # one CUDA graph (motion_core.graph_sampler; None = on when the device is CUDA), and `precision`
        # "auto" runs the denoiser under bfloat16 autocast there; the CPU and MPS always sample in float32.
        self.cuda_graphs = self.device.type == "cuda" if cuda_graphs is None else bool(cuda_graphs)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision = precision
        # Opt-in: torch.compile what every CUDA graph captures (denoiser, text encoder, decoder, IK) before the
        # capture. Each new shape then costs a minute or more once; every later call of it runs ~2x faster (README).
        self.compile = bool(compile)
        # features -> joints -> rotations of generated clips on the GPU too (motion_core.rotations_torch) for
        # passes of at least GPU_IK_MIN_FRAMES frames, instead of copying the features to the host's numpy IK.
        self.gpu_ik = self.device.type == "cuda"
        # ... and smaller passes too once their shape comes a second time: replayed as a CUDA graph
        # (motion_core.ik_graph), the GPU IK beats the host's even for one clip. (The decoder is replayed as a
        # graph likewise, with `cuda_graphs`.)
        self.ik_graphs = self.device.type == "cuda"
        self._graphs = None                  # GraphSampler, made on first use on CUDA
        self._shape_graphs: dict = {}        # stage -> ShapeGraphs of the text encoder, decoder and IK, likewise
        self._empty_prompt: tuple | None = None   # (key, tokens, mask): see _unconditional
        self._check_consistency()

    # ---- construction ----------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None, device: str | torch.device = "auto", **options) -> "Engine":
        """Load a checkpoint directory (or the bundled default model when `path` is None).

        `options`: `cuda_graphs`, `precision`, `compile` (see `Engine.__init__`)."""
        from motion_core.checkpoint import load_checkpoint, module_shapes
        directory = _checkpoint_dir(path)
        target = best_device(device)  # fail on a bad device before reading hundreds of megabytes
        config = _read_config(directory)
        vae, denoiser, text = _build_modules(config)
        length = None
        if "length_predictor" in config:   # optional: older checkpoints have none and keep DEFAULT_SECONDS
            from motion_core.models import build_length_predictor
            length = build_length_predictor(config["length_predictor"]["architecture"])
        expected = {**module_shapes("vae.", vae), **module_shapes("denoiser.", denoiser)}
        config, tensors = load_checkpoint(directory, expected=expected, built={"text": text, "length": length})
        _load_state(vae, tensors, "vae.")
        _load_state(denoiser, tensors, "denoiser.")
        if any(k.startswith("text.") for k in tensors):
            _load_state(text, tensors, "text.")
        if length is not None:
            _load_state(length, tensors, "length.")
        normalizer = FeatureNormalizer.from_tensors(tensors)
        schedule = NoiseSchedule.from_config(config["diffusion"])
        return cls(vae, denoiser, text, normalizer, schedule, config, target, source=str(directory),
                   length_predictor=length, **options)

    @classmethod
    def from_components(cls, vae: torch.nn.Module, denoiser: torch.nn.Module, text_encoder: torch.nn.Module,
                        normalizer: FeatureNormalizer, schedule: NoiseSchedule | None = None,
                        device: str | torch.device = "cpu", name: str = "unsaved",
                        training: dict | None = None, length_predictor: torch.nn.Module | None = None) -> "Engine":
        """Wrap modules built in Python (e.g. by a training script); the config is derived from them."""
        from motion_core.models import denoiser_config_dict
        schedule = schedule or NoiseSchedule()
        config = {
            "format_version": 1, "name": name,
            "architecture": {"vae": vae.config.to_dict(), "denoiser": denoiser_config_dict(denoiser),
                             "text": text_encoder.config()},
            "text_encoder_type": text_encoder.config()["type"],
            "diffusion": schedule.config(),
            "fps": 20.0, "skeleton": "humanml3d", "feature_dim": vae.config.feature_dim,
            "training": dict(training or {}),
        }
        engine = cls(vae, denoiser, text_encoder, normalizer, schedule, config, device)
        if length_predictor is not None:
            engine.set_length_predictor(length_predictor)
        return engine

    @classmethod
    def random(cls, config: dict | None = None, seed: int = 0, device: str | torch.device = "cpu",
               **options) -> "Engine":
        """An untrained engine from a checkpoint config (default: `tiny_config()`), reproducible under `seed`.

        Layers the models zero-initialise (output projections, AdaLN gates) get small random weights, so the
        prompt and the seed visibly change the result as they would with a trained model. The normaliser is
        centred on the rest pose standing still, so decoded motions look like (noisy) people.
        """
        from motion_core.checkpoint import validate_config
        config = validate_config(dict(config or tiny_config()))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            vae, denoiser, text = _build_modules(config)
            for module in (vae, denoiser):
                for parameter in module.parameters():
                    if not parameter.detach().any():
                        torch.nn.init.normal_(parameter, std=0.05)
        skeleton = get_skeleton(config.get("skeleton", "humanml3d"))
        normalizer = _rest_pose_normalizer(skeleton)
        schedule = NoiseSchedule.from_config(config["diffusion"])
        return cls(vae, denoiser, text, normalizer, schedule, config, device, source=f"random(seed={seed})",
                   **options)

    def save(self, path: str | Path) -> Path:
        """Write this engine as a checkpoint directory that `Engine.load` reads back."""
        from motion_core.checkpoint import save_checkpoint
        tensors = {**_prefixed(self.vae, "vae."), **_prefixed(self.denoiser, "denoiser.")}
        if getattr(self.text_encoder, "trainable", False):
            tensors.update(_prefixed(self.text_encoder, "text."))
        tensors.update(self.normalizer.to_tensors())
        config = dict(self.config)
        config.pop("length_predictor", None)
        if self.length_predictor is not None:
            tensors.update(_prefixed(self.length_predictor, "length."))
            entry = dict(self.config.get("length_predictor") or {})
            entry["architecture"] = self.length_predictor.config.to_dict()
            config["length_predictor"] = entry
        return save_checkpoint(path, tensors, config)

    def set_length_predictor(self, predictor: torch.nn.Module | None, metrics: dict | None = None) -> None:
        """Use `predictor` (None: remove it) for prompts generated without a length; `save` stores it.

        `metrics` (JSON data, e.g. validation error) is kept in ``config["length_predictor"]["metrics"]``.
        """
        self.config = dict(self.config)
        self.config.pop("length_predictor", None)
        self.length_predictor = None
        if predictor is None:
            return
        self._check_predictor_width(predictor)
        self.length_predictor = predictor.to(self.device, torch.float32).eval().requires_grad_(False)
        entry = {"architecture": predictor.config.to_dict()}
        if metrics:
            entry["metrics"] = dict(metrics)
        self.config["length_predictor"] = entry

    # ---- facts --------------------------------------------------------------------------------------------

    @property
    def min_frames(self) -> int:
        """Shortest motion `generate` and `extend` accept (MIN_SECONDS at this model's frame rate)."""
        return max(1, math.ceil(MIN_SECONDS * self.fps))

    @property
    def max_seconds(self) -> float:
        return self.max_frames / self.fps

    @property
    def model_version(self) -> str:
        name = self.config.get("name") or (Path(self.source).name if self.source else "unnamed")
        created = self.config.get("created")
        return f"{name}@{created}" if created else str(name)

    def describe(self) -> dict:
        """What `motion-core info` prints: model identity, size, limits and where it runs."""
        arch = self.config["architecture"]
        return {
            "name": self.model_version, "source": self.source, "device": str(self.device),
            "denoiser": arch["denoiser"].get("type"), "text_encoder": arch["text"].get("type"),
            "parameters": {name: sum(p.numel() for p in module.parameters())
                           for name, module in (("vae", self.vae), ("denoiser", self.denoiser),
                                                ("text", self.text_encoder))},
            "skeleton": self.skeleton.name, "fps": self.fps, "max_seconds": self.max_seconds,
            "sampler": self.sampler, "prediction": self.schedule.prediction,
            "default_length": self._default_length_description(),
        }

    def _default_length_description(self) -> str:
        if self.length_predictor is None:
            return f"{DEFAULT_SECONDS:g} s (no length predictor)"
        metrics = (self.config.get("length_predictor") or {}).get("metrics") or {}
        mae = metrics.get("val_mae_frames")
        error = f", validation error {mae / self.fps:.2f} s" if isinstance(mae, (int, float)) else ""
        return f"predicted from the prompt (length predictor{error})"

    @property
    def has_length_predictor(self) -> bool:
        return self.length_predictor is not None

    def predict_frames(self, prompts: Sequence[str]) -> list[int]:
        """The length (frames) `generate` gives each prompt when the caller names none.

        With a length predictor: its estimate from the prompt's text, within the lengths `generate` accepts.
        Without one: `DEFAULT_SECONDS` for every prompt. Deterministic (no sampling).
        """
        prompts = _check_prompts(prompts)
        default = self._resolve_frames(None, None, limit=self.max_frames, what="generate")
        if self.length_predictor is None:
            return [default] * len(prompts)
        frames: list[int] = []
        with torch.inference_mode():
            for start in range(0, len(prompts), self.max_batch):
                tokens, mask = self._encode(prompts[start:start + self.max_batch])
                predicted = self.length_predictor.frames(tokens, mask)
                frames.extend(min(max(int(f), self.min_frames), self.max_frames) for f in predicted.tolist())
        return frames

    # ---- generation ------------------------------------------------------------------------------------------

    def generate(self, prompts: Sequence[str], seconds: float | None = None, frames: int | None = None,
                 seed: int | None = 0, guidance: float | None = None, steps: int | None = None,
                 progress: ProgressFn | None = None, should_cancel: Callable[[], bool] | None = None,
                 foot_cleanup: bool = True, loop: bool = False) -> list[Motion]:
        """One Motion per prompt, all `seconds` long (or `frames`), sampled in batched passes.

        With neither, each prompt gets its own length from the checkpoint's length predictor (`predict_frames`;
        4 s for checkpoints without one); prompts of equal length share sampling passes, and the motions come
        back in prompt order either way. ``meta["length_source"]`` records where a motion's length came from.
        Prompt i uses seed ``seed + i`` (seed None: a random base seed, recorded in each motion's meta).
        `progress(fraction, message)` is called as work advances; when `should_cancel()` returns True the
        call stops at the next denoising step and raises `Cancelled`.
        `foot_cleanup`: lock planted feet and keep them above the ground (`motion_core.controls.foot_cleanup`).
        `loop`: make each take seamless on repeat (`motion_core.controls.loop`; for cyclic motions).
        """
        prompts = _check_prompts(prompts)
        lengths, source = self._generate_lengths(prompts, seconds, frames)
        guidance, steps = self._sampling(guidance, steps)
        seeds = _seeds(seed, len(prompts))
        report = _Progress(_monotonic(progress))
        truncated = self._truncated(prompts)
        if any(truncated):
            report(0.0, f"warning: {sum(truncated)} prompt(s) exceed the text encoder's window and were shortened")
        home, notes = self.device, []   # notes: out-of-memory fallbacks, recorded in the meta of later motions
        motions: list[Motion | None] = [None] * len(prompts)
        try:
            for batch, features in self._batched_features(prompts, seeds, lengths, guidance, steps, report,
                                                          should_cancel, notes):
                metas = []
                for i in batch:
                    meta = self._meta(prompts[i], seeds[i], guidance, steps, lengths[i], source)
                    warnings = notes + ([_TRUNCATED_NOTE] if truncated[i] else [])
                    if warnings:
                        meta["warnings"] = "; ".join(warnings)
                    metas.append(meta)
                # One batched IK pass per sampling pass (its clips share a length): ~3x cheaper per clip.
                graphs = self._graphs_of("ik")
                # The joints become the forward kinematics of the solved rotations (one rigid body per clip,
                # measured on its `_body_frames`): a rig keyed with the rotations shows the joints (issue 22).
                solved = Motion.batch_from_features(features, self.skeleton, self.fps, metas,
                                                    solver=None if graphs is None else graphs.run,
                                                    body_frames=self._body_frames(features.shape[1]))
                if foot_cleanup:   # issue 23 hook: planted feet locked by leg IK, rotations re-solved
                    from motion_core.controls.foot_cleanup import clean_feet_batch, contacts_from_features
                    solved = clean_feet_batch(solved, contacts_from_features(features, self.skeleton))
                if loop:   # issue 23 hook: the last frame flows into the first
                    from motion_core.controls.loop import make_loop
                    solved = [make_loop(motion) for motion in solved]
                for i, motion in zip(batch, solved):
                    motions[i] = motion
        finally:
            self._return_to(home, report)
        report(1.0, "done")
        return motions

    def _generate_lengths(self, prompts: list[str], seconds, frames) -> tuple[list[int], str]:
        """(frames per prompt, length source) for `generate`: the request, else the predictor, else the default."""
        if seconds is not None or frames is not None:
            return [self._resolve_frames(seconds, frames, limit=self.max_frames, what="generate")] * len(prompts), \
                "requested"
        source = "predicted" if self.length_predictor is not None else "default"
        return self.predict_frames(prompts), source

    def _batched_features(self, prompts, seeds, lengths, guidance, steps, report, should_cancel, notes):
        """Yield (prompt indices, decoded features) per sampling pass of at most `max_batch` prompts.

        A pass holds prompts of one length (`lengths[i]` frames for prompt i); lengths are taken in order of
        first appearance, so a call with one length batches exactly as it always did. A prompt's seed, not
        its pass, fixes its noise, so grouping changes no result. On out-of-memory a pass is retried with half
        as many prompts (and later passes keep the smaller size); a single prompt that still does not fit
        moves the engine to the CPU for the rest of the call.
        """
        limit, done, number = self.max_batch, 0, 0
        groups: dict[int, list[int]] = {}
        for i, length in enumerate(lengths):
            groups.setdefault(length, []).append(i)
        pending = [i for group in groups.values() for i in group]
        while pending:
            num_frames = lengths[pending[0]]
            batch = [i for i in pending[:limit] if lengths[i] == num_frames]
            number += 1
            remaining = collections.Counter(lengths[i] for i in pending)
            planned = number - 1 + sum(math.ceil(count / limit) for count in remaining.values())
            label = f"batch {number}/{planned}: " if planned > 1 else ""
            span = (done / len(prompts), (done + len(batch)) / len(prompts))
            try:
                latents = self._sample([prompts[i] for i in batch], [seeds[i] for i in batch], num_frames,
                                       guidance, steps, report.sub(*span, label), should_cancel)
                features = self._decode(latents, num_frames, on_device=self._ik_on_device(len(batch), num_frames))
            except Exception as exc:  # handled below, outside the except block, so the failed tensors are freed
                if not is_out_of_memory(exc):
                    raise
                features = None
            if features is None:
                number -= 1
                limit = self._after_out_of_memory(len(batch), report, notes)
                continue
            yield batch, features
            done += len(batch)
            pending = pending[len(batch):]

    def _after_out_of_memory(self, batch_size: int, report: "_Progress", notes: list[str]) -> int:
        """The batch size to retry with after a pass of `batch_size` prompts ran out of memory."""
        _release_cached_memory(self.device)
        if batch_size > 1:
            limit = (batch_size + 1) // 2
            note = f"out of memory on {self.device} with {batch_size} prompts per pass; retried with {limit}"
        elif self.device.type != "cpu":
            limit = 1
            note = f"out of memory on {self.device} even for one prompt; fell back to the CPU"
            self._to_device(torch.device("cpu"))
        else:
            raise MemoryError("out of memory on the CPU even for a single prompt; ask for a shorter motion or "
                              "free some memory")
        report(0.0, "warning: " + note)
        notes.append(note)
        return limit

    def _return_to(self, home: torch.device, report: "_Progress") -> None:
        """Move back to `home` after a CPU fallback; if that fails (memory still short) stay on the CPU."""
        if self.device == home:
            return
        try:
            self._to_device(home)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            self._to_device(torch.device("cpu"))
            report(1.0, f"warning: could not move back to {home} (out of memory); staying on the CPU")

    def _to_device(self, device: torch.device) -> None:
        for module in (self.vae, self.denoiser, self.text_encoder, self.length_predictor):
            if module is not None:
                module.to(device)
        self.device = device
        self._graphs, self._shape_graphs = None, {}   # captured graphs point at old buffers: never replay them

    def _truncated(self, prompts: list[str]) -> list[bool]:
        """Which prompts the text encoder will shorten (encoders without a tokenizer report none)."""
        tokenize = getattr(self.text_encoder, "tokenize", None)
        if tokenize is None:
            return [False] * len(prompts)
        return list(tokenize(prompts).truncated)

    def extend(self, motion: Motion, prompt: str, seconds: float | None = None, frames: int | None = None,
               seed: int | None = 0, guidance: float | None = None, steps: int | None = None,
               progress: ProgressFn | None = None, should_cancel: Callable[[], bool] | None = None,
               foot_cleanup: bool = True, smooth_joins: bool = True) -> Motion:
        """Continue `motion` with `prompt` for `seconds` more (default 4 s); returns old + new frames.

        The last frames of `motion` (the context) are encoded to latents and held fixed while the new
        latents are sampled (inpainting), so the new part starts from the old pose. The new part is then
        re-anchored onto the old last frame (root position and facing) and its remaining pose mismatch is
        faded out over `BLEND_SECONDS`, so the seam is continuous. `smooth_joins` takes the remaining velocity pop
        out of the seam (`motion_core.controls.joins`); `foot_cleanup` as in `generate`, for the new frames.
        """
        _check_motion(motion, self.skeleton, self.fps)
        (prompt,) = _check_prompts([prompt])
        context = self._context_length(motion.num_frames)
        new_frames = self._resolve_frames(seconds, frames, limit=self.max_frames - context, what="extend")
        guidance, steps = self._sampling(guidance, steps)
        (seed,) = _seeds(seed, 1)
        report = _Progress(progress)
        known = self._encode_tail(motion, context)
        latents = self._sample([prompt], [seed], context + new_frames, guidance, steps, report.sub(0.0, 1.0),
                               should_cancel, known=known)
        window = self._decode(latents, context + new_frames)[0]
        new_joints = _continue_joints(motion.joints.astype(np.float64), window, context, self.skeleton,
                                      blend=max(1, round(BLEND_SECONDS * self.fps)))
        source = "default" if seconds is None and frames is None else "requested"
        meta = self._extend_meta(motion, prompt, seed, guidance, steps, new_frames, source)
        joints = np.concatenate([motion.joints.astype(np.float64), new_joints], axis=0)
        if smooth_joins:   # issue 23 hook: no velocity pop at the seam (motion_core.controls.joins)
            from motion_core.controls.joins import smooth_joins_joints
            joints = smooth_joins_joints(joints, [motion.num_frames], keep_before=motion.num_frames)
        if foot_cleanup:   # issue 23 hook: the new frames' planted feet locked; the old frames stay as they are
            from motion_core.controls.foot_cleanup import clean_feet_joints, contacts_from_features
            contacts = np.zeros((len(joints), 4), dtype=bool)
            contacts[motion.num_frames:] = contacts_from_features(window, self.skeleton)[context:]
            joints = clean_feet_joints(joints, contacts, self.skeleton, motion.offsets, keep_before=motion.num_frames)
        # Solved on the old motion's body: the continuation keeps its bone lengths, and the old frames (the FK of
        # its rotations) come back as they were.
        result = Motion.from_joints(joints, self.skeleton, fps=self.fps, meta=meta, offsets=motion.offsets)
        report(1.0, "done")
        return result

    def generate_timeline(self, segments: Sequence[tuple[str, float]], seed: int | None = 0,
                          guidance: float | None = None, steps: int | None = None, progress: ProgressFn | None = None,
                          should_cancel: Callable[[], bool] | None = None, foot_cleanup: bool = True,
                          smooth_joins: bool = True) -> Motion:
        """One continuous Motion playing ``[(prompt, seconds), ...]`` in order, of any length up to an hour.

        Sampled in windows of the model's training length, each continuing the previous one's last latents
        (see `motion_core.timeline`), so cost grows linearly with the total duration. The segments are
        recorded in ``meta["timeline"]`` (JSON; read it with `motion_core.timeline.timeline_segments`).
        """
        from motion_core.timeline import generate_timeline
        return generate_timeline(self, segments, seed=seed, guidance=guidance, steps=steps, progress=progress,
                                 should_cancel=should_cancel, foot_cleanup=foot_cleanup, smooth_joins=smooth_joins)

    # ---- internals ---------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def _sample(self, prompts: list[str], seeds: list[int], num_frames: int, guidance: float, steps: int,
                report: "_Progress", should_cancel, known: torch.Tensor | None = None) -> torch.Tensor:
        """Latents (B, L, C) for `num_frames` frames; `known` (1, Lk, C) fixes the first Lk latents."""
        report(0.0, "encoding text")
        cond = self._encode(prompts)
        uncond = self._unconditional(len(prompts))
        length = self.vae.latent_length(num_frames)
        shape = (len(prompts), length, self.vae.config.latent_dim)
        x_T = torch.cat([torch.randn((1,) + shape[1:], generator=torch.Generator().manual_seed(s))
                         for s in seeds]).to(self.device)
        inpaint = {}
        if known is not None:
            known_full = torch.zeros(shape, device=self.device)
            known_full[:, : known.shape[1]] = known
            known_mask = torch.zeros(shape[:2], dtype=torch.bool, device=self.device)
            known_mask[:, : known.shape[1]] = True
            inpaint = {"known": known_full, "known_mask": known_mask}

        autocast = self._autocast()

        def model_fn(x, t, condition, mask):
            tokens, token_mask = condition
            with autocast:
                return self.denoiser(x, t, tokens, token_mask, mask).float()

        sampler = SAMPLERS.get(self.sampler, ddim_sample)
        latents = None if known is not None else self._graph_sample(sampler, x_T, cond, uncond, steps, guidance,
                                                                    report, should_cancel)
        if latents is None:
            extra = {"eta": 0.0} if sampler is ddim_sample else {}
            generator = torch.Generator(device=self.device).manual_seed(seeds[0])  # only inpainting noise uses it
            latents = sampler(self.schedule, model_fn, shape, cond, uncond, steps=steps, guidance=guidance,
                              generator=generator, progress=lambda i, n: report(i / n, f"denoising step {i}/{n}"),
                              should_cancel=should_cancel, device=self.device, x_T=x_T, **inpaint, **extra)
        if should_cancel is not None and should_cancel():
            raise Cancelled("cancelled before decoding")
        return latents / self.latent_scale

    def _unconditional(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The empty prompt's encoding repeated `batch` times: computed once, reused while the encoder is unchanged.

        The key holds the device and the parameters' version counters, which every in-place update (optimiser
        step, load_state_dict) bumps, so an encoder still being trained is re-encoded after each change.
        """
        key = (self.device, tuple(p._version for p in self.text_encoder.parameters()))
        if self._empty_prompt is None or self._empty_prompt[0] != key:
            tokens, mask = self.text_encoder.encode([""])
            self._empty_prompt = (key, tokens, mask)
        _, tokens, mask = self._empty_prompt
        return tokens.expand(batch, *tokens.shape[1:]), mask.expand(batch, *mask.shape[1:])

    def _autocast(self):
        """bfloat16 autocast for the denoiser on CUDA (precision "auto"/"bf16"); a no-op context elsewhere."""
        from contextlib import nullcontext
        if self.device.type != "cuda" or self.precision == "fp32":
            return nullcontext()
        return torch.autocast("cuda", dtype=torch.bfloat16)

    def _graph_sample(self, sampler, x_T, cond, uncond, steps: int, guidance: float, report: "_Progress",
                      should_cancel) -> torch.Tensor | None:
        """The sampling loop as one CUDA-graph replay, or None where graphs are off, unsupported or failing."""
        from motion_core.graph_sampler import GraphSampler, graphs_supported
        if not (self.cuda_graphs and graphs_supported(self.device)):
            return None
        dtype = torch.float32 if self.precision == "fp32" else torch.bfloat16
        if (self._graphs is None or self._graphs.device != self.device or self._graphs.dtype != dtype
                or self._graphs.compile_requested != self.compile):
            self._graphs = GraphSampler(self.denoiser, self.schedule, self.device, dtype=dtype, compile=self.compile)
        if should_cancel is not None and should_cancel():
            raise Cancelled("sampling cancelled")
        latents = self._graphs.try_sample(sampler, x_T, cond, uncond, steps, guidance)
        if latents is not None:
            report(1.0, f"denoising step {steps}/{steps} (CUDA graph)")
        return latents

    def _ik_on_device(self, batch: int, frames: int) -> bool:
        """Whether a pass of `batch` clips of `frames` frames solves its IK on the GPU: eagerly when it is large,
        by a CUDA-graph replay when its shape has come before (see motion_core.ik_graph)."""
        if not (self.gpu_ik and self.device.type == "cuda"):
            return False
        graphs = self._graphs_of("ik")
        due = graphs is not None and graphs.due(((batch, frames, self.skeleton.feature_dim), torch.float64))
        return due or batch * frames >= GPU_IK_MIN_FRAMES

    def _encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """`text_encoder.encode(prompts)`, its device half replayed as a CUDA graph from a shape's second use."""
        graphs = self._graphs_of("text")
        if graphs is None:
            return self.text_encoder.encode(prompts)
        inputs = self.text_encoder.prepare(prompts)
        encoded = graphs.run(*inputs) if graphs.due(*inputs) else None
        return self.text_encoder.forward_prepared(*inputs) if encoded is None else encoded

    def _graphs_of(self, stage: str):
        """The ShapeGraphs of "text", "decode" or "ik" (made on first use), or None where that stage's graphs are
        off: the IK's with `ik_graphs`, the others with `cuda_graphs` (text: for encoders that split `encode`)."""
        from motion_core.graph_sampler import graphs_supported
        wanted = self.ik_graphs if stage == "ik" else self.cuda_graphs
        if stage == "text":
            wanted = wanted and self.text_encoder.splits_encoding
        if not (wanted and graphs_supported(self.device)):
            return None
        graphs = self._shape_graphs.get(stage)
        if graphs is None or graphs.device != self.device or graphs.compile_requested != self.compile:
            graphs = self._shape_graphs[stage] = self._make_graphs(stage)
        return graphs

    def _body_frames(self, num_frames: int) -> int:
        """How many leading frames of a `num_frames`-frame take its body (bone lengths) is measured on.

        All but the decoder's tail, the last frames a continuation rewrites (a timeline's next window reaches
        `decoder_radius` latents back), so appending to a timeline never changes the body, hence never the
        earlier frames; at least half of the frames in any case.
        """
        from motion_core.timeline import decoder_radius
        tail = (decoder_radius(self.vae) or 0) * self.vae.config.downsample_factor
        return max(num_frames - tail, -(-num_frames // 2), 1)

    def _make_graphs(self, stage: str):
        from motion_core.shape_graphs import ShapeGraphs
        if stage == "ik":
            from motion_core.ik_graph import ik_graphs
            return ik_graphs(self.skeleton, self.device, compile=self.compile, body_frames=self._body_frames)
        if stage == "decode":
            # The normaliser keeps its statistics as numpy arrays and caches device copies on first use; made
            # now, so what a capture (or torch.compile) sees is a plain tensor, not a host-to-device copy.
            self.normalizer.denormalize(torch.zeros(1, self.skeleton.feature_dim, device=self.device))
            return ShapeGraphs(self._decoded_features, self.device, "decoder", compile=self.compile)
        return ShapeGraphs(self.text_encoder.forward_prepared, self.device, "text encoder", compile=self.compile)

    @torch.inference_mode()
    def _decode(self, latents: torch.Tensor, num_frames: int, on_device: bool = False):
        """De-normalised features (B, num_frames, F) in float64: numpy, or a tensor left on the engine's
        device when `on_device` (so the IK runs there as well, see `Motion.batch_from_joints`)."""
        graphs = self._graphs_of("decode")
        features = None
        if graphs is not None and graphs.due(latents, num_frames=num_frames):
            features = graphs.run(latents, num_frames=num_frames)
        if features is None:
            features = self._decoded_features(latents, num_frames)
        return features if on_device else features.cpu().numpy()

    def _decoded_features(self, latents: torch.Tensor, num_frames: int) -> torch.Tensor:
        return self.normalizer.denormalize(self.vae.decode(latents, num_frames)).double()

    @torch.inference_mode()
    def _encode_tail(self, motion: Motion, context: int) -> torch.Tensor:
        from motion_core.representation import FACING_SMOOTH_SIGMA, joints_to_features
        # Encoding only a window keeps extend's cost flat on long takes; the window reaches one smoothing
        # radius past the context so the facing filter sees the same frames it would on the whole clip.
        window = context + int(4 * FACING_SMOOTH_SIGMA + 0.5) + 1
        features = joints_to_features(motion.joints[-window:].astype(np.float64), self.skeleton)[-context:]
        x = self.normalizer.normalize(torch.as_tensor(features, dtype=torch.float32, device=self.device))
        mu, _ = self.vae.encode(x[None])
        return mu * self.latent_scale

    def _context_length(self, available: int) -> int:
        factor = self.vae.config.downsample_factor
        context = min(available, self.context_frames) // factor * factor
        if context < factor:
            raise InputError(f"the motion has {available} frame(s); extend needs at least {factor}")
        return context

    def _resolve_frames(self, seconds, frames, limit: int, what: str) -> int:
        """Validate the requested length and return it in frames (seconds are rounded to whole frames)."""
        if seconds is not None and frames is not None:
            raise InputError("give either seconds or frames, not both")
        minimum = self.min_frames
        if frames is None:
            value = DEFAULT_SECONDS if seconds is None else seconds
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"seconds must be a finite number, got {value!r}")
            if value <= 0:
                raise InputError(f"seconds must be positive, got {value}")
            frames = max(1, round(value * self.fps))
        elif isinstance(frames, bool) or not isinstance(frames, (int, np.integer)):
            raise InputError(f"frames must be an integer, got {frames!r}")
        frames = int(frames)
        if frames < minimum:
            raise InputError(f"{what}: {frames} frame(s) is too short; the minimum is {minimum} frames "
                             f"({MIN_SECONDS} s at {self.fps:g} fps)")
        if frames > limit:
            hint = ("; for longer motions generate up to that length and continue with extend" if what == "generate"
                    else "; call extend repeatedly to add more")
            raise InputError(f"{what}: {frames} frames ({frames / self.fps:.2f} s) exceeds the {limit} frames "
                             f"({limit / self.fps:.2f} s) this model supports{hint}")
        return frames

    def _sampling(self, guidance, steps) -> tuple[float, int]:
        """(guidance, steps) checked, None replaced by the checkpoint's defaults."""
        guidance = self.default_guidance if guidance is None else guidance
        steps = self.default_steps if steps is None else steps
        return _check_guidance(guidance), self._check_steps(steps)

    def _check_steps(self, steps) -> int:
        high = min(MAX_STEPS, self.schedule.num_train_steps)
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= high:
            raise InputError(f"steps must be an integer in [1, {high}], got {steps!r}")
        return int(steps)

    def _meta(self, prompt: str, seed: int, guidance: float, steps: int, frames: int,
              length_source: str = "requested") -> dict:
        return {"prompt": prompt, "seed": seed, "guidance": guidance, "steps": steps, "frames": frames,
                "seconds": frames / self.fps, "model": self.model_version, "sampler": self.sampler,
                "length_source": length_source, "motion_core": __version__}

    def _extend_meta(self, motion: Motion, prompt: str, seed: int, guidance: float, steps: int,
                     frames: int, length_source: str) -> dict:
        meta = dict(motion.meta)
        previous = str(meta.get("prompt", ""))
        meta.update(self._meta(prompt, seed, guidance, steps, motion.num_frames + frames, length_source))
        meta.update(prompt=f"{previous} | {prompt}" if previous else prompt, extend_prompt=prompt,
                    extend_start_frame=motion.num_frames)
        return meta

    def _check_predictor_width(self, predictor: torch.nn.Module) -> None:
        width = getattr(self.text_encoder, "dim", None)
        if width is not None and predictor.config.text_dim != width:
            raise ValueError(f"length predictor reads {predictor.config.text_dim}-wide text features; the text "
                             f"encoder gives {width}")

    def _check_consistency(self) -> None:
        text_dim = getattr(self.text_encoder, "dim", None)
        wanted = getattr(self.denoiser.config, "text_dim", None)
        if text_dim is not None and wanted is not None and text_dim != wanted:
            raise ValueError(f"text encoder width {text_dim} != denoiser text_dim {wanted}")
        if self.vae.config.latent_dim != self.denoiser.config.latent_dim:
            raise ValueError(f"VAE latent_dim {self.vae.config.latent_dim} != denoiser latent_dim "
                             f"{self.denoiser.config.latent_dim}")
        if self.normalizer.dim != self.skeleton.feature_dim:
            raise ValueError(f"normaliser covers {self.normalizer.dim} features; skeleton {self.skeleton.name!r} "
                             f"has {self.skeleton.feature_dim}")
        if self.length_predictor is not None:
            self._check_predictor_width(self.length_predictor)
        if self.max_frames < 1 or self.latent_scale <= 0:
            raise ValueError(f"bad training.max_frames {self.max_frames} or latent_scale {self.latent_scale}")


# ---- progress ---------------------------------------------------------------------------------------------

class _Progress:
    """Maps a sub-task's 0..1 onto a slice of the caller's 0..1, so chunked work reports one rising curve."""

    def __init__(self, callback: ProgressFn | None, low: float = 0.0, high: float = 1.0, prefix: str = ""):
        self.callback, self.low, self.high, self.prefix = callback, low, high, prefix

    def __call__(self, fraction: float, message: str) -> None:
        if self.callback is not None:
            self.callback(self.low + (self.high - self.low) * fraction, self.prefix + message)

    def sub(self, low: float, high: float, prefix: str = "") -> "_Progress":
        # Sampling takes the first 95% of a slice; the rest is decoding and IK, which report nothing finer.
        span = self.high - self.low
        return _Progress(self.callback, self.low + span * low, self.low + span * (low + 0.95 * (high - low)),
                         self.prefix + prefix)


_TRUNCATED_NOTE = "the prompt is longer than the text encoder reads; only its beginning was used"


def _monotonic(callback: ProgressFn | None) -> ProgressFn | None:
    """Progress that never goes backwards (an out-of-memory retry re-runs a slice already reported)."""
    if callback is None:
        return None
    high = [0.0]

    def report(fraction: float, message: str) -> None:
        high[0] = max(high[0], fraction)
        callback(high[0], message)
    return report


def _release_cached_memory(device: torch.device) -> None:
    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()


# ---- validation helpers --------------------------------------------------------------------------------------

def _check_prompts(prompts) -> list[str]:
    if isinstance(prompts, str):
        raise InputError("prompts must be a list of strings, got a single string (wrap it in a list)")
    try:
        prompts = list(prompts)
    except TypeError:
        raise InputError(f"prompts must be a list of strings, got {type(prompts).__name__}") from None
    if not prompts:
        raise InputError("prompts is empty: give at least one prompt")
    return [check_prompt(prompt, f"prompt {i}") for i, prompt in enumerate(prompts)]


def check_prompt(prompt, what: str) -> str:
    """`prompt` if it is a non-empty string of at most `MAX_PROMPT_CHARS` characters, else InputError naming
    `what` ("prompt 3", "segment 2"): one rule for batches, extends and timelines alike."""
    if not isinstance(prompt, str):
        raise InputError(f"{what} must be a string, got {type(prompt).__name__} {prompt!r:.40}")
    if not prompt.strip():
        raise InputError(f"{what} is empty: describe the motion (e.g. \"a person walks forward\")")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"{what} is {len(prompt)} characters long; the limit is {MAX_PROMPT_CHARS} "
                         "(the text encoder reads only the first few dozen words anyway)")
    return prompt


def _check_guidance(guidance) -> float:
    low, high = GUIDANCE_RANGE
    if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not math.isfinite(guidance) \
            or not low <= guidance <= high:
        raise InputError(f"guidance must be a number in [{low:g}, {high:g}], got {guidance!r}")
    return float(guidance)


def _seeds(seed, count: int) -> list[int]:
    """Seeds ``seed .. seed + count - 1``, every one of them within [0, MAX_SEED]: a seed that a call records
    (in meta, in file names) must be one that a later call accepts, to regenerate that motion alone."""
    if seed is None:
        seed = secrets.randbelow(2 ** 31)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"seed must be an integer in [0, {MAX_SEED}] or None, got {seed!r}")
    if seed + count - 1 > MAX_SEED:
        raise InputError(f"seed {seed} is too large for {count} motions: motion k uses seed + k, and seeds go up "
                         f"to {MAX_SEED}, so the seed can be at most {MAX_SEED - count + 1}")
    return [int(seed) + i for i in range(count)]


def check_seeds(seed, count: int) -> None:
    """Refuse `seed` for a run of `count` motions (motion k uses seed + k) before any work, as `generate` would."""
    _seeds(seed, count)


def _check_motion(motion, skeleton: Skeleton, fps: float) -> None:
    if not isinstance(motion, Motion):
        raise InputError(f"extend needs a Motion, got {type(motion).__name__}")
    if motion.skeleton.name != skeleton.name:
        raise InputError(f"the motion uses skeleton {motion.skeleton.name!r}; this model makes {skeleton.name!r}")
    if abs(motion.fps - fps) > 1e-6:
        raise InputError(f"the motion runs at {motion.fps:g} fps; this model works at {fps:g} fps")


# ---- stitching ---------------------------------------------------------------------------------------------------

def _yaw(frame_joints: np.ndarray, skeleton: Skeleton) -> float:
    """Facing angle about +y of one pose (J, 3): 0 faces +z, positive turns towards +x."""
    r_hip, l_hip, r_shoulder, l_shoulder = skeleton.face_joints
    across = (frame_joints[r_hip] - frame_joints[l_hip]) + (frame_joints[r_shoulder] - frame_joints[l_shoulder])
    forward_x, forward_z = across[2], -across[0]  # up x across
    return math.atan2(forward_x, forward_z)


def _turn(points: np.ndarray, angle: float) -> np.ndarray:
    """Rotate points (..., 3) about +y by `angle` (the sense in which `_yaw` grows)."""
    c, s = math.cos(angle), math.sin(angle)
    x, z = points[..., 0], points[..., 2]
    return np.stack((c * x + s * z, points[..., 1], -s * x + c * z), axis=-1)


def _continue_joints(old: np.ndarray, window_features: np.ndarray, context: int, skeleton: Skeleton,
                     blend: int) -> np.ndarray:
    """World joints of the new frames that follow `old` (T, J, 3).

    The decoded window is context + new frames; its frame ``context - 1`` re-creates the old last frame. The
    new part is turned and moved so that frame lands on the old last frame's root and facing, then the
    residual pose difference at the seam (all joints, including height) fades to zero over `blend` frames.
    """
    from motion_core.representation import features_to_joints
    window = np.asarray(features_to_joints(window_features, skeleton), dtype=np.float64)
    segment = window[context - 1:]
    target = old[-1]
    angle = _yaw(target, skeleton) - _yaw(segment[0], skeleton)
    segment = _turn(segment - segment[0, 0] * np.array([1.0, 0.0, 1.0]), angle)
    segment = segment + target[0] * np.array([1.0, 0.0, 1.0])
    residual = target - segment[0]
    weights = np.clip(1.0 - np.arange(len(segment)) / blend, 0.0, 1.0)
    segment = segment + weights[:, None, None] * residual[None]
    return segment[1:]


# ---- checkpoint plumbing ---------------------------------------------------------------------------------------

def _checkpoint_dir(path) -> Path:
    if path is None:
        directory = DEFAULT_MODEL_DIR
        if not ((directory / "config.json").is_file() and (directory / "model.safetensors").is_file()):
            raise ModelNotFoundError(
                f"no default model is installed (expected config.json and model.safetensors in {directory}); "
                "pass a checkpoint directory (--checkpoint DIR) or install the released model there")
        return directory
    directory = Path(path).expanduser()
    if directory.is_file() and directory.name in ("config.json", "model.safetensors"):
        directory = directory.parent
    if not directory.is_dir():
        raise ModelNotFoundError(f"checkpoint {str(path)!r} not found (expected a directory with config.json "
                                 "and model.safetensors)")
    return directory


def _read_config(directory: Path) -> dict:
    """The validated config, refusing partial checkpoints (e.g. a VAE-only pre-training one) up front."""
    from motion_core.checkpoint import CheckpointError, read_config
    config = read_config(directory)
    missing = [f"architecture.{key}" for key in ("vae", "denoiser", "text") if key not in config["architecture"]]
    if "diffusion" not in config:
        missing.append("diffusion")
    if missing:
        raise CheckpointError(f"{directory} is not a complete text-to-motion model: config.json lacks "
                              f"{', '.join(missing)}")
    return config


def _build_modules(config: dict):
    from motion_core.models import build_denoiser, build_vae
    from motion_core.text import build_text_encoder
    arch = config["architecture"]
    return build_vae(arch["vae"]), build_denoiser(arch["denoiser"]), build_text_encoder(dict(arch["text"]))


def _load_state(module: torch.nn.Module, tensors: dict[str, torch.Tensor], prefix: str) -> None:
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    module.load_state_dict(state, strict=True)


def _prefixed(module: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in module.state_dict().items()}


def _rest_pose_normalizer(skeleton: Skeleton) -> FeatureNormalizer:
    """Statistics of someone standing in the rest pose, with plausible spreads per feature block."""
    from motion_core.representation import feature_slices, joints_to_features
    rest = skeleton.rest_positions()
    rest = rest - np.array([0.0, rest[:, 1].min(), 0.0])  # feet on the floor
    mean = joints_to_features(np.repeat(rest[None], 8, axis=0), skeleton).mean(axis=0)
    s = feature_slices(skeleton)
    std = np.empty(s.dim)
    for block, spread in ((s.root_rot_vel, 0.01), (s.root_lin_vel, 0.01), (s.root_y, 0.02), (s.ric, 0.03),
                          (s.rot6d, 0.1), (s.local_vel, 0.01), (s.contacts, 0.5)):
        std[block] = spread
    return FeatureNormalizer(mean, std)

"""The inference engine: prompts in, `Motion`s out.

    prompt -> text encoder -> latent diffusion (Motion Mamba denoiser, classifier-free guidance)
           -> VAE decode -> de-normalised HumanML3D features -> joints -> rotations (Motion)

`Engine.load()` reads a checkpoint directory (``config.json`` + ``model.safetensors``, see
`motion_core.formats.checkpoint`); with no path it loads the model bundled in ``motion_core/default_model/``.
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
without one use `DEFAULT_SECONDS`. A path drawn as a curve, given with no length, sets the length instead: long
enough to walk the curve at the prompt's pace, measured on one cheap sample (`generation.curve_length`).
``meta["length_source"]`` says which: "requested", "predicted", "default" or "path".

Sequence policy: a prompt that tells actions in order ("walks to the door, then sits down") is played as a
timeline of its clauses (`generation.sequences`, `text.sequence`), each at its own predicted length, so its take
may run past the window; a requested length is shared among the clauses. ``sequences=False`` keeps it whole.

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

from pathlib import Path
from typing import Callable, Sequence

import torch

from motion_core.formats.motion import Motion
from motion_core.generation import loading
from motion_core.generation.decoding import GPU_IK_MIN_FRAMES
from motion_core.generation.diffusion import Cancelled, NoiseSchedule
from motion_core.generation.extend import BLEND_SECONDS
from motion_core.generation.lengths import DEFAULT_SECONDS, MIN_SECONDS, min_frames, predict_frames
from motion_core.generation.loading import DEFAULT_MAX_FRAMES, DEFAULT_MODEL_DIR, ModelNotFoundError, tiny_config
from motion_core.generation.normalization import FeatureNormalizer
from motion_core.generation.progress import ProgressFn
from motion_core.generation.sequences import extend_in_order, generate_takes
from motion_core.generation.requests import (GUIDANCE_RANGE, MAX_PROMPT_CHARS, MAX_SEED, MAX_STEPS, InputError,
                                             check_prompt, check_seeds)
from motion_core.generation.timeline import generate_timeline
from motion_core.kinematics.skeleton import Skeleton, get_skeleton
from motion_core.runtime.device import DeviceError, best_device
from motion_core.runtime.graph_cache import GraphCache
from motion_core.generation import understanding
from motion_core.text.readings import Reading
from motion_core.text.vocabulary import VocabularyCheck, action_label

# The names users and front ends import from here (this module was the whole engine before issue 19).
__all__ = ["Engine", "InputError", "ModelNotFoundError", "Cancelled", "DeviceError", "DEFAULT_MODEL_DIR",
           "tiny_config", "check_prompt", "check_seeds", "ProgressFn", "MAX_SEED", "MAX_PROMPT_CHARS", "MAX_STEPS",
           "GUIDANCE_RANGE", "MIN_SECONDS", "DEFAULT_SECONDS", "BLEND_SECONDS", "GPU_IK_MIN_FRAMES", "PRECISIONS"]

DEFAULT_GUIDANCE = 7.5           # sampling settings for checkpoints that recommend none
DEFAULT_STEPS = 20
DEFAULT_CONTEXT_FRAMES = 40
PRECISIONS = ("auto", "fp32", "bf16")   # denoiser precision while sampling ("auto": bf16 on CUDA, else fp32)


class Engine:
    """A loaded model on one device. Thread-compatible: use one engine from one thread at a time.

    A facade: the work is done by `motion_core.generation`'s parts, which it hands itself to. Its attributes
    are public so those parts, benchmarks and tests can read (and flip) them.
    """

    def __init__(self, vae: torch.nn.Module, denoiser: torch.nn.Module, text_encoder: torch.nn.Module,
                 normalizer: FeatureNormalizer, schedule: NoiseSchedule, config: dict,
                 device: str | torch.device = "cpu", source: str | None = None,
                 cuda_graphs: bool | None = None, precision: str = "auto",
                 length_predictor: torch.nn.Module | None = None, compile: bool = False, read_words: bool = True):
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
        # one CUDA graph (motion_core.runtime.graph_sampler; None = on when the device is CUDA), and `precision`
        # "auto" runs the denoiser under bfloat16 autocast there; the CPU and MPS always sample in float32.
        self.cuda_graphs = self.device.type == "cuda" if cuda_graphs is None else bool(cuda_graphs)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision = precision
        # Opt-in: torch.compile what every CUDA graph captures (denoiser, text encoder, decoder, IK) before the
        # capture. Each new shape then costs a minute or more once; every later call of it runs ~2x faster (README).
        self.compile = bool(compile)
        # features -> joints -> rotations of generated clips on the GPU too (kinematics.rotations_torch) for
        # passes of at least GPU_IK_MIN_FRAMES frames, instead of copying the features to the host's numpy IK.
        self.gpu_ik = self.device.type == "cuda"
        # ... and smaller passes too once their shape comes a second time: replayed as a CUDA graph
        # (kinematics.ik_graph), the GPU IK beats the host's even for one clip. (The decoder is replayed as a
        # graph likewise, with `cuda_graphs`.)
        self.ik_graphs = self.device.type == "cuda"
        self.graphs = GraphCache()   # the sampler's, text encoder's, decoder's and IK's CUDA graphs
        self.read_words = bool(read_words)   # unseen words read as trained ones (see `read`); False: as typed
        self.understanding: dict = {}        # vocabulary check and readings, made once (generation.understanding)
        loading.check_components(self)

    # ---- construction ----------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None, device: str | torch.device = "auto", **options) -> "Engine":
        """Load a checkpoint directory (or the bundled default model when `path` is None).

        `options`: `cuda_graphs`, `precision`, `compile`, `read_words` (see `Engine.__init__`)."""
        loading.checkpoint_dir(path)   # a missing model is reported before the device is checked
        target = best_device(device)   # fail on a bad device before reading hundreds of megabytes
        return cls._from(loading.load_components(path), target, **options)

    @classmethod
    def from_components(cls, vae: torch.nn.Module, denoiser: torch.nn.Module, text_encoder: torch.nn.Module,
                        normalizer: FeatureNormalizer, schedule: NoiseSchedule | None = None,
                        device: str | torch.device = "cpu", name: str = "unsaved",
                        training: dict | None = None, length_predictor: torch.nn.Module | None = None) -> "Engine":
        """Wrap modules built in Python (e.g. by a training script); the config is derived from them."""
        schedule = schedule or NoiseSchedule()
        config = loading.components_config(vae, denoiser, text_encoder, schedule, name, training)
        engine = cls(vae, denoiser, text_encoder, normalizer, schedule, config, device)
        if length_predictor is not None:
            engine.set_length_predictor(length_predictor)
        return engine

    @classmethod
    def random(cls, config: dict | None = None, seed: int = 0, device: str | torch.device = "cpu",
               **options) -> "Engine":
        """An untrained engine from a checkpoint config (default: `tiny_config()`), reproducible under `seed`
        (see `generation.loading.random_components`): what tests use."""
        return cls._from(loading.random_components(config, seed), device, **options)

    @classmethod
    def _from(cls, parts: loading.Components, device, **options) -> "Engine":
        return cls(parts.vae, parts.denoiser, parts.text_encoder, parts.normalizer, parts.schedule, parts.config,
                   device, source=parts.source, length_predictor=parts.length_predictor, **options)

    def save(self, path: str | Path) -> Path:
        """Write this engine as a checkpoint directory that `Engine.load` reads back."""
        return loading.save_engine(self, path)

    def set_length_predictor(self, predictor: torch.nn.Module | None, metrics: dict | None = None) -> None:
        """Use `predictor` (None: remove it) for prompts generated without a length; `save` stores it.

        `metrics` (JSON data, e.g. validation error) is kept in ``config["length_predictor"]["metrics"]``.
        """
        self.config = dict(self.config)
        self.config.pop("length_predictor", None)
        self.length_predictor = None
        if predictor is None:
            return
        loading.check_predictor_width(predictor, self.text_encoder)
        self.length_predictor = predictor.to(self.device, torch.float32).eval().requires_grad_(False)
        entry = {"architecture": predictor.config.to_dict()}
        if metrics:
            entry["metrics"] = dict(metrics)
        self.config["length_predictor"] = entry

    def move_to(self, device: torch.device) -> None:
        """Move every module to `device`; captured CUDA graphs point at the old buffers and are dropped."""
        for module in (self.vae, self.denoiser, self.text_encoder, self.length_predictor):
            if module is not None:
                module.to(device)
        self.device = device
        self.graphs.clear()

    # ---- facts --------------------------------------------------------------------------------------------

    @property
    def min_frames(self) -> int:
        """Shortest motion `generate` and `extend` accept (MIN_SECONDS at this model's frame rate)."""
        return min_frames(self.fps)

    @property
    def max_seconds(self) -> float:
        return self.max_frames / self.fps

    @property
    def model_version(self) -> str:
        name = self.config.get("name") or (Path(self.source).name if self.source else "unnamed")
        created = self.config.get("created")
        return f"{name}@{created}" if created else str(name)

    @property
    def has_length_predictor(self) -> bool:
        return self.length_predictor is not None

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
            "actions": self._actions_description(),
        }

    @property
    def vocabulary(self) -> VocabularyCheck | None:
        """Names prompt words outside the training vocabulary, in ``meta["warnings"]`` (issue 21)."""
        return understanding.vocabulary_of(self)

    def read(self, prompt: str) -> Reading:
        """`prompt` as the text encoder reads it: unseen words swapped for trained ones ("leaps" -> "jumps")."""
        return understanding.read(self, prompt)

    def known_actions(self) -> list[str] | None:
        """The actions this model was trained on (None: its checkpoint records no vocabulary)."""
        return None if self.vocabulary is None else self.vocabulary.known_actions()

    def _actions_description(self) -> str:
        actions = self.known_actions()
        if actions is None:
            return "not recorded in this checkpoint"
        return f"{len(actions)}: " + ", ".join(action_label(a) for a in actions)

    def _default_length_description(self) -> str:
        if self.length_predictor is None:
            return f"{DEFAULT_SECONDS:g} s (no length predictor)"
        metrics = (self.config.get("length_predictor") or {}).get("metrics") or {}
        mae = metrics.get("val_mae_frames")
        error = f", validation error {mae / self.fps:.2f} s" if isinstance(mae, (int, float)) else ""
        return f"predicted from the prompt (length predictor{error})"

    def predict_frames(self, prompts: Sequence[str]) -> list[int]:
        """The length (frames) `generate` gives each prompt when the caller names none.

        With a length predictor: its estimate from the prompt's text, within the lengths `generate` accepts.
        Without one: `DEFAULT_SECONDS` for every prompt. Deterministic (no sampling).
        """
        return predict_frames(self, prompts)

    # ---- generation ------------------------------------------------------------------------------------------

    def generate(self, prompts: Sequence[str], seconds: float | None = None, frames: int | None = None,
                 seed: int | None = 0, guidance: float | None = None, steps: int | None = None,
                 progress: ProgressFn | None = None, should_cancel: Callable[[], bool] | None = None,
                 foot_cleanup: bool = True, loop: bool = False, path=None, pins=None, sequences=True) -> list[Motion]:
        """One Motion per prompt, all `seconds` long (or `frames`), sampled in batched passes.

        With neither, each prompt gets its own length from the checkpoint's length predictor (`predict_frames`;
        4 s for checkpoints without one); prompts of equal length share sampling passes, and the motions come
        back in prompt order either way. ``meta["length_source"]`` records where a motion's length came from.
        Prompt i uses seed ``seed + i`` (seed None: a random base seed, recorded in each motion's meta).
        `progress(fraction, message)` is called as work advances; when `should_cancel()` returns True the
        call stops at the next denoising step and raises `Cancelled`. `foot_cleanup`: planted feet locked and
        kept above the ground (`controls.foot_cleanup`); `loop`: each take seamless on repeat (`controls.loop`).
        `path` (`controls.path.RootPath` or its JSON: waypoints or a curve, world frame: start at the origin
        facing +z, y up) makes every take's root follow it, facing along it; `pins` (`controls.pins`: whole poses
        or named joints at frames) are met exactly. The path steers sampling too; both are recorded in ``meta``;
        with no length given, clips are long enough to reach the last waypoint or pin, and to walk a curve at the
        prompt's pace (`generation.curve_length`). `sequences`: "jumps, then waves" plays as its clauses in order.
        """
        return generate_takes(self, prompts, seconds, frames, seed, guidance, steps, progress, should_cancel,
                              foot_cleanup=foot_cleanup, loop=loop, path=path, pins=pins, sequences=sequences)

    def extend(self, motion: Motion, prompt: str, seconds: float | None = None, frames: int | None = None,
               seed: int | None = 0, guidance: float | None = None, steps: int | None = None,
               progress: ProgressFn | None = None, should_cancel: Callable[[], bool] | None = None,
               foot_cleanup: bool = True, smooth_joins: bool = True, path=None, pins=None, sequences=True) -> Motion:
        """Continue `motion` with `prompt` for `seconds` more (default 4 s; actions told in order: clause by clause,
        each at its predicted length, `generation.sequences`, unless `sequences` is False); old + new frames. The
        new part starts from the old pose and its seam is continuous (see `motion_core.generation.extend`);
        `smooth_joins` takes the velocity pop out of the seam, `foot_cleanup` as in `generate`, new frames only.
        `path`, `pins`: as in `generate`, in `motion`'s coordinates, frames from the first new frame, the path
        leading on from where it ends (`generation.continued_controls`).
        """
        return extend_in_order(self, motion, prompt, seconds, frames, seed, guidance, steps, progress, should_cancel,
                               foot_cleanup, smooth_joins, path, pins, sequences)

    def generate_timeline(self, segments: Sequence[tuple[str, float]], seed: int | None = 0,
                          guidance: float | None = None, steps: int | None = None, progress: ProgressFn | None = None,
                          should_cancel: Callable[[], bool] | None = None, foot_cleanup: bool = True,
                          smooth_joins: bool = True, path=None, pins=None) -> Motion:
        """One continuous Motion playing ``[(prompt, seconds), ...]`` in order, of any length up to an hour.

        Sampled in windows of the model's training length, each continuing the previous one's last latents
        (see `motion_core.generation.timeline`), so cost grows linearly with the total duration. The segments are
        recorded in ``meta["timeline"]`` (JSON; read it with `motion_core.generation.timeline.timeline_segments`).
        `foot_cleanup` as in `generate`; `smooth_joins` takes the pop out of the joins between segments. `path` and
        `pins` as in `generate`, frames from the timeline's start (met afterwards only: no steered sampling).
        """
        return generate_timeline(self, segments, seed=seed, guidance=guidance, steps=steps, progress=progress,
                                 should_cancel=should_cancel, foot_cleanup=foot_cleanup, smooth_joins=smooth_joins,
                                 path=path, pins=pins)

"""The two training stages: what each one trains, how a batch becomes a loss, and what it exports.

* "vae": the motion VAE on normalised features (masked smooth-L1 reconstruction + KL + velocity, as
  `MotionVAE.loss` defines them).
* "denoiser": the VAE is frozen; every batch is encoded on the fly to the posterior mean times a latent scale
  factor (1 / std of those means over the data, so the diffusion model sees roughly unit-variance latents, as
  in Stable Diffusion / MLD); the denoiser and the offline text encoder are trained together with the DDPM
  objective, the caption replaced by "" with probability `cond_drop` (classifier-free guidance).

A stage exposes `objective`, the nn.Module whose forward returns the loss dict; the trainer wraps exactly that
module in DistributedDataParallel, since DDP only synchronises gradients of work done inside its forward.
Each stage exports a `motion_core.formats.checkpoint` directory: the VAE stage a VAE + normaliser checkpoint, the
denoiser stage a complete engine checkpoint (`Engine.load` reads it).
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import torch
from torch import nn

from motion_core.formats.checkpoint import load_checkpoint, module_shapes, read_config, save_checkpoint
from motion_core.generation.diffusion import NoiseSchedule, training_loss
from motion_core.models import build_denoiser, build_vae, denoiser_config_dict
from motion_core.generation.normalization import FeatureNormalizer
from motion_core.kinematics.skeleton import Skeleton
from motion_core.text import build_text_encoder


class VAEObjective(nn.Module):
    def __init__(self, vae: nn.Module):
        super().__init__()
        self.vae = vae

    def forward(self, motion: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.vae.loss(motion, mask)


class DenoiserObjective(nn.Module):
    """Denoiser + jointly trained text encoder under the DDPM loss, with caption dropout."""

    def __init__(self, denoiser: nn.Module, text: nn.Module, schedule: NoiseSchedule, cond_drop: float):
        super().__init__()
        self.denoiser = denoiser
        self.text = text
        self.schedule = schedule
        self.cond_drop = float(cond_drop)

    def forward(self, latents: torch.Tensor, latent_mask: torch.Tensor, captions: list[str]) -> dict:
        drop = torch.rand(len(captions)) < self.cond_drop  # CPU RNG: identical draws on CPU and GPU runs
        captions = ["" if d else c for d, c in zip(drop.tolist(), captions)]
        tokens, token_mask = self.text.encode(captions)

        def model_fn(x, t, cond, mask):
            return self.denoiser(x, t, cond[0], cond[1], mask)

        loss = training_loss(self.schedule, model_fn, latents, (tokens, token_mask), latent_mask)
        return {"loss": loss}


def _base_config(skeleton: Skeleton, name: str, training: dict) -> dict:
    return {"format_version": 1, "name": name, "fps": float(skeleton.fps), "skeleton": skeleton.name,
            "feature_dim": int(skeleton.feature_dim), "training": training,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _prefixed(module: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """float32 weights on the CPU; integer buffers and float16 ones (the wordvec encoder's frozen table and
    tokenizer bytes) keep their dtype."""
    return {prefix + k: _exported(v) for k, v in module.state_dict().items()}


def _exported(value: torch.Tensor) -> torch.Tensor:
    value = value.detach().cpu()
    return value if not value.is_floating_point() or value.dtype == torch.float16 else value.float()


def differing_tensors(a: dict, b: dict, prefixes: tuple[str, ...]) -> list[str]:
    """Keys under `prefixes` that either dict lacks or holds with another shape or value (sorted)."""
    keys = {k for k in (*a, *b) if k.startswith(prefixes)}
    return sorted(k for k in keys if k not in a or k not in b or a[k].shape != b[k].shape or not torch.equal(a[k], b[k]))


def _load_prefixed(module: nn.Module, tensors: dict[str, torch.Tensor], prefix: str,
                   new_keys: frozenset[str] = frozenset()) -> None:
    """Load `module` from `tensors` under `prefix`; every key must be there except `new_keys` (grown modules)."""
    result = module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)},
                                    strict=False)
    wrong = sorted(set(result.missing_keys) ^ set(new_keys)) + sorted(result.unexpected_keys)
    if wrong:
        raise ValueError(f"checkpoint tensors under {prefix!r} do not fit the model: {wrong[:4]}")


def _text_attention_level(key: str) -> int | None:
    """The U-Net level of a text-attention state-dict key ("encoder.1.text_attention.attn.q.weight" -> 1)."""
    parts = key.split(".")
    if len(parts) > 2 and parts[0] in ("encoder", "decoder") and parts[2] == "text_attention":
        return int(parts[1])
    return None


def _mid_layer(key: str) -> int | None:
    """The bottleneck mixer of a state-dict key ("mid.2.ffn.net.3.weight" -> 2)."""
    parts = key.split(".")
    return int(parts[1]) if len(parts) > 2 and parts[0] == "mid" else None


def grown_text_levels(denoiser: nn.Module, stored_architecture: dict) -> list[int]:
    """U-Net levels where `denoiser` reads text (`DenoiserConfig.text_levels`) and a checkpoint of
    `stored_architecture` did not: their attention is all the checkpoint may lack. Everything else must match.

    Growing a trained U-Net this way keeps what it learned: each new attention's gate starts at zero, so the grown
    model computes what the stored one did until training opens the gates.
    """
    config = getattr(denoiser, "config", None)
    if stored_architecture.get("type") != "mamba_unet" or not hasattr(config, "text_levels"):
        return []
    stored_levels = set(stored_architecture.get("text_levels", []))
    if not stored_levels <= set(config.text_levels):
        return []   # the stored model reads text where ours does not: no growth, a plain mismatch
    return sorted(set(config.text_levels) - stored_levels)


def grown_mid_layers(denoiser: nn.Module, stored_architecture: dict) -> list[int]:
    """Bottleneck attention mixers (`DenoiserConfig.num_mid_layers`) `denoiser` has beyond a checkpoint of
    `stored_architecture`: the U-Net grown deeper where it reads the prompt most, its levels untouched.

    Each new mixer starts as the identity (`start_as_identity`), so the grown model computes what the stored one
    did, and the new layers learn from there."""
    config = getattr(denoiser, "config", None)
    if stored_architecture.get("type") != "mamba_unet" or not hasattr(config, "num_mid_layers"):
        return []
    stored = int(stored_architecture.get("num_mid_layers", 1))
    return list(range(stored, config.num_mid_layers)) if stored < config.num_mid_layers else []


@torch.no_grad()
def start_as_identity(mixer: nn.Module) -> None:
    """Zero what an attention mixer adds to its input: its self-attention's and feed-forward's output layers and
    its text gate. Its gates of the shared modulation are the trained model's (not zero), so zeroing the layers
    they scale is what makes the block pass its input through; gradients still reach those layers at once."""
    for layer in (mixer.self_attn.out, mixer.ffn.net[-1]):
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    mixer.cross_gate.zero_()


def vae_fingerprint(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of a checkpoint's VAE weights and feature statistics, as stored: names a VAE across machines."""
    digest = hashlib.sha256()
    for key in sorted(k for k in tensors if k.startswith(("vae.", "normalizer."))):
        digest.update(key.encode("utf-8"))
        digest.update(tensors[key].detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class VAEStage:
    name = "vae"

    def __init__(self, config: dict, normalizer: FeatureNormalizer, skeleton: Skeleton):
        model_cfg = {**config["vae"]["model"], "feature_dim": skeleton.feature_dim}
        self.objective = VAEObjective(build_vae(model_cfg))
        self.normalizer = normalizer
        self.skeleton = skeleton
        self.run_name = config["name"]
        self.warm_start_info: dict = {}
        self.frozen_encoder = bool(config["vae"].get("freeze_encoder", False))
        if self.frozen_encoder:
            # Decoder refinement: the latents stay exactly what a denoiser trained on this VAE learned, so a
            # better decoder can be swapped under it (train.export accepts it), no denoiser retraining needed.
            for parameter in self.objective.vae.encoder_parameters():
                parameter.requires_grad_(False)

    def warm_start(self, path: str | Path) -> None:
        """Fine-tune an engine checkpoint's VAE (new poses, e.g. lying on the floor) instead of starting afresh.

        Its feature statistics are kept, not recomputed over the new data: the weights were trained on features
        in those units, and latents that stay close to the old ones let the checkpoint's denoiser continue on
        the fine-tuned VAE (`DenoiserStage.warm_start` accepts it by the fingerprint recorded here).
        """
        vae = self.objective.vae
        _, tensors = load_checkpoint(path, expected=module_shapes("vae.", vae))
        if "normalizer.mean" not in tensors:
            raise ValueError(f"{path} has no feature statistics: it cannot seed a VAE")
        _load_prefixed(vae, tensors, "vae.")
        self.normalizer = FeatureNormalizer.from_tensors(tensors)
        self.warm_start_info = {"init_from": str(path), "init_vae": vae_fingerprint(tensors)}

    def prepare(self, batches, device: torch.device) -> None:
        """Nothing to derive from data before training."""

    def inputs(self, batch: dict, device: torch.device) -> tuple:
        return batch["motion"].to(device, non_blocking=True), batch["mask"].to(device, non_blocking=True)

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def export(self, weights: nn.Module, path: Path, training: dict) -> Path:
        vae = weights.vae
        info = {**training, **self.warm_start_info, **({"frozen_encoder": True} if self.frozen_encoder else {})}
        config = _base_config(self.skeleton, f"{self.run_name}-vae", info)
        config["architecture"] = {"vae": vae.config.to_dict()}
        tensors = {**_prefixed(vae, "vae."), **self.normalizer.to_tensors()}
        return save_checkpoint(path, tensors, config, expected=module_shapes("vae.", vae))


def load_vae_checkpoint(path: str | Path, device: torch.device | str = "cpu"):
    """(frozen VAE in eval mode, its normaliser, its checkpoint config) from a VAE-stage model directory."""
    from motion_core.formats.checkpoint import read_config
    config = read_config(path)
    if "vae" not in config["architecture"]:
        raise ValueError(f"{path} holds no VAE (architecture has {sorted(config['architecture'])})")
    vae = build_vae(config["architecture"]["vae"])
    config, tensors = load_checkpoint(path, expected=module_shapes("vae.", vae))
    _load_prefixed(vae, tensors, "vae.")
    if "normalizer.mean" not in tensors:
        raise ValueError(f"{path} has no normaliser statistics; the VAE cannot be used without them")
    vae.requires_grad_(False)
    return vae.to(device).eval(), FeatureNormalizer.from_tensors(tensors), config


class DenoiserStage:
    name = "denoiser"

    def __init__(self, config: dict, vae_dir: str | Path, skeleton: Skeleton, max_frames: int):
        section = config["denoiser"]
        self.vae, self.normalizer, self.vae_config = load_vae_checkpoint(vae_dir)
        self.vae_dir = str(vae_dir)
        text = build_text_encoder(dict(section["text"]))
        denoiser_cfg = {**section["model"], "latent_dim": self.vae.config.latent_dim, "text_dim": text.dim}
        self.diffusion = dict(section["diffusion"])
        schedule = NoiseSchedule.from_config(self.diffusion)
        self.objective = DenoiserObjective(build_denoiser(denoiser_cfg), text, schedule, section["cond_drop"])
        self.skeleton = skeleton
        self.max_frames = int(max_frames)
        self.scale_batches = int(section["latent_scale_batches"])
        self.latent_scale: float | None = None
        self.run_name = config["name"]
        self.warm_start_info: dict = {}
        self.vocabulary: dict | None = None   # the corpus's words and actions (train.vocabulary), set by train.fit

    def warm_start(self, path: str | Path) -> None:
        """Start from an engine checkpoint's denoiser and text encoder instead of fresh weights.

        Lets training continue a shipped model across sessions. The checkpoint must sit on this stage's VAE
        (same weights) and its latent scale is kept: otherwise its denoiser would be fed latents in other units.
        A VAE fine-tuned from the checkpoint's own (`VAEStage.warm_start`) is accepted too, and the old scale
        kept: the fine-tune maps a known motion to nearly its old latent, and a scale measured again over new
        data (floor poses) would shift every latent the denoiser has learned.
        """
        denoiser, text = self.objective.denoiser, self.objective.text
        stored_architecture = read_config(path)["architecture"].get("denoiser", {})
        levels = grown_text_levels(denoiser, stored_architecture)
        mixers = grown_mid_layers(denoiser, stored_architecture)
        grown = frozenset(k for k in denoiser.state_dict()
                          if _text_attention_level(k) in levels or _mid_layer(k) in mixers)
        denoiser_shapes = {k: v for k, v in module_shapes("denoiser.", denoiser).items()
                           if k[len("denoiser."):] not in grown}
        expected = {**module_shapes("vae.", self.vae), **denoiser_shapes, **module_shapes("text.", text)}
        config, tensors = load_checkpoint(path, expected=expected)
        if "latent_scale" not in config.get("training", {}):
            raise ValueError(f"{path} records no latent scale: it is not an exported denoiser checkpoint")
        # Its latents must mean the same: same VAE weights and the same feature statistics in front of them.
        ours = {**_prefixed(self.vae, "vae."), **self.normalizer.to_tensors()}
        differing = differing_tensors(ours, tensors, ("vae.", "normalizer."))
        fine_tuned = bool(differing) and self.vae_config["training"].get("init_vae") == vae_fingerprint(tensors)
        if differing and not fine_tuned:
            raise ValueError(f"{path} was trained over different VAE weights or feature statistics than "
                             f"{self.vae_dir} (first differing tensors: {differing[:3]}); pass that checkpoint "
                             "as --vae too, or a VAE fine-tuned from it (--stage vae --init-from it)")
        _load_prefixed(denoiser, tensors, "denoiser.", grown)
        for index in mixers:
            start_as_identity(denoiser.mid[index])
        _load_prefixed(text, tensors, "text.")
        self.latent_scale = float(config["training"]["latent_scale"])
        previous = config["training"]
        self.warm_start_info = {"init_from": str(path), "vae_fine_tuned": fine_tuned,
                                "grown_text_levels": levels, "grown_mid_layers": mixers,
                                "init_steps": int(previous.get("init_steps", 0)) + int(previous.get("steps", 0))}

    def open_text_gates(self) -> None:
        """Fold the text gates into their attentions (same outputs) so they train open (train/text_gates.py)."""
        from train.text_gates import open_text_gates
        opened = open_text_gates(self.objective.denoiser)
        if not opened:
            raise ValueError("denoiser.open_text_gates: this denoiser has no gated text attention (a transformer "
                             "reads the text by self-attention)")
        self.warm_start_info["opened_text_gates"] = len(opened)

    @torch.no_grad()
    def prepare(self, batches, device: torch.device) -> None:
        """Latent scale = 1 / std of the VAE posterior means over the first batches' valid latents."""
        self.vae.to(device)
        if self.latent_scale is not None:
            return
        total, total_sq, count = 0.0, 0.0, 0
        for i, batch in enumerate(batches):
            if i >= self.scale_batches:
                break
            motion, mask = batch["motion"].to(device), batch["mask"].to(device)
            mu = self.vae.encode(motion, mask)[0].double()
            valid = self.vae.latent_mask(mask).unsqueeze(-1).expand_as(mu)
            values = mu[valid]
            total, total_sq, count = total + values.sum().item(), total_sq + values.pow(2).sum().item(), \
                count + values.numel()
        if count == 0:
            raise ValueError("no data to compute the latent scale from")
        std = max((total_sq / count - (total / count) ** 2) ** 0.5, 1e-6)
        self.latent_scale = float(1.0 / std)

    def inputs(self, batch: dict, device: torch.device) -> tuple:
        motion, mask = batch["motion"].to(device, non_blocking=True), batch["mask"].to(device, non_blocking=True)
        with torch.no_grad():
            # The frozen VAE runs in float32 outside autocast: latents must not carry bf16 rounding as "signal".
            with torch.autocast(device_type=device.type, enabled=False):
                mu = self.vae.encode(motion.float(), mask)[0]
        return mu * self.latent_scale, self.vae.latent_mask(mask), batch["captions"]

    def extra_state(self) -> dict:
        return {"latent_scale": self.latent_scale}

    def load_extra_state(self, state: dict) -> None:
        self.latent_scale = state.get("latent_scale")

    def export(self, weights: nn.Module, path: Path, training: dict) -> Path:
        denoiser, text = weights.denoiser, weights.text
        training = {**training, **self.warm_start_info, "latent_scale": self.latent_scale,
                    "max_frames": self.max_frames, "vae_checkpoint": self.vae_dir}
        config = _base_config(self.skeleton, f"{self.run_name}", training)
        config["architecture"] = {"vae": self.vae.config.to_dict(), "denoiser": denoiser_config_dict(denoiser),
                                  "text": text.config()}
        config["text_encoder_type"] = config["architecture"]["text"]["type"]
        if self.vocabulary:
            config["vocabulary"] = self.vocabulary
        config["diffusion"] = self.diffusion
        tensors = {**_prefixed(self.vae, "vae."), **_prefixed(denoiser, "denoiser."), **_prefixed(text, "text."),
                   **self.normalizer.to_tensors()}
        expected = {**module_shapes("vae.", self.vae), **module_shapes("denoiser.", denoiser)}
        return save_checkpoint(path, tensors, config, expected=expected)

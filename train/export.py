"""Assemble the shippable engine checkpoint from a VAE run and a denoiser run.

    python -m train.export --vae RUN_A --denoiser RUN_B --out motion_core/default_model

RUN_A / RUN_B may be run directories (RUN/vae, RUN/denoiser are looked up), stage directories or their
``model/`` checkpoints. Weights are the EMA weights the stages exported. The denoiser was trained on latents of
one particular VAE, so the VAE encoder and normaliser of RUN_A must be the ones RUN_B was trained with: any
difference is an error, not a warning (a mismatched VAE decodes garbage). Its decoder may differ: a decoder
refined with the encoder frozen (`vae.freeze_encoder`) reads the same latents, so RUN_B may also be an engine
checkpoint (the bundled model) whose decoder is being replaced. The result is checked by loading it
with `Engine.load`, and must stay within the size budget (60 MB by default).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from motion_core.formats.checkpoint import load_checkpoint, read_config, save_checkpoint
from motion_core.models.vae import ENCODER_PREFIX
from train.stages import differing_tensors
from train.training_record import record_round

# What a denoiser depends on: the latents it was trained on come from these (the VAE's encoder and the feature
# statistics); the decoder may differ (a refined one decodes the same latents better).
LATENT_KEYS = ("vae." + ENCODER_PREFIX, "normalizer.")
MAX_BYTES = 60 * 1000 * 1000   # issue 21: the shipped model stays <= 60 MB (v2 adds ~4.5 MB of word vectors)
VERSION = "1.0"


def find_model_dir(path: str | Path, stage: str) -> Path:
    """The model checkpoint for `stage` under `path` (a run, a stage directory or the checkpoint itself)."""
    path = Path(path)
    for candidate in (path, path / "model", path / stage / "model"):
        if (candidate / "config.json").is_file() and (candidate / "model.safetensors").is_file():
            return candidate
    raise FileNotFoundError(f"no {stage} checkpoint under {path} (looked for config.json + model.safetensors in "
                            f"{path}, {path / 'model'} and {path / stage / 'model'})")


def assemble(vae_dir: Path, denoiser_dir: Path) -> tuple[dict, dict]:
    """(config, tensors) of the engine checkpoint; raises if the two runs do not belong together."""
    vae_config, vae_tensors = load_checkpoint(vae_dir)
    read_config(denoiser_dir)
    den_config, den_tensors = load_checkpoint(denoiser_dir)
    for needed in ("denoiser", "text"):
        if needed not in den_config["architecture"]:
            raise ValueError(f"{denoiser_dir} is not a denoiser-stage checkpoint (no architecture.{needed})")
    if den_config["architecture"].get("vae") != vae_config["architecture"]["vae"]:
        raise ValueError(f"the denoiser in {denoiser_dir} was trained on a VAE with a different architecture "
                         f"than {vae_dir}")
    differing = differing_tensors(vae_tensors, den_tensors, ("vae.", "normalizer."))
    mismatched = [k for k in differing if k.startswith(LATENT_KEYS)]
    if mismatched:
        raise ValueError(f"the denoiser in {denoiser_dir} was trained on different VAE weights/normaliser than "
                         f"{vae_dir} (first differing tensors: {mismatched[:4]})")
    training = dict(den_config.get("training", {}))
    vae_training = vae_config.get("training", {})
    refined = bool(differing)   # only decoder tensors can differ past the check above
    if refined:
        # Same encoder, other decoder: a refinement (train.fit --stage vae with vae.freeze_encoder) that reads
        # the very latents the denoiser makes; the denoiser's own VAE training stays on record.
        # A decoder refined again (init_from a model that already records a refinement) keeps that record.
        record_round(training, "vae_decoder_refinement", {"run": str(vae_dir), **{k: vae_training.get(k) for k in (
            "steps", "data", "batch_size_per_process", "device", "init_from")}})
    else:
        # An engine checkpoint reused as the VAE source records its VAE's steps as vae_steps ("steps" is its
        # denoiser's).
        training.update(vae_steps=vae_training.get("vae_steps", vae_training.get("steps")), vae_run=str(vae_dir))
    training.setdefault("denoiser_run", str(denoiser_dir))   # an engine checkpoint keeps its own record
    training.update(exported=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), version=VERSION)
    if training.get("latent_scale") is None:
        raise ValueError(f"{denoiser_dir} has no training.latent_scale")
    encoder = encoder_description(den_config["architecture"]["text"])
    if refined:   # another model than the one it came from: a version of its own
        den_config = {**den_config, "created": training["exported"]}
    config = {**den_config, "training": training,
              "description": f"Motion Mamba text-to-motion: motion VAE + latent diffusion denoiser + {encoder} "
                             "(EMA weights)."}
    # the denoiser's side: denoiser, text encoder and whatever else was fitted on it (an engine checkpoint's length
    # predictor); the VAE side from the VAE run
    tensors = {k: v for k, v in den_tensors.items() if not k.startswith(("vae.", "normalizer."))}
    tensors.update({k: v for k, v in vae_tensors.items() if k.startswith(("vae.", "normalizer."))})
    return config, tensors


def encoder_description(text: dict) -> str:
    """The text encoder as the exported model's description names it, sentence gist included (a model continued from
    a grafted one keeps the gist, and its description must not lose it)."""
    name = {"offline": "offline hashing text encoder", "wordvec": "word-vector text encoder (WordLlama vectors, MIT)"
            }.get(text["type"], "text encoder")
    if "gist" in text:
        name += " with a sentence gist (static sentence vectors; source and licence in its notice)"
    return name


def export(vae: str | Path, denoiser: str | Path, out: str | Path, max_bytes: int = MAX_BYTES) -> Path:
    vae_dir, denoiser_dir = find_model_dir(vae, "vae"), find_model_dir(denoiser, "denoiser")
    config, tensors = assemble(vae_dir, denoiser_dir)
    size = sum(t.numel() * t.element_size() for t in tensors.values())
    if size > max_bytes:
        raise ValueError(f"the model holds {size / 1e6:.1f} MB of tensors, over the {max_bytes / 1e6:.0f} MB budget")
    out = save_checkpoint(out, tensors, config)
    from motion_core.engine import Engine
    Engine.load(out, device="cpu")  # the point of exporting: the engine must read it
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.export", description=__doc__.split("\n")[0])
    parser.add_argument("--vae", required=True, type=Path, help="VAE run (RUN or RUN/vae or its model/)")
    parser.add_argument("--denoiser", required=True, type=Path, help="denoiser run (RUN or RUN/denoiser ...)")
    parser.add_argument("--out", required=True, type=Path, help="output checkpoint directory")
    parser.add_argument("--max-mb", type=float, default=MAX_BYTES / 1e6, help="size budget in MB")
    args = parser.parse_args(argv)
    out = export(args.vae, args.denoiser, args.out, int(args.max_mb * 1e6))
    size = (out / "model.safetensors").stat().st_size
    print(f"wrote {out} ({size / 1e6:.2f} MB); Engine.load OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

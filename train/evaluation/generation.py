"""Batched generation with exact per-sample lengths, for evaluation.

`Engine.generate` makes one length per call; evaluation needs each test caption at its ground-truth length, so
this samples a padded batch of latents with a latent mask (the denoisers and `ddim_sample` honour it) and crops
each decoded motion to its own frame count. Models come from `Engine.load`, so exactly what ships is evaluated.
`untrained()` gives the same checkpoint with a freshly initialised denoiser and text encoder (VAE and normaliser
kept): the "no training" reference row of the report.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from motion_core.generation.diffusion import SAMPLERS, ddim_sample


class BatchGenerator:
    def __init__(self, engine):
        self.engine = engine
        self.device = engine.device
        diffusion = engine.config.get("diffusion", {})
        self.default_steps = int(diffusion.get("sample_steps", 20))
        self.default_guidance = float(diffusion.get("guidance", 2.5))

    @classmethod
    def load(cls, checkpoint, device: str = "cpu", **options) -> "BatchGenerator":
        """`options` go to `Engine.load` as they are (train.evaluate --literal passes read_words=False)."""
        from motion_core.engine import Engine
        return cls(Engine.load(checkpoint, device=device, **options))

    def untrained(self, seed: int = 0) -> "BatchGenerator":
        """A twin whose denoiser and text encoder are re-initialised (same architecture, VAE and normaliser)."""
        import copy
        from motion_core.models import build_denoiser
        from motion_core.text import build_text_encoder
        engine = copy.copy(self.engine)
        arch = engine.config["architecture"]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            engine.denoiser = build_denoiser(arch["denoiser"]).to(self.device).eval()
            text_encoder = build_text_encoder(dict(arch["text"])).to(self.device).eval()
            # Buffers are no trained weights: a wordvec encoder's frozen word table and tokenizer are kept
            # (without them it cannot read a caption at all); its trainable layers stay re-initialised.
            buffers = dict(self.engine.text_encoder.named_buffers())
            if buffers:
                text_encoder.load_state_dict({**text_encoder.state_dict(), **buffers})
            engine.text_encoder = text_encoder
        return BatchGenerator(engine)

    @torch.inference_mode()
    def generate(self, captions: list[str], lengths: list[int], seed: int = 0, steps: int | None = None,
                 guidance: float | None = None, batch_size: int = 64) -> list[np.ndarray]:
        """Raw (de-normalised) features, one (lengths[i], F) float32 array per caption."""
        if len(captions) != len(lengths):
            raise ValueError(f"{len(captions)} captions but {len(lengths)} lengths")
        out = []
        for start in range(0, len(captions), batch_size):
            stop = start + batch_size
            out += self._batch(captions[start:stop], lengths[start:stop], seed + start, steps or self.default_steps,
                               self.default_guidance if guidance is None else guidance)
        return out

    def _batch(self, captions, lengths, seed, steps, guidance) -> list[np.ndarray]:
        e = self.engine
        factor = e.vae.config.downsample_factor
        latent_lengths = torch.tensor([math.ceil(n / factor) for n in lengths], device=self.device)
        max_latent = int(latent_lengths.max())
        mask = torch.arange(max_latent, device=self.device)[None] < latent_lengths[:, None]
        # captions as the engine reads them (unseen words as trained ones, unless it was loaded read_words=False)
        cond = e.text_encoder.encode([e.read(c).text for c in captions])
        uncond = e.text_encoder.encode([""] * len(captions))

        def model_fn(x, t, condition, m):
            return e.denoiser(x, t, condition[0], condition[1], m)

        generator = torch.Generator(device=self.device).manual_seed(int(seed))
        # The engine's sampler (train.evaluate --sampler sets it), so each speed setting is scored as it runs.
        sample = SAMPLERS.get(e.sampler, ddim_sample)
        latents = sample(e.schedule, model_fn, (len(captions), max_latent, e.vae.config.latent_dim), cond,
                         uncond, steps=steps, guidance=guidance, generator=generator, mask=mask, device=self.device)
        decoded = e.vae.decode(latents / e.latent_scale, factor * max_latent, mask)
        features = e.normalizer.denormalize(decoded).float().cpu().numpy()
        return [features[i, :n] for i, n in enumerate(lengths)]

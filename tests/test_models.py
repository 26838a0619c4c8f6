"""Tests for motion_core.models: configs, the motion VAE, the Mamba U-Net and transformer denoisers."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from motion_core.models import (ConfigError, DenoiserConfig, MambaUNetDenoiser, MotionVAE, TransformerDenoiser,
                                TransformerDenoiserConfig, VAEConfig, build_denoiser, build_vae, count_parameters,
                                denoiser_config_dict)
from motion_core.models.layers import lengths_to_mask
from motion_core.models.mamba_blocks import ScanKind, reverse_within_length, run_scan

SHIPPED_MODEL_BYTES = 50 * 1024 ** 2  # float32 safetensors of VAE + denoiser must fit this

# Small configs keep most tests fast on two cores; the defaults get their own budget/forward checks.
TINY_MAMBA = {"type": "mamba_unet", "latent_dim": 8, "text_dim": 16, "width": 32, "spatial_groups": 4,
              "d_state": 4, "num_heads": 2}
TINY_MAMBA_TEXT = {**TINY_MAMBA, "text_levels": [0, 2]}   # text attention in the blocks of two levels
TINY_MAMBA_SCAN = {**TINY_MAMBA, "text_scan_levels": [0, 1], "text_scan_tokens": 3}   # prompt leads 2 levels' scans
TINY_TRANSFORMER = {"type": "transformer", "latent_dim": 8, "text_dim": 16, "width": 32, "num_layers": 2,
                    "num_heads": 2, "ffn_mult": 2}
TINY_VAE = {"feature_dim": 263, "latent_dim": 8, "width": 32}


def _randomize_zero_init(model: nn.Module, seed: int = 0) -> nn.Module:
    """Replace all-zero parameters (zero-init gates/outputs) with small noise.

    At init the denoisers output exactly 0, which would make invariance tests pass vacuously.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    return model


def _denoiser(config: dict, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return _randomize_zero_init(build_denoiser(config), seed).eval()


def _inputs(cfg: dict, batch: int, length: int, text_len: int = 5, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, length, cfg["latent_dim"], generator=gen)
    t = torch.randint(0, 1000, (batch,), generator=gen)
    text = torch.randn(batch, text_len, cfg["text_dim"], generator=gen)
    text_mask = torch.ones(batch, text_len, dtype=torch.bool)
    text_mask[0, 3:] = False
    return z, t, text, text_mask


DENOISER_CONFIGS = pytest.mark.parametrize("cfg", [TINY_MAMBA, TINY_MAMBA_TEXT, TINY_MAMBA_SCAN, TINY_TRANSFORMER],
                                           ids=["mamba", "mamba_text_levels", "mamba_text_scans", "transformer"])


# --- configs ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("config_cls", [DenoiserConfig, TransformerDenoiserConfig, VAEConfig])
def test_config_json_round_trip(config_cls):
    cfg = config_cls()
    again = config_cls.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


@pytest.mark.parametrize("config_cls, field, value", [
    (DenoiserConfig, "width", 0),
    (DenoiserConfig, "width", 250),                   # not divisible by 8 groups
    (DenoiserConfig, "d_state", True),                # bools are not sizes
    (DenoiserConfig, "scan_kinds", (("fwd", "sideways"),)),
    (DenoiserConfig, "scan_kinds", ()),
    (DenoiserConfig, "text_levels", (3,)),            # the default U-Net has levels 0..2
    (DenoiserConfig, "text_levels", (1, 1)),
    (DenoiserConfig, "text_levels", (True,)),
    (DenoiserConfig, "text_gate_init", float("nan")),
    (DenoiserConfig, "text_gate_init", -1.0),
    (TransformerDenoiserConfig, "num_layers", 7),
    (TransformerDenoiserConfig, "dropout", 1.5),
    (VAEConfig, "latent_dim", -4),
    (VAEConfig, "kernel_size", 4),
    (VAEConfig, "width", 10 ** 6),
])
def test_config_rejects_bad_values(config_cls, field, value):
    with pytest.raises(ConfigError, match=field):
        config_cls(**{field: value})


def test_config_rejects_unknown_keys_and_types():
    with pytest.raises(ConfigError, match="widht"):
        VAEConfig.from_dict({"widht": 64})
    with pytest.raises(ConfigError, match="type"):
        build_denoiser({"width": 64})
    with pytest.raises(ConfigError, match="unet3d"):
        build_denoiser({"type": "unet3d"})


def test_builders_dispatch_and_record_their_config():
    mamba = build_denoiser(TINY_MAMBA)
    transformer = build_denoiser(TINY_TRANSFORMER)
    assert isinstance(mamba, MambaUNetDenoiser) and isinstance(transformer, TransformerDenoiser)
    assert build_denoiser(denoiser_config_dict(mamba)).config == mamba.config
    assert denoiser_config_dict(transformer)["type"] == "transformer"
    assert isinstance(build_vae(TINY_VAE), MotionVAE)


def test_default_sizes_fit_the_shipped_model_budget():
    vae = count_parameters(build_vae())
    for kind in ("mamba_unet", "transformer"):
        denoiser = count_parameters(build_denoiser({"type": kind}))
        assert 4 * (vae + denoiser) <= SHIPPED_MODEL_BYTES, (kind, vae, denoiser)
    mamba = count_parameters(build_denoiser({"type": "mamba_unet"}))
    transformer = count_parameters(build_denoiser({"type": "transformer"}))
    assert 0.75 < transformer / mamba < 1.33  # a like-for-like baseline


# --- scan orders (checked with a transparent causal operator instead of a Mamba) --------------------------

class CumSum(nn.Module):
    """A causal 'scan' whose output is easy to predict: the running sum."""

    def forward(self, x):
        return x.cumsum(dim=1)


def test_reverse_within_length_keeps_padding_in_place():
    x = torch.arange(10.0).view(2, 5, 1)
    mask = lengths_to_mask(torch.tensor([5, 3]), 5)
    y = reverse_within_length(x, mask)
    assert y[0, :, 0].tolist() == [4, 3, 2, 1, 0]
    assert y[1, :, 0].tolist() == [7, 6, 5, 8, 9]
    assert torch.equal(reverse_within_length(y, mask), x)


def test_scan_orders():
    x = torch.arange(1.0, 8.0).view(1, 7, 1)
    mask = lengths_to_mask(torch.tensor([6]), 7)
    fwd = run_scan(CumSum(), x, mask, ScanKind.parse("fwd"))[0, :, 0].tolist()
    rev = run_scan(CumSum(), x, mask, ScanKind.parse("rev"))[0, :, 0].tolist()
    strided = run_scan(CumSum(), x, mask, ScanKind.parse("fwd_s2"))[0, :, 0].tolist()
    assert fwd == [1, 3, 6, 10, 15, 21, 0]
    assert rev == [21, 20, 18, 15, 11, 6, 0]           # suffix sums over the 6 valid frames only
    assert strided == [1, 2, 4, 6, 9, 12, 0]           # running sums of frames 0,2,4 and of 1,3,5
    with pytest.raises(ValueError, match="scan kind"):
        ScanKind.parse("bwd")


def test_a_prefix_leads_every_scan_order_and_subsequence():
    """`text_scan_levels`' summary tokens are read before the first frame of each order and interleaved
    subsequence, and their own outputs are dropped: with a running sum, every frame's sum starts from theirs."""
    x = torch.arange(1.0, 8.0).view(1, 7, 1)
    mask = lengths_to_mask(torch.tensor([6]), 7)
    prefix = torch.tensor([[[60.0], [40.0]]])                   # two tokens summing to 100
    def scanned(kind):
        return run_scan(CumSum(), x, mask, ScanKind.parse(kind), prefix=prefix)[0, :, 0].tolist()
    assert scanned("fwd") == [101, 103, 106, 110, 115, 121, 0]
    assert scanned("rev") == [121, 120, 118, 115, 111, 106, 0]
    assert scanned("fwd_s2") == [101, 102, 104, 106, 109, 112, 0]


# --- denoisers --------------------------------------------------------------------------------------------

@DENOISER_CONFIGS
@pytest.mark.parametrize("length", [1, 2, 3, 7, 50, 127, 500])
def test_denoiser_shapes(cfg, length):
    model = _denoiser(cfg)
    z, t, text, text_mask = _inputs(cfg, 2, length)
    with torch.no_grad():
        out = model(z, t, text, text_mask)
    assert out.shape == z.shape and torch.isfinite(out).all()


def test_graph_capture_path_equals_the_eager_path(monkeypatch):
    """Under a CUDA-graph capture the blocks avoid host syncs (no mask checks, no boolean indexing); that dense
    path must give the same outputs and gradients, padding included."""
    from motion_core.models import layers
    model = _denoiser(TINY_MAMBA)
    z, t, text, text_mask = _inputs(TINY_MAMBA, 3, 23)
    mask = lengths_to_mask(torch.tensor([23, 11, 6]), 23)
    z.requires_grad_(True)
    sparse = model(z, t, text, text_mask, mask)
    (sparse_grad,) = torch.autograd.grad(sparse.square().sum(), z)
    monkeypatch.setattr(layers, "capturing", lambda tensor: True)
    dense = model(z, t, text, text_mask, mask)
    (dense_grad,) = torch.autograd.grad(dense.square().sum(), z)
    assert torch.allclose(dense, sparse, atol=1e-5)
    assert torch.allclose(dense_grad, sparse_grad, atol=1e-5)


@DENOISER_CONFIGS
def test_denoiser_padding_does_not_leak(cfg):
    model = _denoiser(cfg)
    z, t, text, text_mask = _inputs(cfg, 3, 23)
    lengths = torch.tensor([23, 11, 6])
    mask = lengths_to_mask(lengths, 23)
    with torch.no_grad():
        out = model(z, t, text, text_mask, mask)
        noisy = torch.where(mask.unsqueeze(-1), z, torch.randn_like(z) * 100)
        out_noisy = model(noisy, t, text, text_mask, mask)
        assert torch.allclose(out[mask], out_noisy[mask], atol=1e-5)
        assert not out[~mask].any()                          # padded outputs are zeroed
        for b, n in enumerate(lengths.tolist()):             # batched == alone, at the same length
            alone = model(z[b:b + 1, :n], t[b:b + 1], text[b:b + 1], text_mask[b:b + 1])
            assert torch.allclose(alone[0], out[b, :n], atol=1e-5), b


@DENOISER_CONFIGS
def test_denoiser_uses_text_and_timestep(cfg):
    model = _denoiser(cfg)
    z, t, text, text_mask = _inputs(cfg, 2, 9)
    with torch.no_grad():
        out = model(z, t, text, text_mask)
        assert not torch.allclose(out, model(z, t, text + 1.0, text_mask))
        assert not torch.allclose(out, model(z, t + 100, text, text_mask))
        # Float timesteps are accepted and integer ones embed identically.
        assert torch.allclose(out, model(z, t.float(), text, text_mask))
        # Unconditional (classifier-free guidance) branch: every text token masked out.
        uncond = model(z, t, text, torch.zeros_like(text_mask))
    assert torch.isfinite(uncond).all()


def test_text_levels_grow_a_unet_that_starts_as_it_was():
    """A trained U-Net given text attention at more levels computes what it did until training opens the gates."""
    plain = _denoiser(TINY_MAMBA)
    torch.manual_seed(5)
    grown = build_denoiser(TINY_MAMBA_TEXT).eval()
    result = grown.load_state_dict(plain.state_dict(), strict=False)
    assert not result.unexpected_keys and result.missing_keys
    assert all(".text_attention." in key for key in result.missing_keys)
    z, t, text, text_mask = _inputs(TINY_MAMBA, 2, 12)
    with torch.no_grad():
        assert torch.allclose(grown(z, t, text, text_mask), plain(z, t, text, text_mask), atol=1e-6)
        grown.encoder[2].text_attention.gate.fill_(0.5)
        assert not torch.allclose(grown(z, t, text, text_mask), plain(z, t, text, text_mask), atol=1e-4)


def test_text_gates_start_where_the_config_says():
    """`text_gate_init` opens every text cross-attention (bottleneck and levels) from the start; 0 keeps them shut,
    as every existing checkpoint was trained."""
    def gates(model):
        return [p for name, p in model.named_parameters() if name.endswith(("cross_gate", "text_attention.gate"))]
    shut, open_ = build_denoiser(TINY_MAMBA_TEXT), build_denoiser({**TINY_MAMBA_TEXT, "text_gate_init": 1.0})
    assert len(gates(open_)) == len(open_.mid) + 2 * len(TINY_MAMBA_TEXT["text_levels"])
    assert all(torch.all(g == 0) for g in gates(shut)) and all(torch.all(g == 1) for g in gates(open_))
    assert denoiser_config_dict(open_)["text_gate_init"] == 1.0
    assert build_denoiser(denoiser_config_dict(open_)).config == open_.config


def test_a_block_of_its_own_modulation_starts_as_the_shared_one_and_then_answers_the_prompt_alone():
    """`block_modulation_rank` gives each block its own map from timestep + pooled text to its AdaLN parameters.
    Zero at first, so a trained model gaining them computes what it did; trained, blocks differ in their answer."""
    torch.manual_seed(0)
    shared = build_denoiser(TINY_MAMBA_TEXT)
    own = build_denoiser({**TINY_MAMBA_TEXT, "block_modulation_rank": 4})
    missing = own.load_state_dict(shared.state_dict(), strict=False).missing_keys
    assert missing and all(".own_modulation." in k for k in missing)
    assert len({k.split(".own_modulation.")[0] for k in missing}) == 2 * len(own.encoder) + len(own.mid)
    for p in shared.parameters():   # nonzero everywhere, so every path reaches the output
        p.data.normal_(0, 0.1)
    own.load_state_dict(shared.state_dict(), strict=False)
    z, t, text, text_mask = _inputs(TINY_MAMBA_TEXT, 2, 13)
    with torch.no_grad():
        assert torch.allclose(own(z, t, text, text_mask), shared(z, t, text, text_mask), atol=1e-6)
    own(z, t, text, text_mask).square().mean().backward()
    assert own.encoder[1].own_modulation.up.weight.grad.abs().sum() > 0   # zero output, live gradient
    with torch.no_grad():
        own.encoder[1].own_modulation.up.weight.normal_(0, 0.1)
        assert not torch.allclose(own(z, t, text, text_mask), shared(z, t, text, text_mask), atol=1e-4)
    assert build_denoiser(denoiser_config_dict(own)).config == own.config
    with pytest.raises(ConfigError, match="block_modulation_rank"):
        build_denoiser({**TINY_MAMBA_TEXT, "block_modulation_rank": -1})


def test_text_scans_read_the_prompt_whatever_its_padding():
    """The scans' summary tokens come from learned queries over the text tokens, so a prompt padded to a longer
    batch gives the same motion; and what the scans read reaches the output."""
    model = _denoiser(TINY_MAMBA_SCAN)
    z, t, text, text_mask = _inputs(TINY_MAMBA_SCAN, 2, 17)
    padded = torch.cat([text, torch.randn(2, 4, text.shape[-1])], dim=1)
    padded_mask = torch.cat([text_mask, torch.zeros(2, 4, dtype=torch.bool)], dim=1)
    with torch.no_grad():
        assert torch.allclose(model(z, t, text, text_mask), model(z, t, padded, padded_mask), atol=1e-5)
        with_scans = model(z, t, text, text_mask)
        for block in (*model.encoder, *model.decoder):
            block.scans_text = False
        assert not torch.allclose(with_scans, model(z, t, text, text_mask), atol=1e-4)
    with pytest.raises(ConfigError, match="text_scan_levels"):
        build_denoiser({**TINY_MAMBA, "text_scan_levels": [0, 0]})
    with pytest.raises(ConfigError, match="text_scan_tokens"):
        build_denoiser({**TINY_MAMBA_SCAN, "text_scan_tokens": 0})


@DENOISER_CONFIGS
def test_denoiser_is_deterministic(cfg):
    z, t, text, text_mask = _inputs(cfg, 2, 13)
    a, b = _denoiser(cfg, seed=3), _denoiser(cfg, seed=3)
    with torch.no_grad():
        first = a(z, t, text, text_mask)
        assert torch.equal(first, a(z, t, text, text_mask))
        assert torch.equal(first, b(z, t, text, text_mask))


@DENOISER_CONFIGS
def test_denoiser_starts_at_zero_and_gradients_reach_every_parameter(cfg):
    torch.manual_seed(0)
    model = build_denoiser(cfg)
    z, t, text, text_mask = _inputs(cfg, 2, 10)
    with torch.no_grad():
        assert not model(z, t, text, text_mask).any()  # zero-init output: stable first steps
    model = _randomize_zero_init(model).train()
    mask = lengths_to_mask(torch.tensor([10, 7]), 10)
    model(z, t, text, text_mask, mask).pow(2).mean().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.slow  # ~6 s for the Mamba U-Net on two idle cores (its CPU scan's backward dominates)
@DENOISER_CONFIGS
def test_denoiser_overfits_a_batch(cfg):
    torch.manual_seed(0)
    model = build_denoiser(cfg).train()
    z, t, text, text_mask = _inputs(cfg, 2, 8)
    target = torch.randn_like(z)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(20):
        loss = (model(z, t, text, text_mask) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@DENOISER_CONFIGS
def test_denoiser_rejects_bad_inputs(cfg):
    model = build_denoiser(cfg)
    z, t, text, text_mask = _inputs(cfg, 2, 8)
    with pytest.raises(ValueError, match="z_t"):
        model(z[..., :-1], t, text, text_mask)
    with pytest.raises(ValueError, match="t must"):
        model(z, t[:1], text, text_mask)
    with pytest.raises(ValueError, match="text_tokens"):
        model(z, t, text[..., :-1], text_mask)
    with pytest.raises(ValueError, match="right-padding"):
        model(z, t, text, text_mask, torch.tensor([[False] + [True] * 7] * 2))
    with pytest.raises(TypeError, match="bool"):
        model(z, t, text, text_mask, torch.ones(2, 8))
    with pytest.raises(ValueError, match="no valid frame"):
        model(z, t, text, text_mask, lengths_to_mask(torch.tensor([8, 0]), 8))


def test_valid_frame_indices_of_several_masks_equal_one_index_per_mask():
    from motion_core.models.layers import downsample_mask, valid_frame_index, valid_frame_indices
    masks = [lengths_to_mask(torch.tensor([7, 1, 5]), 7)]
    for _ in range(2):
        masks.append(downsample_mask(masks[-1]))
    together = valid_frame_indices(masks)
    for mask, index in zip(masks, together):
        assert torch.equal(index, mask.flatten().nonzero().squeeze(1))
        assert torch.equal(index, valid_frame_index(mask))
    assert valid_frame_indices([None, None]) == [None, None]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_bad_mask_on_the_gpu_stops_the_process_with_the_message():
    """On CUDA the mask checks run on the device (no host sync): a failure aborts with the same message. Run in
    a child process, since a failed device assertion leaves the CUDA context unusable."""
    import subprocess
    import sys
    code = ("import torch; from motion_core.models.layers import check_mask; "
            "check_mask(torch.tensor([[False, True]], device='cuda'), 1, 2); torch.cuda.synchronize()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "right-padding" in done.stderr or "assert" in done.stderr.lower()


@pytest.mark.parametrize("kind", ["mamba_unet", "transformer"])
def test_default_denoiser_forward(kind):
    model = build_denoiser({"type": kind}).eval()
    cfg = model.config
    z = torch.randn(2, 50, cfg.latent_dim)
    text = torch.randn(2, 20, cfg.text_dim)
    with torch.no_grad():
        out = model(z, torch.tensor([0, 999]), text, torch.ones(2, 20, dtype=torch.bool))
    assert out.shape == z.shape


# --- VAE --------------------------------------------------------------------------------------------------

def _vae(seed: int = 0, **overrides) -> MotionVAE:
    torch.manual_seed(seed)
    return build_vae({**TINY_VAE, **overrides}).eval()


@pytest.mark.parametrize("frames", [1, 3, 4, 5, 37, 200])
def test_vae_shapes(frames):
    vae = _vae()
    x = torch.randn(2, frames, 263)
    with torch.no_grad():
        mu, logvar = vae.encode(x)
        out = vae(x)
    latents = -(-frames // 4)
    assert mu.shape == logvar.shape == (2, latents, 8)
    assert out.recon.shape == x.shape
    assert vae.decode(mu).shape == (2, 4 * latents, 263)


def test_vae_long_sequence():
    vae = _vae()
    with torch.no_grad():
        mu, _ = vae.encode(torch.randn(1, 12000, 263))
        assert mu.shape == (1, 3000, 8)
        assert vae.decode(mu, 11999).shape == (1, 11999, 263)


def test_vae_padding_does_not_leak():
    vae = _vae()
    x = torch.randn(3, 37, 263)
    lengths = torch.tensor([37, 21, 6])
    mask = lengths_to_mask(lengths, 37)
    with torch.no_grad():
        out = vae(x, mask)
        noisy = vae(torch.where(mask.unsqueeze(-1), x, torch.randn_like(x) * 100), mask)
        latent_mask = vae.latent_mask(mask)
        assert torch.equal(latent_mask.sum(1), (lengths + 3) // 4)
        assert torch.allclose(out.mu[latent_mask], noisy.mu[latent_mask], atol=1e-5)
        assert torch.allclose(out.recon[mask], noisy.recon[mask], atol=1e-5)
        for b, n in enumerate(lengths.tolist()):               # batched == alone
            alone = vae(x[b:b + 1, :n])
            assert torch.allclose(alone.mu[0], out.mu[b, :alone.mu.shape[1]], atol=1e-5)
            assert torch.allclose(alone.recon[0], out.recon[b, :n], atol=1e-5)


def test_vae_loss_terms_and_masking():
    vae = _vae()
    x = torch.randn(2, 16, 263)
    mask = lengths_to_mask(torch.tensor([16, 9]), 16)
    torch.manual_seed(0)
    terms = vae.train().loss(x, mask)
    assert set(terms) == {"loss", "recon", "kl", "velocity"}
    expected = terms["recon"] + vae.config.kl_weight * terms["kl"] + vae.config.velocity_weight * terms["velocity"]
    assert torch.allclose(terms["loss"], expected)
    torch.manual_seed(0)
    x_noisy = torch.where(mask.unsqueeze(-1), x, x + 50)
    assert torch.allclose(vae.loss(x_noisy, mask)["loss"], terms["loss"], atol=1e-5)
    no_velocity = build_vae({**TINY_VAE, "velocity_weight": 0.0})
    assert no_velocity.loss(x, mask)["velocity"].item() == 0.0


def test_vae_decode_rejects_bad_lengths():
    vae = _vae()
    z = torch.randn(1, 5, 8)
    with pytest.raises(ValueError, match="num_frames"):
        vae.decode(z, 16)
    with pytest.raises(ValueError, match="num_frames"):
        vae.decode(z, 21)
    with pytest.raises(ValueError, match="x must"):
        vae.encode(torch.randn(1, 10, 262))


def test_vae_overfits_a_batch():
    vae = _vae().train()
    # Smooth, low-rank "motion": a few sinusoids mixed into 263 channels, as real features are.
    gen = torch.Generator().manual_seed(0)
    frames = torch.arange(24.0).view(1, 24, 1)
    waves = torch.sin(frames * torch.rand(4, 1, 4, generator=gen) + torch.rand(4, 1, 4, generator=gen) * 6)
    x = waves @ torch.randn(4, 263, generator=gen)
    mask = lengths_to_mask(torch.tensor([24, 20, 13, 8]), 24)
    opt = torch.optim.Adam(vae.parameters(), lr=2e-3)
    losses = []
    for _ in range(30):
        loss = vae.loss(x, mask)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def test_default_vae_decodes_a_ten_second_clip():
    vae = build_vae().eval()
    with torch.no_grad():
        x_hat = vae.decode(torch.randn(1, 50, vae.config.latent_dim), 200)
    assert x_hat.shape == (1, 200, 263)


def test_chunked_temporal_scans_match_whole_sequence_scans():
    model = _denoiser(TINY_MAMBA)
    z, t, text, text_mask = _inputs(TINY_MAMBA, 2, 45)
    mask = lengths_to_mask(torch.tensor([45, 30]), 45)
    with torch.no_grad():
        whole = model(z, t, text, text_mask, mask)
        model.set_scan_chunk_len(8)
        chunked = model(z, t, text, text_mask, mask)
    assert torch.allclose(whole, chunked, atol=1e-5)
    with pytest.raises(ValueError, match="chunk_len"):
        model.set_scan_chunk_len(0)


def test_fused_scans_match_per_scan_with_shipped_weights():
    """The grouped selective scan of a level's temporal Mambas (the CUDA path, forced here on the CPU) and the
    spatial blocks' out_proj folded into merge compute what the per-scan, unfolded blocks compute, with the
    shipped checkpoint's weights: whole denoiser, padded batch."""
    from motion_core.engine import Engine
    from motion_core.models.mamba_blocks import BidirectionalSpatialMamba, HierarchicalTemporalMamba
    denoiser = Engine.load(device="cpu").denoiser
    torch.manual_seed(0)
    b, length = 2, 37
    z = torch.randn(b, length, denoiser.config.latent_dim)
    t = torch.tensor([10, 700])
    text = torch.randn(b, 5, denoiser.config.text_dim)
    latent_mask = lengths_to_mask(torch.tensor([37, 23]), length)
    outs = {}
    for fused in (False, True):
        for module in denoiser.modules():
            if isinstance(module, HierarchicalTemporalMamba):
                module.fused = fused
            if isinstance(module, BidirectionalSpatialMamba):
                module.fold_out_proj = fused
        with torch.no_grad():
            outs[fused] = denoiser(z, t, text, None, latent_mask)
    err = ((outs[True] - outs[False]).norm() / outs[False].norm()).item()
    assert err < 1e-5, err


@pytest.mark.parametrize("kinds", [("fwd", "rev", "fwd_s2"), ("rev_s3", "fwd")])
def test_fused_temporal_scans_forward_and_backward(kinds):
    """Grouped scan = per-scan scans (padded batch, odd lengths, strides > 2), gradients included."""
    from motion_core.models.mamba_blocks import HierarchicalTemporalMamba
    torch.manual_seed(0)
    htm = HierarchicalTemporalMamba(32, kinds, 4, 4, 1)
    nn.init.normal_(htm.gate.weight)
    x = torch.randn(3, 19, 32)
    mask = lengths_to_mask(torch.tensor([19, 16, 9]), 19)
    results = []
    for fused in (False, True):
        htm.fused = fused
        xi = x.clone().requires_grad_(True)
        htm.zero_grad()
        y = htm(xi, mask)
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
        results.append((y.detach(), xi.grad, [p.grad.clone() for p in htm.parameters()]))
    (y0, g0, p0), (y1, g1, p1) = results
    assert torch.allclose(y1, y0, atol=1e-5, rtol=1e-4)
    assert torch.allclose(g1, g0, atol=1e-5, rtol=1e-4)
    for a, b in zip(p1, p0):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_spatial_fold_matches_unfolded_and_follows_weight_changes(context):
    """BidirectionalSpatialMamba with out_proj folded into merge = unfolded, also after the weights change in
    place between two calls. Under no_grad the folded maps are cached and refreshed when a weight's version
    moves; a block built under inference_mode (an engine loaded there, as benchmarks/speed_levers.py does: found
    by the GPU sitting of 2026-12-04) has weights without version counters, so it folds on every call instead."""
    from motion_core.models.mamba_blocks import BidirectionalSpatialMamba
    torch.manual_seed(0)
    with context():
        block = BidirectionalSpatialMamba(32, 4, 4, 4, 1)
        x = torch.randn(2, 9, 32)
        mask = lengths_to_mask(torch.tensor([9, 5]), 9)
        for _ in range(2):
            outs = []
            for fold in (False, True):
                block.fold_out_proj = fold
                outs.append(block(x, mask))
            assert torch.allclose(outs[1], outs[0], atol=1e-5, rtol=1e-4)
            block.merge.weight.mul_(1.5)
            block.scan.out_proj.weight.add_(0.1)
    assert (block._folded_cache is None) == (context is torch.inference_mode)

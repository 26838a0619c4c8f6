"""Opening a U-Net's text gates keeps its outputs and lets its text attentions learn."""
import pytest
import torch

from motion_core.models import build_denoiser
from train.config import TrainConfigError, resolve_config
from train.text_gates import open_text_gates, text_gates

TINY = {"type": "mamba_unet", "latent_dim": 8, "text_dim": 16, "width": 32, "spatial_groups": 4, "d_state": 4,
        "num_heads": 2, "text_levels": [0, 2]}


def inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 12, 8, generator=g), torch.tensor([30, 700]), torch.randn(2, 5, 16, generator=g),
            torch.ones(2, 5, dtype=torch.bool))


def test_opening_keeps_the_outputs_and_sets_every_gate_to_one():
    torch.manual_seed(0)
    model = build_denoiser(TINY)
    for p in model.parameters():
        p.data.normal_(0, 0.1)   # trained-like: every gate partly open, every path alive
    with torch.no_grad():
        model.encoder[0].text_attention.gate.zero_()   # and one still shut, as a freshly grown level is
        before = model(*inputs())
    names = open_text_gates(model)
    assert len(names) == 5 == len(text_gates(model))   # bottleneck + 2 levels in encoder and decoder
    assert all(torch.all(gate == 1) for _, gate, _ in text_gates(model))
    assert torch.all(model.encoder[0].text_attention.attn.out.weight == 0)
    with torch.no_grad():
        torch.testing.assert_close(model(*inputs()), before, rtol=1e-5, atol=1e-6)


def test_a_shut_gate_passes_no_gradient_and_an_opened_one_does():
    torch.manual_seed(0)
    model = build_denoiser(TINY)
    for p in model.parameters():
        if p.dim() > 1:
            p.data.normal_(0, 0.1)
    query = model.encoder[0].text_attention.attn.q.weight

    def query_grad():
        model.zero_grad()
        model(*inputs()).square().mean().backward()
        return query.grad.abs().sum(), model.encoder[0].text_attention.attn.out.weight.grad.abs().sum()

    q_shut, out_shut = query_grad()
    assert q_shut == 0 and out_shut == 0            # gate 0: the attention learns nothing
    open_text_gates(model)
    q_open, out_open = query_grad()
    assert out_open > 0                             # its output projection (zero now) learns at once


def test_the_training_config_takes_a_boolean_only():
    with pytest.raises(TrainConfigError, match="open_text_gates"):
        resolve_config({"denoiser": {"open_text_gates": "yes", "text": {"type": "offline"}}})

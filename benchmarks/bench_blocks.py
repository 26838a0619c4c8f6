"""GPU time of the denoiser's blocks in a training step, per selective-scan backend.

Why: the training step is GPU-bound, so its time is the sum of its blocks' GPU time. The spatial block (BSM)
scans 8 group tokens per frame: at a training batch that is ~100,000 sequences of length 8, a shape far from
the long sequences mamba-ssm's kernels are built for. This measures forward + backward of each block at the
default model's sizes, under bf16 autocast, with mamba-ssm's kernels and with the PyTorch scan
(`Mamba.backend`), so a choice between them is a measurement. With the kernels, short (spatial) sequences run
packed into rows of `Mamba.packed_length` steps (motion_core/ssm/packing.py): "kernels" uses the shipped
length, "kernels-pack<N>" rows of N steps, "kernels-pack0" no packing (one thread block per sequence).

    python benchmarks/bench_blocks.py [--batch 1024] [--latents 49] [--settings kernels kernels-pack0 torch]
                                      [--out FILE]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_core.formats.atomic_file import write_json  # noqa: E402
from motion_core.formats.checkpoint import read_config  # noqa: E402
from motion_core.engine import DEFAULT_MODEL_DIR  # noqa: E402
from motion_core.models import build_denoiser  # noqa: E402
from motion_core.models.denoiser import DenoiserConfig  # noqa: E402
from motion_core.ssm import Mamba  # noqa: E402
from motion_core.ssm.packing import PACKED_LENGTH  # noqa: E402


def blocks(denoiser: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """The finest level's two blocks (where most frames are) and the whole denoiser, by name."""
    finest = denoiser.encoder[0]
    return {"spatial (BSM), level 0": finest.spatial, "temporal (HTM, 3 scans), level 0": finest.temporal,
            "whole denoiser": denoiser}


SETTINGS = ("kernels", "kernels-pack0", "torch")


def parse_setting(setting: str) -> tuple[str, int]:
    """'kernels' | 'kernels-pack<N>' | 'torch' -> (Mamba.backend, Mamba.packed_length)."""
    if setting == "torch":
        return "torch", PACKED_LENGTH
    if setting == "kernels":
        return "cuda", PACKED_LENGTH
    if setting.startswith("kernels-pack") and setting[len("kernels-pack"):].isdigit():
        return "cuda", int(setting[len("kernels-pack"):])
    raise argparse.ArgumentTypeError(f"unknown setting {setting!r}: use kernels, kernels-pack<N> or torch")


def use_setting(module: torch.nn.Module, setting: str) -> None:
    """Pin every Mamba layer's backend and packing to the setting's."""
    backend, packed_length = parse_setting(setting)
    for layer in module.modules():
        if isinstance(layer, Mamba):
            layer.backend, layer.packed_length = backend, packed_length


def fwd_bwd_ms(module: torch.nn.Module, inputs: tuple, repeats: int, warmup: int) -> float:
    """Mean ms of forward + backward (bf16 autocast), timed with CUDA events."""
    params = [p for p in module.parameters() if p.requires_grad]

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = module(*inputs)
        torch.autograd.grad(out.float().square().mean(), params)
    for _ in range(warmup):
        step()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        step()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / repeats


def module_inputs(name: str, cfg: DenoiserConfig, batch: int, latents: int, device) -> tuple:
    if name == "whole denoiser":
        z = torch.randn(batch, latents, cfg.latent_dim, device=device)
        t = torch.randint(0, 1000, (batch,), device=device)
        text = torch.randn(batch, 12, cfg.text_dim, device=device)
        return z, t, text, torch.ones(batch, 12, dtype=torch.bool, device=device)
    x = torch.randn(batch, latents, cfg.width, device=device)
    return x, None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--latents", type=int, default=49, help="latent frames (196 frames / 4)")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), type=str)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    for setting in args.settings:
        try:
            parse_setting(setting)
        except argparse.ArgumentTypeError as err:
            parser.error(str(err))
    if not torch.cuda.is_available():
        raise SystemExit("this benchmark times GPU kernels: it needs a CUDA device")
    device = torch.device("cuda")
    # The shipped model's sizes (random weights: speed does not depend on their values).
    denoiser = build_denoiser(read_config(DEFAULT_MODEL_DIR)["architecture"]["denoiser"])
    cfg = denoiser.config
    rows = []
    for name, module in blocks(denoiser).items():
        module.to(device).train()
        inputs = module_inputs(name, cfg, args.batch, args.latents, device)
        for setting in args.settings:
            use_setting(module, setting)
            ms = fwd_bwd_ms(module, inputs, args.repeats, args.warmup)
            rows.append({"block": name, "setting": setting, "fwd_bwd_ms": round(ms, 2)})
            print(f"{name:<34} {setting:>15}: {ms:8.2f} ms forward + backward", flush=True)
    result = {"benchmark": "blocks", "device": torch.cuda.get_device_name(device), "date": time.strftime("%Y-%m-%d"),
              "torch": torch.__version__, "batch": args.batch, "latents": args.latents, "rows": rows}
    if args.out:
        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

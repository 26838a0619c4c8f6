"""A frozen OpenCLIP text tower as text encoder (optional: ``pip install motion-core[clip]``).

Never downloads: the weights must be a local OpenCLIP-format ``.safetensors`` file, so a Blender session never
blocks on the network and never unpickles a file (``.bin``/``.pt`` weights would need torch.load). The file is
found, in order, at the config key ``weights_path``, the environment variable ``MOTION_CORE_CLIP_WEIGHTS``, or
``<MOTION_CORE_CLIP_DIR or ~/.cache/motion_core/open_clip>/<model_name>.safetensors``.

Output: per-token features of the final layer norm, (B, context_length, width), with a mask that is True up to
and including each prompt's end-of-text token (later positions are padding and, with CLIP's causal attention,
carry no information about the prompt).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from torch import nn

from motion_core.text.base import TextEncoder

WEIGHTS_ENV = "MOTION_CORE_CLIP_WEIGHTS"
WEIGHTS_DIR_ENV = "MOTION_CORE_CLIP_DIR"
DEFAULT_WEIGHTS_DIR = Path("~/.cache/motion_core/open_clip")
INSTALL_HINT = "pip install motion-core[clip]"

# Where to get a matching OpenCLIP-format safetensors file, for the error message of a missing file.
_KNOWN_SOURCES = {
    "ViT-B-32": "the Hugging Face repo laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
    "ViT-B-16": "the Hugging Face repo laion/CLIP-ViT-B-16-laion2B-s34B-b88K",
    "ViT-L-14": "the Hugging Face repo laion/CLIP-ViT-L-14-laion2B-s32B-b82K",
}


class OpenCLIPUnavailable(RuntimeError):
    """open_clip or the weights file is missing; the message says what to install or where to put which file."""


def default_weights_path(model_name: str) -> Path:
    directory = os.environ.get(WEIGHTS_DIR_ENV) or DEFAULT_WEIGHTS_DIR
    return Path(directory).expanduser() / f"{model_name}.safetensors"


def resolve_weights_path(model_name: str, weights_path: str | None = None) -> Path:
    """The local weights file to load, or OpenCLIPUnavailable explaining exactly which file to put where."""
    given = weights_path or os.environ.get(WEIGHTS_ENV)
    if given and (str(given).startswith("hf-hub:") or not Path(given).suffix):
        raise OpenCLIPUnavailable(
            f"OpenCLIP weights must be a local .safetensors file path, got {given!r}. Hub or tag names are "
            f"refused because motion_core never downloads at run time.")
    path = Path(given).expanduser() if given else default_weights_path(model_name)
    if path.suffix != ".safetensors":
        raise OpenCLIPUnavailable(
            f"OpenCLIP weights must be a .safetensors file (pickled .bin/.pt files are refused), got {path}")
    if not path.is_file():
        source = _KNOWN_SOURCES.get(model_name, f"the OpenCLIP release of {model_name}")
        raise OpenCLIPUnavailable(
            f"OpenCLIP weights for {model_name!r} not found at {path}.\n"
            f"Download the OpenCLIP-format safetensors file (open_clip_model.safetensors or "
            f"open_clip_pytorch_model.safetensors, not the transformers 'model.safetensors') from {source} "
            f"and save it as:\n    {default_weights_path(model_name)}\n"
            f"or point the environment variable {WEIGHTS_ENV} (or the text encoder config key 'weights_path') "
            f"at the file; {WEIGHTS_DIR_ENV} changes the directory searched for '{model_name}.safetensors'.")
    return path


def import_open_clip():
    try:
        import open_clip
    except ImportError as error:
        raise OpenCLIPUnavailable(
            f"The 'openclip' text encoder needs the open_clip package, which is not installed. "
            f"Install it with:\n    {INSTALL_HINT}\n(or: pip install open-clip-torch)") from error
    return open_clip


class OpenCLIPTextEncoder(TextEncoder):
    """Frozen OpenCLIP text transformer. `random_init=True` skips the weights (tests, shape checks only)."""

    trainable = False

    def __init__(self, model_name: str = "ViT-B-32", weights_path: str | None = None, random_init: bool = False):
        super().__init__()
        if model_name.startswith("hf-hub:"):
            raise OpenCLIPUnavailable(f"hub model names are refused (no downloads at run time): {model_name!r}")
        self.model_name = model_name
        self._weights_path = weights_path
        open_clip = import_open_clip()
        path = None if random_init else resolve_weights_path(model_name, weights_path)
        model = _create_unloaded(open_clip, model_name)
        if path is not None:
            _load_safetensors_weights(model, path)
        self._take_text_tower(model)
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self.dim = int(self.ln_final.weight.shape[0])
        self.requires_grad_(False)
        self.eval()

    def _take_text_tower(self, model: nn.Module) -> None:
        """Keep only the text modules (the image tower would waste hundreds of MB)."""
        tower = getattr(model, "text", None)
        tower = model if tower is None else tower
        if getattr(tower, "cls_emb", None) is not None:
            raise ValueError(f"{self.model_name} has a CoCa-style text tower, which is not supported")
        self.token_embedding = tower.token_embedding
        self.positional_embedding = tower.positional_embedding
        self.transformer = tower.transformer
        self.ln_final = tower.ln_final
        mask = getattr(tower, "attn_mask", None)
        self.register_buffer("attn_mask", None if mask is None else mask.clone(), persistent=False)

    def train(self, mode: bool = True):
        # Frozen: dropout and friends stay off even when the surrounding model trains.
        return super().train(False)

    def config(self) -> dict:
        config = {"type": "openclip", "model_name": self.model_name}
        if self._weights_path:
            config["weights_path"] = str(self._weights_path)
        return config

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_prepared(*self.prepare(prompts))

    def prepare(self, prompts: list[str]) -> tuple[torch.Tensor]:
        if isinstance(prompts, str) or not all(isinstance(p, str) for p in prompts):
            raise TypeError("prompts must be a list of strings")
        return (self.tokenizer(list(prompts)).to(self.device),)

    @torch.no_grad()
    def forward_prepared(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.token_embedding(ids) + self.positional_embedding[: ids.shape[1]]
        mask = self.attn_mask[: ids.shape[1], : ids.shape[1]] if self.attn_mask is not None else None
        # Older open_clip transformers take (N, B, D); newer ones say batch_first=True and take (B, N, D).
        batch_first = getattr(self.transformer, "batch_first", False)
        x = self.transformer(x if batch_first else x.transpose(0, 1), attn_mask=mask)
        x = self.ln_final(x if batch_first else x.transpose(0, 1))
        # The end-of-text token has the largest id in CLIP's vocabulary: open_clip pools there too.
        eot = ids.argmax(dim=-1)
        valid = torch.arange(ids.shape[1], device=ids.device)[None, :] <= eot[:, None]
        return x.float(), valid


def _create_unloaded(open_clip, model_name: str) -> nn.Module:
    # open_clip warns "initialized randomly" when pretrained=None; we load the weights ourselves right after.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        return open_clip.create_model(model_name, pretrained=None)
    finally:
        logging.disable(previous)


def _load_safetensors_weights(model: nn.Module, path: Path) -> None:
    from safetensors.torch import load_file
    try:
        state = load_file(str(path))
    except Exception as error:  # safetensors raises its own error types for corrupt headers
        raise OpenCLIPUnavailable(f"could not read OpenCLIP weights {path}: {error}") from error
    state = {k.removeprefix("module."): v for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    used = ("token_embedding", "positional_embedding", "transformer.", "ln_final")
    text_missing = [k for k in missing if k.removeprefix("text.").startswith(used)]
    if text_missing or (unexpected and len(unexpected) == len(state)):
        raise OpenCLIPUnavailable(
            f"{path} does not match the OpenCLIP model architecture: missing {text_missing[:5]}, unexpected "
            f"{unexpected[:5]}. Is it the OpenCLIP-format file of the same model?")

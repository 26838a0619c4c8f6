"""Text-motion contrastive evaluator: embeds motions and captions into one space for the T2M metrics.

It is trained here (`train.evaluation.fit_evaluator`), separately from the generator and with its own text
encoder (an offline hashed-token encoder, not the generator's), so the generator cannot game it.

Motion side: raw features -> its own z-scoring -> linear -> two stride-2 convolutions (one step per 4 frames,
like T2M's movement encoder) -> bidirectional GRU over the valid steps -> masked mean -> projection.
Text side: `OfflineTextEncoder` pooled token -> projection. Both embeddings are L2-normalised, so the Euclidean
distances the metrics use lie in [0, 2] (not on the scale of the official evaluator's numbers).

Stored as a directory: ``evaluator.safetensors`` (weights + ``normalizer.mean/std``) and ``evaluator.json``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from motion_core.generation.normalization import FeatureNormalizer
from motion_core.text import build_text_encoder

WEIGHTS = "evaluator.safetensors"
CONFIG = "evaluator.json"


def _default_text() -> dict:
    return {"type": "offline", "dim": 128, "layers": 1, "heads": 4, "ff_dim": 256, "num_buckets": 8192,
            "dropout": 0.1}


@dataclass(frozen=True)
class EvaluatorConfig:
    feature_dim: int = 263
    width: int = 256
    embed_dim: int = 256
    text: dict = field(default_factory=_default_text)

    @classmethod
    def from_dict(cls, data: dict) -> "EvaluatorConfig":
        unknown = set(data) - {"feature_dim", "width", "embed_dim", "text"}
        if unknown:
            raise ValueError(f"unknown evaluator config keys {sorted(unknown)}")
        return cls(**data)


def _mask_time(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    valid = torch.arange(h.shape[1], device=h.device)[None] < lengths.to(h.device)[:, None]
    return h * valid.unsqueeze(-1)


class MotionEncoder(nn.Module):
    def __init__(self, feature_dim: int, width: int, embed_dim: int):
        super().__init__()
        self.inp = nn.Linear(feature_dim, width)
        self.convs = nn.ModuleList(nn.Conv1d(width, width, 4, stride=2, padding=1) for _ in range(2))
        self.gru = nn.GRU(width, width // 2, batch_first=True, bidirectional=True)
        self.out = nn.Sequential(nn.Linear(width, width), nn.LayerNorm(width), nn.LeakyReLU(0.2),
                                 nn.Linear(width, embed_dim))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, T, F) normalised, lengths (B,) -> (B, embed_dim)."""
        # Zero everything past each sample's valid length at every resolution, so a clip embeds the same
        # alone or padded in a batch (a conv's bias would otherwise leak into the last valid step).
        h = _mask_time(self.inp(x), lengths).transpose(1, 2)
        for conv in self.convs:
            lengths = lengths // 2
            h = _mask_time(F.leaky_relu(conv(h), 0.2).transpose(1, 2), lengths).transpose(1, 2)
        h = h.transpose(1, 2)
        steps = lengths.clamp(min=1, max=h.shape[1])
        packed = pack_padded_sequence(h, steps.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=h.shape[1])
        mask = (torch.arange(h.shape[1], device=x.device)[None] < steps[:, None]).unsqueeze(-1).float()
        pooled = (out * mask).sum(1) / mask.sum(1)
        return self.out(pooled)


class TextMotionEvaluator(nn.Module):
    def __init__(self, config: EvaluatorConfig, normalizer: FeatureNormalizer):
        super().__init__()
        self.config = config
        self.normalizer = normalizer
        self.motion = MotionEncoder(config.feature_dim, config.width, config.embed_dim)
        self.text = build_text_encoder(dict(config.text))
        self.text_proj = nn.Linear(self.text.dim, config.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    def embed_motion(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Raw (de-normalised) features (B, T, F), zero-padded, lengths (B,) -> unit vectors (B, E)."""
        x = self.normalizer.normalize(features.to(self.device, torch.float32))
        return F.normalize(self.motion(x, lengths.to(self.device)), dim=-1)

    def embed_text(self, captions: list[str]) -> torch.Tensor:
        tokens, _ = self.text.encode(list(captions))
        return F.normalize(self.text_proj(tokens[:, 0]), dim=-1)

    # ---- persistence ----------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        from safetensors.torch import save_file
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        tensors.update(self.normalizer.to_tensors())
        save_file(tensors, str(directory / WEIGHTS))
        (directory / CONFIG).write_text(json.dumps({"kind": "text_motion_evaluator", **asdict(self.config)},
                                                   indent=2) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str | torch.device = "cpu") -> "TextMotionEvaluator":
        from safetensors.torch import load_file
        directory = Path(directory)
        if not (directory / WEIGHTS).is_file() or not (directory / CONFIG).is_file():
            raise FileNotFoundError(f"{directory} is not an evaluator directory (needs {WEIGHTS} and {CONFIG}; "
                                    "train one with `python -m train.evaluation.fit_evaluator`)")
        raw = json.loads((directory / CONFIG).read_text(encoding="utf-8"))
        raw.pop("kind", None)
        tensors = load_file(str(directory / WEIGHTS))
        normalizer = FeatureNormalizer.from_tensors(tensors)
        model = cls(EvaluatorConfig.from_dict(raw), normalizer)
        model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("normalizer.")})
        return model.to(device).eval()

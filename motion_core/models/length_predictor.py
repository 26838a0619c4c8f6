"""Text-conditioned motion length estimator: prompt embedding -> how many frames the motion should last.

A diffusion model generates best near the durations it saw for a caption in training ("jumps" ~2 s, "walks
forward, turns around and sits down" ~8 s); forcing one fixed length washes short actions out and crams long
ones. Following T2M / MoMask, the estimator is a classifier over lengths in `unit_length`-frame bins rather
than a regressor: the lengths seen for one caption are wide and skewed (a walk may last 2 s or 9 s), and a
categorical distribution represents that as it is. Its median (the default `estimate`) minimises the expected
absolute error in frames; regressing log-frames with a squared loss would give a geometric mean instead, biased
short for skewed captions.

The network is a small MLP over a fixed summary of the (frozen) text encoder's output: the first token (the
offline encoder's learned pooled token) concatenated with the masked mean of all tokens. It never changes the
text encoder, so it can be fitted after the diffusion model and added to an existing checkpoint.

With ``count_classes`` > 0 the MLP also reads how many times the prompt says its action happens
(`motion_core.text.counts`), one-hot: class 0 for no count, class k for k repetitions, the last class for that
many or more. Pooled text features blur counts in phrasings training never used ("two times" where it said
"twice"), and a wrong length becomes a wrong number of repeats. Checkpoints without it (``count_classes`` 0)
load and predict as before.

With ``count_free_text`` as well, the text features are read from the prompt with its count taken out
(`motion_core.text.counts.without_count`: "hops forward one time" -> "hops forward"), so the count reaches the MLP
through its class alone and every spelling of it predicts one length. Read from the whole prompt, a spelling
training never used moved the features as much as the class did: one fit gave "hops forward once" 40 frames and
"hops forward one time" 56, room for two hops (benchmarks/results/written_round7_20261206/).

With ``extrapolate_counts_above`` k, a count above k gets its length from the predictor's own lengths at counts
1..k, one more repeat's worth per count: L(n) = L(k) + (n - k) * s, s their least-squares slope. Captions rarely
say four or five (a seventh as often as "twice" / "three times"), and model v15's fit read "jumps forward five times"
as 68 frames, room for two jumps; extended, 152 frames, and five jumps in 7 of 8 clips. Counted hops and jumps at
four and five: 0.23 as fitted, 0.97 extended (benchmarks/results/counts_extrapolated_20261207/). It needs
``count_free_text``: the text must read the same at every count for the lengths to differ by repeats alone.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from motion_core.text.counts import spoken_count, without_count

from .config import ConfigError, ModelConfig, check_float, check_int

ESTIMATES = ("median", "mode")


@dataclasses.dataclass(frozen=True)
class LengthPredictorConfig(ModelConfig):
    text_dim: int = 256          # width of the text encoder's tokens
    hidden_dim: int = 256
    unit_length: int = 4         # bin width in frames (the VAE downsamples time by 4)
    min_frames: int = 40         # predictions are clamped to [min_frames, max_frames]
    max_frames: int = 196
    dropout: float = 0.1         # training only; the engine runs it in eval mode
    estimate: str = "median"     # how the distribution becomes one length: "median" or "mode"
    count_classes: int = 0       # one-hot width of the prompt's spoken count (0: the count is not read)
    count_free_text: bool = False  # text features from the prompt without its count (needs count_classes)
    extrapolate_counts_above: int = 0  # counts above this: lengths extended per repeat (0: each as fitted)

    def validate(self) -> None:
        owner = "LengthPredictorConfig"
        check_int(owner, "text_dim", self.text_dim, 1, 4096)
        check_int(owner, "hidden_dim", self.hidden_dim, 1, 4096)
        check_int(owner, "unit_length", self.unit_length, 1, 64)
        check_int(owner, "min_frames", self.min_frames, 1, 100_000)
        check_int(owner, "max_frames", self.max_frames, self.min_frames, 100_000)
        check_float(owner, "dropout", self.dropout, 0.0, 0.9)
        check_int(owner, "count_classes", self.count_classes, 0, 64)
        if not isinstance(self.count_free_text, bool):
            raise ConfigError(f"{owner}.count_free_text must be true or false, got {self.count_free_text!r}")
        if self.count_free_text and self.count_classes < 2:
            raise ConfigError(f"{owner}.count_free_text needs count_classes >= 2: the count would be read nowhere")
        top = self.extrapolate_counts_above
        check_int(owner, "extrapolate_counts_above", top, 0, 64)
        if top and not (2 <= top < self.count_classes and self.count_free_text):
            raise ConfigError(f"{owner}.extrapolate_counts_above needs 2 <= it < count_classes and count_free_text "
                              f"(it reads the lengths at counts 1 to it), got {top}")
        if self.estimate not in ESTIMATES:
            raise ConfigError(f"{owner}.estimate must be one of {list(ESTIMATES)}, got {self.estimate!r}")
        if self.max_frames // self.unit_length > 4096:
            raise ConfigError(f"{owner}: max_frames / unit_length = {self.max_frames // self.unit_length} bins "
                              "is more than 4096")

    @property
    def num_bins(self) -> int:
        """Bin k stands for k * unit_length frames, k = 0 .. max_frames // unit_length."""
        return self.max_frames // self.unit_length + 1


class LengthPredictor(nn.Module):
    """(text tokens (B, N, E), mask (B, N)[, count classes (B,)]) -> logits over length bins; `frames` gives one
    length per prompt. `count_inputs(prompts)` turns prompts into the count input; `prompt_frames` is what
    generation asks (counts read from the prompts, extended past ``extrapolate_counts_above``)."""

    def __init__(self, config: LengthPredictorConfig):
        super().__init__()
        self.config = config
        width = 2 * config.text_dim + config.count_classes
        self.net = nn.Sequential(
            nn.LayerNorm(width),
            nn.Linear(width, config.hidden_dim), nn.GELU(), nn.Dropout(config.dropout),
            nn.Linear(config.hidden_dim, config.num_bins),
        )

    @staticmethod
    def pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, 2E) summary: first token next to the masked mean of the tokens (padding excluded)."""
        weights = mask.to(tokens.dtype).unsqueeze(-1)
        mean = (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return torch.cat([tokens[:, 0], mean], dim=-1)

    def text_inputs(self, prompts: list[str]) -> list[str]:
        """What the text encoder reads for this predictor (`texts_read`)."""
        return texts_read(self.config, prompts)

    def spoken_counts(self, prompts: list[str]) -> torch.Tensor:
        """(B,) LongTensor: how many times each prompt says its action happens (0: none said, or not read)."""
        if self.config.count_classes <= 1:   # the count is not read: skip parsing every prompt
            return torch.zeros(len(prompts), dtype=torch.long)
        return torch.tensor([spoken_count(p) or 0 for p in prompts], dtype=torch.long)

    def count_inputs(self, prompts: list[str]) -> torch.Tensor:
        """(B,) LongTensor: each prompt's spoken count as this predictor's class (0: none said; capped)."""
        return self._classes(self.spoken_counts(prompts))

    def _classes(self, spoken: torch.Tensor) -> torch.Tensor:
        """Spoken counts as count classes: the last class holds that many or more."""
        return spoken.clamp(max=max(self.config.count_classes - 1, 0))

    def logits_from_pooled(self, pooled: torch.Tensor, counts: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from `pool`'s summary; `counts` (B,) classes are read only when the config has count classes
        (None there: no count said)."""
        classes = self.config.count_classes
        if classes:
            if counts is None:
                counts = torch.zeros(len(pooled), dtype=torch.long)
            one_hot = torch.nn.functional.one_hot(counts.to(pooled.device).clamp(0, classes - 1), classes)
            pooled = torch.cat([pooled, one_hot.to(pooled.dtype)], dim=-1)
        return self.net(pooled)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor, counts: torch.Tensor | None = None) -> torch.Tensor:
        return self.logits_from_pooled(self.pool(tokens, mask), counts)

    def bins_from_logits(self, logits: torch.Tensor, estimate: str | None = None) -> torch.Tensor:
        """Deterministic bin per row: the distribution's median (first bin reaching half the mass) or mode."""
        estimate = estimate or self.config.estimate
        if estimate == "mode":
            return logits.argmax(dim=-1)
        if estimate != "median":
            raise ValueError(f"estimate must be one of {list(ESTIMATES)}, got {estimate!r}")
        cumulative = logits.float().softmax(dim=-1).cumsum(dim=-1)
        return (cumulative < 0.5).sum(dim=-1).clamp(max=logits.shape[-1] - 1)

    def frames_from_logits(self, logits: torch.Tensor, estimate: str | None = None) -> torch.Tensor:
        """Lengths in frames (LongTensor (B,)), clamped to [min_frames, max_frames]."""
        c = self.config
        frames = self.bins_from_logits(logits, estimate) * c.unit_length
        return frames.clamp(min=c.min_frames, max=c.max_frames)

    @torch.no_grad()
    def frames(self, tokens: torch.Tensor, mask: torch.Tensor, counts: torch.Tensor | None = None) -> torch.Tensor:
        return self.frames_from_logits(self(tokens, mask, counts))

    @torch.no_grad()
    def prompt_frames(self, tokens: torch.Tensor, mask: torch.Tensor, prompts: list[str],
                      clamp: bool = True) -> torch.Tensor:
        """Lengths (LongTensor (B,)) for `prompts`, whose `text_inputs` the text encoder turned into tokens/mask:
        the fitted length at each prompt's count class, extended per repeat above ``extrapolate_counts_above``.
        `clamp` False: an extended length may pass max_frames (what the count needs, to say it does not fit)."""
        spoken = self.spoken_counts(prompts)
        frames = self.frames(tokens, mask, self._classes(spoken))
        top = self.config.extrapolate_counts_above
        far = (spoken > top).nonzero().flatten() if top else spoken[:0]
        if len(far):
            frames[far] = self._extrapolated(tokens[far], mask[far], spoken[far], frames[far], clamp)
        return frames

    def _extrapolated(self, tokens, mask, spoken, fitted, clamp: bool = True) -> torch.Tensor:
        """L(k) + (n - k) * s at k = extrapolate_counts_above, s the least-squares slope of the lengths at counts
        1..k (one odd class moves it less than a difference of two would); never shorter than `fitted` (a
        predictor whose lengths do not grow with the count says nothing about one more repeat)."""
        top, c = self.config.extrapolate_counts_above, self.config
        pooled = self.pool(tokens, mask)

        def at(count: int) -> torch.Tensor:   # unclamped, so a long L(k) still gives a true slope
            classes = torch.full((len(pooled),), count, dtype=torch.long)
            return (self.bins_from_logits(self.logits_from_pooled(pooled, classes)) * c.unit_length).double()
        counts = torch.arange(1, top + 1, dtype=torch.float64)
        lengths = torch.stack([at(k) for k in range(1, top + 1)], dim=-1)        # (B, k)
        centred = counts - counts.mean()
        slope = ((lengths * centred).sum(dim=-1) / (centred ** 2).sum()).clamp(min=0)
        frames = lengths[:, -1] + (spoken.to(lengths.device) - top) * slope
        frames = (frames / c.unit_length).round().long() * c.unit_length   # whole bins, as fitted lengths are
        frames = torch.maximum(frames, fitted.to(frames.device))
        return frames.clamp(min=c.min_frames, max=c.max_frames if clamp else None)

    def bin_of(self, frames: torch.Tensor) -> torch.Tensor:
        """Training target: the bin nearest to each length (lengths beyond max_frames fall in the last bin)."""
        c = self.config
        bins = torch.round(frames.double() / c.unit_length).long()
        return bins.clamp(min=0, max=c.num_bins - 1)


def texts_read(config: LengthPredictorConfig, prompts: list[str]) -> list[str]:
    """What the text encoder reads for a predictor of `config`, when fitted and when generating: the prompts,
    without their counts if it reads those apart (``count_free_text``)."""
    return [without_count(p) for p in prompts] if config.count_free_text else list(prompts)


def build_length_predictor(config: dict) -> LengthPredictor:
    """LengthPredictor from a dict of LengthPredictorConfig fields (as stored in a checkpoint)."""
    return LengthPredictor(LengthPredictorConfig.from_dict(config))


__all__ = ["LengthPredictor", "LengthPredictorConfig", "build_length_predictor", "texts_read", "ESTIMATES"]

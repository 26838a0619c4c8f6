"""Adapter for the official HumanML3D evaluator (Guo et al. 2022, "T2M"), for numbers comparable to papers.

We cannot ship or download those weights; a user who has them points `--official-evaluator DIR` at a folder
laid out as the T2M release has them:

    DIR/text_mot_match/model/finest.tar   torch checkpoint with state dicts 'text_encoder', 'movement_encoder',
                                          'motion_encoder' (checkpoints/t2m/text_mot_match/model/finest.tar)
    DIR/meta/mean.npy, DIR/meta/std.npy   the evaluator's feature statistics (checkpoints/t2m/Comp_v6_KLD01/meta/)
    DIR/glove/our_vab_data.npy            (V, 300) GloVe vectors, and
    DIR/glove/our_vab_words.pkl,          the word list and word -> row index of the T2M release
    DIR/glove/our_vab_idx.pkl

Network shapes follow the published evaluator: movement conv encoder (259 -> 512 -> 512, two stride-2 convs),
bidirectional GRU motion encoder (512 -> 1024 -> 512) and text encoder (GloVe 300 + 15 POS classes -> 512 ->
512). The official text side reads spaCy part-of-speech tags from the caption files; captions reach us as plain
strings, so POS classes here come from the evaluator's own keyword lists (Loc/Body/Obj/Act/Desc VIP words) and
everything else is OTHER. Expect R-precision/MM-Dist to differ slightly from the official scripts; FID and
Diversity use only the motion side and match them. Only plain data is unpickled (tensors, lists, dicts).
"""
from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

REQUIRED = ("text_mot_match/model/finest.tar", "meta/mean.npy", "meta/std.npy", "glove/our_vab_data.npy",
            "glove/our_vab_words.pkl", "glove/our_vab_idx.pkl")
POS_CLASSES = ("VERB", "NOUN", "DET", "ADP", "NUM", "AUX", "PRON", "ADJ", "ADV", "Loc_VIP", "Body_VIP", "Obj_VIP",
               "Act_VIP", "Desc_VIP", "OTHER")
VIP_WORDS = {
    "Loc_VIP": "left right clockwise counterclockwise anticlockwise forward back backward up down straight curve",
    "Body_VIP": "arm chin foot feet face hand mouth leg waist eye knee shoulder thigh",
    "Obj_VIP": "stair dumbbell chair window floor car ball handrail baseball basketball",
    "Act_VIP": "walk run swing pick bring kick put squat throw hop dance jump turn stumble stop sit lift lower "
               "raise wash stand kneel stroll rub bend balance flap jog shuffle lean rotate spin spread climb",
    "Desc_VIP": "slowly carefully fast careful slow quickly happy angry sad happily angrily sadly",
}
MAX_TEXT_TOKENS = 20
UNIT_LENGTH = 4


class OfficialEvaluatorMissing(FileNotFoundError):
    pass


class MovementConvEncoder(nn.Module):
    def __init__(self, input_size: int = 259, hidden: int = 512, output: int = 512):
        super().__init__()
        self.main = nn.Sequential(nn.Conv1d(input_size, hidden, 4, 2, 1), nn.Dropout(0.2), nn.LeakyReLU(0.2),
                                  nn.Conv1d(hidden, output, 4, 2, 1), nn.Dropout(0.2), nn.LeakyReLU(0.2))
        self.out_net = nn.Linear(output, output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_net(self.main(x.permute(0, 2, 1)).permute(0, 2, 1))


class BiGRUEncoder(nn.Module):
    """Shared shape of T2M's MotionEncoderBiGRUCo / TextEncoderBiGRUCo: embed -> BiGRU -> last states -> MLP."""

    def __init__(self, input_size: int, hidden: int, output: int, pos_size: int | None = None):
        super().__init__()
        if pos_size is not None:
            self.pos_emb = nn.Linear(pos_size, input_size)
        self.input_emb = nn.Linear(input_size, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.output_net = nn.Sequential(nn.Linear(hidden * 2, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(0.2),
                                        nn.Linear(hidden, output))
        self.hidden = nn.Parameter(torch.randn((2, 1, hidden), requires_grad=True))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        if pos is not None:
            x = x + self.pos_emb(pos)
        packed = pack_padded_sequence(self.input_emb(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed, self.hidden.repeat(1, x.shape[0], 1))
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: the GloVe files hold only lists/dicts")


def _read_plain_pickle(path: Path):
    with open(path, "rb") as handle:
        return _PlainUnpickler(handle).load()


class OfficialT2MEvaluator:
    """Same interface as `TextMotionEvaluator`: embed_motion(raw features, lengths), embed_text(captions)."""

    def __init__(self, directory: Path, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        state = torch.load(directory / REQUIRED[0], map_location="cpu", weights_only=True)
        self.movement = MovementConvEncoder()
        self.motion = BiGRUEncoder(512, 1024, 512)
        self.text = BiGRUEncoder(300, 512, 512, pos_size=len(POS_CLASSES))
        self.movement.load_state_dict(state["movement_encoder"])
        self.motion.load_state_dict(state["motion_encoder"])
        self.text.load_state_dict(state["text_encoder"])
        for module in (self.movement, self.motion, self.text):
            module.to(self.device).eval()
        self.mean = torch.as_tensor(np.load(directory / "meta/mean.npy"), dtype=torch.float32, device=self.device)
        self.std = torch.as_tensor(np.load(directory / "meta/std.npy"), dtype=torch.float32, device=self.device)
        self.vectors = np.load(directory / "glove/our_vab_data.npy")
        self.word_index = _read_plain_pickle(directory / "glove/our_vab_idx.pkl")
        self.vip = {w: cls for cls, words in VIP_WORDS.items() for w in words.split()}

    @classmethod
    def load(cls, directory: str | Path, device: str | torch.device = "cpu") -> "OfficialT2MEvaluator":
        directory = Path(directory)
        missing = [name for name in REQUIRED if not (directory / name).is_file()]
        if missing:
            raise OfficialEvaluatorMissing(
                f"official HumanML3D evaluator not found in {directory}: missing {missing}. Expected the T2M "
                "release layout (see train/evaluation/official.py): text_mot_match/model/finest.tar, meta/mean.npy, "
                "meta/std.npy and glove/our_vab_{data.npy,words.pkl,idx.pkl}.")
        return cls(directory, device)

    @torch.no_grad()
    def embed_motion(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = (features.to(self.device, torch.float32) - self.mean) / self.std
        hidden = self.movement(x[..., :-4])  # the evaluator ignores the 4 foot-contact channels
        steps = (lengths // UNIT_LENGTH).clamp(min=1, max=hidden.shape[1])
        return self.motion(hidden, steps.to(self.device))

    def _word(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        index = self.word_index.get(word, self.word_index["unk"])
        pos = np.zeros(len(POS_CLASSES), dtype=np.float32)
        pos[POS_CLASSES.index(self.vip.get(word, "OTHER"))] = 1.0
        return self.vectors[index], pos

    @torch.no_grad()
    def embed_text(self, captions: list[str]) -> torch.Tensor:
        words, poses, lengths = [], [], []
        for caption in captions:
            tokens = ["sos/OTHER"] + re.findall(r"[a-z]+", caption.lower())[:MAX_TEXT_TOKENS] + ["eos/OTHER"]
            lengths.append(len(tokens))
            tokens += ["unk/OTHER"] * (MAX_TEXT_TOKENS + 2 - len(tokens))
            pairs = [self._word(t.split("/")[0]) for t in tokens]
            words.append(np.stack([p[0] for p in pairs]))
            poses.append(np.stack([p[1] for p in pairs]))
        word_t = torch.as_tensor(np.stack(words), dtype=torch.float32, device=self.device)
        pos_t = torch.as_tensor(np.stack(poses), dtype=torch.float32, device=self.device)
        return self.text(word_t, torch.tensor(lengths), pos_t)
